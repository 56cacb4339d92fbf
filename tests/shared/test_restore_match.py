"""compare(): what a restore would write, from the comparable forms of live and snapshot."""

from __future__ import annotations

import copy

from shared.graph import supported_type
from shared.restore.match import compare

CA = supported_type("conditionalAccessPolicies")
DEVICE = supported_type("deviceConfigurations")
SETTINGS_CATALOG = supported_type("configurationPolicies")


def _device() -> dict:
    return {
        "@odata.type": "#microsoft.graph.windows10GeneralConfiguration",
        "id": "a", "displayName": "Baseline", "description": "d", "version": 3,
        "lastModifiedDateTime": "2026-01-01T00:00:00Z",
        "assignments": [{"id": "a_g1", "target": {
            "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g1"}}],
    }


def _settings_catalog() -> dict:
    """A settings catalog policy as Graph serves it: an annotated ``templateReference`` whose
    family, name and version Graph fills in."""
    return {
        "id": "sc", "name": "Baseline", "description": "d", "platforms": "windows10",
        "technologies": "mdm", "settingCount": 1, "isAssigned": True,
        "templateReference": {
            "@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicyTemplateReference",
            "templateId": "", "templateFamily": "none", "templateDisplayName": None,
            "templateDisplayVersion": None},
        "settings": [{"id": "0", "settingInstance": {
            "settingDefinitionId": "device_vendor_msft_policy_config_x",
            "simpleSettingValue": {"value": 5}}}],
        "assignments": [{"id": "sc_g1", "target": {
            "@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": "g1"}}],
    }


def _compare(rtype, live, desired, include_assignments=True, ca_state="report_only"):
    return compare(rtype, live, desired, include_assignments=include_assignments,
                   ca_state=ca_state)


def test_compare_server_managed_fields_only_is_no_change():
    live = _device()
    desired = {**copy.deepcopy(live), "id": "other", "version": 9,
               "lastModifiedDateTime": "2027-01-01T00:00:00Z"}
    desired["assignments"][0]["id"] = "server-id"
    assert _compare(DEVICE, live, desired) == ([], False, False)


def test_compare_assignment_change_only_writes_assignments():
    live, desired = _device(), _device()
    live["assignments"][0]["target"]["groupId"] = "g2"
    changes, body, assignments = _compare(DEVICE, live, desired)
    assert changes == [{"path": "assignments[0].target.groupId", "change": "changed"}]
    assert (body, assignments) == (False, True)
    assert _compare(DEVICE, live, desired, include_assignments=False) == ([], False, False)


def test_compare_settings_catalog_assignment_change_lists_only_assignment_paths():
    live, desired = _settings_catalog(), _settings_catalog()
    live["assignments"][0]["target"]["groupId"] = "g2"
    live["templateReference"]["templateDisplayName"] = "filled in by Graph"
    changes, body, assignments = _compare(SETTINGS_CATALOG, live, desired)
    assert changes == [{"path": "assignments[0].target.groupId", "change": "changed"}]
    assert (body, assignments) == (False, True)


def test_compare_settings_catalog_template_id_change_is_a_body_change():
    live, desired = _settings_catalog(), _settings_catalog()
    live["templateReference"]["templateId"] = "other-template"
    assert _compare(SETTINGS_CATALOG, live, desired) == (
        [{"path": "templateReference.templateId", "change": "changed"}], True, False)


def test_compare_property_change_writes_the_body_and_names_the_path():
    live, desired = _device(), _device()
    live["description"] = "drifted"
    assert _compare(DEVICE, live, desired) == (
        [{"path": "description", "change": "changed"}], True, False)


def test_compare_missing_object_is_a_create_listing_what_it_adds():
    changes, body, assignments = _compare(DEVICE, None, _device())
    assert {"path": "displayName", "change": "added"} in changes
    assert (body, assignments) == (True, True)


def test_compare_enabled_ca_policy_restored_report_only_is_not_rewritten():
    snapshot = {"id": "p", "displayName": "MFA", "state": "enabled", "conditions": {}}
    report_only = {**snapshot, "state": "enabledForReportingButNotEnforced"}
    assert _compare(CA, report_only, snapshot)[0] == []
    assert _compare(CA, snapshot, snapshot)[0] == []  # as captured: left alone
    assert _compare(CA, report_only, snapshot, ca_state="as_snapshot")[0] == [
        {"path": "state", "change": "changed"}]
    # report_only never changes a live policy's enforcement: not down, not up
    enforced_drifted = {**snapshot, "conditions": {"users": "drifted"}}
    assert _compare(CA, enforced_drifted, snapshot)[0] == [
        {"path": "conditions.users", "change": "removed"}]
    disabled = {**snapshot, "state": "disabled"}
    assert _compare(CA, disabled, snapshot)[0] == []
    assert _compare(CA, disabled, snapshot, ca_state="as_snapshot")[0] == [
        {"path": "state", "change": "changed"}]
