"""The demo's deployment section (DESIGN §11): the first tenant's baseline goes to a new
customer whose Intune is empty. The preview's mapping plan shows every reference and what it
becomes there — one group name is ambiguous, so the live run is refused until the engineer
picks the group; the live run writes only to the new customer, and running it again changes
nothing."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

import httpx

from local.demo.console import counts_text

if TYPE_CHECKING:
    from local.demo.scenario import Demo

# What the new customer gets: the baseline's policies and what they refer to.
BASELINE_TYPES = ("roleScopeTags", "assignmentFilters", "namedLocations",
                  "notificationMessageTemplates", "configurationPolicies",
                  "deviceConfigurations", "deviceCompliancePolicies",
                  "conditionalAccessPolicies")
G = "#microsoft.graph."


def show_deploy(demo: Demo) -> None:
    from local.demo.scenario import ENGINEER_OID, DemoFailed, expect

    out, sim = demo.out, demo.sim
    out.section(7, "Deploy a baseline to a new customer (another tenant)")
    if len(demo.tenants) < 2:
        out.note("(needs two tenants: run the demo with --tenants 2 or more)")
        return
    source, target = demo.first_tenant, list(demo.tenants)[-1]
    baseline = demo.backups[source]
    _empty_intune(sim, target)
    twin_of = _ambiguous_group(demo, source, target)
    out.note(f"{demo.tenants[target]} is a new customer: its Intune is empty, its Entra ID has "
             f"the same group names as {demo.tenants[source]} (other ids) — and two groups "
             f"named '{twin_of['displayName']}'.")
    items = [i["item_id"] for i in demo.items(demo.engineer, source, baseline["run_id"])
             if i["policy_type"] in BASELINE_TYPES and i["policy_id"] != "0"]
    body = {"backup_set_id": baseline["backup_set_id"], "source_tenant_id": source,
            "item_ids": items}
    writes_at = len(sim.writes())

    out.line()
    out.note(f"Preview: {len(items)} items of {demo.tenants[source]}'s baseline into "
             f"{demo.tenants[target]} (reader on the source, operator on the target):")
    preview = demo.start_restore(demo.engineer, "engineer", target, {**body, "dry_run": True})
    demo.require_status(preview, "succeeded")
    plan = _mapping(demo, target, preview["run_id"])
    out.table(["kind", "status", "via", "references"],
              [(*key, n) for key, n in sorted(Counter(
                  (r["kind"], r["status"], r["via"]) for r in plan).items())])
    ambiguous = [r for r in plan if r["status"] == "ambiguous"]
    if [r["source_name"] for r in ambiguous] != [twin_of["displayName"]]:
        raise DemoFailed(f"the plan has {len(ambiguous)} ambiguous references, expected the "
                         f"group '{twin_of['displayName']}'")
    [row] = ambiguous
    out.note(f"  ambiguous: group '{row['source_name']}' -> {', '.join(row['candidates'])} "
             f"(used by {len(row['referenced_by'])} items)")

    out.line()
    out.note("The live run, as a tenant admin of the new customer, is refused while a reference "
             "is unresolved:")
    expect(demo.admin.request("PUT", f"/api/tenants/{target}/access/{ENGINEER_OID}",
                              json={"role": "admin"}), 200)
    refused = demo.engineer.request("POST", f"/api/tenants/{target}/restores",
                                    json={**body, "dry_run": False})
    problem = expect(refused, 422) if refused.status_code != 422 else refused.json()
    if problem.get("code") != "mapping_unresolved":
        raise DemoFailed(f"the live run answered {refused.status_code} {problem.get('code')}")
    out.note(f"  -> 422 {problem['code']}: {problem['detail']}")

    chosen = next(c for c in row["candidates"] if c != twin_of["id"])
    out.note(f"The engineer picks {chosen} (the customer's real group) and deploys:")
    live_body = {**body, "dry_run": False, "mappings": {row["source_id"]: chosen}}
    live = demo.start_restore(demo.engineer, "engineer", target, live_body)
    outcomes = Counter(i["action"] for i in demo.items(demo.engineer, target, live["run_id"]))
    out.fields([("actions", ", ".join(f"{n} {a}" for a, n in sorted(outcomes.items()))),
                ("pre_restore_backup_set_id", live.get("pre_restore_backup_set_id")),
                ("counts", counts_text(live["counts"]))])
    demo.require_status(live, "succeeded")
    if outcomes.get("created", 0) < len(items) // 2:
        raise DemoFailed(f"the deployment created only {outcomes.get('created', 0)} objects")
    saved = expect(demo.engineer.request(
        "GET", f"/api/tenants/{target}/mappings/{source}"), 200)["value"]
    out.note(f"  saved for the next deployment from {demo.tenants[source]}: "
             + ", ".join(f"{m['kind']} {m['source_id']} -> {m['target_id']}" for m in saved))

    out.line()
    out.note("The same deployment again changes nothing:")
    again_at = len(sim.writes())
    again = demo.start_restore(demo.engineer, "engineer", target, live_body)
    demo.require_status(again, "succeeded")
    repeat = Counter(i["action"] for i in demo.items(demo.engineer, target, again["run_id"]))
    writes = len(sim.writes()) - again_at
    out.note(f"  {', '.join(f'{n} {a}' for a, n in sorted(repeat.items()))}; {writes} Graph "
             "writes")
    source_writes = [w for w in sim.writes()[writes_at:]
                     if (w.get("tenant") or "").lower() == source]
    out.note(f"  writes to {demo.tenants[source]} during the whole deployment: "
             f"{len(source_writes)}")
    if set(repeat) != {"no_change"} or writes or source_writes:
        raise DemoFailed(f"the second deployment did {dict(repeat)} with {writes} writes; "
                         f"{len(source_writes)} writes reached the source")


def _empty_intune(sim, tenant_id: str) -> None:
    """A new customer: none of the baseline's objects (the built-in scope tag stays)."""
    from shared.graph import supported_type

    for policy_type in BASELINE_TYPES:
        path = supported_type(policy_type).path
        for obj in sim.objects(tenant_id, path):
            if not obj.get("isBuiltIn"):
                sim.drift(tenant_id, path, obj["id"], op="delete")


def _ambiguous_group(demo: Demo, source: str, target: str) -> dict[str, Any]:
    """A second group in the target named like a group the baseline assigns to."""
    sim = demo.sim
    assigned = [a["target"]["groupId"]
                for p in sim.objects(source, "deviceManagement/deviceConfigurations")
                for a in p.get("assignments") or []
                if a["target"].get("@odata.type") == G + "groupAssignmentTarget"]
    if not assigned:
        from local.demo.scenario import DemoFailed
        raise DemoFailed("the first tenant's device configurations are assigned to no group")
    [name] = {g["displayName"] for g in sim.objects(source, "groups") if g["id"] == assigned[0]}
    response = httpx.post(f"{sim.base_url}/v1.0/groups", json={
        "displayName": name, "mailNickname": "pvtwin", "mailEnabled": False,
        "securityEnabled": True}, headers={"Authorization": f"Bearer {sim.graph_token(target)}"})
    if response.status_code != 201:
        from local.demo.scenario import DemoFailed
        raise DemoFailed(f"creating the second group answered {response.status_code}")
    return response.json()


def _mapping(demo: Demo, tenant_id: str, run_id: str) -> list[dict[str, Any]]:
    from local.demo.scenario import expect

    rows: list[dict[str, Any]] = []
    params: dict[str, str] = {"top": "1000"}
    while True:
        page = expect(demo.engineer.request(
            "GET", f"/api/tenants/{tenant_id}/runs/{run_id}/mapping", params=params), 200)
        rows.extend(page["value"])
        if not page.get("continuation"):
            return rows
        params["continuation"] = page["continuation"]
