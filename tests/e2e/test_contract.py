"""The e2e response check refuses answers the OpenAPI document does not allow (no stack)."""

from __future__ import annotations

import httpx
import pytest

import function_app  # noqa: F401  (registers every route)
from api.openapi import openapi_document
from tests.e2e.contract import ContractCheck, ContractViolation

TENANT = "11111111-1111-1111-1111-111111111111"
RUN = "01J" + "A" * 23
CHECK = ContractCheck(openapi_document())


def _response(method: str, path: str, status: int, body: dict | None = None, *,
              media: str = "application/json", headers: dict | None = None) -> httpx.Response:
    request = httpx.Request(method, f"http://localhost{path}")
    content = b"" if body is None else httpx.Response(200, json=body).content
    all_headers = {"content-type": media} if body is not None else {}
    return httpx.Response(status, content=content, headers={**all_headers, **(headers or {})},
                          request=request)


def _problem(status: int, code: str) -> dict:
    return {"type": f"urn:policyvault:problem:{code}", "title": "x", "status": status,
            "detail": "x", "code": code}


def test_contract_a_documented_problem_passes():
    CHECK(_response("GET", f"/api/tenants/{TENANT}", 403, _problem(403, "forbidden"),
                    media="application/problem+json"))


@pytest.mark.parametrize(("response", "why"), [
    (_response("GET", f"/api/tenants/{TENANT}", 403, _problem(403, "not_found"),
               media="application/problem+json"), "code"),
    (_response("GET", f"/api/tenants/{TENANT}", 403, _problem(403, "forbidden")),
     "application/json"),
    (_response("GET", "/api/health", 418, {"status": "ok"}), "status not declared"),
    (_response("GET", "/api/health", 200, {"status": "ok", "extra": 1}), "extra"),
    (_response("GET", f"/api/tenants/{TENANT}/runs/{RUN}", 202, None), "Location"),
    (_response("DELETE", "/api/tenants", 200, {"value": []}), "not in the OpenAPI document"),
])
def test_contract_an_answer_the_document_does_not_allow_is_refused(response, why):
    with pytest.raises(ContractViolation, match=why):
        CHECK(response)


def test_contract_the_hosts_empty_404_for_an_unknown_route_is_not_the_apps_answer():
    CHECK(_response("GET", "/api/no/such/route", 404))
