"""Awaiting many jobs with a bound on how many run at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def bounded(limit: int, jobs: list[Awaitable[T]]) -> list[T]:
    """Await ``jobs`` with at most ``limit`` running at once, keeping their order."""
    slots = asyncio.Semaphore(limit)

    async def one(job: Awaitable[T]) -> T:
        async with slots:
            return await job

    return list(await asyncio.gather(*(one(j) for j in jobs)))
