"""One instance per running event loop.

Async SDK clients (aiohttp/httpx sessions, asyncio locks) belong to the loop that made them.
The Functions worker runs one loop per process; tests and the local runtime may run several.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class LoopLocal(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._values: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        value = self._values.get(loop)
        if value is None:
            value = self._factory()
            self._values[loop] = value
        return value

    def pop(self) -> T | None:
        """Forget the running loop's instance and return it (None if it had none), so the
        caller can close it; the next :meth:`get` makes a new one."""
        return self._values.pop(asyncio.get_running_loop(), None)


class SharedLoads(Generic[K, T]):
    """Concurrent loads of one key in one event loop share one call: the first caller's.
    What a cache in front of it does on a miss, so a burst of misses costs one read."""

    def __init__(self) -> None:
        self._loading: LoopLocal[dict[K, asyncio.Future[T]]] = LoopLocal(dict)

    async def load(self, key: K, loader: Callable[[], Awaitable[T]]) -> T:
        loading = self._loading.get()
        if key not in loading:
            loading[key] = asyncio.ensure_future(loader())
            loading[key].add_done_callback(lambda _: loading.pop(key, None))
        return await asyncio.shield(loading[key])
