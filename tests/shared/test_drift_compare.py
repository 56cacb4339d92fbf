"""Matching live objects to baseline items (DESIGN §8, §10) and a pair's drift action."""

from dataclasses import dataclass

from shared.drift.compare import DriftCounts, drift_action, match_objects, name_candidates
from shared.graph import supported_type
from shared.runs.model import ItemAction


@dataclass(frozen=True)
class Obj:
    policy_id: str
    display_name: str


def _ids(pairs):
    return sorted((b.policy_id, live.policy_id) for b, live in pairs)


def test_match_objects_same_id_pairs_even_when_renamed():
    found = match_objects([Obj("1", "Old name")], [Obj("1", "New name")])

    assert _ids(found.pairs) == [("1", "1")]
    assert (found.removed, found.added, found.ambiguous) == ([], [], [])


def test_match_objects_gone_id_pairs_by_a_unique_name():
    found = match_objects([Obj("1", "Firewall"), Obj("2", "BitLocker")],
                          [Obj("9", "Firewall"), Obj("2", "BitLocker")])

    assert _ids(found.pairs) == [("1", "9"), ("2", "2")]
    assert found.removed == found.added == []


def test_match_objects_name_taken_by_several_live_objects_is_ambiguous_never_guessed():
    found = match_objects([Obj("1", "Firewall")], [Obj("8", "Firewall"), Obj("9", "Firewall")])

    assert found.pairs == []
    assert found.removed == found.ambiguous == [Obj("1", "Firewall")]
    assert sorted(o.policy_id for o in found.added) == ["8", "9"]


def test_match_objects_name_shared_by_several_baseline_items_is_ambiguous():
    found = match_objects([Obj("1", "Copy"), Obj("2", "Copy")], [Obj("9", "Copy")])

    assert found.pairs == []
    assert sorted(o.policy_id for o in found.ambiguous) == ["1", "2"]
    assert found.added == [Obj("9", "Copy")]


def test_match_objects_live_object_matched_by_id_is_not_taken_by_name_again():
    found = match_objects([Obj("1", "Firewall"), Obj("2", "Firewall")], [Obj("2", "Firewall")])

    assert _ids(found.pairs) == [("2", "2")]
    assert found.removed == [Obj("1", "Firewall")]
    assert found.ambiguous == [] and found.added == []


def test_match_objects_without_names_gone_and_new_objects_are_removed_and_added():
    found = match_objects([Obj("1", "")], [Obj("9", "")])

    assert found.pairs == [] and found.ambiguous == []
    assert (found.removed, found.added) == ([Obj("1", "")], [Obj("9", "")])


def test_match_objects_by_name_off_matches_by_id_only():
    found = match_objects([Obj("1", "Same")], [Obj("9", "Same")], by_name=False)

    assert found.pairs == []
    assert (found.removed, found.added) == ([Obj("1", "Same")], [Obj("9", "Same")])


def test_drift_action_ignores_graph_managed_fields_and_names_what_changed():
    rtype = supported_type("deviceConfigurations")
    baseline = {"id": "1", "displayName": "A", "description": "x", "version": 1,
                "lastModifiedDateTime": "2024-01-01T00:00:00Z"}
    same = {**baseline, "version": 7, "lastModifiedDateTime": "2024-06-01T00:00:00Z"}
    changed = {**baseline, "description": "y"}

    assert drift_action(rtype, same, baseline) == (ItemAction.IN_SYNC, [])
    assert drift_action(rtype, changed, baseline) == (
        ItemAction.DRIFTED, [{"path": "description", "change": "changed"}])


def test_drift_counts_of_counts_only_the_drift_actions():
    counts = DriftCounts.of(["in_sync", "in_sync", "drifted", "added", "failed", "removed"])

    assert counts == DriftCounts(in_sync=2, drifted=1, added=1, removed=1)
    assert counts.found and not DriftCounts(in_sync=3).found


def test_match_objects_a_name_pairs_only_within_one_kind():
    kinds = {"1": "win", "8": "mac", "9": "win"}
    found = match_objects([Obj("1", "Baseline")], [Obj("8", "Baseline"), Obj("9", "Baseline")],
                          kinds=kinds)
    other_only = match_objects([Obj("1", "Baseline")], [Obj("8", "Baseline")], kinds=kinds)

    assert [(b.policy_id, o.policy_id) for b, o in found.pairs] == [("1", "9")]
    assert [o.policy_id for o in found.added] == ["8"] and found.ambiguous == []
    assert other_only.pairs == [] and other_only.ambiguous == []
    assert [b.policy_id for b in other_only.removed] == ["1"]


def test_name_candidates_are_the_unmatched_objects_whose_name_the_other_side_has():
    base, live = name_candidates([Obj("1", "A"), Obj("2", "B"), Obj("3", "C")],
                                 [Obj("2", "B"), Obj("8", "A"), Obj("9", "Z")])

    assert [b.policy_id for b in base] == ["1"] and [o.policy_id for o in live] == ["8"]
