"""Route templates parse and match as ASP.NET Core routing does for Azure Functions."""

from __future__ import annotations

import pytest

from local.host.http_routes import RouteTemplate, RouteTemplateError, sort_key


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("api/items", "/api/items", {}),
        ("api/items", "/API/Items/", {}),
        ("api/items", "/api/items/x", None),
        ("api/items/{id}", "/api/items/a%2Fb", {"id": "a/b"}),
        ("api/items/{id:int:range(1,9)}", "/api/items/5", {"id": "5"}),
        ("api/items/{id:int:range(1,9)}", "/api/items/10", None),
        ("api/items/{id:long}", "/api/items/99999999999", {"id": "99999999999"}),
        ("api/items/{id:int}", "/api/items/99999999999", None),
        ("api/items/{id:bool}", "/api/items/True", {"id": "True"}),
        ("api/items/{id:minlength(3)}", "/api/items/ab", None),
        ("api/items/{id:length(2,3)}", "/api/items/abc", {"id": "abc"}),
        ("api/items/{id:regex(^[a-c]+$)}", "/api/items/abc", {"id": "abc"}),
        ("api/items/{id:regex(^[a-c]+$)}", "/api/items/abd", None),
        ("api/items/{id:guid}", "/api/items/3F2504E04F8911D39A0C0305E82C3301",
         {"id": "3F2504E04F8911D39A0C0305E82C3301"}),
        ("api/items/{id:guid}", "/api/items/{3f2504e0-4f89-11d3-9a0c-0305e82c3301}",
         {"id": "{3f2504e0-4f89-11d3-9a0c-0305e82c3301}"}),
        ("api/items/{id:guid}", "/api/items/3f2504e0-4f89-11d3-9a0c", None),
        ("api/opt/{name=fallback}", "/api/opt", {"name": "fallback"}),
        ("api/files/{*path}", "/api/files/a/b/c.txt", {"path": "a/b/c.txt"}),
        ("api/files/{**path}", "/api/files", {}),
        ("api/{a}-{b}", "/api/x-y-z", {"a": "x-y", "b": "z"}),
        ("", "/", {}),
    ],
)
def test_route_template_match(template: str, path: str, expected: dict | None) -> None:
    assert RouteTemplate.parse(template).match(path) == expected


@pytest.mark.parametrize(
    "template",
    ["a/{*rest}/b", "a/{x?}/b", "a/{x:unknown}", "a/{x}/{X}", "a/{x", "a/{x:min(a)}"],
)
def test_route_template_invalid_is_refused(template: str) -> None:
    with pytest.raises(RouteTemplateError):
        RouteTemplate.parse(template)


def test_route_precedence_literal_then_constrained_then_plain_then_catch_all() -> None:
    templates = ["a/{*rest}", "a/{x}", "a/{x:int}", "a/b"]
    ordered = sorted((RouteTemplate.parse(t) for t in templates), key=sort_key)
    assert [t.template for t in ordered] == ["a/b", "a/{x:int}", "a/{x}", "a/{*rest}"]
