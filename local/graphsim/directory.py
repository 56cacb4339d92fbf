"""Entra ID directory objects: groups, and ``POST directoryObjects/getByIds``.

Groups are definitions as Graph's ``groups`` collection serves them (v1.0 and beta); members
are not simulated. Graph creates only Microsoft 365 groups and security groups: a write that
would make a mail-enabled group that is not a Microsoft 365 group (a mail-enabled security
group, a distribution group) is refused with the 400 Graph answers. ``directoryObjects`` is
a read-only view over the groups (the only directory objects here) whose ``getByIds`` action
returns those of the given ids that exist.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .odata import GraphError, bad_request
from .spec import TypeSpec

if TYPE_CHECKING:
    from .graph import GraphEngine, GraphResponse
    from .store import Tenant

G = "#microsoft.graph."
GET_BY_IDS_MAX = 1000
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_DIRECTORY_TYPES = frozenset({"directoryobject", "group", "user", "device", "serviceprincipal",
                              "application", "orgcontact", "administrativeunit"})
GROUP_READ_ONLY = frozenset({
    "mail", "proxyAddresses", "renewedDateTime", "expirationDateTime", "securityIdentifier",
    "onPremisesDomainName", "onPremisesLastSyncDateTime", "onPremisesNetBiosName",
    "onPremisesProvisioningErrors", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled", "assignedLicenses", "licenseProcessingState",
})
_REQUIRED_ON_CREATE = ("mailEnabled", "mailNickname", "securityEnabled")


def group_body(tenant: Tenant, body: dict[str, Any], mode: str,
               current: dict[str, Any] | None) -> None:
    """What Graph refuses in a group write (``mode``: create, patch): the groups
    TypeSpec's ``write_rules``."""
    if mode == "create":
        for name in _REQUIRED_ON_CREATE:
            if body.get(name) is None:
                raise GraphError(400, "Request_BadRequest",
                                 f"Invalid value specified for property '{name}' of resource "
                                 "'Group'.")
    if mode != "create" and "groupTypes" not in body:
        return  # a PATCH of other properties: the stored group types are not in question
    unified = "Unified" in (body.get("groupTypes") or [])
    if body.get("mailEnabled") is True and not unified:
        raise GraphError(400, "Request_BadRequest",
                         "The service does not currently support writes of mail-enabled "
                         "groups. Please ensure that the mail-enablement property is unset and "
                         "the security-enablement property is set.")


def get_by_ids(engine: GraphEngine, tenant: Tenant, spec: TypeSpec,
               obj: dict[str, Any] | None, raw: Any) -> GraphResponse:
    """``POST directoryObjects/getByIds``: the objects among ``ids`` (at most 1000) of the
    ``types`` asked for that exist; unknown ids are left out, not an error."""
    from .graph import GraphResponse

    if not isinstance(raw, dict):
        raise bad_request("Invalid request body: a JSON object was expected.")
    ids, types = raw.get("ids"), raw.get("types") or ["directoryObject"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise bad_request("'ids' must be a non-empty array of strings.")
    if len(ids) > GET_BY_IDS_MAX:
        raise bad_request(f"'ids' may hold at most {GET_BY_IDS_MAX} values.")
    if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
        raise bad_request("'types' must be an array of strings.")
    unknown = [t for t in types if t.lower() not in _DIRECTORY_TYPES]
    if unknown:
        raise GraphError(400, "Request_BadRequest", f"Invalid type '{unknown[0]}'.")
    for value in ids:
        if not _GUID.fullmatch(value):
            raise GraphError(400, "Request_BadRequest", f"Invalid object identifier '{value}'.")
    found: list[dict[str, Any]] = []
    if {t.lower() for t in types} & {"group", "directoryobject"}:
        groups = {k.lower(): v for k, v in tenant.data.get("groups", {}).items()}
        for value in dict.fromkeys(i.lower() for i in ids):
            group = groups.get(value)
            if group is not None:
                found.append({**engine.present(None, group, {}, None), "@odata.type": G + "group"})
    return GraphResponse(200, {"@odata.context": f"{engine.base_url}/v1.0/$metadata#"
                                                 "directoryObjects", "value": found})


DIRECTORY_OBJECTS = TypeSpec(
    key="directoryObjects", path="directoryObjects", odata_types=(G + "group",),
    union_of=("groups",), writable=False, seeded=False, scope_tag_prop=None,
    created_prop=None, modified_prop=None,
    collection_handlers=(("getByIds", get_by_ids),),
)
