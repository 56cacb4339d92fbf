"""Entra ID groups (v1.0 ``groups``): definitions only — name, description, mail nickname,
security / Microsoft 365, dynamic membership rule — never members (DESIGN §7.1).

Every assignment and Conditional Access condition refers to groups, so they restore first
(level 0 of :func:`shared.graph.catalog.restore_levels`) and a recreated group's new id is
in the run's id map before a dependent is written. A restore creates a group that is gone
only when the request says ``create_missing_groups`` (:mod:`shared.restore.match`).
Mail-enabled security groups and distribution groups are Exchange objects: Graph reads them
but does not create them (``not_creatable``).

:func:`existing_group_ids` answers which referenced groups exist, one Graph call per 1000
ids, so a restore never writes a reference to a group that is gone
(:mod:`shared.restore.match`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from shared.graph.client import GraphClient, get_graph_client
from shared.graph.resource import ResourceType
from shared.platform.errors import GraphBadResponse

GROUPS = "groups"
GET_BY_IDS = "directoryObjects/getByIds"
GET_BY_IDS_MAX = 1000  # ids per call (Graph's limit)
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")

# Server-managed: Graph sets them (mail and proxy addresses from the nickname, the SID, sync
# state from Entra Connect); a write that names one is refused.
_SERVER_MANAGED = frozenset({
    "deletedDateTime", "mail", "proxyAddresses", "securityIdentifier",
    "onPremisesDomainName", "onPremisesLastSyncDateTime", "onPremisesNetBiosName",
    "onPremisesProvisioningErrors", "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "serviceProvisioningErrors",
    "assignedLabels", "assignedLicenses", "licenseProcessingState", "isManagementRestricted",
    "createdByAppId", "organizationId",
    # provisioned by the Teams API, not by a group write
    "resourceProvisioningOptions",
})
# Renewal (the expiration policy) moves both without a change to the group.
_VOLATILE = frozenset({"renewedDateTime", "expirationDateTime"})
# Graph takes these only when the group is created.
_CREATE_ONLY = frozenset({"isAssignableToRole", "resourceBehaviorOptions"})

EVIDENCE = (
    "learn.microsoft.com/graph/api/group-post-groups (v1.0): Graph creates Microsoft 365 and "
    "security groups; displayName, mailEnabled, mailNickname, securityEnabled are required",
    "learn.microsoft.com/graph/api/resources/groups-overview: mail-enabled security and "
    "distribution groups cannot be created or managed through Graph; "
    "microsoft-graph-docs #372: POST answers 400 Request_BadRequest 'The service does not "
    "currently support writes of mail-enabled groups'",
    "learn.microsoft.com/graph/api/resources/group: mail, proxyAddresses, renewedDateTime, "
    "expirationDateTime, onPremises* are read-only; isAssignableToRole is set only at "
    "creation; the list returns the default properties, members only through /members",
    "learn.microsoft.com/graph/api/directoryobject-getbyids: POST directoryObjects/getByIds "
    "with ids (at most 1000) and types returns the objects that exist",
)


def creatable(document: dict[str, Any]) -> bool:
    """Graph creates Microsoft 365 groups and (dynamic or assigned) security groups only:
    a mail-enabled group that is not a Microsoft 365 group (a mail-enabled security group,
    a distribution group) lives in Exchange, and a synced group in the on-premises
    directory."""
    unified = "Unified" in (document.get("groupTypes") or [])
    if document.get("mailEnabled") and not unified:
        return False
    return not document.get("onPremisesSyncEnabled")


async def existing_group_ids(tenant_id: str, ids: Collection[str], *,
                             client: GraphClient | None = None) -> set[str]:
    """Those of ``ids`` that name a group in the tenant, lower-cased (an id that is not a
    GUID names none). One ``directoryObjects/getByIds`` per 1000 ids: a read, though sent
    as a POST."""
    client = client or get_graph_client()
    wanted = sorted({i.lower() for i in ids if _GUID.fullmatch(i)})
    found: set[str] = set()
    for start in range(0, len(wanted), GET_BY_IDS_MAX):
        response = await client.request(
            tenant_id, "POST", GET_BY_IDS, version="v1.0", idempotent=True,
            json={"ids": wanted[start:start + GET_BY_IDS_MAX], "types": ["group"]})
        body = response.body if isinstance(response.body, dict) else {}
        value = body.get("value")
        if not isinstance(value, list):
            raise GraphBadResponse(f"POST {GET_BY_IDS}: the answer is not a collection",
                                   status=response.status, request_id=response.request_id)
        found |= {str(o["id"]).lower() for o in value if isinstance(o, dict) and o.get("id")}
    return found


ENTRIES: tuple[ResourceType, ...] = (
    ResourceType(
        key=GROUPS, path="groups", version="v1.0", subcollections=(), assign_key=None,
        references=(), read_only=_SERVER_MANAGED, volatile=_VOLATILE, create_only=_CREATE_ONLY,
        can_create=creatable, evidence=EVIDENCE,
    ),
)
