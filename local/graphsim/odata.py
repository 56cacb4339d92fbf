"""Graph error shape and the OData query options the simulator understands.

Supported: `$top`, `$skiptoken` (opaque offset), `$select`, `$expand` (nested
`name($expand=child)` too), `$filter` with `eq` on string/bool/null/number properties,
`startswith(prop,'x')`, `isof('microsoft.graph.type')`, joined by `and`, `$count=true`.
`$orderby` and `$search` are accepted and ignored; any other `$option` is a 400.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any


class GraphError(Exception):
    """Raised by any Graph handler to answer with Graph's error body."""

    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def intune_message(url_path: str) -> str:
    """Graph's message for an Intune service error: Intune wraps its own, as JSON text."""
    inner = {"_version": 3,
             "Message": "An error has occurred - Operation ID (for customer support): "
                        f"00000000-0000-0000-0000-000000000000 - Activity ID: {uuid.uuid4()} - "
                        f"Url: https://fef.graphsim.manage.microsoft.com/{url_path}",
             "CustomApiErrorPhrase": "", "RetryAfter": None, "ErrorSourceService": "",
             "HttpHeaders": "{}"}
    return json.dumps(inner, indent=2)


def error_body(code: str, message: str, request_id: str, client_request_id: str) -> dict:
    return {"error": {"code": code, "message": message, "innerError": {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id, "client-request-id": client_request_id}}}


def new_request_id() -> str:
    return str(uuid.uuid4())


KNOWN_OPTIONS = {"$top", "$skiptoken", "$select", "$expand", "$filter", "$count",
                 "$orderby", "$search", "$skip"}


@dataclass
class Query:
    top: int | None = None
    offset: int = 0
    select: list[str] | None = None
    expand: dict[str, dict] = field(default_factory=dict)
    filter: list[tuple[str, str, Any]] = field(default_factory=list)
    count: bool = False
    passthrough: list[tuple[str, str]] = field(default_factory=list)  # for nextLink


def encode_skiptoken(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        if not raw.startswith("o:"):
            raise ValueError(raw)
        offset = int(raw[2:])
        if offset < 0:
            raise ValueError(raw)
        return offset
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("The $skiptoken value is not valid.") from exc


def split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise bad_request(f"Parsing OData Select and Expand failed: unbalanced ')' in "
                                  f"'{text}'.")
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if depth != 0:
        raise bad_request(f"Parsing OData Select and Expand failed: unbalanced '(' in '{text}'.")
    parts.append("".join(current).strip())
    return [p for p in parts if p]


_EXPAND_ITEM = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)(?:\((.*)\))?$", re.S)


def parse_expand(text: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for part in split_top_level(text):
        m = _EXPAND_ITEM.match(part)
        if not m:
            raise bad_request(f"Parsing OData Select and Expand failed: Term '{part}' is not "
                              "valid in a $select or $expand expression.")
        nested: dict[str, dict] = {}
        if m.group(2):
            for option in m.group(2).split(";"):
                name, _, value = option.partition("=")
                if name.strip() == "$expand":
                    nested = parse_expand(value)
                elif name.strip() not in ("$select", "$top", "$filter"):
                    raise bad_request(f"Query option '{name.strip()}' is not supported "
                                      "inside $expand.")
        out[m.group(1)] = nested
    return out


_LITERAL = r"('(?:[^']|'')*'|true|false|null|-?\d+(?:\.\d+)?)"
_EQ = re.compile(r"^\s*([A-Za-z@][A-Za-z0-9_.@/]*)\s+eq\s+" + _LITERAL + r"\s*$")
_STARTSWITH = re.compile(r"^\s*startswith\(\s*([A-Za-z][A-Za-z0-9_]*)\s*,\s*"
                         r"('(?:[^']|'')*')\s*\)\s*$", re.I)
_ISOF = re.compile(r"^\s*isof\(\s*'([A-Za-z0-9_.]+)'\s*\)\s*$", re.I)


def _literal(token: str) -> Any:
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    if token in ("true", "false"):
        return token == "true"
    if token == "null":
        return None
    return float(token) if "." in token else int(token)


def parse_filter(text: str) -> list[tuple[str, str, Any]]:
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        if m := _EQ.match(part):
            clauses.append(("eq", m.group(1), _literal(m.group(2))))
        elif m := _STARTSWITH.match(part):
            clauses.append(("startswith", m.group(1), _literal(m.group(2))))
        elif m := _ISOF.match(part):
            clauses.append(("isof", "@odata.type", "#" + m.group(1)))
        else:
            raise bad_request(f"Invalid filter clause: syntax error or unsupported expression "
                              f"in '{text}'.")
    return clauses


def matches(obj: dict[str, Any], clauses: list[tuple[str, str, Any]]) -> bool:
    for op, prop, value in clauses:
        actual = obj.get(prop)
        if op == "eq" and actual != value:
            return False
        if op == "startswith" and not (isinstance(actual, str)
                                       and actual.lower().startswith(value.lower())):
            return False
        if op == "isof" and actual != value:
            return False
    return True


def parse_query(pairs: list[tuple[str, str]]) -> Query:
    q = Query()
    for name, value in pairs:
        if not name.startswith("$"):
            q.passthrough.append((name, value))
            continue
        if name not in KNOWN_OPTIONS:
            raise bad_request(f"Query option '{name}' is not supported.")
        if name == "$top":
            if not value.isdigit() or int(value) < 1:
                raise bad_request(f"Invalid value '{value}' for $top query option found. The "
                                  "$top query option requires a non-negative integer value.")
            q.top = int(value)
            q.passthrough.append((name, value))
        elif name == "$skiptoken":
            q.offset = decode_skiptoken(value)
        elif name == "$skip":
            if not value.isdigit():
                raise bad_request(f"Invalid value '{value}' for $skip query option.")
            q.offset = int(value)
        elif name == "$select":
            q.select = [s.strip() for s in value.split(",") if s.strip()]
            q.passthrough.append((name, value))
        elif name == "$expand":
            q.expand = parse_expand(value)
            q.passthrough.append((name, value))
        elif name == "$filter":
            q.filter = parse_filter(value)
            q.passthrough.append((name, value))
        elif name == "$count":
            q.count = value.lower() == "true"
            q.passthrough.append((name, value))
        else:
            q.passthrough.append((name, value))
    return q
