"""Secrets as Graph keeps them in device configurations: stored, masked on every read, the
OMA-URI plain text served by a function that needs the ReadWrite permission.

- Custom profiles (``omaSettings``): Intune stores string, XML and base64 values encrypted
  (``isEncrypted: true``, a ``secretReferenceValueId`` per stored value, both read-only:
  what a client sends for them is ignored) and answers ``"****"`` as their value. The plain
  text comes from ``GET {profile}/getOmaSettingPlainTextValue(secretReferenceValueId='…')``
  → ``{"value": "…"}``, which needs ``DeviceManagementConfiguration.ReadWrite.All``
  ("This API involves potential secret values; ReadWrite permission is required").
- Wi-Fi pre-shared keys are write-only: stored, always read as null.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from .odata import GraphError, bad_request, intune_message
from .spec import G

if TYPE_CHECKING:
    from .graph import GraphEngine, GraphRequest, GraphResponse
    from .spec import TypeSpec
    from .store import Tenant

MASK = "****"
READ_WRITE = "DeviceManagementConfiguration.ReadWrite.All"
ENCRYPTED_OMA = frozenset(G + t for t in ("omaSettingString", "omaSettingStringXml",
                                          "omaSettingBase64"))
WIFI_WITH_KEY = frozenset(G + t for t in ("windowsWifiConfiguration", "iosWiFiConfiguration",
                                          "macOSWiFiConfiguration",
                                          "androidDeviceOwnerWiFiConfiguration"))
_ARGS = re.compile(r"^(\w+)\((.*)\)$")
_ARG = re.compile(r"^(\w+)='((?:[^']|'')*)'$")


def store_secrets(tenant: Tenant, body: dict[str, Any], mode: str,
                  current: dict[str, Any] | None) -> None:
    """Write rule: encrypt what Intune encrypts. A value written again gets a new reference;
    one a PATCH leaves out is kept as stored."""
    settings = body.get("omaSettings")
    if isinstance(settings, list):
        policy_id = (current or {}).get("id") or str(uuid.uuid4())  # a create's is not known yet
        for setting in settings:
            if not isinstance(setting, dict):
                raise bad_request("omaSettings entries must be objects.")
            setting.pop("isEncrypted", None)
            setting.pop("secretReferenceValueId", None)
            encrypted = setting.get("@odata.type") in ENCRYPTED_OMA
            setting["isEncrypted"] = encrypted
            setting["secretReferenceValueId"] = (
                f"{uuid.uuid4()}_{policy_id}_{uuid.uuid4()}" if encrypted else None)


def seeded(setting: dict[str, Any], policy_id: str) -> dict[str, Any]:
    """A seeded OMA-URI setting as Intune stores it (the reference derives from the ids, so
    seeding draws nothing more from its random sequence)."""
    encrypted = setting.get("@odata.type") in ENCRYPTED_OMA
    reference = uuid.uuid5(uuid.NAMESPACE_URL, f"{policy_id}/{setting.get('omaUri')}")
    return {**setting, "isEncrypted": encrypted,
            "secretReferenceValueId": f"{reference}_{policy_id}_{reference}" if encrypted
            else None}


def shown(tenant: Tenant, obj: dict[str, Any]) -> dict[str, Any]:
    """The object as every read shows it: encrypted values masked, keys hidden."""
    settings = obj.get("omaSettings")
    masked = isinstance(settings, list) and any(
        isinstance(s, dict) and s.get("isEncrypted") for s in settings)
    hidden = obj.get("@odata.type") in WIFI_WITH_KEY and obj.get("preSharedKey") is not None
    if not masked and not hidden:
        return obj
    out = dict(obj)
    if masked:
        out["omaSettings"] = [{**s, "value": MASK} if isinstance(s, dict) and s.get("isEncrypted")
                              else s for s in settings]
    if hidden:
        out["preSharedKey"] = None
    return out


def oma_plain_text(engine: GraphEngine, tenant: Tenant, spec: TypeSpec, obj: dict[str, Any],
                   args: dict[str, str], req: GraphRequest) -> GraphResponse:
    """``getOmaSettingPlainTextValue(secretReferenceValueId='…')``: the stored plain text."""
    from .graph import GraphResponse

    if READ_WRITE not in req.roles:
        raise GraphError(403, "Forbidden", intune_message(
            f"{spec.path}('{obj['id']}')/getOmaSettingPlainTextValue"))
    reference = args.get("secretReferenceValueId")
    if not reference:
        raise bad_request("The parameter 'secretReferenceValueId' is required.")
    for setting in obj.get("omaSettings") or []:
        if isinstance(setting, dict) and setting.get("isEncrypted") \
                and setting.get("secretReferenceValueId") == reference:
            return GraphResponse(200, {
                "@odata.context": f"{engine.base_url}/{req.version}/$metadata#Edm.String",
                "value": setting.get("value")})
    raise GraphError(404, "ResourceNotFound", intune_message(
        f"{spec.path}('{obj['id']}')/getOmaSettingPlainTextValue"))


def parse_function(segment: str) -> tuple[str, dict[str, str]] | None:
    """``name(a='x',b='y')`` → ``(name, {a: x, b: y})``; None for a plain segment."""
    m = _ARGS.match(segment)
    if m is None:
        return None
    args: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in m.group(2).split(","))):
        arg = _ARG.match(part)
        if arg is None:
            raise bad_request(f"Invalid function parameter '{part}'.")
        args[arg.group(1)] = arg.group(2).replace("''", "'")
    return m.group(1), args
