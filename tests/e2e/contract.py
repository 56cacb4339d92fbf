"""Every answer the end-to-end tests get, checked against the served OpenAPI 3.1 document.

:class:`ContractCheck` is the e2e clients' response check (``local.api_client``): the request's
operation must be documented, its status declared, its media type and body valid against that
status's schema (JSON Schema 2020-12, ``jsonschema``), its required headers present and valid,
and a problem's ``code`` one the operation declares for that status.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
from jsonschema import Draft202012Validator, FormatChecker


class ContractViolation(AssertionError):
    """Raised when a response is not what the OpenAPI document says it may be."""


@dataclass
class ContractCheck:
    document: dict[str, Any]
    base_path: str = "/api"
    seen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._routes = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "/?$"),
             method.upper(), operation)
            for path, methods in self.document["paths"].items()
            for method, operation in methods.items()
        ]

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        local = path.removeprefix(self.base_path)
        for pattern, declared, operation in self._routes:
            if declared == method.upper() and pattern.match(local):
                return operation
        return None

    def __call__(self, response: httpx.Response) -> None:
        request = response.request
        path = request.url.path
        if not path.startswith(self.base_path + "/"):
            return
        operation = self.operation(request.method, path)
        where = f"{request.method} {path} -> {response.status_code}"
        if operation is None:
            # The host's own answer for a route that does not exist (tests probe those).
            if response.status_code == 404 and not response.content:
                return
            raise ContractViolation(f"{where}: the operation is not in the OpenAPI document")
        declared = operation["responses"].get(str(response.status_code))
        if declared is None:
            raise ContractViolation(f"{where}: status not declared for "
                                    f"{operation['operationId']}")
        self._check_headers(where, declared, response)
        self._check_body(where, declared, response)
        self.seen.add(operation["operationId"])

    def _check_body(self, where: str, declared: dict[str, Any], response: httpx.Response
                    ) -> None:
        content = declared.get("content")
        if not content:
            if response.content:
                raise ContractViolation(f"{where}: a body where the document declares none")
            return
        media = response.headers.get("content-type", "").split(";")[0].strip()
        if media not in content:
            raise ContractViolation(f"{where}: {media!r}, the document says {list(content)}")
        if media.startswith("text/"):  # a text document (a report): a string
            self._validate(where, content[media]["schema"], response.text)
            return
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise ContractViolation(f"{where}: the body is not JSON") from exc
        self._validate(where, content[media]["schema"], body)

    def _check_headers(self, where: str, declared: dict[str, Any], response: httpx.Response
                       ) -> None:
        for name, header in declared.get("headers", {}).items():
            value = response.headers.get(name)
            if value is None:
                if header.get("required"):
                    raise ContractViolation(f"{where}: required header {name} is missing")
                continue
            schema = header["schema"]
            typed: Any = int(value) if schema.get("type") == "integer" and value.isdigit() \
                else value
            self._validate(f"{where} header {name}", schema, typed)

    def _validate(self, where: str, schema: dict[str, Any], value: Any) -> None:
        # The document's components ride along so "#/components/..." refs resolve.
        rooted = {**schema, "components": self.document["components"]}
        errors = sorted(Draft202012Validator(rooted, format_checker=FormatChecker())
                        .iter_errors(value), key=lambda e: list(e.path))
        if errors:
            first = errors[0]
            at = "/".join(map(str, first.absolute_path)) or "(root)"
            raise ContractViolation(f"{where}: {at}: {first.message[:300]}")
