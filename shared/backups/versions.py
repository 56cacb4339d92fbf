"""Per-policy version history: one row per distinct content hash, newest first (DESIGN §3, §5).

PartitionKey = ``{tenant}|``, RowKey = ``{type}|{policy id}|{inverted time}_{hash prefix}``: a
policy's versions are one RowKey range, and the versions a capture activity records, of all
its types, share a partition, so they are written in one transaction per 100
(:meth:`VersionStore.put_many`) instead of one request each. The partition sits under the
``{tenant}|`` prefix that retention and offboarding sweep. DESIGN §5 suggests
``tenant|type|policy_id`` as the partition:
that is the first layout, still read — a policy's rows there are all older than any row of the
current layout (it is no longer written), so a listing reads the current rows, then those.

A version is written after its snapshot blob, so a blob that was just created has no version
yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared.platform import tables
from shared.platform.keys import inverted_time, iso
from shared.platform.paging import Page, decode_token, encode_token
from shared.platform.storage import Storage

if TYPE_CHECKING:
    from shared.backups.sets import BackupItem

VERSIONS = "versions"
_LISTED = ("sha256", "display_name", "captured_at", "backup_set_id", "item_id")
_FIRST_LAYOUT = "first_layout"  # marks a listing token that has moved on to the first layout


def version_of(row: dict[str, Any]) -> tuple[str, str]:
    """``(policy type, policy id)`` of a version row of either layout."""
    parts = row["PartitionKey"].split("|", 2)
    if len(parts) == 3:  # the first layout: {tenant}|{type}|{policy id}
        return parts[1], parts[2]
    policy_type, _, rest = row["RowKey"].partition("|")
    return policy_type, rest.partition("|")[0]


class VersionStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def record(self, tenant_id: str, item: BackupItem, backup_set_id: str,
                     at: datetime) -> bool:
        """Add a version unless this content hash is already known. True when this backup
        set holds the first copy of the content (also on a retry of the same capture)."""
        first = await self.first_copy(tenant_id, item, backup_set_id, at)
        return first == backup_set_id

    async def first_copy(self, tenant_id: str, item: BackupItem, backup_set_id: str,
                         at: datetime) -> str:
        """As :meth:`record`, returning the backup set that holds the first copy."""
        known = await self.holder(tenant_id, item)
        if known is not None:
            return known
        await self.put_many([self.row(tenant_id, item, backup_set_id, at)])
        return backup_set_id

    async def holder(self, tenant_id: str, item: BackupItem) -> str | None:
        """The backup set recorded with ``item``'s content hash, if a version holds it."""
        table = await self._storage.table(VERSIONS)
        known = await tables.query_all(
            table, _partition(tenant_id), "RowKey ge @lo and RowKey lt @hi and sha256 eq @h",
            {**_range(item.policy_type, item.policy_id), "h": item.sha256})
        if not known:
            known = await tables.query_all(
                table, _first_partition(tenant_id, item.policy_type, item.policy_id),
                "sha256 eq @h", {"h": item.sha256})
        return str(known[0].get("backup_set_id") or "") if known else None

    @staticmethod
    def row(tenant_id: str, item: BackupItem, backup_set_id: str, at: datetime
            ) -> dict[str, Any]:
        """The version row recording ``item``'s content as first held by ``backup_set_id``."""
        return {
            "PartitionKey": _partition(tenant_id),
            "RowKey": f"{item.policy_type}|{item.policy_id}|{inverted_time(at)}_"
                      f"{item.sha256[:16]}",
            "sha256": item.sha256,
            "display_name": item.display_name,
            "captured_at": iso(at),
            "backup_set_id": backup_set_id,
            "item_id": item.item_id,
        }

    async def put_many(self, rows: list[dict[str, Any]]) -> None:
        """Write version rows (:meth:`row`), one transaction per partition and 100 rows."""
        if rows:
            await tables.upsert_many(await self._storage.table(VERSIONS), rows)

    async def list(self, tenant_id: str, policy_type: str, policy_id: str, *, top: int,
                   continuation: str | None) -> Page[dict[str, Any]]:
        """A page of the policy's versions, newest first: the current layout's rows, then
        the first layout's."""
        table = await self._storage.table(VERSIONS)
        token = decode_token(continuation) or {}
        rows: list[dict[str, Any]] = []
        if token.get(_FIRST_LAYOUT) is None:
            page = await tables.query_page(
                table, _partition(tenant_id), top=top,
                continuation=encode_token(token), where="RowKey ge @lo and RowKey lt @hi",
                parameters=_range(policy_type, policy_id))
            if page.continuation is not None:
                return Page([_listed(e) for e in page.value], page.continuation)
            rows, token = [_listed(e) for e in page.value], {}
            if len(rows) == top:  # full: the first layout's rows come on the next page
                return Page(rows, encode_token({_FIRST_LAYOUT: "1"}))
        rest = {k: v for k, v in token.items() if k != _FIRST_LAYOUT}
        page = await tables.query_page(
            table, _first_partition(tenant_id, policy_type, policy_id), top=top - len(rows),
            continuation=encode_token(rest))
        rows += [_listed(e) for e in page.value]
        more = decode_token(page.continuation)
        return Page(rows, encode_token({**more, _FIRST_LAYOUT: "1"}) if more else None)


def _listed(entity: dict[str, Any]) -> dict[str, Any]:
    return {n: entity.get(n) for n in _LISTED}


def _partition(tenant_id: str) -> str:
    return f"{tenant_id}|"


def _first_partition(tenant_id: str, policy_type: str, policy_id: str) -> str:
    return f"{tenant_id}|{policy_type}|{policy_id}"


def _range(policy_type: str, policy_id: str) -> dict[str, str]:
    """``@lo``/``@hi`` bounding the RowKeys of one policy (``}`` sorts right after ``|``)."""
    return {"lo": f"{policy_type}|{policy_id}|", "hi": f"{policy_type}|{policy_id}}}"}
