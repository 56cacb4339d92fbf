"""The content each policy had when it was last captured: one row per policy, so a backup
knows an unchanged object without a storage call for it (DESIGN §5: an unchanged policy is
not stored twice — and, with this index, not even looked up twice).

PartitionKey = ``{tenant}|{type}``, RowKey = policy id; one partition read per type and
backup, rows written in one transaction per page. A row is written only after its snapshot
blob and version exist, so it is a hint that is never wrong about what is stored: a missing
or older row only sends the object the long way (blob write, version lookup).
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

    async def of_type(self, tenant_id: str, policy_type: str) -> dict[str, LatestContent]:
        table = await self._storage.table(LATEST)
        rows = await tables.query_all(table, _partition(tenant_id, policy_type))
        return {row["RowKey"]: LatestContent(row["RowKey"], row["sha256"], row["blob_path"],
                                             row["backup_set_id"]) for row in rows}

    async def put_many(self, tenant_id: str, policy_type: str,
                       contents: list[LatestContent]) -> None:
        if not contents:
            return
        table = await self._storage.table(LATEST)
        await tables.upsert_many(table, [{
            "PartitionKey": _partition(tenant_id, policy_type), "RowKey": c.policy_id,
            "sha256": c.sha256, "blob_path": c.blob_path, "backup_set_id": c.backup_set_id,
        } for c in contents])


def _partition(tenant_id: str, policy_type: str) -> str:
    return f"{tenant_id}|{policy_type}"
