"""Scrub credentials out of text before it is persisted, returned or logged (DESIGN §6).

Used wherever foreign text (a Graph error body, an exception message) could reach a run,
item, notification, audit event, queue message, HTTP body or log line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from shared.platform.errors import MAX_MESSAGE_LENGTH

REDACTED = "[redacted]"

_PATTERNS = [
    # Authorization headers and bearer tokens, however quoted.
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)authorization[\"']?\s*[:=]\s*[\"']?[^\"',;}\s]+(\s+[^\"',;}\s]+)?"),
    # Anything shaped like a JWT (header.payload.signature, base64url).
    re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    # Storage keys and SAS signatures.
    re.compile(r"(?i)(AccountKey|SharedAccessSignature|sig)=[^;&\s\"']+"),
    # OAuth secrets and assertions in form bodies or JSON.
    re.compile(
        r"(?i)(client_secret|client_assertion|password|access_token|refresh_token)"
        r"[\"']?\s*[:=]\s*[\"']?[^\"'&\s,}]+"
    ),
    # PEM blocks (certificates, private keys).
    re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S),
]


def redact(text: str, secrets: Iterable[str] = (), limit: int = MAX_MESSAGE_LENGTH) -> str:
    """Return ``text`` with credentials and the given literal ``secrets`` replaced, bounded."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
