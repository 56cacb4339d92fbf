"""The content each policy had when it was last captured: one row per policy, so a backup
knows an unchanged object without a storage call for it (DESIGN §5: an unchanged policy is
not stored twice — and, with this index, not even looked up twice).

PartitionKey = ``{tenant}|`` (one partition per tenant, under the ``{tenant}|`` prefix of
every per-tenant partition of the backup tables, so retention and offboarding find it with the
rest), RowKey = ``{type}|{policy id}``: an activity reads the rows of all its types in one query
and writes them in one transaction per 100. A row is written only after its snapshot blob and
version exist, so it is a hint that is never wrong about what is stored: a missing or older row
only sends the object the long way (blob write, version lookup). Rows of the first layout
(PartitionKey ``{tenant}|{type}``, RowKey policy id) are no longer read: their objects go the
long way once, and the next backup writes their rows under the new keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.platform import tables
from shared.platform.storage import Storage

LATEST = "latestcontent"


@dataclass(frozen=True)
class LatestContent:
    policy_id: str
    sha256: str
    blob_path: str
    backup_set_id: str  # the set that holds the first copy of this content


class LatestContentStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def of_types(self, tenant_id: str, policy_types: list[str]
                       ) -> dict[str, dict[str, LatestContent]]:
        """The rows of each of ``policy_types``, by type and policy id."""
        table = await self._storage.table(LATEST)
        rows = await tables.query_prefixes(table, _partition(tenant_id),
                                           [f"{t}|" for t in policy_types])
        out: dict[str, dict[str, LatestContent]] = {t: {} for t in policy_types}
        for row in rows:
            policy_type, _, policy_id = row["RowKey"].partition("|")
            if policy_type in out:
                out[policy_type][policy_id] = LatestContent(
                    policy_id, row["sha256"], row["blob_path"], row["backup_set_id"])
        return out

    async def put_many(self, tenant_id: str,
                       contents: list[tuple[str, LatestContent]]) -> None:
        """Write ``(type, row)`` pairs."""
        if not contents:
            return
        table = await self._storage.table(LATEST)
        await tables.upsert_many(table, [{
            "PartitionKey": _partition(tenant_id), "RowKey": f"{policy_type}|{c.policy_id}",
            "sha256": c.sha256, "blob_path": c.blob_path, "backup_set_id": c.backup_set_id,
        } for policy_type, c in contents])


def _partition(tenant_id: str) -> str:
    return f"{tenant_id}|"
