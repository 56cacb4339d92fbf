"""KEK rotation (DESIGN §12): every tenant's data key re-wrapped by the new KEK, no blob
touched, snapshots still read under the new KEK only; again is a no-op; the command line."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest

from shared.backups.rotate_kek import rotate
from shared.backups.snapshots import SNAPSHOTS, SnapshotStore
from shared.backups.tenant_keys import TENANT_KEYS, KeyCache, TenantKeys
from shared.crypto.kek import LocalKek
from shared.crypto.key_vault import KeyVaultKek
from shared.platform import tables
from shared.platform.errors import KeyUnavailable
from shared.platform.storage import Storage
from tests.shared.test_key_vault import KEY, FakeVault
from tests.tenants import register

pytestmark = pytest.mark.anyio
TENANTS = [f"9e1f7a20-0000-4000-8000-00000000000{n}" for n in range(3)]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _store(storage: Storage, kek) -> SnapshotStore:
    """A store as a freshly started process would have it: nothing cached."""
    return SnapshotStore(storage, TenantKeys(storage, kek, KeyCache()))


async def _backed_up(storage: Storage, kek: LocalKek) -> dict[str, str]:
    await register(storage, *TENANTS)
    paths = {}
    for tenant in TENANTS:
        _, paths[tenant], _ = await _store(storage, kek).put(
            tenant, "deviceConfigurations", "d1", {"id": "d1", "displayName": f"For {tenant}"})
    return paths


async def _blobs(storage: Storage) -> dict[str, tuple[bytes, str]]:
    container = await storage.container(SNAPSHOTS)
    out = {}
    async for blob in container.list_blobs():
        out[blob.name] = (await (await container.download_blob(blob.name)).readall(), blob.etag)
    return out


async def _kek_ids(storage: Storage) -> set[str]:
    rows = await tables.query_all(await storage.table(TENANT_KEYS), "datakey")
    assert len(rows) == len(TENANTS)
    return {row["kek_id"] for row in rows}


async def test_rotation_rewraps_every_data_key_and_touches_no_blob(storage: Storage) -> None:
    old, new = LocalKek(os.urandom(32)), LocalKek(os.urandom(32))
    paths = await _backed_up(storage, old)
    blobs = await _blobs(storage)

    done = await rotate(storage, old, new)

    assert (done.rewrapped, done.already) == (len(TENANTS), 0)
    assert await _kek_ids(storage) == {new.kek_id}
    assert await _blobs(storage) == blobs  # same bytes, same ETags
    for tenant, path in paths.items():
        assert (await _store(storage, new).get(path))["displayName"] == f"For {tenant}"
        with pytest.raises(KeyUnavailable):
            await _store(storage, old).get(path)


async def test_rotation_again_rewrites_nothing(storage: Storage) -> None:
    old, new = LocalKek(os.urandom(32)), LocalKek(os.urandom(32))
    await _backed_up(storage, old)
    await rotate(storage, old, new)
    rows = await tables.query_all(await storage.table(TENANT_KEYS), "datakey")

    done = await rotate(storage, old, new)

    assert (done.rewrapped, done.already) == (0, len(TENANTS))
    again = await tables.query_all(await storage.table(TENANT_KEYS), "datakey")
    assert [tables.etag(r) for r in again] == [tables.etag(r) for r in rows]


async def test_rotation_with_a_kek_that_wrapped_nothing_fails_and_changes_nothing(
        storage: Storage) -> None:
    old = LocalKek(os.urandom(32))
    await _backed_up(storage, old)
    with pytest.raises(KeyUnavailable, match="another key-encryption key"):
        await rotate(storage, LocalKek(os.urandom(32)), LocalKek(os.urandom(32)))
    assert await _kek_ids(storage) == {old.kek_id}


async def test_rotation_from_local_to_key_vault_moves_every_key(storage: Storage) -> None:
    old, vault = LocalKek(os.urandom(32)), FakeVault()
    paths = await _backed_up(storage, old)
    new = KeyVaultKek(KEY, vault.client)

    await rotate(storage, old, new)

    assert await _kek_ids(storage) == {f"{KEY}/{vault.latest}"}
    assert (await _store(storage, new).get(paths[TENANTS[0]]))["id"] == "d1"


def _cli(args: list[str], storage_connection: str, storage_prefix: str, **env: str
         ) -> subprocess.CompletedProcess[str]:
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("PV_")},
            "AzureWebJobsStorage": storage_connection, "PV_STORAGE_PREFIX": storage_prefix,
            "PYTHONPATH": REPO, **env}
    return subprocess.run([sys.executable, "-m", "shared.backups.rotate_kek", *args],
                          cwd=REPO, env=full, capture_output=True, text=True, timeout=120)


async def test_rotate_kek_command_rewraps_and_says_so_in_one_line(
        storage: Storage, storage_connection: str, storage_prefix: str) -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    await _backed_up(storage, LocalKek(old_key))
    env = {"PV_OLD_KEK": base64.b64encode(old_key).decode(),
           "PV_SNAPSHOT_KEK": base64.b64encode(new_key).decode()}

    result = _cli(["--old", "env:PV_OLD_KEK", "--new", "env:PV_SNAPSHOT_KEK"],
                  storage_connection, storage_prefix, **env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == [
        "rotate_kek: re-wrapped 3 data keys; 0 were already wrapped by the new key"]
    assert await _kek_ids(storage) == {LocalKek(new_key).kek_id}
    assert env["PV_OLD_KEK"] not in result.stdout + result.stderr


@pytest.mark.parametrize(("old", "message"), [
    ("c2hvcnQ=", "rotate_kek: a key-encryption key is env:NAME"),
    ("env:PV_NOT_SET", "rotate_kek: the environment variable PV_NOT_SET is not set"),
    ("env:PV_WRONG_KEK", "rotate_kek: the data key was wrapped by another key-encryption key"),
])
async def test_rotate_kek_command_failure_is_one_line(
        storage: Storage, storage_connection: str, storage_prefix: str, old: str,
        message: str) -> None:
    await _backed_up(storage, LocalKek(os.urandom(32)))
    env = {"PV_WRONG_KEK": base64.b64encode(os.urandom(32)).decode(),
           "PV_NEW_KEK": base64.b64encode(os.urandom(32)).decode()}
    result = _cli(["--old", old, "--new", "env:PV_NEW_KEK"], storage_connection,
                  storage_prefix, **env)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(message)
