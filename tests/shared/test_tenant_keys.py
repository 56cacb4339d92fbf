"""Tenants' data keys in Azurite (DESIGN §12): stored only wrapped, created insert-if-absent
and re-read so concurrent first writers agree, kept unwrapped per process briefly."""

from __future__ import annotations

import asyncio
import base64
import os

import pytest

from shared.backups.tenant_keys import TENANT_KEYS, KeyCache, TenantKeys
from shared.crypto.envelope import DataKey
from shared.crypto.kek import LocalKek, WrappedKey
from shared.platform import tables
from shared.platform.errors import KeyUnavailable, TenantOffboarding
from shared.platform.storage import Storage
from shared.tenants.gate import OpenTenants
from shared.tenants.store import TENANTS, Tenant, TenantStore
from tests.tenants import register

pytestmark = pytest.mark.anyio
TENANT = "0d3c1f52-0000-4000-8000-00000000000a"
OTHER = TENANT.replace("000a", "000b")
OFFBOARDING_RUN = "01OFFBOARDINGRUN0000000000"
LATER = "2099-01-01T00:00:00Z"  # a registration after the one the fixture made


@pytest.fixture
async def storage(storage: Storage) -> Storage:
    """This module's tenants registered: a data key is made only for a registered tenant."""
    await register(storage, TENANT, OTHER)
    return storage


class MeetingKek(LocalKek):
    """A local KEK whose ``wrap`` waits until ``writers`` callers are inside it: every first
    writer has read "no key yet" and made its own before any of them inserts."""

    def __init__(self, key: bytes, writers: int) -> None:
        super().__init__(key)
        self._waiting, self._writers, self._all_in = 0, writers, asyncio.Event()

    async def wrap(self, key: bytes) -> WrappedKey:
        self._waiting += 1
        if self._waiting == self._writers:
            self._all_in.set()
        await asyncio.wait_for(self._all_in.wait(), 10)
        return await super().wrap(key)


async def _rows(storage: Storage) -> list[dict]:
    return await tables.query_all(await storage.table(TENANT_KEYS), "datakey")


async def test_concurrent_first_writers_agree_on_one_key(storage: Storage) -> None:
    """Two writers that share no cache (two processes, in effect) race to create the key."""
    kek = MeetingKek(os.urandom(32), writers=2)
    first, second = (TenantKeys(storage, kek, KeyCache()) for _ in range(2))
    a, b = await asyncio.gather(first.current(TENANT), second.current(TENANT))
    assert a.raw == b.raw
    [row] = await _rows(storage)
    assert row["RowKey"] == f"{TENANT}|1" and row["kek_id"] == kek.kek_id
    late = await TenantKeys(storage, LocalKek(kek._key), KeyCache()).current(TENANT)
    assert late.raw == a.raw


async def test_data_key_is_stored_only_wrapped(storage: Storage) -> None:
    kek = LocalKek(os.urandom(32))
    key = await TenantKeys(storage, kek, KeyCache()).current(TENANT)
    [row] = await _rows(storage)
    stored = base64.b64decode(row["wrapped_key"])
    assert key.raw not in stored and key.raw.hex() not in str(row)
    assert await kek.unwrap(WrappedKey(row["kek_id"], row["algorithm"], stored)) == key.raw


async def test_each_tenant_gets_its_own_key(storage: Storage) -> None:
    keys = TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache())
    assert (await keys.current(TENANT)).raw != (await keys.current(OTHER)).raw
    assert len(await _rows(storage)) == 2


async def test_another_kek_cannot_unwrap_the_stored_key(storage: Storage) -> None:
    await TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache()).current(TENANT)
    with pytest.raises(KeyUnavailable, match="another key-encryption key"):
        await TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache()).current(TENANT)


async def test_a_key_version_that_was_never_made_is_unavailable(storage: Storage) -> None:
    keys = TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache())
    with pytest.raises(KeyUnavailable, match="no data key"):
        await keys.get(TENANT, 2)
    assert await _rows(storage) == []


async def test_cached_key_is_served_without_storage_until_forgotten(storage: Storage) -> None:
    keys = TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache())
    key = await keys.current(TENANT)
    await tables.delete(await storage.table(TENANT_KEYS), "datakey", f"{TENANT}|1")
    assert (await keys.get(TENANT, 1)).raw == key.raw  # from the cache: no row needed
    keys.forget(TENANT)
    with pytest.raises(KeyUnavailable):
        await keys.get(TENANT, 2)
    assert (await keys.current(TENANT)).raw != key.raw  # a new first writer


def test_key_cache_is_bounded_and_expires() -> None:
    cache = KeyCache(ttl_s=300, max_entries=2)
    keys = [DataKey.generate(TENANT, 1) for _ in range(3)]
    for n, key in enumerate(keys):
        cache.put(("acct", "p", f"t{n}", 1), key)
    assert cache.get(("acct", "p", "t0", 1)) is None  # least recently used went first
    assert cache.get(("acct", "p", "t2", 1)) is keys[2]
    expired = KeyCache(ttl_s=-1)
    expired.put(("acct", "p", "t0", 1), keys[0])
    assert expired.get(("acct", "p", "t0", 1)) is None


async def test_key_cache_shares_one_load_between_concurrent_misses() -> None:
    cache, loads = KeyCache(), []

    async def load() -> DataKey:
        loads.append(1)
        await asyncio.sleep(0)
        return DataKey.generate(TENANT, 1)

    got = await asyncio.gather(*(cache.load(("acct", "p", TENANT, 1), load) for _ in range(8)))
    assert len(loads) == 1 and len({k.raw for k in got}) == 1


class MarkingKek(LocalKek):
    """A KEK that lets an offboarding mark the tenant while a first writer is making its key:
    after the writer's first look, before its insert."""

    def __init__(self, key: bytes, storage: Storage) -> None:
        super().__init__(key)
        self._storage = storage

    async def wrap(self, key: bytes) -> WrappedKey:
        await TenantStore(self._storage).mark_offboarding(TENANT, OFFBOARDING_RUN)
        return await super().wrap(key)


async def test_a_tenant_being_offboarded_gets_no_new_data_key(storage: Storage) -> None:
    """A snapshot write landing while offboarding destroys the tenant's data must fail, not
    leave a fresh key behind for what it sealed."""
    await TenantStore(storage).mark_offboarding(TENANT, OFFBOARDING_RUN)
    with pytest.raises(TenantOffboarding, match="offboarded"):
        await TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache()).current(TENANT)
    assert await _rows(storage) == []


async def test_an_offboarding_marked_while_the_key_is_made_leaves_no_key(storage: Storage) -> None:
    keys = TenantKeys(storage, MarkingKek(os.urandom(32), storage), KeyCache())
    with pytest.raises(TenantOffboarding, match="offboarded"):
        await keys.current(TENANT)
    assert await _rows(storage) == []


async def test_an_existing_key_still_opens_during_offboarding(storage: Storage) -> None:
    """Reading what was sealed is not making a key: the sweep itself may still need it."""
    kek = LocalKek(os.urandom(32))
    made = await TenantKeys(storage, kek, KeyCache()).current(TENANT)
    await TenantStore(storage).mark_offboarding(TENANT, OFFBOARDING_RUN)
    assert (await TenantKeys(storage, kek, KeyCache()).get(TENANT, 1)).raw == made.raw


async def test_an_offboarded_tenant_gets_no_new_data_key(storage: Storage) -> None:
    """A write landing after an offboarding finished (the tenant's row, which held the mark,
    deleted last) must not make a key the offboarding will never sweep."""
    await tables.delete(await storage.table(TENANTS), "tenant", TENANT)
    with pytest.raises(TenantOffboarding, match="offboarded"):
        await TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache()).current(TENANT)
    assert await _rows(storage) == []
    await TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache()).current(OTHER)
    assert [row["RowKey"] for row in await _rows(storage)] == [f"{OTHER}|1"]



async def test_a_cached_key_seals_nothing_once_its_tenant_is_being_offboarded(
        storage: Storage) -> None:
    """A process holding the key (a backup sealing page after page) stops sealing once it
    sees the mark; what was sealed still opens, for the sweep."""
    cache, gate = KeyCache(), OpenTenants(open_s=0)  # look at the tenant on every seal
    kek = LocalKek(os.urandom(32))
    made = await TenantKeys(storage, kek, cache, gate).current(TENANT)
    await TenantStore(storage).mark_offboarding(TENANT, OFFBOARDING_RUN)
    with pytest.raises(TenantOffboarding, match="offboarded"):
        await TenantKeys(storage, kek, cache, gate).current(TENANT)
    assert (await TenantKeys(storage, kek, cache, gate).get(TENANT, 1)).raw == made.raw
    assert (await TenantKeys(storage, kek, cache, gate).current(OTHER)).raw != made.raw


async def test_a_tenant_registered_again_is_sealed_with_its_new_key_by_a_process_holding_the_old(
        storage: Storage) -> None:
    """Offboarded by another process (whose forget() this one never hears of) and registered
    again: its new key has the same version, so a process still holding the old unwrapped key
    would seal with it, and those backups would never open. Keyed by the registration, the
    old key is not used for the new one."""
    kek = LocalKek(os.urandom(32))
    here = TenantKeys(storage, kek, KeyCache(), OpenTenants(open_s=0))
    old = await here.current(TENANT)
    # The offboarding, elsewhere: the key, then the tenant row (deleted last).
    await tables.delete(await storage.table(TENANT_KEYS), "datakey", f"{TENANT}|1")
    await tables.delete(await storage.table(TENANTS), "tenant", TENANT)
    await TenantStore(storage).put(Tenant(TENANT, "Customer again", LATER, LATER))
    new = await TenantKeys(storage, kek, KeyCache()).current(TENANT)  # at registration

    assert new.raw != old.raw
    assert (await here.current(TENANT)).raw == new.raw
    assert (await here.get(TENANT, 1)).raw == new.raw
