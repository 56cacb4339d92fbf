"""What belongs to a tenant: one table of where its rows and blobs are (DESIGN §5, §12).

Each :class:`Owned` names a table (or blob container) and how to find the tenant's rows in
it; ``shared.offboarding.sweep`` deletes them, entry after entry, by query — so a sweep that
stopped midway simply runs again. Order matters only where an entry finds its rows through
another table: rows keyed by the tenant's run or backup-set ids (:data:`RUN_IDS`,
:data:`SET_IDS`) come before the runs, run index and backup sets they are found from.
The data key goes last but one (anything missed is unreadable without it), the tenant row
last of all (it carries the offboarding mark until the end). The Durable instances and
history of the tenant's runs are not rows of ours: the offboarding purges them through the
Durable client, found from the runs, before this table is swept.

A store added later adds its line here: webhooks and their deliveries, mapping registries
(where the tenant is source or target: two lines), reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shared.backups.latest import LATEST
from shared.backups.sets import BACKUP_ITEMS, BACKUP_SETS
from shared.backups.snapshots import SNAPSHOTS
from shared.backups.tenant_keys import TENANT_KEYS
from shared.backups.versions import VERSIONS
from shared.deploy.store import DEPLOY_PLANS, DEPLOY_REGISTRY
from shared.drift.baseline import BASELINES
from shared.reports.store import REPORTS
from shared.restore.lock import RESTORE_LOCKS
from shared.retention.aged import RETENTION_STATE, RUN_PARTITIONS
from shared.runs.idempotency import IDEMPOTENCY
from shared.runs.notifications import NOTIFICATIONS
from shared.runs.store import RUN_INDEX, RUNS
from shared.schedules.marks import MARKS
from shared.tenants.audit import AUDIT
from shared.tenants.store import ACCESS, TENANTS
from shared.webhooks.store import WEBHOOK_DELIVERIES, WEBHOOKS

RUN_IDS = "run_ids"  # the tenant's runs (runs partition and run index)
SET_IDS = "set_ids"  # its backup sets: produced by its runs, pre-restore sets, sealed sets
# Other tenants' deployments from it (DESIGN §11): their plans name its objects, ids and names.
DEPLOYED_RUN_IDS = "deployed_run_ids"


# ---- how to find a tenant's rows -----------------------------------------------------------
@dataclass(frozen=True)
class Partition:
    """Rows of one partition, its key made from the tenant id (default: the id itself)."""

    key: Callable[[str], str] = str


@dataclass(frozen=True)
class PartitionPrefix:
    """Rows of every partition whose key starts with ``prefix(tenant)``."""

    prefix: Callable[[str], str]


@dataclass(frozen=True)
class PartitionsOf:
    """Rows of every partition named by one of the tenant's ids (:data:`RUN_IDS`, …)."""

    ids: str


@dataclass(frozen=True)
class Property:
    """Rows of any partition whose ``name`` property is the tenant id (``RowKey``
    included): one filtered scan, for tables partitioned by something else."""

    name: str


@dataclass(frozen=True)
class RowPrefix:
    """Rows of ``partition`` whose key starts with ``prefix(tenant)``."""

    partition: str
    prefix: Callable[[str], str]


@dataclass(frozen=True)
class BlobPrefix:
    """Blobs whose name starts with ``prefix(tenant)``."""

    prefix: Callable[[str], str]


Finder = Partition | PartitionPrefix | PartitionsOf | Property | RowPrefix | BlobPrefix


@dataclass(frozen=True)
class Owned:
    """One place a tenant's data lives: a table (or, with :class:`BlobPrefix`, a container)
    and how to find the tenant's part of it."""

    store: str
    find: Finder

    @property
    def name(self) -> str:
        """What the entry is called in messages: its store and how it finds rows."""
        detail = getattr(self.find, "name", None) or getattr(self.find, "ids", None)
        return f"{self.store}:{type(self.find).__name__}" + (f":{detail}" if detail else "")

    @property
    def blobs(self) -> bool:
        return isinstance(self.find, BlobPrefix)


def _under(tenant_id: str) -> str:
    return f"{tenant_id}|"


# ---- the table -----------------------------------------------------------------------------
OWNED: tuple[Owned, ...] = (
    Owned(SNAPSHOTS, BlobPrefix(lambda t: f"{t}/")),
    Owned(REPORTS, BlobPrefix(lambda t: f"{t}/")),
    Owned(VERSIONS, PartitionPrefix(_under)),  # {tenant}|{type}|{policy id}
    Owned(LATEST, PartitionPrefix(_under)),  # {tenant}|{type}
    Owned(BACKUP_ITEMS, PartitionsOf(SET_IDS)),
    # its runs' items, a restore's steps and id map, a deployment's plan (as retention ages)
    *(Owned(table, PartitionsOf(RUN_IDS)) for table in RUN_PARTITIONS),
    Owned(DEPLOY_PLANS, PartitionsOf(DEPLOYED_RUN_IDS)),  # ... and of deployments from it
    Owned(NOTIFICATIONS, Property("tenant_id")),  # partitioned by principal: every principal's
    Owned(ACCESS, Property("tenant_id")),  # both copies: t:{tenant} and p:{principal}
    Owned(AUDIT, Partition()),
    Owned(MARKS, Property("RowKey")),  # {job} / {tenant}
    Owned(BASELINES, Partition()),
    Owned(RESTORE_LOCKS, Partition()),
    Owned(IDEMPOTENCY, Partition()),
    Owned(BACKUP_SETS, Partition()),
    Owned(RUN_INDEX, Property("tenant_id")),  # {run id} / run
    Owned(RUNS, Partition()),
    Owned(WEBHOOKS, Partition()),
    Owned(WEBHOOK_DELIVERIES, Partition()),
    Owned(RETENTION_STATE, Partition()),
    Owned(DEPLOY_REGISTRY, Property("target_tenant_id")),  # pairs where it is the target
    Owned(DEPLOY_REGISTRY, Property("source_tenant_id")),  # ... or the source
    Owned(TENANT_KEYS, RowPrefix("datakey", _under)),  # destroys the data key
)
TENANT_ROW = Owned(TENANTS, RowPrefix("tenant", str))  # deleted last: it holds the mark

__all__ = ["DEPLOYED_RUN_IDS", "OWNED", "RUN_IDS", "SET_IDS", "TENANT_ROW", "BlobPrefix",
           "Finder", "Owned", "Partition", "PartitionPrefix", "PartitionsOf", "Property",
           "RowPrefix"]
