"""Which backup sets the purge deletes (DESIGN §12), decided on data: older than the
retention and kept by nothing — not the baseline, not the newest ``keep_min_sets`` (of all
sets, and of tenant backups), not a set a run in flight uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ulid import ULID

from shared.backups.sets import BackupSet
from shared.platform.keys import iso, new_ulid
from shared.retention.plan import Kept, choose, in_use_sets
from shared.runs.model import Run, RunStatus
from shared.runs.store import RunStore

T0 = datetime(2030, 1, 1, tzinfo=UTC)
TENANT = "5a7e0c11-0000-4000-8000-0000000000b1"


def _sets(*kinds: str) -> list[BackupSet]:
    """One set per day from T0, oldest first."""
    out = []
    for day, kind in enumerate(kinds):
        at = T0 + timedelta(days=day)
        out.append(BackupSet(str(ULID.from_datetime(at)), TENANT, None, "r", iso(at), 1, kind))
    return out


def test_only_sets_older_than_the_retention_and_beyond_the_newest_are_purged() -> None:
    sets = _sets(*["backup"] * 10)
    ids = [s.backup_set_id for s in sets]
    plan = choose(sets, now=T0 + timedelta(days=9 + 7, minutes=1), retention_days=7,
                  keep_min_sets=3,
                  baseline=set(), in_use=set())
    assert plan.purge == ids[:7]
    assert plan.kept == dict.fromkeys(ids[7:], Kept.NEWEST)

    young = choose(sets, now=T0 + timedelta(days=5 + 7), retention_days=7, keep_min_sets=1,
                   baseline=set(), in_use=set())
    assert young.purge == ids[:5] and young.kept == {}  # days 5.. are younger than 7 days


def test_baseline_and_sets_in_use_are_kept_whatever_their_age() -> None:
    sets = _sets(*["backup"] * 6)
    ids = [s.backup_set_id for s in sets]
    plan = choose(sets, now=T0 + timedelta(days=100), retention_days=7, keep_min_sets=1,
                  baseline={ids[0]}, in_use={ids[2], ids[3]})
    assert plan.purge == [ids[1], ids[4]]
    assert plan.kept == {ids[0]: Kept.BASELINE, ids[2]: Kept.IN_USE, ids[3]: Kept.IN_USE,
                         ids[5]: Kept.NEWEST}


def test_captures_and_pre_restore_sets_never_push_the_last_backups_out() -> None:
    sets = _sets("backup", "backup", "capture", "pre_restore", "capture")
    ids = [s.backup_set_id for s in sets]
    plan = choose(sets, now=T0 + timedelta(days=100), retention_days=7, keep_min_sets=2,
                  baseline=set(), in_use=set())
    # the newest two sets (a capture, a pre-restore set) and the newest two backups stay
    assert plan.purge == [ids[2]]
    assert set(plan.kept) == {ids[0], ids[1], ids[3], ids[4]}


def test_pre_restore_set_younger_than_the_retention_is_kept() -> None:
    sets = _sets("backup", "backup", "pre_restore", "backup")
    ids = [s.backup_set_id for s in sets]
    plan = choose(sets, now=T0 + timedelta(days=2 + 7), retention_days=7, keep_min_sets=1,
                  baseline=set(), in_use=set())
    assert plan.purge == ids[:2]


# ---- against Azurite: which sets runs in flight use ----------------------------------------
SOURCE = "5a7e0c11-0000-4000-8000-0000000000b2"


def _run(tenant: str, status: RunStatus, backup_set_id: str, **parameters: object) -> Run:
    run_id = new_ulid()
    return Run(run_id=run_id, tenant_id=tenant, run_type="restore", status=status.value,
               requested_by="engineer", idempotency_key=f"{tenant}|{run_id}",
               instance_id=f"pv-{run_id}-1", created_at=iso(T0), backup_set_id=backup_set_id,
               parameters=dict(parameters))


@pytest.mark.anyio
async def test_in_use_a_set_another_tenant_deploys_from_or_a_report_compares_with(storage):
    runs = RunStore(storage)
    deploying = _run(TENANT, RunStatus.RUNNING, "golden", source_tenant_id=SOURCE)
    deployed = _run(TENANT, RunStatus.SUCCEEDED, "old-golden", source_tenant_id=SOURCE)
    reporting = _run(SOURCE, RunStatus.QUEUED, "newer", compare_to="older")
    for run in (deploying, deployed, reporting):
        await runs.create(run)

    assert await in_use_sets(storage, SOURCE) == {"golden", "newer", "older"}
    assert await in_use_sets(storage, TENANT) == {"golden"}
