"""Helpers for the restore end-to-end tests: back up, drift, compare live with snapshots."""

from __future__ import annotations

import json
from typing import Any

import httpx

from shared.graph import comparable, supported_type, to_create_payload
from shared.graph.secrets import redact


def backup(admin, tenant_id: str, policy_types: list[str] | None = None) -> dict[str, Any]:
    run = admin.wait(admin.backup(tenant_id, policy_types))
    assert run["status"] == "succeeded", run
    return run


def collection(policy_type: str) -> str:
    return supported_type(policy_type).path


def live(sim, tenant_id: str, policy_type: str) -> list[dict[str, Any]]:
    return sim.objects(tenant_id, collection(policy_type))


def restore(admin, tenant_id: str, backup_set_id: str, **options: Any) -> dict[str, Any]:
    started = admin.restore(tenant_id, backup_set_id, **options)
    assert started.status_code == 202, started.text
    return admin.wait(started)


def create_in_graph(sim, tenant_id: str, policy_type: str, body: dict[str, Any]
                    ) -> dict[str, Any]:
    """Create an object through Graph, as an admin in the portal would."""
    version = supported_type(policy_type).version
    response = httpx.post(f"{sim.base_url}/{version}/{collection(policy_type)}", json=body,
                          headers={"Authorization": f"Bearer {sim.graph_token(tenant_id)}"})
    assert response.status_code == 201, response.text
    return response.json()


def two_kinds(sim, tenant_id: str, policy_type: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The type's first object and one of another ``@odata.type`` (another platform)."""
    objects = live(sim, tenant_id, policy_type)
    other = next(o for o in objects if o["@odata.type"] != objects[0]["@odata.type"])
    return objects[0], other


def name_reused_by_another_kind(sim, tenant_id: str, policy_type: str
                                ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Delete the type's first object, then, as a customer admin in the portal, make one of
    another platform under its name: ``(deleted, made)``."""
    gone, other = two_kinds(sim, tenant_id, policy_type)
    sim.drift(tenant_id, policy_type, gone["id"], op="delete")
    made = create_in_graph(sim, tenant_id, policy_type, {
        **to_create_payload(supported_type(policy_type), other),
        "displayName": gone["displayName"]})
    return gone, made


def by_policy(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["policy_id"]: i for i in items}


def matches_snapshot(admin, sim, tenant_id: str, backup_set_id: str,
                     policy_types: list[str], renamed: dict[str, str] | None = None
                     ) -> list[Any]:
    """Names (and diffs) of the set's objects whose live copy (matched by id, else by unique
    name) differs from the snapshot — empty when the tenant is back to the backup.
    ``renamed`` maps ids of recreated objects to their new ids, as references now say."""
    wrong = []
    for item in admin.backup_set(tenant_id, backup_set_id)["items"]:
        if item["policy_type"] not in policy_types:
            continue
        rtype = supported_type(item["policy_type"])
        snapshot = admin.snapshot(tenant_id, backup_set_id, item["item_id"])
        text = json.dumps(snapshot)
        for old, new in (renamed or {}).items():
            text = text.replace(f'"{old}"', f'"{new}"')
        snapshot = {**json.loads(text), "id": snapshot["id"]}
        objects = live(sim, tenant_id, item["policy_type"])
        same = [o for o in objects if o["id"] == item["policy_id"]] or [
            o for o in objects if o.get(rtype.name_field) == item["display_name"]]
        shown = redact(rtype, same[0]) if len(same) == 1 else {}  # as the API shows it
        if len(same) != 1 or _normal(rtype, shown) != _normal(rtype, snapshot):
            wrong.append(item["display_name"] if len(same) != 1 else (
                item["display_name"], _diff(_normal(rtype, shown), _normal(rtype, snapshot))))
    return wrong


def _diff(live_doc: dict[str, Any], snapshot: dict[str, Any]) -> list[dict[str, str]]:
    from shared.restore.diff import diff
    return diff(live_doc, snapshot)


def _normal(rtype, document: dict[str, Any]) -> dict[str, Any]:
    """Comparable form without ids that a recreate legitimately changes (filter ids in
    assignments are checked separately by the tests that recreate filters)."""
    doc = comparable(rtype, document)
    for assignment in doc.get("assignments") or []:
        target = assignment.get("target") or {}
        target.pop("deviceAndAppManagementAssignmentFilterId", None)
    doc.get("assignments", []).sort(key=lambda a: json.dumps(a, sort_keys=True))
    return doc
