"""The purge orchestrations replayed without a host (DESIGN §12): the day's purge fans out
to one sub-orchestration per tenant under ids derived from its own, a tenant's purge deletes
its planned sets in chunks before sweeping, and a tenant whose step keeps failing is
reported, not fatal."""

from __future__ import annotations

from typing import Any

from orchestrators.purge_expired import TENANTS_AT_ONCE, purge_expired
from orchestrators.purge_tenant import SETS_PER_CALL, purge_tenant
from tests.orchestrators.fake_context import FakeContext, max_in_flight, run

AT = "2030-01-01T02:30:00Z"


def _tenant_context(sweep: Any = lambda _: {"blobs_marked": 2}) -> FakeContext:
    planned = [f"set-{n:02d}" for n in range(SETS_PER_CALL + 3)]
    return FakeContext(input={"tenant_id": "t1", "at": AT, "grace_s": 86400}, answers={
        "plan_tenant_purge": lambda _: {"purge": planned, "kept": {"set-x": "baseline"}},
        "purge_backup_sets": lambda p: [s for s in p["backup_set_ids"] if s != "set-01"],
        "sweep_tenant_snapshots": sweep,
        "purge_tenant_records": lambda _: {"run_items_deleted": 5},
        "audit_tenant_purge": lambda _: None,
    })


def test_tenant_purge_deletes_the_plan_in_chunks_then_sweeps_and_audits() -> None:
    context = _tenant_context()

    output = run(purge_tenant, context)

    assert [c.name for c in context.calls] == [
        "plan_tenant_purge", "purge_backup_sets", "purge_backup_sets",
        "sweep_tenant_snapshots", "purge_tenant_records", "audit_tenant_purge"]
    chunks = [c.input["backup_set_ids"] for c in context.named("purge_backup_sets")]
    assert [len(c) for c in chunks] == [SETS_PER_CALL, 3]
    assert "set-01" not in output["purged"] and len(output["purged"]) == SETS_PER_CALL + 2
    counts = {"blobs_marked": 2, "run_items_deleted": 5, "sets_deleted": SETS_PER_CALL + 2,
              "sets_kept_old": 1}
    assert output["counts"] == counts
    assert context.named("audit_tenant_purge")[0].input == {"tenant_id": "t1", "at": AT,
                                                           "counts": counts}


def test_tenant_purge_whose_step_keeps_failing_reports_it() -> None:
    context = _tenant_context(sweep=lambda _: RuntimeError("storage down"))

    assert run(purge_tenant, context) == {"tenant_id": "t1", "failed": True}
    assert "audit_tenant_purge" not in [c.name for c in context.calls]


def test_day_purge_fans_out_per_tenant_under_derived_ids_and_sweeps_notifications() -> None:
    tenants = {f"t{n:02d}": 7 + n for n in range(TENANTS_AT_ONCE + 2)}
    context = FakeContext(
        input={"at": AT, "grace_s": 86400, "tenant_ids": None}, instance_id="pv-purge-20300101",
        answers={
            "list_retention": lambda _: tenants,
            "purge_tenant": lambda p: ({"tenant_id": p["tenant_id"], "failed": True}
                                       if p["tenant_id"] == "t03" else {"purged": []}),
            "purge_old_notifications": lambda p: len(p["retention_days"]),
        })

    output = run(purge_expired, context)

    subs = context.named("purge_tenant")
    assert [s.instance_id for s in subs] == [f"pv-purge-20300101-{t}" for t in sorted(tenants)]
    assert {s.input["at"] for s in subs} == {AT}
    assert max_in_flight(context, "purge_tenant") == TENANTS_AT_ONCE
    assert output["failed"] == ["t03"]
    assert context.named("purge_old_notifications")[0].input == {"at": AT,
                                                                "retention_days": tenants}
    assert output["notifications_deleted"] == len(tenants)
