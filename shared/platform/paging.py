"""Pages, ``top`` and opaque continuation tokens for list endpoints (DESIGN §3:
``?continuation=``). A table partition is read page by page in
:func:`shared.platform.tables.query_page`."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shared.platform.errors import ValidationFailed

T = TypeVar("T")
DEFAULT_TOP = 100
MAX_TOP = 1000


@dataclass
class Page(Generic[T]):
    value: list[T]
    continuation: str | None = None


def encode_token(token: Any) -> str | None:
    if not token:
        return None
    raw = json.dumps(token, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(text: str | None) -> Any:
    """The storage continuation behind an API token; a tampered token is a 400."""
    if not text:
        return None
    try:
        padded = text + "=" * (-len(text) % 4)
        token = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("continuation is not a token this API issued") from exc
    if not isinstance(token, dict) or not all(isinstance(v, str) for v in token.values()):
        raise ValidationFailed("continuation is not a token this API issued")
    return token
