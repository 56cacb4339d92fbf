"""Swagger 2.0 of the API for a Logic Apps / Power Automate custom connector (DESIGN §13).

Derived from the OpenAPI 3.1 document (``api/openapi.py``), so both always describe the same
operations. What Power Platform's connector documentation asks for is added here: PascalCase
operation ids, summaries and descriptions, ``x-ms-summary`` titles and ``x-ms-visibility`` on
parameters, a tenant picker (``x-ms-dynamic-values`` from ``ListTenants``), an OAuth 2.0
security definition for Microsoft Entra ID, and operations hidden from the designer
(``internal``) where they are plumbing. Starts answer 202 with ``Location``: Logic Apps polls
it until the run answers 200 (the asynchronous request-reply pattern).
"""

from __future__ import annotations

from typing import Any

from api.openapi import COMPONENTS, DESCRIPTION, TITLE, VERSION, openapi_document, without_null

DEFINITIONS = "#/definitions/"
SECURITY = "oauth2_auth"
# Entra ID's v1 endpoints, as Power Platform's "Azure Active Directory" identity provider uses
# them; the client id and resource (PolicyVault's API_AUTH_AUDIENCE) are set on import.
ENTRA_SECURITY = {
    "type": "oauth2", "flow": "accessCode",
    "authorizationUrl": "https://login.microsoftonline.com/common/oauth2/authorize",
    "tokenUrl": "https://login.windows.net/common/oauth2/authorize",
    "scopes": {},
}
TENANT_PICKER = {"operationId": "ListTenants", "value-collection": "value",
                 "value-path": "tenant_id", "value-title": "display_name"}
_SIMPLE_KEYS = ("type", "format", "pattern", "enum", "default", "minimum", "maximum",
                "minLength", "maxLength", "minItems", "maxItems", "items")


def swagger_document(host: str, scheme: str = "https") -> dict[str, Any]:
    """Swagger 2.0 for the API served at ``{scheme}://{host}/api``."""
    source = openapi_document()
    paths: dict[str, dict[str, Any]] = {}
    for path, methods in source["paths"].items():
        paths[path] = {method: _operation(op) for method, op in methods.items()}
    return {
        "swagger": "2.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "host": host,
        "basePath": "/api",
        "schemes": [scheme],
        "consumes": ["application/json"],
        "produces": ["application/json", "application/problem+json"],
        "securityDefinitions": {SECURITY: dict(ENTRA_SECURITY)},
        "security": [{SECURITY: []}],
        "tags": source["tags"],
        "paths": paths,
        "definitions": {name: schema_v2(schema)
                        for name, schema in source["components"]["schemas"].items()},
    }


def _operation(op: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {key: op[key] for key in ("operationId", "summary", "description",
                                                     "tags", "x-ms-visibility")}
    parameters = [_parameter(p) for p in op.get("parameters", ())]
    if "requestBody" in op:
        body = op["requestBody"]
        parameters.append({
            "name": "body", "in": "body", "required": body["required"],
            "schema": schema_v2(body["content"]["application/json"]["schema"]),
        })
    if parameters:
        out["parameters"] = parameters
    out["responses"] = {status: _response(response)
                        for status, response in op["responses"].items()}
    texts = sorted({media for response in op["responses"].values()
                    for media in response.get("content", {}) if media.startswith("text/")})
    if texts:
        out["produces"] = ["application/json", "application/problem+json", *texts]
    if "security" in op:
        out["security"] = op["security"]
    return out


def _parameter(parameter: dict[str, Any]) -> dict[str, Any]:
    schema = without_null(parameter["schema"])
    out: dict[str, Any] = {"name": parameter["name"], "in": parameter["in"],
                           "required": parameter["required"]}
    out.update({k: schema_v2(v) if k == "items" else v
                for k, v in schema.items() if k in _SIMPLE_KEYS})
    if parameter.get("description"):
        out["description"] = parameter["description"]
    out["x-ms-summary"] = (parameter.get("x-ms-summary")
                           or parameter["name"].replace("_", " ").capitalize())
    out["x-ms-visibility"] = "important" if parameter["required"] else "advanced"
    if parameter["name"] == "tenant_id" and parameter["in"] == "path":
        out["x-ms-dynamic-values"] = dict(TENANT_PICKER)
    return out


def _response(response: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"description": response["description"]}
    content = response.get("content", {})
    if "application/json" in content:
        out["schema"] = schema_v2(content["application/json"]["schema"])
    elif "application/problem+json" in content:
        out["schema"] = {"$ref": DEFINITIONS + "Problem"}
    elif any(media.startswith("text/") for media in content):
        out["schema"] = {"type": "string"}  # a text document (a report)
    if "headers" in response:
        out["headers"] = {
            name: {k: v for k, v in header["schema"].items() if k in _SIMPLE_KEYS}
            | {"description": header["description"]}
            for name, header in response["headers"].items()
        }
    return out


def schema_v2(schema: Any) -> Any:
    """A JSON Schema 2020-12 schema (as pydantic writes it) in Swagger 2.0's dialect: refs to
    ``definitions``, ``X | None`` as ``x-nullable``, ``const`` as a one-value ``enum``."""
    if isinstance(schema, list):
        return [schema_v2(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "anyOf" in schema:
        single = without_null(schema)
        if "anyOf" in single:
            raise ValueError(f"Swagger 2.0 has no anyOf: {schema}")
        nullable = single is not schema
        schema = {**single, **({"x-nullable": True} if nullable else {})}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$ref":
            out[key] = DEFINITIONS + value.removeprefix(COMPONENTS)
        elif key == "const":
            out["enum"] = [value]
        elif key in ("properties", "patternProperties"):
            out[key] = {name: schema_v2(sub) for name, sub in value.items()}
        elif key == "examples":
            continue
        else:
            out[key] = schema_v2(value)
    return out
