"""Captured secrets, end to end (DESIGN §12, issue 16): a known secret planted in a custom
OMA-URI profile is backed up in plain text inside the sealed snapshot — and appears nowhere
else in plain text: not in blob bytes, tables, queue messages, API answers (the document says
``"<secret>"``), previews, drift checks, notifications or logs. A live restore writes it back
into Graph; a Wi-Fi key Graph never returns is ``secret_not_captured``."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import Any

import httpx
import pytest

from local.stack import Stack, local_kek
from shared.crypto.envelope import DataKey
from shared.crypto.kek import LocalKek, WrappedKey
from shared.graph.secrets import SECRET
from shared.platform.codes import ErrorCode
from tests.e2e.restore_support import backup, by_policy, collection, live, restore

PLANTED = "pv-planted-7c1f3e9a"
CHANGED = "pv-changed-55d2b0e4"
WIFI_KEY = "pv-wifi-key-91ab"
CONFIGS = "deviceConfigurations"
G = "#microsoft.graph."
# Everything PolicyVault keeps: every table a run touches, with Durable's own state.
TABLES = ("runs", "runitems", "notifications", "backupsets", "backupitems", "versions",
          "latestcontent", "idempotency", "audit", "PolicyVaultInstances",
          "PolicyVaultHistory")


def _graph_post(sim, tenant_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create an object through Graph, as an admin in the portal would."""
    response = httpx.post(f"{sim.base_url}/beta/{collection(CONFIGS)}", json=body,
                          headers={"Authorization": f"Bearer {sim.graph_token(tenant_id)}"})
    assert response.status_code == 201, response.text
    return response.json()


def _stored(sim, tenant_id: str, object_id: str | None = None, name: str | None = None
            ) -> dict[str, Any]:
    [obj] = [o for o in live(sim, tenant_id, CONFIGS)
             if o["id"] == object_id or (name and o["displayName"] == name)]
    return obj


@pytest.fixture
def planted(sim, tenant_id) -> dict[str, dict[str, Any]]:
    custom = _graph_post(sim, tenant_id, {
        "@odata.type": G + "windows10CustomConfiguration", "displayName": "Kiosk PIN (custom)",
        "omaSettings": [
            {"@odata.type": G + "omaSettingString", "displayName": "PIN",
             "omaUri": "./Device/Vendor/MSFT/Policy/Config/PV/KioskPin", "value": PLANTED},
            {"@odata.type": G + "omaSettingInteger", "displayName": "Tries",
             "omaUri": "./Device/Vendor/MSFT/Policy/Config/PV/Tries", "value": 3}]})
    assert custom["omaSettings"][0]["value"] == "****"  # Graph masks it
    wifi = _graph_post(sim, tenant_id, {
        "@odata.type": G + "iosWiFiConfiguration", "displayName": "Office Wi-Fi (PSK)",
        "ssid": "office", "networkName": "office", "wiFiSecurityType": "wpa2Personal",
        "preSharedKey": WIFI_KEY})
    return {"custom": custom, "wifi": wifi}


def _tenant_key(stack: Stack, tenant_id: str) -> DataKey:
    [row] = [r for r in stack.entities("tenantkeys") if r["tenant_id"] == tenant_id]
    kek = LocalKek(base64.b64decode(local_kek()))
    raw = asyncio.run(kek.unwrap(WrappedKey(row["kek_id"], row["algorithm"],
                                            base64.b64decode(row["wrapped_key"]))))
    return DataKey(tenant_id, int(row["version"]), raw)


def _everything_kept(stack: Stack, admin, tenant_id: str, runs: list[dict[str, Any]],
                     caplog, queue: list[str]) -> dict[str, str]:
    answers = [json.dumps(admin.notifications())]
    for run in runs:
        answers += [json.dumps(admin.ok("GET", f"/api/tenants/{tenant_id}/runs/{run['run_id']}")),
                    json.dumps(admin.items(tenant_id, run["run_id"]))]
        if run.get("backup_set_id"):
            answers.append(json.dumps(admin.backup_set(tenant_id, run["backup_set_id"])))
    return {
        "tables": json.dumps([stack.entities(t) for t in TABLES], default=str),
        "blobs": b"".join(stack.blobs("snapshots").values()).decode("latin-1"),
        "queue": "".join(queue),
        "responses": "".join(answers),
        "logs": "\n".join(logging.Formatter().format(r) for r in caplog.records),
    }


def test_planted_secret_is_sealed_at_rest_and_shown_nowhere_in_plain_text(
        admin, sim, stack: Stack, tenant_id, planted, caplog):
    caplog.set_level(logging.DEBUG)
    stack.drain_queue("run-events")
    custom, wifi = planted["custom"], planted["wifi"]

    source = backup(admin, tenant_id, [CONFIGS])
    backup_set = admin.backup_set(tenant_id, source["backup_set_id"])
    items = {i["policy_id"]: i for i in backup_set["items"]}

    # the API's document says <secret>, in full otherwise
    document = admin.snapshot(tenant_id, source["backup_set_id"], items[custom["id"]]["item_id"])
    pin, tries = document["omaSettings"]
    assert (pin["value"], pin["isEncrypted"], tries["value"]) == (SECRET, True, 3)
    assert "warnings" not in items[custom["id"]]  # captured: nothing is missing
    # the sealed blob holds the plain text, so a restore can write it back
    blobs = stack.blobs("snapshots")
    path = next(p for p in blobs if p.startswith(f"{tenant_id}/{CONFIGS}/{custom['id']}/"))
    assert PLANTED.encode() not in blobs[path]
    sealed = json.loads(_tenant_key(stack, tenant_id).open(path, blobs[path]))
    assert sealed["omaSettings"][0]["value"] == PLANTED

    # a Wi-Fi key Graph never returns: marked on the set item and the run item
    [warning] = items[wifi["id"]]["warnings"]
    assert warning["code"] == ErrorCode.SECRET_NOT_CAPTURED and "preSharedKey" in \
        warning["message"]
    run_items = by_policy(admin.items(tenant_id, source["run_id"]))
    assert [w["code"] for w in run_items[wifi["id"]]["warnings"]] == ["secret_not_captured"]
    assert admin.snapshot(tenant_id, source["backup_set_id"],
                          items[wifi["id"]]["item_id"])["preSharedKey"] is None

    # previews and drift checks compare the secret without showing it
    sim.drift(tenant_id, CONFIGS, custom["id"], patch={"omaSettings": [
        {**_stored(sim, tenant_id, custom["id"])["omaSettings"][0], "value": CHANGED},
        _stored(sim, tenant_id, custom["id"])["omaSettings"][1]]})
    preview = restore(admin, tenant_id, source["backup_set_id"], dry_run=True)
    previewed = by_policy(admin.items(tenant_id, preview["run_id"]))[custom["id"]]
    assert previewed["action"] == "would_update"
    assert previewed["diff"] == [{"path": "omaSettings[0].value", "change": "changed"}]
    assert admin.pin_baseline(tenant_id, source["backup_set_id"]).status_code == 200
    drift = admin.wait(admin.drift_check(tenant_id, policy_types=[CONFIGS]))
    drifted = by_policy(admin.items(tenant_id, drift["run_id"]))[custom["id"]]
    assert drifted["action"] == "drifted"
    assert drifted["diff"] == [{"path": "omaSettings[0].value", "change": "changed"}]

    kept = _everything_kept(stack, admin, tenant_id, [source, preview, drift], caplog,
                            stack.drain_queue("run-events"))
    assert kept["queue"] and kept["logs"]  # the events and logs were there to look at
    assert {where: [s for s in (PLANTED, CHANGED, WIFI_KEY) if s in text]
            for where, text in kept.items()} == {where: [] for where in kept}


def test_live_restore_writes_the_planted_secret_back_into_graph(admin, sim, tenant_id,
                                                                planted, caplog):
    caplog.set_level(logging.INFO)
    custom = planted["custom"]
    source = backup(admin, tenant_id, [CONFIGS])
    sim.drift(tenant_id, CONFIGS, custom["id"], patch={"omaSettings": [
        {**_stored(sim, tenant_id, custom["id"])["omaSettings"][0], "value": CHANGED}]})

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                  item_ids=[f"{CONFIGS}.{custom['id']}"])

    assert run["status"] == "succeeded", run
    [item] = admin.items(tenant_id, run["run_id"])
    assert item["action"] == "updated"
    restored = _stored(sim, tenant_id, custom["id"])
    assert [s["value"] for s in restored["omaSettings"]] == [PLANTED, 3]
    assert restored["omaSettings"][0]["isEncrypted"] is True  # Graph encrypted it again
    # the pre-restore set keeps the secret the restore replaced (sealed), so it can be undone
    pre = admin.backup_set(tenant_id, run["pre_restore_backup_set_id"])
    [before] = pre["items"]
    assert admin.snapshot(tenant_id, pre["backup_set_id"], before["item_id"])[
        "omaSettings"][0]["value"] == SECRET

    sim.drift(tenant_id, CONFIGS, custom["id"], op="delete")
    again = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                    item_ids=[f"{CONFIGS}.{custom['id']}"])
    assert [i["action"] for i in admin.items(tenant_id, again["run_id"])] == ["created"]
    recreated = _stored(sim, tenant_id, name=custom["displayName"])
    assert recreated["id"] != custom["id"]
    assert recreated["omaSettings"][0]["value"] == PLANTED
    logs = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert PLANTED not in logs and CHANGED not in logs
