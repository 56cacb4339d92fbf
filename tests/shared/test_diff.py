from shared.restore.diff import diff

SNAPSHOT = {
    "name": "Baseline",
    "settings": [
        {"settingInstance": {"choiceSettingValue": {"value": "on"}}},
        {"settingInstance": {"simpleSettingValue": {"value": 5}}},
    ],
    "assignments": [{"target": {"groupId": "g1"}}],
}


def test_diff_identical_documents_is_empty():
    assert diff(SNAPSHOT, SNAPSHOT) == []


def test_diff_names_changed_leaf_with_full_path_and_no_value():
    live = {**SNAPSHOT, "settings": [
        {"settingInstance": {"choiceSettingValue": {"value": "off"}}}, SNAPSHOT["settings"][1]]}
    changes = diff(live, SNAPSHOT)
    assert changes == [{"path": "settings[0].settingInstance.choiceSettingValue.value",
                        "change": "changed"}]
    assert "off" not in str(changes) and "on" not in str(changes).replace("path", "")


def test_diff_direction_is_live_to_snapshot():
    live = {**SNAPSHOT, "assignments": [], "description": "drifted"}
    assert diff(live, SNAPSHOT) == [
        {"path": "assignments[0]", "change": "added"},
        {"path": "description", "change": "removed"},
    ]


def test_diff_null_and_absent_are_the_same():
    assert diff({**SNAPSHOT, "description": None}, SNAPSHOT) == []
