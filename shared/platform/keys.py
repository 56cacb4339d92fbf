"""Row keys and identifiers that sort and repeat the way DESIGN §4–5 needs.

- Inverted time keys make Azure Table's ascending RowKey order list newest first.
- Ids derived from stable inputs make retried writes land on the same row.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import UTC, datetime

from ulid import ULID

_MAX_MS = 10**13  # year 2286; fixed width keeps lexical order == numeric order
_HEX = "[0-9a-fA-F]"
_GUID_RE = re.compile(rf"^{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}$")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def inverted_time(moment: datetime) -> str:
    """13-digit key that sorts newest first."""
    millis = int(moment.timestamp() * 1000)
    return f"{_MAX_MS - millis:013d}"


def new_ulid() -> str:
    return str(ULID())


def derived_ulid(ulid: str, *parts: str) -> str:
    """A ULID of ``ulid``'s moment whose random part comes from ``parts``: the same inputs
    always give the same id (e.g. the pre-restore set of a run, issue 19 finding 9)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    digest = int.from_bytes(hashlib.sha256("\x1f".join((ulid, *parts)).encode()).digest()[:10])
    random = "".join(alphabet[(digest >> (5 * n)) & 31] for n in reversed(range(16)))
    return ulid.upper()[:10] + random


def inverted_ulid(ulid: str) -> str:
    """RowKey for a ULID that sorts newest first (ULIDs are time-ordered base32)."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    return "".join(alphabet[31 - alphabet.index(c)] for c in ulid.upper())


def stable_id(*parts: str, length: int = 32) -> str:
    """A hex id derived from its inputs: the same inputs always give the same id."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def is_guid(value: str) -> bool:
    return bool(_GUID_RE.fullmatch(value))


def normalize_guid(value: str) -> str:
    return str(uuid.UUID(value))


def is_ulid(value: str) -> bool:
    try:
        ULID.from_str(value)
    except ValueError:
        return False
    return True
