"""Azure Functions (ASP.NET Core) route templates: parse, match, order by precedence.

Supported: literal segments (case-insensitive), `{name}`, `{name?}`, `{name=default}`,
`{*rest}` / `{**rest}` (catch-all, may be empty), several parameters and literals in one
segment (`{file}.{ext}`), and constraints `int long bool guid alpha decimal double float
datetime min(n) max(n) range(a,b) length(n) length(a,b) minlength(n) maxlength(n)
regex(expr) required`. A value failing a constraint does not match (so 404, as on Azure).
A trailing slash is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote


class RouteTemplateError(ValueError):
    """Raised when a route template cannot be parsed."""


_GUID = re.compile(
    r"^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}"
    r"|\([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\))$",
    re.IGNORECASE,
)
_INT = re.compile(r"^[+-]?\d+$")


def _int_in(low: int, high: int) -> Callable[[str], bool]:
    return lambda v: bool(_INT.fullmatch(v)) and low <= int(v) <= high


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity")


def _is_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _as_int(value: str) -> int | None:
    return int(value) if _INT.fullmatch(value) else None


def _constraint(name: str, args: list[str]) -> Callable[[str], bool]:
    """A predicate for one constraint, e.g. ('range', ['1', '9'])."""
    simple: dict[str, Callable[[str], bool]] = {
        "int": _int_in(-(2**31), 2**31 - 1),
        "long": _int_in(-(2**63), 2**63 - 1),
        "bool": lambda v: v.lower() in ("true", "false"),
        "guid": lambda v: bool(_GUID.fullmatch(v)),
        "alpha": lambda v: bool(re.fullmatch(r"[A-Za-z]+", v)),
        "decimal": _is_float,
        "double": _is_float,
        "float": _is_float,
        "datetime": _is_datetime,
        "required": lambda v: v != "",
    }
    if name in simple and not args:
        return simple[name]
    nums = [int(a) for a in args if _INT.fullmatch(a.strip())] if name != "regex" else []
    if name == "min" and len(nums) == 1:
        return lambda v: (n := _as_int(v)) is not None and n >= nums[0]
    if name == "max" and len(nums) == 1:
        return lambda v: (n := _as_int(v)) is not None and n <= nums[0]
    if name == "range" and len(nums) == 2:
        return lambda v: (n := _as_int(v)) is not None and nums[0] <= n <= nums[1]
    if name == "length" and len(nums) in (1, 2):
        low, high = (nums[0], nums[0]) if len(nums) == 1 else (nums[0], nums[1])
        return lambda v: low <= len(v) <= high
    if name == "minlength" and len(nums) == 1:
        return lambda v: len(v) >= nums[0]
    if name == "maxlength" and len(nums) == 1:
        return lambda v: len(v) <= nums[0]
    if name == "regex" and len(args) == 1:
        pattern = re.compile(args[0], re.IGNORECASE)
        return lambda v: bool(pattern.search(v))
    raise RouteTemplateError(f"unsupported route constraint '{name}({','.join(args)})'")


@dataclass
class _Parameter:
    name: str
    optional: bool = False
    catch_all: bool = False
    default: str | None = None
    checks: list[Callable[[str], bool]] = field(default_factory=list)

    @property
    def constrained(self) -> bool:
        return bool(self.checks)


def _split_constraints(body: str) -> tuple[str, list[tuple[str, list[str]]]]:
    """`id:int:range(1,9)` -> ('id', [('int', []), ('range', ['1', '9'])])."""
    head, _, rest = body.partition(":")
    constraints: list[tuple[str, list[str]]] = []
    i = 0
    while rest and i < len(rest):
        match = re.match(r"(\w+)", rest[i:])
        if not match:
            raise RouteTemplateError(f"bad constraint in '{{{body}}}'")
        name = match.group(1)
        i += len(name)
        args: list[str] = []
        if i < len(rest) and rest[i] == "(":
            depth, start = 0, i + 1
            while i < len(rest):
                depth += {"(": 1, ")": -1}.get(rest[i], 0)
                if depth == 0:
                    break
                i += 1
            inner = rest[start:i]
            i += 1
            args = [inner] if name == "regex" else [a.strip() for a in inner.split(",")]
        constraints.append((name, args))
        if i < len(rest):
            if rest[i] != ":":
                raise RouteTemplateError(f"bad constraint in '{{{body}}}'")
            i += 1
    return head, constraints


def _parse_parameter(body: str) -> _Parameter:
    head, constraints = _split_constraints(body)
    catch_all = head.startswith("*")
    head = head.lstrip("*")
    default = None
    if "=" in head:
        head, default = head.split("=", 1)
    optional = head.endswith("?")
    head = head.rstrip("?")
    if not re.fullmatch(r"[A-Za-z_][\w-]*", head):
        raise RouteTemplateError(f"bad parameter name '{head}'")
    return _Parameter(
        head, optional, catch_all, default, [_constraint(n, a) for n, a in constraints]
    )


def _tokens(segment: str) -> list[str | _Parameter]:
    """A segment as literal strings and parameters (`{{`/`}}` are literal braces)."""
    parts: list[str | _Parameter] = []
    literal, i = "", 0
    while i < len(segment):
        if segment.startswith("{{", i) or segment.startswith("}}", i):
            literal += segment[i]
            i += 2
        elif segment[i] == "{":
            depth, j = 0, i
            while j < len(segment):
                depth += {"{": 1, "}": -1}.get(segment[j], 0)
                if depth == 0:
                    break
                j += 1
            if depth:
                raise RouteTemplateError(f"unbalanced '{{' in '{segment}'")
            if literal:
                parts.append(literal)
                literal = ""
            parts.append(_parse_parameter(segment[i + 1 : j]))
            i = j + 1
        else:
            literal += segment[i]
            i += 1
    if literal:
        parts.append(literal)
    return parts


@dataclass
class RouteTemplate:
    """A compiled template; `match(path)` returns route params or None."""

    template: str
    precedence: tuple[int, ...]
    _regex: re.Pattern[str]
    _params: list[_Parameter]

    @classmethod
    def parse(cls, template: str) -> RouteTemplate:
        pattern, params, precedence = "", [], []
        segments = [s for s in template.strip("/").split("/")] if template.strip("/") else []
        for index, segment in enumerate(segments):
            tokens = _tokens(segment)
            last = index == len(segments) - 1
            only = tokens[0] if len(tokens) == 1 else None
            if isinstance(only, _Parameter) and (only.optional or only.catch_all
                                                 or only.default is not None):
                if not last:
                    raise RouteTemplateError(
                        f"'{{{only.name}}}' must be the last segment of '{template}'"
                    )
                body = ".*" if only.catch_all else "[^/]+"
                pattern += f"(?:/(?P<p{len(params)}>{body}))?"
                params.append(only)
                precedence.append(5 if only.catch_all else 4)
                continue
            pattern += "/"
            for token in tokens:
                if isinstance(token, str):
                    pattern += re.escape(token)
                else:
                    if token.catch_all or token.optional:
                        raise RouteTemplateError(
                            f"'{{{token.name}}}' must be a whole segment in '{template}'"
                        )
                    # greedy: like ASP.NET's right-to-left match, `{a}.{b}` on x.y.z is x.y|z
                    pattern += f"(?P<p{len(params)}>[^/]+)"
                    params.append(token)
            if only is None and len(tokens) > 1:
                precedence.append(2)
            elif isinstance(only, str):
                precedence.append(1)
            else:
                precedence.append(3 if only is not None and only.constrained else 4)
        names = [p.name.lower() for p in params]
        if len(set(names)) != len(names):
            raise RouteTemplateError(f"duplicate parameter in '{template}'")
        regex = re.compile(f"^{pattern}/?$" if pattern else "^/?$", re.IGNORECASE)
        return cls(template, tuple(precedence), regex, params)

    def match(self, path: str) -> dict[str, str] | None:
        """Route params for a raw (still percent-encoded) request path, or None."""
        found = self._regex.fullmatch(path)
        if not found:
            return None
        values: dict[str, str] = {}
        for index, param in enumerate(self._params):
            raw = found.group(f"p{index}")
            if raw is None or (param.catch_all and raw == ""):
                if param.default is not None:
                    values[param.name] = param.default
                continue
            value = unquote(raw)
            if not all(check(value) for check in param.checks):
                return None
            values[param.name] = value
        return values


def sort_key(template: RouteTemplate) -> tuple[Any, ...]:
    """Lower sorts first: literals beat constrained parameters beat plain ones beat catch-alls,
    segment by segment (ASP.NET inbound precedence)."""
    return (*template.precedence, 0), template.template
