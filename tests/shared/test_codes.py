"""Stable codes: one enum, every code documented in the README, every error class using it."""

import re
from pathlib import Path

from shared.platform import errors
from shared.platform.codes import ErrorCode

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_codes() -> set[str]:
    section = README.read_text().split("### Error and item codes", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE))


def test_readme_code_table_lists_exactly_the_codes_in_the_enum():
    assert _readme_codes() == {code.value for code in ErrorCode}


def test_every_error_class_code_is_a_named_code():
    classes = [c for c in vars(errors).values()
               if isinstance(c, type) and issubclass(c, errors.PolicyVaultError)]
    assert len(classes) > 20
    for cls in classes:
        assert isinstance(cls.code, ErrorCode), cls.__name__


def test_error_dict_carries_a_plain_string_code():
    body = errors.GraphNotFound("gone").to_dict()
    assert type(body["code"]) is str and body["code"] == "graph_not_found"
