"""The OpenAPI 3.1 document of the whole API (DESIGN §13), built from the route table
(``api/routes.py``) and the request and response models (``api/models``) — never kept by hand.

Schemas are the models' JSON Schemas (Draft 2020-12, which OpenAPI 3.1 uses as it is) under
``components/schemas``; list envelopes are named ``<Item>List``. Every error answer is
problem+json whose ``code`` is one of the codes the operation declares for that status.
``api/swagger.py`` turns this document into Swagger 2.0 for Power Platform connectors.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from api.models.responses import Problem
from api.routes import HEADERS, IDEMPOTENCY_KEY, PATH_PARAMETERS, ROUTES, Operation, Parameter

TITLE = "PolicyVault"
VERSION = "1.0"
DESCRIPTION = ("Back up, preview and restore Microsoft Intune and Entra ID configuration of many "
               "customer tenants. Jobs answer 202 with Location and Retry-After: poll the run "
               "until it answers 200.")
SECURITY_SCHEME = "bearer"
COMPONENTS = "#/components/schemas/"
_METHOD_ORDER = ("get", "put", "post", "delete", "patch")
_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           409: "Conflict", 422: "Unprocessable Content", 500: "Internal Server Error",
           503: "Service Unavailable"}


class _Names(GenerateJsonSchema):
    """Component names: ``ListBody[RunBody]`` is ``RunList``."""

    def normalize_name(self, name: str) -> str:
        found = re.fullmatch(r"ListBody\[(\w+?)(?:Body)?\]", name)
        return f"{found.group(1)}List" if found else super().normalize_name(name)


def operations() -> list[Operation]:
    """Every declared operation, in path then method order."""
    return sorted(ROUTES.values(),
                  key=lambda op: (op.path, _METHOD_ORDER.index(op.method.lower())))


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document; paths are relative to the server ``/api``. It describes the
    routes of the blueprints imported so far: all of them once ``function_app`` is loaded."""
    ops = operations()
    refs, schemas = _schemas(ops)
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        paths.setdefault("/" + op.path, {})[op.method.lower()] = _operation(op, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/api"}],
        "security": [{SECURITY_SCHEME: []}],
        "tags": [{"name": tag} for tag in sorted({op.tag for op in ops})],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {SECURITY_SCHEME: {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An Entra ID access token for PolicyVault (RS256; iss, aud, exp "
                               "checked). The caller is its oid; roles may grant "
                               "Platform.Admin."}},
        },
    }


# ---- schemas -------------------------------------------------------------------------------
Refs = dict[tuple[type[BaseModel], JsonSchemaMode], str]


def _models(ops: Iterable[Operation]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    found: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Problem, "serialization"): None}
    for op in ops:
        for model in (op.body, op.query):
            if model is not None:
                found[(model, "validation")] = None
        for reply in op.responses.values():
            if reply.model is not None:
                found[(reply.model, "serialization")] = None
    return list(found)


def _schemas(ops: list[Operation]) -> tuple[Refs, dict[str, Any]]:
    models = _models(ops)
    keys, top = models_json_schema(models, ref_template=COMPONENTS + "{model}",
                                   schema_generator=_Names)
    refs = {key: schema["$ref"] for key, schema in keys.items()}
    return refs, top.get("$defs", {})


def _resolved(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every component reference inlined (parameters carry no refs)."""
    if "$ref" in schema:
        return _resolved(schemas[schema["$ref"].removeprefix(COMPONENTS)], schemas)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if isinstance(value, dict):
            out[key] = _resolved(value, schemas)
        elif isinstance(value, list):
            out[key] = [_resolved(v, schemas) if isinstance(v, dict) else v for v in value]
        else:
            out[key] = value
    return out


def without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A ``X | None`` schema as ``X`` (a query value is text: it is never JSON null)."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [o for o in options if o != {"type": "null"}]
    if len(kept) != 1:
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf" and not (k == "default" and v is None)}
    return {**kept[0], **rest}


# ---- operations ----------------------------------------------------------------------------
def _operation(op: Operation, refs: Refs, schemas: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": " ".join(filter(None, (op.description, op.access.sentence))),
        "tags": [op.tag],
        "x-policyvault-access": op.access.value,
        "x-ms-visibility": op.visibility,
    }
    parameters = [_parameter(name, "path", PATH_PARAMETERS[name], required=True)
                  for name in op.path_parameters]
    if op.query is not None:
        query = schemas[refs[(op.query, "validation")].removeprefix(COMPONENTS)]
        required = set(query.get("required", ()))
        for name, prop in query["properties"].items():
            schema = without_null(_resolved(prop, schemas))
            schema.pop("title", None)
            parameter = {"name": name, "in": "query", "required": name in required,
                         "schema": schema}
            if "description" in schema:
                parameter["description"] = schema.pop("description")
            parameters.append(parameter)
    if op.idempotency_key:
        parameters.append(_parameter("Idempotency-Key", "header", IDEMPOTENCY_KEY,
                                     required=False))
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        ref = refs[(op.body, "validation")]
        body_schema = schemas[ref.removeprefix(COMPONENTS)]
        out["requestBody"] = {"required": bool(body_schema.get("required")),
                              "content": {"application/json": {"schema": {"$ref": ref}}}}
    out["responses"] = _responses(op, refs)
    if not op.access.authenticated:
        out["security"] = []
    return out


def _parameter(name: str, where: str, parameter: Parameter, *, required: bool
               ) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required,
            "description": parameter.description, "schema": dict(parameter.schema),
            "x-ms-summary": parameter.title}


def _responses(op: Operation, refs: Refs) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status, reply in sorted(op.responses.items()):
        response: dict[str, Any] = {"description": reply.description}
        if reply.model is not None:
            schema: dict[str, Any] = {"$ref": refs[(reply.model, "serialization")]}
            response["content"] = {"application/json": {"schema": schema}}
        elif reply.document:
            response["content"] = {"application/json": {"schema": {"type": "object"}}}
        if reply.text:
            response["content"] = {**response.get("content", {}),
                                   **{media: {"schema": {"type": "string"}}
                                      for media in reply.text}}
        headers = {name: _header(name, required=True) for name in reply.headers}
        headers.update({name: _header(name, required=False) for name in reply.optional_headers})
        if headers:
            response["headers"] = headers
        out[str(status)] = response
    problem_ref = refs[(Problem, "serialization")]
    for status, codes in op.problems().items():
        schema = {"allOf": [{"$ref": problem_ref}],
                  "properties": {"status": {"const": status}, "code": {"enum": list(codes)}}}
        out[str(status)] = {
            "description": f"{_TITLES.get(status, 'Error')}: {', '.join(codes)}",
            "content": {"application/problem+json": {"schema": schema}},
        }
        if status == 401:
            out[str(status)]["headers"] = {"WWW-Authenticate": _header("WWW-Authenticate",
                                                                       required=True)}
    return out


def _header(name: str, *, required: bool) -> dict[str, Any]:
    header = HEADERS[name]
    return {"description": header.description, "required": required,
            "schema": copy.deepcopy(dict(header.schema))}
