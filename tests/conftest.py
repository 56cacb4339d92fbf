"""Shared fixtures: one Azurite for the whole session, a unique storage prefix per test.

If PV_TEST_STORAGE holds a connection string (as `.ci/run` and `python -m local.azurite`
set it), that emulator is reused; otherwise the session starts its own Azurite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from local.azurite import running_azurite


@pytest.fixture(scope="session")
def storage_connection() -> Iterator[str]:
    existing = os.environ.get("PV_TEST_STORAGE")
    if existing:
        yield existing
        return
    with running_azurite() as emulator:
        yield emulator.connection_string


@pytest.fixture
def storage_prefix() -> str:
    """A fresh PV_STORAGE_PREFIX (lowercase letters and digits, starts with a letter) so
    tests sharing one Azurite never see each other's tables, queues, containers or hub."""
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def storage(storage_connection: str, storage_prefix: str):
    """Async clients over the session's Azurite, under this test's own prefix."""
    from shared.platform.storage import Storage

    store = Storage(storage_connection, storage_prefix)
    yield store
    await store.close()


FIRST = ("tests/e2e/test_fuzz.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fuzzer compares the end-to-end stack's whole stored state around every request it
    sends; it runs first, while the session's storage is still small (after the other
    end-to-end tests a scan takes seconds, and the fuzz minutes). The rest keep their order."""
    items.sort(key=lambda item: not item.nodeid.startswith(FIRST))
