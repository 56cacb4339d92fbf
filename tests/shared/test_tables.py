"""Table primitives on real Azure Tables (Azurite): expected conditions are values, batches
respect the entity-group limits, partitions page without leaking into their neighbours."""

import pytest

from shared.platform import tables
from shared.platform.codes import ErrorCode
from shared.platform.errors import StorageError, ValidationFailed

pytestmark = pytest.mark.anyio


def _row(partition: str, row: str, **props) -> dict:
    return {"PartitionKey": partition, "RowKey": row, **props}


async def test_tables_insert_once_second_insert_is_false_and_keeps_the_first(storage):
    table = await storage.table("prims")
    assert await tables.insert_once(table, _row("p", "r", v=1)) is True
    assert await tables.insert_once(table, _row("p", "r", v=2)) is False
    assert (await tables.get_or_none(table, "p", "r"))["v"] == 1
    assert await tables.get_or_none(table, "p", "absent") is None


async def test_tables_replace_with_stale_or_vanished_etag_is_false(storage):
    table = await storage.table("prims")
    await tables.insert_once(table, _row("p", "r", v=1))
    read = await tables.get_or_none(table, "p", "r")
    await tables.upsert(table, _row("p", "r", v=2))  # someone else wrote since our read

    assert await tables.replace_if_unchanged(table, _row("p", "r", v=3), tables.etag(read)) is False
    assert await tables.delete(table, "p", "r", etag=tables.etag(read)) is False
    fresh = await tables.get_or_none(table, "p", "r")
    assert fresh["v"] == 2
    assert await tables.replace_if_unchanged(table, _row("p", "r", v=3), tables.etag(fresh))

    gone = await tables.get_or_none(table, "p", "r")
    assert await tables.delete(table, "p", "r", etag=tables.etag(gone)) is True
    assert await tables.replace_if_unchanged(table, _row("p", "r", v=4), tables.etag(gone)) is False
    assert await tables.merge_if_present(table, _row("p", "r", v=4)) is False
    assert await tables.get_or_none(table, "p", "r") is None


async def test_tables_upsert_many_splits_by_partition_and_limit_later_duplicate_wins(storage):
    table = await storage.table("prims")
    rows = [_row("a", f"{n:03}", v=n) for n in range(230)] + [_row("b", "x", v=1)]
    rows += [_row("a", "005", v=-1), _row("b", "x", v=2)]  # the same rows again, later
    await tables.upsert_many(table, rows)

    a = await tables.query_all(table, "a")
    assert [e["RowKey"] for e in a] == [f"{n:03}" for n in range(230)]
    assert a[5]["v"] == -1
    assert [e["v"] for e in await tables.query_all(table, "b")] == [2]


async def test_tables_upsert_many_large_rows_stay_under_the_batch_size(storage):
    table = await storage.table("prims")
    rows = [_row("big", f"{n:03}", a="x" * 30_000, b="y" * 30_000) for n in range(150)]  # 9 MB
    await tables.upsert_many(table, rows)
    assert len(await tables.query_all(table, "big")) == 150


async def test_tables_query_page_reads_only_its_partition_to_the_end(storage):
    table = await storage.table("prims")
    await tables.upsert_many(table, [_row("p", f"{n}", odd=n % 2 == 1) for n in range(7)])
    await tables.upsert(table, _row("q", "0", odd=False))
    seen, token = [], None
    while True:
        page = await tables.query_page(table, "p", top=3, continuation=token)
        seen += [e["RowKey"] for e in page.value]
        token = page.continuation
        if token is None:
            break
    assert seen == [str(n) for n in range(7)]
    odd = await tables.query_page(table, "p", top=10, continuation=None, where="odd eq @o",
                                  parameters={"o": True})
    assert [e["RowKey"] for e in odd.value] == ["1", "3", "5"] and odd.continuation is None
    with pytest.raises(ValidationFailed):
        await tables.query_page(table, "p", top=3, continuation="!!not-a-token!!")


async def test_tables_service_refusal_is_storage_error(storage):
    table = await storage.table("prims")
    with pytest.raises(StorageError) as raised:
        await tables.upsert(table, _row("p", "r", text="x" * 70_000))  # over 64 KiB
    assert raised.value.code == ErrorCode.STORAGE_ERROR
    assert raised.value.http_status == 500
    assert "PropertyValueTooLarge" in raised.value.message
