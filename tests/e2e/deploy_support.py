"""Helpers for the cross-tenant deployment tests (DESIGN §11): two simulator tenants whose
groups, filters and scope tags carry the same names under different ids."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.restore_support import backup, live

G = "#microsoft.graph."
POLICY = "deviceConfigurations"
BASELINE_TYPES = ["groups", "assignmentFilters", "roleScopeTags", POLICY]


def named(sim, tenant_id: str, policy_type: str, name: str) -> dict[str, Any]:
    [obj] = [o for o in live(sim, tenant_id, policy_type)
             if o.get("displayName") == name]
    return obj


def group(sim, tenant_id: str, name: str) -> dict[str, Any]:
    return named(sim, tenant_id, "groups", name)


def baseline_policy(sim, source: str, name: str, *, include: list[str], exclude: list[str],
                    filter_name: str | None = "Filter 001",
                    description: str | None = None) -> dict[str, Any]:
    """A device configuration of the source, renamed ``name`` (so the target has none),
    assigned to the named groups (the first include filtered by ``filter_name``), tagged
    ``Scope 1``."""
    policy = live(sim, source, POLICY)[0]
    filter_id = named(sim, source, "assignmentFilters", filter_name)["id"] if filter_name \
        else None
    assignments = []
    for n, group_name in enumerate(include):
        gid = group(sim, source, group_name)["id"]
        assignments.append({"@odata.type": G + "deviceConfigurationAssignment",
                            "id": f"{policy['id']}_{gid}", "target": {
                                "@odata.type": G + "groupAssignmentTarget", "groupId": gid,
                                "deviceAndAppManagementAssignmentFilterId":
                                    filter_id if n == 0 else None,
                                "deviceAndAppManagementAssignmentFilterType":
                                    "include" if n == 0 and filter_id else "none"}})
    for group_name in exclude:
        gid = group(sim, source, group_name)["id"]
        assignments.append({"@odata.type": G + "deviceConfigurationAssignment",
                            "id": f"{policy['id']}_{gid}", "target": {
                                "@odata.type": G + "exclusionGroupAssignmentTarget",
                                "groupId": gid,
                                "deviceAndAppManagementAssignmentFilterId": None,
                                "deviceAndAppManagementAssignmentFilterType": "none"}})
    sim.drift(source, POLICY, policy["id"], op="reassign", patch={"assignments": assignments})
    scope = named(sim, source, "roleScopeTags", "Scope 1")["id"]
    sim.drift(source, POLICY, policy["id"], patch={
        "displayName": name, "roleScopeTagIds": ["0", scope],
        "description": description or f"Baseline {name}"})
    return named(sim, source, POLICY, name)


def source_set(admin, source: str, types: list[str] | None = None) -> str:
    return backup(admin, source, types or BASELINE_TYPES)["backup_set_id"]


def deploy(admin, target: str, backup_set_id: str, source: str, **options: Any
           ) -> httpx.Response:
    return admin.restore(target, backup_set_id, source_tenant_id=source, **options)


def deployed(admin, target: str, backup_set_id: str, source: str, **options: Any
             ) -> dict[str, Any]:
    started = deploy(admin, target, backup_set_id, source, **options)
    assert started.status_code == 202, started.text
    return admin.wait(started)


def mapping(admin, target: str, run_id: str) -> list[dict[str, Any]]:
    return list(admin.pages(f"/api/tenants/{target}/runs/{run_id}/mapping"))


def row(rows: list[dict[str, Any]], kind: str, source_id: str) -> dict[str, Any]:
    [found] = [r for r in rows if r["kind"] == kind and r["source_id"] == source_id]
    return found


def source_writes(sim, cursor: int, source: str) -> list[dict[str, Any]]:
    return [w for w in sim.writes(cursor) if (w.get("tenant") or "").lower() == source]


def assigned(policy: dict[str, Any]) -> set[tuple[str, str, str | None]]:
    return {(a["target"]["@odata.type"].rsplit(".", 1)[1], a["target"].get("groupId"),
             a["target"].get("deviceAndAppManagementAssignmentFilterId"))
            for a in policy["assignments"]}
