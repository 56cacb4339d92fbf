"""Tenant administration: enrollment, Autopilot, filters, scope tags, roles, notification
templates, branding, multi-admin approval, connectors, Microsoft Tunnel, Windows 365.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from shared.graph import evidence as ev
from shared.graph import hooks, licences
from shared.graph.documents import clean_entry
from shared.graph.resource import (
    ASSIGNMENT_EXCLUSIONS,
    ASSIGNMENT_FILTERS,
    ASSIGNMENT_GROUPS,
    ASSIGNMENTS,
    CLOUD_PC_GROUPS,
    LISTED_ASSIGNMENTS,
    SCOPE_TAGS,
    VERSIONED,
    Reference,
    ResourceType,
    Restore,
    SubCollection,
)

# ---- evidence: why the read and write plans are what Graph serves --------------------------

ROLE_ASSIGNMENTS_EVIDENCE = (
    "microsoftgraph/microsoft-graph-docs #4216, #5956, #4110 (docs team), #6223: GET and POST "
    "roleDefinitions/{id}/roleAssignments are 400 'No OData route'; read roleDefinitions/{id}?"
    "$expand="
    "roleAssignments (Micke-K/IntuneManagement MSGraph.psm1 expands roleAssignments). "
    "Assignments are created at deviceManagement/roleAssignments with roleDefinition@odata."
    "bind (IntuneManagement Start-PostFileImportRoleDefinitions, deploymenttheory/terraform-"
    "provider-microsoft365 role_assignment construct.go); custom roles: $filter=isBuiltIn eq "
    "false (IntuneCD Roles.py, IntuneManagement)")
APPLE_ASSIGNMENTS_EVIDENCE = (
    "Graph beta appleUserInitiatedEnrollmentProfile: no assign action; appleEnrollmentProfile"
    "Assignment is listed, created and deleted at {id}/assignments (terraform-provider-"
    "microsoft365 apple_user_initiated_enrollment_profile_assignment crud.go)")
BRANDING_EVIDENCE = (
    "IntuneManagement EndpointManager.psm1 IntuneBranding: name is profileName; the default "
    "profile (isDefaultProfile) is PATCHed, never created or deleted, without profileName/"
    "profileDescription; isDefaultProfile and disableClientTelemetry never written. Graph beta "
    "intuneBrandingProfile assign: POST {id}/assign {assignments}; assignments read paged")
TUNNEL_SITE_EVIDENCE = (
    "Graph beta microsoftTunnelSite: microsoftTunnelConfiguration is a single-valued "
    "relationship, written as {'id': …} (Microsoft Tunnel setup script: New-MgDeviceManagement"
    "MicrosoftTunnelSite -MicrosoftTunnelConfiguration @{id=…}); read with the item $expand "
    "(OData navigation; no recorded response yet)")
CLOUD_PC_EVIDENCE = (
    "learn.microsoft.com cloudpcprovisioningpolicy-get, virtualendpoint-list-provisioningpolicies"
    " and -list-usersettings (beta): assignments are 'returned only on $expand', which list and "
    "get support; cloudpcprovisioningpolicy-assign / cloudpcusersetting-assign take "
    "{assignments} with cloudPcManagementGroupAssignmentTarget")


# ---- hooks ---------------------------------------------------------------------------------

def custom_role(listed: dict[str, Any]) -> bool:
    """Built-in roles exist in every tenant and cannot be changed: only custom ones are kept."""
    return listed.get("isBuiltIn") is not True


def _role_assignment_name(assignment: dict[str, Any]) -> str:
    return str(assignment.get("displayName") or "").lower()


async def sync_role_assignments(ctx: hooks.WriteContext) -> None:
    """A role's assignments, matched by display name: created at
    ``deviceManagement/roleAssignments`` bound to the role (Graph has no route for writes
    under the role), changed and deleted there; the live ones come with the role's
    ``$expand``."""
    sub = ctx.rtype.sub("roleAssignments")
    assert sub is not None
    version, collection = ctx.rtype.version, "deviceManagement/roleAssignments"
    live: dict[str, dict[str, Any]] = {}
    if ctx.mode == "update":
        role = await ctx.client.get_json(ctx.tenant_id, ctx.item_path, version=version,
                                         params={"$expand": sub.name})
        live = {_role_assignment_name(a): a for a in (role or {}).get(sub.name) or []
                if isinstance(a, dict)}
    wanted = {_role_assignment_name(a): clean_entry(sub, a)
              for a in ctx.snapshot.get(sub.name) or [] if isinstance(a, dict)}
    bind = f"{ctx.client.base_url}/{version}/{ctx.rtype.path}('{ctx.item_id}')"
    writes = []
    for name, body in wanted.items():
        current = live.get(name)
        if current is None:
            writes.append(ctx.client.request(ctx.tenant_id, "POST", collection, version=version,
                                             json={**body, "roleDefinition@odata.bind": bind}))
        elif clean_entry(sub, current) != body:
            writes.append(ctx.client.request(
                ctx.tenant_id, "PATCH", f"{collection}/{quote(current['id'], safe='')}",
                version=version, json=body))
    for name, current in live.items():
        if name not in wanted:
            writes.append(ctx.client.request(
                ctx.tenant_id, "DELETE", f"{collection}/{quote(current['id'], safe='')}",
                version=version))
    await asyncio.gather(*writes)


def not_default_branding(document: dict[str, Any]) -> bool:
    """Every tenant has one default branding profile: it is updated, never created."""
    return not document.get("isDefaultProfile")


def prepare_branding(payload: dict[str, Any], snapshot: dict[str, Any], mode: str,
                     ca_state: str) -> dict[str, Any]:
    """The default profile keeps its own name and description."""
    if mode == "update" and snapshot.get("isDefaultProfile"):
        for name in ("profileName", "profileDescription"):
            payload.pop(name, None)
    return payload


_ROLE_ASSIGNMENTS = SubCollection("roleAssignments", unordered=True, via_item_expand=True)
# Windows 365: assignments only on $expand, which the list and the item GET both serve.
_CLOUD_PC_ASSIGNMENTS = SubCollection("assignments", unordered=True, via_list_expand=True,
                                      via_item_expand=True)
_ANDROID_TOKEN = frozenset({"tokenValue", "tokenCreationDateTime", "tokenExpirationDateTime",
                            "qrCodeContent", "qrCodeImage"})

ENTRIES: tuple[ResourceType, ...] = (
    ResourceType(
        key="deviceEnrollmentConfigurations",
        path="deviceManagement/deviceEnrollmentConfigurations", version="beta",
        volatile=VERSIONED, assign_key="enrollmentConfigurationAssignments",
        read_only=frozenset({"deviceEnrollmentConfigurationType"}),
        can_create=hooks.not_default_enrollment, subcollections=(LISTED_ASSIGNMENTS,),
        evidence=(ev.ZERO_TRUST_ASSESSMENT,),
    ),
    ResourceType(
        key="windowsAutopilotDeploymentProfiles",
        path="deviceManagement/windowsAutopilotDeploymentProfiles", version="beta",
        subcollections=(LISTED_ASSIGNMENTS,), evidence=(ev.CIPP,),
    ),
    ResourceType(
        key="assignmentFilters", path="deviceManagement/assignmentFilters", version="beta",
        subcollections=(), assign_key=None, read_only=frozenset({"payloads"}),
        references=(Reference("roleScopeTags", "roleScopeTags[]"),),
    ),
    ResourceType(
        key="roleScopeTags", path="deviceManagement/roleScopeTags", version="beta",
        read_only=frozenset({"isBuiltIn"}), references=(ASSIGNMENT_GROUPS,),
        can_create=hooks.not_built_in, evidence=(ev.INTUNE_MANAGEMENT,),  # list expand: []
    ),
    ResourceType(
        key="notificationMessageTemplates",
        path="deviceManagement/notificationMessageTemplates", version="beta",
        subcollections=(SubCollection("localizedNotificationMessages", via_list_expand=True),),
        assign_key=None, references=(SCOPE_TAGS,), after_write=hooks.sync_localized_messages,
        evidence=(ev.NOTIFICATION_TEMPLATES,),
    ),
    ResourceType(
        key="roleDefinitions", path="deviceManagement/roleDefinitions", version="beta",
        subcollections=(_ROLE_ASSIGNMENTS,), assign_key=None,
        read_only=frozenset({"isBuiltIn", "isBuiltInRoleDefinition", "permissions"}),
        include=custom_role, listed_fields=("isBuiltIn",), can_create=hooks.not_built_in,
        references=(
            SCOPE_TAGS,
            Reference("groups", "roleAssignments[].members[]"),
            Reference("groups", "roleAssignments[].scopeMembers[]"),
            Reference("groups", "roleAssignments[].resourceScopes[]"),
            Reference("roleScopeTags", "roleAssignments[].roleScopeTagIds[]"),
        ),
        after_write=sync_role_assignments, evidence=(ROLE_ASSIGNMENTS_EVIDENCE,),
    ),
    ResourceType(
        key="appleUserInitiatedEnrollmentProfiles",
        path="deviceManagement/appleUserInitiatedEnrollmentProfiles", version="beta",
        subcollections=(ASSIGNMENTS,), assign_key=None,
        assign_via=hooks.assign_entry_by_entry,
        references=(ASSIGNMENT_FILTERS, ASSIGNMENT_GROUPS, ASSIGNMENT_EXCLUSIONS),
        create_only=frozenset({"platform"}),
        evidence=(APPLE_ASSIGNMENTS_EVIDENCE,),
    ),
    ResourceType(
        key="androidDeviceOwnerEnrollmentProfiles",
        path="deviceManagement/androidDeviceOwnerEnrollmentProfiles", version="beta",
        subcollections=(), assign_key=None, references=(SCOPE_TAGS,),
        # the enrollment token is made by createToken and is never written back
        read_only=_ANDROID_TOKEN | {"accountId"},
        volatile=frozenset({"enrolledDeviceCount", "enrollmentTokenUsageCount"}),
        secrets=frozenset({"tokenValue", "qrCodeContent", "qrCodeImage", "wifiPassword"}),
    ),
    ResourceType(
        key="intuneBrandingProfiles", path="deviceManagement/intuneBrandingProfiles",
        version="beta", name_field="profileName",
        read_only=frozenset({"isDefaultProfile", "disableClientTelemetry"}),
        can_create=not_default_branding, prepare=prepare_branding,
        evidence=(BRANDING_EVIDENCE,),
    ),
    ResourceType(
        key="operationApprovalPolicies", path="deviceManagement/operationApprovalPolicies",
        version="beta", subcollections=(), assign_key=None,
        references=(Reference("groups", "approverGroupIds[]"),),
    ),
    ResourceType(  # no display name: the id names the partner, the same in every tenant
        key="mobileThreatDefenseConnectors",
        path="deviceManagement/mobileThreatDefenseConnectors", version="beta", name_field="id",
        subcollections=(), assign_key=None, references=(), restore=Restore.UPDATE_ONLY,
        read_only=frozenset({"partnerState"}), volatile=frozenset({"lastHeartbeatDateTime"}),
    ),
    ResourceType(
        key="remoteAssistancePartners", path="deviceManagement/remoteAssistancePartners",
        version="beta", subcollections=(), assign_key=None, references=(),
        restore=Restore.UPDATE_ONLY, read_only=frozenset({"onboardingStatus"}),
        volatile=frozenset({"lastConnectionDateTime"}),
    ),
    ResourceType(
        key="microsoftTunnelConfigurations",
        path="deviceManagement/microsoftTunnelConfigurations", version="beta",
        subcollections=(), assign_key=None, references=(SCOPE_TAGS,),
        volatile=frozenset({"lastUpdateDateTime"}),
    ),
    ResourceType(
        key="microsoftTunnelSites", path="deviceManagement/microsoftTunnelSites",
        version="beta", subcollections=(), assign_key=None,
        links=("microsoftTunnelConfiguration",), read_only=frozenset({"upgradeAvailable"}),
        references=(SCOPE_TAGS, Reference("microsoftTunnelConfigurations",
                                          "microsoftTunnelConfiguration.id")),
        evidence=(TUNNEL_SITE_EVIDENCE,),
    ),
    ResourceType(
        key="cloudPcProvisioningPolicies",
        path="deviceManagement/virtualEndpoint/provisioningPolicies", version="beta",
        subcollections=(_CLOUD_PC_ASSIGNMENTS,), references=(CLOUD_PC_GROUPS,),
        read_only=frozenset({"alternateResourceUrl", "cloudPcGroupDisplayName", "managedBy",
                             "gracePeriodInHours", "localAdminEnabled"}),
        evidence=(CLOUD_PC_EVIDENCE,), licensed_by=licences.WINDOWS_365,
    ),
    ResourceType(
        key="cloudPcUserSettings", path="deviceManagement/virtualEndpoint/userSettings",
        version="beta", subcollections=(_CLOUD_PC_ASSIGNMENTS,),
        references=(CLOUD_PC_GROUPS,), evidence=(CLOUD_PC_EVIDENCE,),
        licensed_by=licences.WINDOWS_365,
    ),
)
