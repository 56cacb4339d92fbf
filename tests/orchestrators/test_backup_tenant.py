"""Batch packing of the backup orchestration (pure, deterministic)."""

from __future__ import annotations

from orchestrators.backup_tenant import BATCH_SIZE, _batches


def _listed(**sizes: int) -> list[dict]:
    return [{"policy_type": t, "ids": [f"{t}-{n}" for n in range(size)]}
            for t, size in sizes.items()]


def test_batches_pack_small_types_together_up_to_the_batch_size():
    batches = _batches(_listed(a=3, b=5, c=2))

    assert batches == [{"groups": [
        {"policy_type": "a", "policy_ids": ["a-0", "a-1", "a-2"]},
        {"policy_type": "b", "policy_ids": [f"b-{n}" for n in range(5)]},
        {"policy_type": "c", "policy_ids": ["c-0", "c-1"]},
    ]}]


def test_batches_split_a_large_type_and_keep_every_id_once_in_order():
    listed = _listed(a=BATCH_SIZE + 7, b=BATCH_SIZE * 2, c=0, d=1)

    batches = _batches(listed)

    sizes = [sum(len(g["policy_ids"]) for g in b["groups"]) for b in batches]
    assert sizes == [BATCH_SIZE, BATCH_SIZE, BATCH_SIZE, BATCH_SIZE - 12]
    flat = [(g["policy_type"], i) for b in batches for g in b["groups"]
            for i in g["policy_ids"]]
    assert flat == [(e["policy_type"], i) for e in listed for i in e["ids"]]


def test_batches_of_nothing_are_none():
    assert _batches(_listed(a=0)) == []
    assert _batches([{"policy_type": "x", "ids": [], "outcome": "skipped"}]) == []
