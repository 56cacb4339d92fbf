"""The HTTP API's request and response models (api/models): validation, defaults, the bodies
they produce and the JSON Schemas the OpenAPI document will be built from."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from api.models import requests, responses
from api.models.requests import (
    AccessPut,
    BackupStart,
    ListQuery,
    RestoreStart,
    RunListQuery,
    TenantPut,
    parse,
)
from api.models.responses import ListBody, RunBody, RunItemBody, StartedRun
from shared.graph.catalog import SUPPORTED_KEYS
from shared.platform.codes import ErrorCode
from shared.platform.errors import UnsupportedType, ValidationFailed
from shared.runs.jobs import backup_job, restore_job
from shared.runs.model import Counts, Run, RunItem

TENANT = "11111111-1111-1111-1111-111111111111"
SET_ID = "01J" + "A" * 23
DESIGN_RUN_FIELDS = {
    "run_id", "tenant_id", "run_type", "status", "dry_run", "requested_by", "idempotency_key",
    "backup_set_id", "created_at", "started_at", "finished_at", "pre_restore_backup_set_id",
    "counts", "error", "links",
} | {"warnings"}  # README: each type the run skipped whole (DESIGN §7.1)
MODELS = [getattr(requests, name) for name in requests.__all__ if name != "parse"] + [
    getattr(responses, name) for name in responses.__all__]


def _refusal(model: type[BaseModel], data: dict) -> str:
    with pytest.raises(ValidationFailed) as refused:
        parse(model, data)
    assert refused.value.code == ErrorCode.VALIDATION_FAILED
    return refused.value.message


def _run(**fields) -> Run:
    values = dict(run_id="01JRUN", tenant_id=TENANT, run_type="backup", status="running",
                  requested_by="oid-1", idempotency_key=f"{TENANT}|backup|*",
                  created_at="2024-05-01T01:00:00Z", instance_id="pv-x-1",
                  counts=Counts(total=3, processed=1, succeeded=1),
                  parameters={"policy_types": ["roleScopeTags"]})
    values.update(fields)
    return Run(**values)


# ---- schemas -------------------------------------------------------------------------------
@pytest.mark.parametrize("model", [pytest.param(m, id=m.__name__) for m in MODELS])
def test_model_json_schema_every_model_produces_an_object_schema(model):
    schema = (model[responses.RunBody] if model is ListBody else model).model_json_schema()

    assert schema["type"] == "object"
    json.dumps(schema)  # plain JSON, ready for the OpenAPI document


def test_model_json_schema_run_has_the_design_fields_and_a_start_adds_reused():
    run = RunBody.model_json_schema()
    started = StartedRun.model_json_schema()

    # drift checks (§10) and cross-tenant deployments (§11) only
    assert set(run["properties"]) == DESIGN_RUN_FIELDS | {"drift", "source_tenant_id"}
    assert set(run["required"]) == DESIGN_RUN_FIELDS
    assert set(started["properties"]) == DESIGN_RUN_FIELDS | {"drift", "source_tenant_id",
                                                              "reused"}
    assert run["additionalProperties"] is False


def test_model_json_schema_backup_policy_types_lists_the_catalog_keys():
    schema = BackupStart.model_json_schema()

    [listed, _null] = schema["properties"]["policy_types"]["anyOf"]
    assert listed["items"]["enum"] == list(SUPPORTED_KEYS)


# ---- requests ------------------------------------------------------------------------------
def test_parse_unknown_fields_are_refused_all_named():
    assert _refusal(RestoreStart, {"backup_set_id": SET_ID, "force": 1, "all": 2}) == (
        "unknown fields: all, force")
    assert _refusal(TenantPut, {"display_name": "A", "x": 1}) == "unknown fields: x"


@pytest.mark.parametrize(("model", "data", "field"), [
    (RestoreStart, {"backup_set_id": SET_ID, "dry_run": "no"}, "dry_run"),
    (RestoreStart, {"backup_set_id": SET_ID, "ca_state": "enabled"}, "ca_state"),
    (RestoreStart, {"backup_set_id": SET_ID, "item_ids": []}, "item_ids"),
    (RestoreStart, {"backup_set_id": SET_ID, "item_ids": ["x" * 201]}, "item_ids[0]"),
    (RestoreStart, {"backup_set_id": "nope"}, "backup_set_id"),
    (RestoreStart, {}, "backup_set_id"),
    (BackupStart, {"policy_types": "roleScopeTags"}, "policy_types"),
    (BackupStart, {"label": 7}, "label"),
    (BackupStart, {"label": "x" * 201}, "label"),
    (TenantPut, {"display_name": "   "}, "display_name"),
    (AccessPut, {"role": "owner"}, "role"),
])
def test_parse_a_bad_value_is_refused_naming_its_field(model, data, field):
    assert _refusal(model, data).startswith(f"{field}: ")


def test_parse_unknown_policy_type_lists_the_supported_keys():
    with pytest.raises(UnsupportedType) as refused:
        parse(BackupStart, {"policy_types": ["roleScopeTags", "bogusPolicies"]})

    assert "'bogusPolicies'" in refused.value.message
    assert refused.value.problem_members == {"supported_policy_types": list(SUPPORTED_KEYS)}


def test_parse_restore_defaults_make_the_same_body_as_the_restore_job():
    body = parse(RestoreStart, {"backup_set_id": SET_ID.lower(), "item_ids": ["b", "a", "b"]})

    # A restore's canonical body has no deployment fields: its fingerprint is as it was.
    same_tenant = body.model_dump(exclude={"source_tenant_id", "mappings"})
    assert same_tenant == {"backup_set_id": SET_ID, "item_ids": ["a", "b"],
                           "dry_run": True, "include_assignments": True,
                           "ca_state": "report_only", "create_missing_groups": False}
    assert (body.source_tenant_id, body.mappings) == (None, None)
    assert restore_job(TENANT, **body.model_dump()).body == same_tenant


def test_parse_backup_body_is_the_backup_jobs_canonical_body():
    body = parse(BackupStart, {"policy_types": ["roleScopeTags", "assignmentFilters"]})

    assert backup_job(TENANT, body.policy_types, body.label).body == body.model_dump()
    assert parse(BackupStart, {}).model_dump() == backup_job(TENANT).body


def test_parse_role_is_case_insensitive_like_before():
    assert parse(AccessPut, {"role": "Operator"}).role == "operator"


@pytest.mark.parametrize("top", ["0", "1001", "abc", "-1", "+5", "²", "1.0"])
def test_list_query_top_outside_1_to_1000_is_refused(top):
    with pytest.raises(ValidationFailed) as refused:
        ListQuery.from_params({"top": top})
    assert refused.value.message == "top: must be a whole number from 1 to 1000"


def test_list_query_empty_values_take_the_defaults_and_unknown_ones_are_ignored():
    query = RunListQuery.from_params({"top": "", "continuation": "", "run_type": "",
                                      "cache": "1"})

    assert (query.top, query.continuation, query.run_type) == (100, None, None)
    assert ListQuery.from_params({"top": "1000"}).top == 1000
    with pytest.raises(ValidationFailed, match=r"^run_type: "):
        RunListQuery.from_params({"run_type": "drift"})


# ---- responses -----------------------------------------------------------------------------
@pytest.mark.parametrize("warnings", [[], [{"code": ErrorCode.NOT_AVAILABLE.value,
                                             "policy_type": "roleScopeTags", "message": "m"}]])
def test_run_body_is_the_run_as_the_api_has_always_shown_it(warnings):
    run = _run(error={"code": ErrorCode.GRAPH_ERROR, "message": "no"}, warnings=warnings)

    assert json.dumps(RunBody.of(run).body()) == json.dumps(run.to_api())
    assert json.dumps(StartedRun.started(run, True).body()) == json.dumps(
        {**run.to_api(), "reused": True})


def test_run_item_body_has_a_diff_only_where_the_run_is_a_restore():
    item = RunItem("deviceConfigurations.p1", "deviceConfigurations", "p1", "P", "would_update",
                   diff=[{"path": "description", "change": "changed"}])

    assert RunItemBody.of(item, include_diff=True).body() == item.to_api(True)
    assert "diff" not in RunItemBody.of(item, include_diff=False).body()
    assert RunItemBody.of(item, include_diff=False).body() == item.to_api(False)


def test_run_item_body_lists_warnings_for_restores_empty_when_none():
    warned = RunItem("deviceConfigurations.p1", "deviceConfigurations", "p1", "P", "updated",
                     diff=[], warnings=[{"code": "missing_reference", "message": "group g"}])
    plain = RunItem("deviceConfigurations.p2", "deviceConfigurations", "p2", "Q", "no_change",
                    diff=[])

    assert RunItemBody.of(warned, include_diff=True).body()["warnings"] == warned.warnings
    assert RunItemBody.of(plain, include_diff=True).body()["warnings"] == []
    assert "warnings" not in RunItemBody.of(plain, include_diff=False).body()
    # a backup's item shows its warnings only when it has some (secret_not_captured)
    assert RunItemBody.of(warned, include_diff=False).body()["warnings"] == warned.warnings


def test_list_body_leaves_continuation_out_on_the_last_page():
    runs = [_run().to_api()]

    last = ListBody[RunBody].of(runs).body()
    more = ListBody[RunBody].of(runs, "token").body()

    assert list(last) == ["value"] and last["value"] == runs
    assert more["continuation"] == "token"


def test_response_body_with_a_field_the_model_lacks_is_an_error_not_data():
    with pytest.raises(ValueError):
        RunBody.model_validate({**_run().to_api(), "instance_id": "pv-x-1"})


def test_notification_status_is_every_run_status_and_drift_detected():
    from api.models.responses import NotificationStatus
    from shared.runs.model import RunStatus

    assert {s.value for s in NotificationStatus} == {s.value for s in RunStatus} | {
        "drift_detected"}
