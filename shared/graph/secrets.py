"""Secret properties, driven by the catalog: the one place that finds, redacts, strips and
names them (DESIGN §12, issue 16).

Each catalog entry lists its secrets (``ResourceType.secrets``): a bare name is a property
Graph returns as it is, at any depth (an enrollment token); a :class:`Secret` says more —
which objects hold it (``within`` their ``@odata.type``, ``when`` a predicate on the holder)
and how Graph serves it (:class:`Served`):

- ``RETURNED``: in every read; captured as read;
- ``MASKED``: Graph answers a mask (``"****"``) and serves the plain text through a function,
  one request per secret (``reveal``: a custom profile's OMA-URI value through
  ``getOmaSettingPlainTextValue``, which needs ``DeviceManagementConfiguration.ReadWrite.All``);
  read by :func:`shared.graph.reading.fetch_snapshots`, so snapshots hold the plain text
  (inside the encrypted blob) and a restore writes it back;
- ``NEVER``: write-only or an encrypted token (Wi-Fi pre-shared keys, settings catalog
  ``encryptedValueToken``): a set one is ``secret_not_captured`` on the item.

What leaves PolicyVault never carries a value: :func:`redact` makes every secret
``"<secret>"`` (snapshot documents through the API), :func:`strip_secrets` leaves them out
(a copy to another tenant: ``secret_not_copied``), :func:`secret_values` names the plain texts
to scrub out of foreign text (:func:`scrubbing`: a Graph error that echoes a body). Write
bodies and comparisons go through :func:`writable`: a secret PolicyVault does not hold (null
or masked) is never written, and Graph's bookkeeping around one (``secretReferenceValueId``)
never counts as a change.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from shared.platform.codes import ErrorCode

if TYPE_CHECKING:
    from shared.graph.resource import ResourceType

SECRET = "<secret>"  # what every output shows instead of a secret value
MASK = "****"  # what Graph answers for a masked value
_MIN_SCRUBBED = 4  # shorter values are not scrubbed out of text (they would eat words)


class Served(StrEnum):
    """How Graph serves a secret property."""

    RETURNED = "returned"
    MASKED = "masked"
    NEVER = "never"


def _always(_holder: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class Secret:
    """The secret property ``name`` of the objects (at any depth) whose ``@odata.type`` is in
    ``within`` (any object when empty) and for which ``when`` holds. ``reveal`` (``MASKED``)
    is the GET path of the plain text: ``(object path, holder) → path``. ``server_fields``
    are the holder's properties Graph keeps about the secret: never written, never compared.
    ``is_set`` (``NEVER``): whether the holder has a secret Graph does not show (null is
    also "not set"), so only a real one is reported ``secret_not_captured``."""

    name: str
    within: frozenset[str] = frozenset()
    when: Callable[[dict[str, Any]], bool] = _always
    served: Served = Served.RETURNED
    reveal: Callable[[str, dict[str, Any]], str | None] | None = None
    server_fields: frozenset[str] = frozenset()
    is_set: Callable[[dict[str, Any]], bool] = _always
    note: str = ""  # why it is not captured (the item's warning says it)

    def __post_init__(self) -> None:
        if self.served is Served.NEVER and not self.within:
            raise ValueError(f"secret {self.name}: a NEVER secret names its holders (within)")

    def holds(self, holder: dict[str, Any]) -> bool:
        """Whether ``holder`` holds this secret (a ``NEVER`` one even when Graph leaves the
        property out)."""
        present = self.name in holder or self.served is Served.NEVER
        return (present and (not self.within or holder.get("@odata.type") in self.within)
                and self.when(holder))


@dataclass(frozen=True)
class Found:
    """One secret in a document: its holder, rule and dotted path."""

    holder: dict[str, Any]
    rule: Secret
    path: str

    @property
    def value(self) -> Any:
        return self.holder.get(self.rule.name)

    @property
    def held(self) -> bool:
        """Whether the document holds the plain text (not null, not Graph's mask)."""
        return self.value not in (None, "", MASK)

    @property
    def captured(self) -> bool:
        """Whether nothing is lost: ``NEVER`` — no secret is set; ``MASKED`` — the plain
        text is held, or none is set."""
        if self.rule.served is Served.NEVER:
            return not self.rule.is_set(self.holder)
        return self.held or self.rule.served is Served.RETURNED or self.value is None


def rules(rtype: ResourceType) -> tuple[Secret, ...]:
    """The entry's secrets as :class:`Secret` rules (bare names: ``RETURNED``, anywhere)."""
    return tuple(s if isinstance(s, Secret) else Secret(s) for s in
                 sorted(rtype.secrets, key=lambda s: s.name if isinstance(s, Secret) else s))


def find(rtype: ResourceType, document: Any) -> Iterator[Found]:
    """Every secret property in ``document`` (in place: holders are the document's own)."""
    secret_rules = rules(rtype)
    if not secret_rules:
        return
    stack: list[tuple[Any, str]] = [(document, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for rule in secret_rules:
                if rule.holds(node):
                    yield Found(node, rule, f"{path}.{rule.name}" if path else rule.name)
            stack.extend((v, f"{path}.{k}" if path else k) for k, v in node.items()
                         if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{n}]") for n, v in enumerate(node))


def redact(rtype: ResourceType, document: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``document`` with every secret value that is set shown as ``"<secret>"``."""
    out = copy.deepcopy(document)
    for found in list(find(rtype, out)):
        if found.value is not None:
            found.holder[found.rule.name] = SECRET
    return out


def strip_secrets(rtype: ResourceType, document: dict[str, Any]
                  ) -> tuple[dict[str, Any], list[str]]:
    """A copy of ``document`` without its secret values, and the paths of those it held — for
    a copy that must not carry them (cross-tenant: ``secret_not_copied``). A write body made
    from the copy leaves them out (:func:`writable`), so the target keeps its own."""
    out = copy.deepcopy(document)
    removed = []
    for found in list(find(rtype, out)):
        if found.value is not None:
            removed.append(found.path)
        found.holder.pop(found.rule.name, None)
    return out, sorted(removed)


def secret_values(rtype: ResourceType, document: dict[str, Any]) -> tuple[str, ...]:
    """The plain texts ``document`` holds, to scrub out of any text about it."""
    return tuple(sorted({f.value for f in find(rtype, document)
                         if f.held and isinstance(f.value, str)
                         and len(f.value) >= _MIN_SCRUBBED}))


def not_captured(rtype: ResourceType, document: dict[str, Any]) -> list[Found]:
    """The secrets set on the object that ``document`` does not hold."""
    return sorted((f for f in find(rtype, document) if not f.captured), key=lambda f: f.path)


def secret_warnings(rtype: ResourceType, document: dict[str, Any]) -> list[dict[str, str]]:
    """``secret_not_captured`` for an item whose document lacks a secret the object has (one
    warning naming every path; none when all are held)."""
    missing = not_captured(rtype, document)
    if not missing:
        return []
    notes = sorted({f.rule.note for f in missing if f.rule.note})
    message = (f"not captured (a restore leaves them as they are): "
               f"{', '.join(f.path for f in missing)}" + (f" — {'; '.join(notes)}" if notes
                                                         else ""))
    return [{"code": ErrorCode.SECRET_NOT_CAPTURED.value, "message": message[:500]}]


def writable(rtype: ResourceType, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` as write bodies and comparisons see it: no server fields around secrets,
    and no secret PolicyVault does not hold (null or masked: writing it would erase or
    overwrite the live one). The input is not changed."""
    if next(find(rtype, document), None) is None:
        return document
    out = copy.deepcopy(document)
    for f in list(find(rtype, out)):
        for name in f.rule.server_fields:
            f.holder.pop(name, None)
        if not f.held and f.rule.served is not Served.RETURNED:
            f.holder.pop(f.rule.name, None)
    return out


def to_reveal(rtype: ResourceType, object_path: str, document: dict[str, Any]
              ) -> list[tuple[Found, str]]:
    """The masked secrets of one object with the GET path of each one's plain text."""
    out = []
    for f in find(rtype, document):
        if f.rule.served is Served.MASKED and f.rule.reveal is not None and not f.held:
            path = f.rule.reveal(object_path, f.holder)
            if path:
                out.append((f, path))
    return sorted(out, key=lambda pair: pair[0].path)


# ---- scrubbing foreign text ------------------------------------------------------------

_scrubbed: ContextVar[tuple[str, ...]] = ContextVar("pv_scrubbed_secrets", default=())


def scrubbed() -> tuple[str, ...]:
    """The secret values the current task's Graph errors must not carry."""
    return _scrubbed.get()


@contextlib.contextmanager
def scrubbing(values: Iterable[str]) -> Iterator[None]:
    """While it is open, Graph error text is scrubbed of ``values`` too (the secrets of the
    document being written), in this task and the tasks it starts."""
    token = _scrubbed.set((*_scrubbed.get(), *values))
    try:
        yield
    finally:
        _scrubbed.reset(token)
