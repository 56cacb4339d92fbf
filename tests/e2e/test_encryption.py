"""Snapshots at rest, end to end (DESIGN §12): after a backup, blob storage holds ciphertext
only — no JSON, no display names — under names nobody can compute without the tenant's key,
while the API still returns the documents; the blobs open with the tenant's data key, which is
stored only wrapped by the KEK."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json

import pytest

from local.stack import Stack, local_kek
from shared.crypto.envelope import MAGIC, DataKey
from shared.crypto.kek import LocalKek, WrappedKey
from shared.graph import CATALOG, comparable, supported_type
from shared.graph.documents import canonical_json
from shared.graph.secrets import redact
from tests.e2e.backup_support import estate


@pytest.fixture
def backup(admin, sim, tenant_id) -> dict:
    run = admin.wait(admin.backup(tenant_id))
    assert run["status"] == "succeeded", run
    return admin.backup_set(tenant_id, run["backup_set_id"])


def _display_names(sim, tenant_id: str) -> set[str]:
    names = {str(obj.get(rtype.name_field) or "") for rtype in CATALOG
             for obj in sim.objects(tenant_id, rtype.key)}
    return {name for name in names if len(name) >= 6}


def test_backup_blobs_are_ciphertext_without_json_or_display_names(backup, stack: Stack, sim,
                                                                   tenant_id) -> None:
    blobs = {name: data for name, data in stack.blobs("snapshots").items()
             if name.startswith(f"{tenant_id}/")}
    assert len(blobs) >= len(backup["items"])
    names = _display_names(sim, tenant_id)
    assert len(names) > 50
    for name, data in blobs.items():
        assert data.startswith(MAGIC), name
        with pytest.raises(ValueError):
            json.loads(data)
        assert not any(marker in data for marker in (b"displayName", b"@odata.type"))
        assert not [n for n in names if n.encode() in data], name


def test_backup_documents_still_come_back_through_the_api(backup, admin, sim,
                                                          tenant_id) -> None:
    expected = estate(sim, tenant_id)
    for item in backup["items"]:
        rtype = supported_type(item["policy_type"])
        document = admin.snapshot(tenant_id, backup["backup_set_id"], item["item_id"])
        live = expected[(item["policy_type"], item["policy_id"])]  # secrets read "<secret>"
        assert comparable(rtype, document) == comparable(rtype, redact(rtype, live)), \
            item["item_id"]


def test_blob_names_are_keyed_digests_that_open_only_with_the_tenant_key(
        backup, admin, stack: Stack, tenant_id) -> None:
    """The stored digest is not the SHA-256 of the document; the tenant's key row holds the
    data key wrapped (never in clear), and that key, unwrapped with the KEK, opens the blob."""
    [row] = [r for r in stack.entities("tenantkeys") if r["tenant_id"] == tenant_id]
    wrapped = base64.b64decode(row["wrapped_key"])
    kek = LocalKek(base64.b64decode(local_kek()))
    raw = asyncio.run(kek.unwrap(WrappedKey(row["kek_id"], row["algorithm"], wrapped)))
    key = DataKey(tenant_id, int(row["version"]), raw)
    assert key.raw not in wrapped
    blobs = stack.blobs("snapshots")
    for item in backup["items"][:10]:
        document = admin.snapshot(tenant_id, backup["backup_set_id"], item["item_id"])
        assert item["sha256"] != hashlib.sha256(canonical_json(document)).hexdigest()
        path = f"{tenant_id}/{item['policy_type']}/{item['policy_id']}/{item['sha256']}.json"
        rtype = supported_type(item["policy_type"])
        assert redact(rtype, json.loads(key.open(path, blobs[path]))) == document
        assert key.digest(key.open(path, blobs[path])) == item["sha256"]


def test_each_registered_tenant_has_one_wrapped_data_key(admin, stack: Stack, sim) -> None:
    rows = [r for r in stack.entities("tenantkeys") if r["tenant_id"] in sim.tenant_ids]
    assert sorted(r["tenant_id"] for r in rows) == sorted(sim.tenant_ids)
    assert {r["kek_id"] for r in rows} == {LocalKek(base64.b64decode(local_kek())).kek_id}
