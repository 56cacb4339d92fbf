"""A whole-tenant backup and restore covers every catalog type (issue 14's "done when").

The tenant loses one object of every type a restore can create (its groups included), the
whole backup set is restored live with ``create_missing_groups``, and every object is back
as it was backed up — references to what was recreated pointing at the new ids. Types a
restore never creates (singletons, update-only, read-only) come through unchanged or are
skipped with their stable code.
"""

from __future__ import annotations

from typing import Any

from shared.graph import CATALOG, ResourceType
from tests.e2e.restore_support import backup, by_policy, live, matches_snapshot, restore

SKIP_CODES = {"not_restorable", "content_required", "not_creatable"}


def _victim(rtype: ResourceType, objects: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One object of the type that a restore can bring back by creating it."""
    if not rtype.creatable:
        return None
    for obj in objects:
        if not rtype.captures(obj) or not rtype.can_create(obj):
            continue
        if rtype.content_required is not None and rtype.content_required(obj):
            continue
        return obj
    return None


def test_restore_every_type_deleted_objects_come_back_and_nothing_else_changes(admin, sim,
                                                                               tenant_id):
    source = backup(admin, tenant_id)
    backed_up = {i["policy_type"] for i in admin.backup_set(
        tenant_id, source["backup_set_id"])["items"]}
    assert backed_up == {entry.key for entry in CATALOG}, "the tenant carries every type"
    victims: dict[str, dict[str, Any]] = {}
    for rtype in CATALOG:
        victim = _victim(rtype, live(sim, tenant_id, rtype.key))
        if victim is not None:
            victims[rtype.key] = victim
            sim.drift(tenant_id, rtype.collection_for(victim), victim["id"], op="delete")

    run = restore(admin, tenant_id, source["backup_set_id"], dry_run=False,
                  ca_state="as_snapshot", create_missing_groups=True)

    items = admin.items(tenant_id, run["run_id"])
    failed = [(i["item_id"], i.get("error")) for i in items if i["status"] == "failed"]
    assert failed == []
    skipped = {(i["item_id"], (i.get("error") or {}).get("code")) for i in items
               if i["status"] == "skipped"}
    assert {code for _, code in skipped} <= SKIP_CODES, skipped
    outcome = by_policy(items)
    assert {key: outcome[v["id"]]["action"] for key, v in victims.items()} == {
        key: "created" for key in victims}
    renamed = {}
    for key, victim in victims.items():
        rtype = next(e for e in CATALOG if e.key == key)
        [now] = [o for o in live(sim, tenant_id, key)
                 if o.get(rtype.name_field) == victim.get(rtype.name_field)]
        renamed[victim["id"]] = now["id"]
    creatable = [e.key for e in CATALOG if e.creatable]
    assert matches_snapshot(admin, sim, tenant_id, source["backup_set_id"], creatable,
                            renamed=renamed) == []
