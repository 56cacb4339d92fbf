"""The OpenAPI 3.1 and Swagger 2.0 documents (DESIGN §13) against the code they describe:
every registered HTTP function, parameter, body field and error code is in them, and both are
valid documents of their version. Served documents: tests/e2e/test_openapi.py."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from api import routes
from api.handler import handle
from api.models.requests import ITEM_ID_RE
from api.openapi import openapi_document
from api.routes import PATH_PARAMETERS, ROUTES, Access, Reply, route
from api.swagger import swagger_document
from function_app import app
from local.host.app_loader import discover_functions
from shared.platform import errors
from shared.platform.keys import is_guid, is_ulid, new_ulid

REPO = Path(__file__).resolve().parents[2]
DOC = openapi_document()
V2 = swagger_document("policyvault.example.com")


def _http_functions(function_app) -> list:
    return [s for s in discover_functions(function_app) if s.trigger_type == "httpTrigger"]


def _undeclared(function_app) -> list[str]:
    """HTTP functions of the app that the route table (so the documents) does not describe."""
    missing = []
    for spec in _http_functions(function_app):
        op = ROUTES.get(spec.name)
        methods = [m.upper() for m in spec.trigger.get("methods") or ()]
        if op is None or spec.trigger.get("route") != op.path or methods != [op.method]:
            missing.append(f"{spec.name} {methods} {spec.trigger.get('route')}")
    return missing


def _operation(op: routes.Operation) -> dict:
    return DOC["paths"]["/" + op.path][op.method.lower()]


def _schema(ref: str) -> dict:
    return DOC["components"]["schemas"][ref.rsplit("/", 1)[-1]]


# ---- completeness --------------------------------------------------------------------------
def test_every_registered_http_function_is_declared_in_the_route_table():
    assert _undeclared(app) == []
    assert {s.name for s in _http_functions(app)} == set(ROUTES)


def test_undeclared_an_http_function_registered_without_route_is_reported():
    bare = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

    @bare.route(route="tenants/{tenant_id}/secret", methods=["GET"])
    async def sneaky(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(status_code=200)

    assert _undeclared(bare) == ["sneaky ['GET'] tenants/{tenant_id}/secret"]


@pytest.mark.parametrize("op", list(ROUTES.values()), ids=lambda op: op.operation_id)
def test_document_every_operation_has_its_parameters_body_fields_and_codes(op):
    doc = _operation(op)
    params = {(p["in"], p["name"]) for p in doc.get("parameters", ())}

    assert doc["operationId"] == op.operation_id
    assert doc["summary"] == op.summary
    assert doc["x-policyvault-access"] == op.access.value
    assert {("path", name) for name in op.path_parameters} <= params
    if op.query is not None:
        assert {("query", name) for name in op.query.model_fields} <= params
    assert (("header", "Idempotency-Key") in params) == op.idempotency_key
    if op.body is not None:
        body = _schema(doc["requestBody"]["content"]["application/json"]["schema"]["$ref"])
        assert set(body["properties"]) == set(op.body.model_fields)
    else:
        assert "requestBody" not in doc
    for status, reply in op.responses.items():
        assert reply.description == doc["responses"][str(status)]["description"]
    for status, codes in op.problems().items():
        schema = doc["responses"][str(status)]["content"]["application/problem+json"]["schema"]
        assert schema["properties"]["code"]["enum"] == list(codes)
    assert ("security" in doc) == (op.access is Access.ANYONE)


def _raised_request_errors() -> set[tuple[int, str]]:
    """(status, code) of every RequestError class that some module raises."""
    source = "\n".join(p.read_text() for folder in ("api", "shared")
                       for p in (REPO / folder).rglob("*.py") if p.name != "errors.py")
    found = set()
    for cls in vars(errors).values():
        if (inspect.isclass(cls) and issubclass(cls, errors.RequestError)
                and re.search(rf"\b{cls.__name__}\(", source)):
            found.add((cls.http_status, str(cls.code)))
    return found


def test_document_every_error_code_the_api_raises_is_documented():
    documented = {(status, code) for op in ROUTES.values()
                  for status, codes in op.problems().items() for code in codes}
    raised = _raised_request_errors()

    assert (403, "forbidden") in raised and (422, "idempotency_key_reused") in raised
    assert raised <= documented
    assert (503, "dependency_unavailable") in documented
    assert (500, "internal_error") in documented


# ---- validity and connector rules ----------------------------------------------------------
def test_openapi_document_is_valid_openapi_3_1():
    assert DOC["openapi"] == "3.1.0"
    validate(DOC)


def test_swagger_document_is_valid_swagger_2_0_with_the_same_operations():
    validate(V2)
    ids = {op["operationId"] for methods in V2["paths"].values() for op in methods.values()}
    assert ids == {op.operation_id for op in ROUTES.values()}
    assert V2["host"] == "policyvault.example.com" and V2["basePath"] == "/api"


def test_swagger_document_follows_the_power_platform_connector_rules():
    assert len(V2["info"]["title"]) <= 30
    assert "API" not in V2["info"]["title"] + V2["info"]["description"]
    ops = [op for methods in V2["paths"].values() for op in methods.values()]
    ids = [op["operationId"] for op in ops]
    assert len(set(ids)) == len(ids)
    for op in ops:
        assert re.fullmatch(r"(?:[A-Z][a-z0-9]*)+", op["operationId"]), op["operationId"]
        assert len(op["summary"]) <= 80 and "/" not in op["summary"]
        assert op["summary"][-1].isalnum()
        assert op["description"].endswith(".")
        assert op["x-ms-visibility"] in ("important", "advanced", "internal")
        for parameter in op.get("parameters", ()):
            assert parameter.get("x-ms-summary") or parameter["in"] == "body"
    assert V2["securityDefinitions"]["oauth2_auth"]["type"] == "oauth2"


def test_swagger_document_starts_answer_202_with_location():
    start = V2["paths"]["/tenants/{tenant_id}/backups"]["post"]
    poll = V2["paths"]["/tenants/{tenant_id}/runs/{run_id}"]["get"]

    assert set(start["responses"]["202"]["headers"]) == {"Location", "Retry-After"}
    assert start["responses"]["202"]["schema"] == {"$ref": "#/definitions/StartedRun"}
    assert set(poll["responses"]) >= {"200", "202"}
    tenant = next(p for p in start["parameters"] if p["name"] == "tenant_id")
    assert tenant["x-ms-dynamic-values"]["operationId"] in {
        op["operationId"] for op in V2["paths"]["/tenants"].values()}


def test_document_anonymous_operations_are_the_three_design_names():
    anonymous = {path for path, methods in DOC["paths"].items()
                 for op in methods.values() if op.get("security") == []}
    assert anonymous == {"/health", "/openapi.json", "/openapi-v2.json"}
    assert DOC["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


# ---- the table's own rules -----------------------------------------------------------------
@given(st.sampled_from(sorted(PATH_PARAMETERS)), st.data())
@settings(max_examples=60, deadline=None)
def test_path_parameters_a_value_the_document_allows_passes_the_code(name, data):
    schema = PATH_PARAMETERS[name].schema
    if "pattern" not in schema:
        return
    value = data.draw(st.from_regex(schema["pattern"], fullmatch=True))
    checks = {"tenant_id": is_guid, "source_tenant_id": is_guid, "principal_id": is_guid,
              "run_id": is_ulid,
              "backup_set_id": is_ulid, "policy_id": routes.POLICY_ID_RE.match,
              "notification_id": routes.NOTIFICATION_ID_RE.match,
              "webhook_id": routes.WEBHOOK_ID_RE.match, "item_id": ITEM_ID_RE.fullmatch}
    assert checks[name](value)


def test_path_parameters_run_ids_the_code_makes_match_the_documented_pattern():
    assert re.fullmatch(routes.ULID_PATTERN, new_ulid())


def _bp_with(path: str, summary: str = "Get a thing"):
    bp = df.Blueprint()

    @route(bp, "GET", path, summary=summary, access=Access.READER,
           responses={200: Reply("The thing")})
    async def thing_for_test(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(status_code=200)


def test_route_an_undeclared_path_parameter_is_refused():
    with pytest.raises(ValueError, match="PATH_PARAMETERS"):
        _bp_with("tenants/{tenant_id}/things/{thing_id}")
    assert "thing_for_test" not in ROUTES


@pytest.mark.parametrize("summary", ["", "Get a thing.", "Get a/thing", "x" * 81])
def test_route_a_summary_a_connector_refuses_is_refused(summary):
    with pytest.raises(ValueError, match="summary"):
        _bp_with("tenants/{tenant_id}", summary)


@pytest.mark.anyio
async def test_handle_outside_a_route_is_a_programming_error():
    req = func.HttpRequest("GET", "http://localhost/api/x", body=b"")
    with pytest.raises(RuntimeError, match="@route"):
        await handle(req, lambda call: None)  # type: ignore[arg-type, return-value]
