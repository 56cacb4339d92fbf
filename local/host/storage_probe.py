"""Fail fast when the storage account (Azurite by default) is not there.

Errors name the endpoint (never the key or a SAS token) and the kind of failure.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.data.tables.aio import TableServiceClient
from azure.storage.queue.aio import QueueServiceClient

from local.host.errors import StorageUnreachable

PROBE_TIMEOUT_SECONDS = 5.0


def _endpoint(client: Any) -> str:
    return str(client.url).split("?", 1)[0].rstrip("/")


async def _first(items: AsyncIterator[Any]) -> None:
    async for _ in items:
        break


async def _probe_one(
    kind: str, make: Callable[[], Any], list_items: Callable[[Any], AsyncIterator[Any]],
    timeout: float,
) -> None:
    try:
        client = make()
    except ValueError as exc:
        raise StorageUnreachable(
            "AzureWebJobsStorage is not a valid storage connection string"
        ) from exc
    endpoint = _endpoint(client)
    try:
        async with client:
            await asyncio.wait_for(_first(list_items(client)), timeout)
    except TimeoutError as exc:
        raise StorageUnreachable(
            f"storage unreachable: {kind} endpoint {endpoint} did not answer within "
            f"{timeout:g}s"
        ) from exc
    except (ClientAuthenticationError, HttpResponseError) as exc:
        status = getattr(exc, "status_code", None) or "error"
        raise StorageUnreachable(
            f"storage refused the request: {kind} endpoint {endpoint} answered {status}"
        ) from exc
    except Exception as exc:
        raise StorageUnreachable(
            f"storage unreachable: {kind} endpoint {endpoint} ({type(exc).__name__})"
        ) from exc


async def probe_storage(connection: str, timeout: float = PROBE_TIMEOUT_SECONDS) -> None:
    """List one queue and one table; raise StorageUnreachable if either fails."""
    await asyncio.gather(
        _probe_one(
            "queue",
            lambda: QueueServiceClient.from_connection_string(connection, retry_total=0),
            lambda c: c.list_queues(results_per_page=1),
            timeout,
        ),
        _probe_one(
            "table",
            lambda: TableServiceClient.from_connection_string(connection, retry_total=0),
            lambda c: c.list_tables(results_per_page=1),
            timeout,
        ),
    )
