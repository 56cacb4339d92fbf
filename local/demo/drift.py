"""The demo's drift section (DESIGN §10): people change a tenant in the portal, a drift check
says what changed and who did it, alerts the engineer, and a restore of exactly the drifted
items puts the tenant back."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from local.demo.console import counts_text

if TYPE_CHECKING:
    from local.demo.scenario import Demo

ALICE = {"upn": "alice@contoso.example", "type": "user"}  # the customer's own admin
TECHNICIAN = {"upn": "tech@msp.example", "type": "partner"}  # a GDAP technician of the MSP
REMEDIABLE = ("drifted", "removed")  # the item ids a restore of the baseline takes


def show_drift(demo: Demo) -> None:
    from local.demo.scenario import DemoFailed, diff_rows, expect

    out, sim = demo.out, demo.sim
    out.section(6, "Drift: what changed since the baseline, and who changed it")
    tenant_id = demo.first_tenant
    baseline = demo.backups[tenant_id]
    policy = sim.objects(tenant_id, "deviceManagement/deviceConfigurations")[0]
    sim.drift(tenant_id, "deviceManagement/deviceConfigurations", policy["id"],
              patch={"description": "Loosened for a pilot"}, actor=ALICE)
    script = sim.objects(tenant_id, "deviceManagement/deviceManagementScripts")[0]
    sim.drift(tenant_id, "deviceManagement/deviceManagementScripts", script["id"],
              op="delete", actor=TECHNICIAN)
    out.note(f"In {demo.tenants[tenant_id]}: {ALICE['upn']} edits "
             f"'{policy['displayName']}' in the Intune portal; {TECHNICIAN['upn']} (GDAP) "
             f"deletes the script '{script['displayName']}'.")
    out.line()
    out.note("The engineer checks the tenant against its baseline (the newest full backup):")
    started = expect(demo.engineer.request(
        "POST", f"/api/tenants/{tenant_id}/drift-checks", json={}), 202)
    [run] = demo.follow(demo.engineer, "engineer", [started])
    demo.require_status(run, "succeeded")
    if run["backup_set_id"] != baseline["backup_set_id"]:
        raise DemoFailed("the drift check did not compare with the newest full backup")
    items = demo.items(demo.engineer, tenant_id, run["run_id"])
    changed = [i for i in items if i["action"] != "in_sync"]
    out.note("drift: " + ", ".join(f"{n} {a}" for a, n in run["drift"].items()))
    out.line()
    out.table(["policy_type", "display_name", "action", "changed by", "as", "activity"],
              [(i["policy_type"], i["display_name"], i["action"],
                *_who(i.get("changed_by"))) for i in changed])
    actions = Counter(i["action"] for i in changed)
    if actions != Counter({"drifted": 1, "removed": 1}) or \
            {(i.get("changed_by") or {}).get("actor") for i in changed} != {
                ALICE["upn"], TECHNICIAN["upn"]}:
        raise DemoFailed(f"the drift check reported {dict(actions)} "
                         f"by {[i.get('changed_by') for i in changed]}")
    alerts = [n for n in expect(demo.engineer.request(
        "GET", "/api/notifications", params={"unread": "true"}), 200)["value"]
        if n.get("status") == "drift_detected" and run["run_id"] in (n.get("link") or "")]
    out.line()
    out.note(f"The engineer's alert: {len(alerts)} notification 'drift_detected' linking to "
             f"the run (and one 'drift_detected' event on the run-events queue).")
    if len(alerts) != 1:
        raise DemoFailed(f"{len(alerts)} drift alerts, expected 1")

    out.line()
    out.note("Remediation is a normal restore of the baseline, of exactly the drifted items;"
             " first its preview:")
    body = {"backup_set_id": baseline["backup_set_id"], "dry_run": True,
            "item_ids": [i["item_id"] for i in changed if i["action"] in REMEDIABLE]}
    preview = demo.start_restore(demo.engineer, "engineer", tenant_id, body)
    demo.require_status(preview, "succeeded")
    planned = demo.items(demo.engineer, tenant_id, preview["run_id"])
    out.table(["policy_type", "display_name", "action", "diff path", "change"],
              [row for i in planned for row in diff_rows(i)])
    if sorted(i["action"] for i in planned) != ["would_create", "would_update"]:
        raise DemoFailed(f"the fix would {[i['action'] for i in planned]}")
    out.note("then the fix:")
    fixed = demo.start_restore(demo.engineer, "engineer", tenant_id, {**body, "dry_run": False})
    demo.require_status(fixed, "succeeded")
    out.note(f"  restore: {counts_text(fixed['counts'])}")
    again = expect(demo.engineer.request(
        "POST", f"/api/tenants/{tenant_id}/drift-checks", json={}), 202)
    [recheck] = demo.follow(demo.engineer, "engineer", [again])
    out.note("  a new check: " + ", ".join(f"{n} {a}" for a, n in recheck["drift"].items()))
    if any(recheck["drift"][a] for a in ("drifted", "removed", "added")):
        raise DemoFailed(f"the tenant still drifts after the fix: {recheck['drift']}")


def _who(changed_by: dict[str, Any] | None) -> tuple[str, str, str]:
    if not changed_by:
        return ("(not in the audit log)", "-", "-")
    return (changed_by["actor"], changed_by["actor_type"], changed_by.get("activity") or "-")
