"""Tenant administration: roles, enrollment profiles, branding, multi-admin approval,
connectors, Microsoft Tunnel, Windows 365.

Graph's shapes here (beta docs unless noted): role assignments are written at
``deviceManagement/roleAssignments`` bound to their role and read through the role's
``$expand`` (``GET roleDefinitions/{id}/roleAssignments`` has no route); Apple user-initiated
enrollment profiles have no ``/assign``, their assignments are written entry by entry; a
tunnel site names its configuration through the single-valued ``microsoftTunnelConfiguration``
navigation; Windows 365 assignments target ``cloudPcManagementGroupAssignmentTarget``.
"""

from __future__ import annotations

import base64
import random
import uuid
from typing import TYPE_CHECKING, Any

from ..licences import WINDOWS_365_DENIED
from ..spec import BETA, BOTH, BoundTo, G, ReadRules, SubSpec, TypeSpec, assignments_sub

if TYPE_CHECKING:
    from ..seed import TenantSeeder

_ROLE_ASSIGNMENT = G + "deviceAndAppManagementRoleAssignment"
_ANDROID_TOKEN = frozenset({"tokenValue", "tokenCreationDateTime", "tokenExpirationDateTime",
                            "qrCodeContent", "qrCodeImage"})

TYPES: tuple[TypeSpec, ...] = (
    TypeSpec(
        key="roleDefinitions", path="deviceManagement/roleDefinitions",
        odata_types=(G + "deviceAndAppManagementRoleDefinition", G + "roleDefinition"),
        created_prop=None, modified_prop=None,
        subs=(SubSpec("roleAssignments", _ROLE_ASSIGNMENT),),
        reads=ReadRules(no_sub_route=frozenset({"roleAssignments"})),
    ),
    TypeSpec(  # not a policy type: where a role's assignments are written
        key="roleAssignments", path="deviceManagement/roleAssignments",
        odata_types=(_ROLE_ASSIGNMENT,), created_prop=None, modified_prop=None,
        bound_to=BoundTo("roleDefinitions", "roleDefinition", "roleAssignments"),
    ),
    TypeSpec(
        key="appleUserInitiatedEnrollmentProfiles",
        path="deviceManagement/appleUserInitiatedEnrollmentProfiles",
        odata_types=(G + "appleUserInitiatedEnrollmentProfile",), versions=BETA,
        scope_tag_prop=None, subs=(assignments_sub("appleEnrollmentProfileAssignment"),),
    ),
    TypeSpec(
        key="androidDeviceOwnerEnrollmentProfiles",
        path="deviceManagement/androidDeviceOwnerEnrollmentProfiles",
        odata_types=(G + "androidDeviceOwnerEnrollmentProfile",), versions=BETA,
        read_only=_ANDROID_TOKEN | {"accountId", "enrolledDeviceCount",
                                    "enrollmentTokenUsageCount"},
    ),
    TypeSpec(
        key="intuneBrandingProfiles", path="deviceManagement/intuneBrandingProfiles",
        odata_types=(G + "intuneBrandingProfile",), versions=BETA, name_prop="profileName",
        read_only=frozenset({"isDefaultProfile"}),
        subs=(assignments_sub("intuneBrandingProfileAssignment"),), assign_keys=("assignments",),
    ),
    TypeSpec(
        key="operationApprovalPolicies", path="deviceManagement/operationApprovalPolicies",
        odata_types=(G + "operationApprovalPolicy",), versions=BETA, created_prop=None,
        scope_tag_prop=None,
    ),
    TypeSpec(  # no display name: the id names the partner
        key="mobileThreatDefenseConnectors",
        path="deviceManagement/mobileThreatDefenseConnectors",
        odata_types=(G + "mobileThreatDefenseConnector",), versions=BETA, name_prop="id",
        created_prop=None, modified_prop=None, scope_tag_prop=None,
        read_only=frozenset({"lastHeartbeatDateTime", "partnerState"}),
    ),
    TypeSpec(
        key="remoteAssistancePartners", path="deviceManagement/remoteAssistancePartners",
        odata_types=(G + "remoteAssistancePartner",), versions=BETA, created_prop=None,
        modified_prop=None, scope_tag_prop=None,
        read_only=frozenset({"onboardingStatus", "lastConnectionDateTime"}),
    ),
    TypeSpec(
        key="microsoftTunnelConfigurations",
        path="deviceManagement/microsoftTunnelConfigurations",
        odata_types=(G + "microsoftTunnelConfiguration",), versions=BETA, created_prop=None,
        modified_prop="lastUpdateDateTime", read_only=frozenset({"lastUpdateDateTime"}),
    ),
    TypeSpec(
        key="microsoftTunnelSites", path="deviceManagement/microsoftTunnelSites",
        odata_types=(G + "microsoftTunnelSite",), versions=BETA, created_prop=None,
        modified_prop=None, read_only=frozenset({"upgradeAvailable"}),
        links=(("microsoftTunnelConfiguration", "microsoftTunnelConfigurations"),),
    ),
    TypeSpec(
        key="cloudPcProvisioningPolicies",
        path="deviceManagement/virtualEndpoint/provisioningPolicies",
        odata_types=(G + "cloudPcProvisioningPolicy",), versions=BOTH, created_prop=None,
        requires_plan="CPC_", unlicensed_message=WINDOWS_365_DENIED,
        modified_prop=None, scope_tag_prop=None,
        read_only=frozenset({"alternateResourceUrl", "cloudPcGroupDisplayName", "managedBy",
                             "gracePeriodInHours", "localAdminEnabled"}),
        subs=(assignments_sub("cloudPcProvisioningPolicyAssignment"),),
        assign_keys=("assignments",),
    ),
    TypeSpec(
        key="cloudPcUserSettings", path="deviceManagement/virtualEndpoint/userSettings",
        odata_types=(G + "cloudPcUserSetting",), versions=BOTH, scope_tag_prop=None,
        requires_plan="CPC_", unlicensed_message=WINDOWS_365_DENIED,
        subs=(assignments_sub("cloudPcUserSettingAssignment"),), assign_keys=("assignments",),
    ),
)
POLICY_KEYS: tuple[str, ...] = tuple(t.key for t in TYPES if t.key != "roleAssignments")
COUNTS: dict[str, int] = dict.fromkeys(POLICY_KEYS, 1)

# The built-in role every tenant has, whatever the counts; Intune's id for it.
BUILT_IN_ROLE_ID = "0bd113fe-6be5-400c-a28f-ae5553f9c0be"  # Policy and Profile Manager
_ROLE_PERMISSIONS = [{"actions": [], "resourceActions": [{
    "allowedResourceActions": ["Microsoft.Intune_DeviceConfigurations_Read",
                               "Microsoft.Intune_DeviceConfigurations_Assign"],
    "notAllowedResourceActions": []}]}]


def seed(s: TenantSeeder) -> None:
    """Add this area's objects to the tenant being seeded (after groups and scope tags)."""
    groups = list(s.data.get("groups", {})) or [s.guid()]
    tags = [t for t in s.data.get("roleScopeTags", {}) if t != "0"] or ["0"]
    _seed_roles(s, groups, tags)
    _seed_enrollment(s)
    _seed_branding(s)
    for i in range(s.n("operationApprovalPolicies")):
        s.put("operationApprovalPolicies", {
            "@odata.type": G + "operationApprovalPolicy", "id": s.guid(),
            "displayName": f"PV Approval {i + 1:02d}", "description": "Wipes need a second admin",
            "lastModifiedDateTime": s.stamp(), "policyType": "deviceWipe",
            "policyPlatform": "notApplicable",
            "policySet": {"policyType": "deviceWipe", "policyPlatform": "notApplicable"},
            "approverGroupIds": [groups[i % len(groups)]]})
    _seed_connectors(s)
    _seed_tunnel(s)
    _seed_cloud_pc(s, groups)


def _seed_roles(s: TenantSeeder, groups: list[str], tags: list[str]) -> None:
    s.put("roleDefinitions", {
        "@odata.type": G + "deviceAndAppManagementRoleDefinition", "id": BUILT_IN_ROLE_ID,
        "displayName": "Policy and Profile Manager", "description": "Built-in role",
        "isBuiltIn": True, "isBuiltInRoleDefinition": True, "roleScopeTagIds": ["0"],
        "rolePermissions": _ROLE_PERMISSIONS, "permissions": _ROLE_PERMISSIONS,
        "roleAssignments": []})
    for i in range(s.n("roleDefinitions")):
        name = f"PV Role {i + 1:02d}"
        assignment = s.put("roleAssignments", {
            "@odata.type": _ROLE_ASSIGNMENT, "id": s.guid(), "displayName": f"{name} - Helpdesk",
            "description": "Seeded role assignment", "members": [groups[i % len(groups)]],
            "scopeMembers": [groups[-1]], "resourceScopes": [groups[-1]],
            "scopeType": "resourceScope", "roleScopeTagIds": [tags[i % len(tags)]]})
        s.put("roleDefinitions", {
            "@odata.type": G + "deviceAndAppManagementRoleDefinition", "id": s.guid(),
            "displayName": name, "description": "Seeded custom role", "isBuiltIn": False,
            "isBuiltInRoleDefinition": False, "roleScopeTagIds": s.scope_tags(),
            "rolePermissions": _ROLE_PERMISSIONS, "permissions": _ROLE_PERMISSIONS,
            "roleAssignments": [assignment]})  # the same object: written there, read here


def _seed_enrollment(s: TenantSeeder) -> None:
    for i in range(s.n("appleUserInitiatedEnrollmentProfiles")):
        obj = s.base("appleUserInitiatedEnrollmentProfile", f"PV Apple Enrollment {i + 1:02d}")
        obj.update(platform="iOS", priority=i, defaultEnrollmentType="device",
                   availableEnrollmentTypeOptions=[
                       {"ownerType": "company", "enrollmentType": "device"},
                       {"ownerType": "personal", "enrollmentType": "accountDrivenUserEnrollment"}])
        obj["assignments"] = s.assignments("appleEnrollmentProfileAssignment", obj["id"], 1)
        s.put("appleUserInitiatedEnrollmentProfiles", obj)
    for i in range(s.n("androidDeviceOwnerEnrollmentProfiles")):
        obj = s.base("androidDeviceOwnerEnrollmentProfile", f"PV Android Dedicated {i + 1:02d}")
        token = f"PVTOKEN{s.rng.getrandbits(64):016X}"
        obj.update(
            accountId=s.guid(), enrollmentMode="corporateOwnedDedicatedDevice",
            enrollmentTokenType="default", tokenValue=token,
            tokenCreationDateTime=obj["createdDateTime"],
            tokenExpirationDateTime="2027-12-31T00:00:00Z", enrolledDeviceCount=3,
            enrollmentTokenUsageCount=0, qrCodeContent=f'{{"enrollmentToken":"{token}"}}',
            qrCodeImage={"@odata.type": G + "mimeContent", "type": "image/png",
                         "value": base64.b64encode(token.encode()).decode()},
            roleScopeTagIds=s.scope_tags(), configureWifi=False, wifiSsid=None,
            wifiPassword=None, wifiSecurityType="none", wifiHidden=False,
            isTeamsDeviceProfile=False, deviceNameTemplate="PV-{{SERIAL}}")
        s.put("androidDeviceOwnerEnrollmentProfiles", obj)


def _branding(s: TenantSeeder, name: str, default: bool) -> dict[str, Any]:
    obj = s.base("intuneBrandingProfile", name, name_prop="profileName")
    obj.pop("description")
    obj.update(profileDescription=f"{name} branding", isDefaultProfile=default,
               displayName=f"Contoso {s.index + 1}", contactITName="IT Helpdesk",
               contactITPhoneNumber="+1 555 0100", contactITEmailAddress="it@contoso.example",
               contactITNotes="", privacyUrl="https://contoso.example/privacy",
               onlineSupportSiteUrl=None, onlineSupportSiteName=None,
               themeColor={"r": 0, "g": 120, "b": 212}, showLogo=False,
               showDisplayNameNextToLogo=True, disableClientTelemetry=False,
               roleScopeTagIds=["0"] if default else s.scope_tags())
    return obj


def _seed_branding(s: TenantSeeder) -> None:
    default = _branding(s, "Default", default=True)
    default["assignments"] = []  # the default profile applies to everyone unassigned
    s.put("intuneBrandingProfiles", default)
    for i in range(s.n("intuneBrandingProfiles")):
        obj = _branding(s, f"PV Branding {i + 1:02d}", default=False)
        obj["assignments"] = s.assignments("intuneBrandingProfileAssignment", obj["id"], 1)
        s.put("intuneBrandingProfiles", obj)


def _seed_connectors(s: TenantSeeder) -> None:
    for i in range(s.n("mobileThreatDefenseConnectors")):
        # a partner's id is the same in every tenant
        partner = str(uuid.UUID(int=random.Random(f"mtd-partner:{i}").getrandbits(128),
                                version=4))
        s.put("mobileThreatDefenseConnectors", {
            "@odata.type": G + "mobileThreatDefenseConnector", "id": partner,
            "lastHeartbeatDateTime": s.stamp(), "partnerState": "enabled",
            "androidEnabled": True, "iosEnabled": True, "windowsEnabled": False,
            "macEnabled": False, "androidDeviceBlockedOnMissingPartnerData": False,
            "iosDeviceBlockedOnMissingPartnerData": False,
            "windowsDeviceBlockedOnMissingPartnerData": False,
            "macDeviceBlockedOnMissingPartnerData": False,
            "partnerUnsupportedOsVersionBlocked": False,
            "partnerUnresponsivenessThresholdInDays": 7,
            "allowPartnerToCollectIOSApplicationMetadata": False})
    for i in range(s.n("remoteAssistancePartners")):
        s.put("remoteAssistancePartners", {
            "@odata.type": G + "remoteAssistancePartner", "id": s.guid(),
            "displayName": f"PV Remote Assistance {i + 1:02d}",
            "onboardingUrl": f"https://assist{i + 1}.example/intune/onboard",
            "onboardingStatus": "onboarded", "lastConnectionDateTime": s.stamp()})


def _seed_tunnel(s: TenantSeeder) -> None:
    configurations = []
    for i in range(s.n("microsoftTunnelConfigurations")):
        configurations.append(s.put("microsoftTunnelConfigurations", {
            "@odata.type": G + "microsoftTunnelConfiguration", "id": s.guid(),
            "displayName": f"PV Tunnel Configuration {i + 1:02d}", "description": "Seeded",
            "network": f"169.254.{i}.0/24", "ipv6Network": None, "dnsServers": ["10.0.0.4"],
            "defaultDomainSuffix": "corp.contoso.example", "routesInclude": [],
            "routesExclude": [], "routeIncludes": ["10.0.0.0/8"], "routeExcludes": [],
            "splitDNS": [], "listenPort": 443, "advancedSettings": [],
            "lastUpdateDateTime": s.stamp(), "roleScopeTagIds": s.scope_tags(),
            "disableUdpConnections": False}))
    for i in range(s.n("microsoftTunnelSites")):
        s.put("microsoftTunnelSites", {
            "@odata.type": G + "microsoftTunnelSite", "id": s.guid(),
            "displayName": f"PV Tunnel Site {i + 1:02d}", "description": "Seeded",
            "publicAddress": f"vpn{i + 1}.contoso.example", "upgradeWindowUtcOffsetInMinutes": 0,
            "upgradeWindowStartTime": "02:00:00.0000000",
            "upgradeWindowEndTime": "04:00:00.0000000", "upgradeAutomatically": True,
            "upgradeAvailable": False, "internalNetworkProbeUrl": "",
            "roleScopeTagIds": s.scope_tags(),
            # stored as the link: an $expand of the navigation shows the configuration
            "microsoftTunnelConfiguration":
                {"id": configurations[i % len(configurations)]["id"]} if configurations
                else None})


def _cloud_pc_assignments(odata_type: str, policy_id: str, group: str) -> list[dict[str, Any]]:
    return [{"@odata.type": G + odata_type, "id": f"{policy_id}_{group}",
             "target": {"@odata.type": G + "cloudPcManagementGroupAssignmentTarget",
                        "groupId": group}}]


def _seed_cloud_pc(s: TenantSeeder, groups: list[str]) -> None:
    for i in range(s.n("cloudPcProvisioningPolicies")):
        pid = s.guid()
        s.put("cloudPcProvisioningPolicies", {
            "@odata.type": G + "cloudPcProvisioningPolicy", "id": pid,
            "displayName": f"PV Cloud PC {i + 1:02d}", "description": "Seeded",
            "alternateResourceUrl": None, "cloudPcGroupDisplayName": None,
            "domainJoinConfigurations": [{"type": "azureADJoin", "regionName": "automatic",
                                          "regionGroup": "usEast",
                                          "onPremisesConnectionId": None}],
            "gracePeriodInHours": 4, "enableSingleSignOn": True,
            "imageDisplayName": "Windows 11 Enterprise + Microsoft 365 Apps 23H2",
            "imageId": "microsoftwindowsdesktop_windows-ent-cpc_win11-23h2-ent-cpc-m365",
            "imageType": "gallery", "localAdminEnabled": False, "managedBy": "windows365",
            "provisioningType": "dedicated", "windowsSettings": {"language": "en-US"},
            "cloudPcNamingTemplate": "PV-%RAND:5%",
            "microsoftManagedDesktop": {"managedType": "notManaged", "profile": None},
            "assignments": _cloud_pc_assignments("cloudPcProvisioningPolicyAssignment", pid,
                                                 groups[i % len(groups)])})
    for i in range(s.n("cloudPcUserSettings")):
        obj = s.base("cloudPcUserSetting", f"PV Cloud PC Users {i + 1:02d}")
        obj.pop("description")
        obj.update(selfServiceEnabled=False, localAdminEnabled=False, resetEnabled=True,
                   restorePointSetting={"frequencyInHours": 12, "frequencyType": "twelveHours",
                                        "userRestoreEnabled": True})
        obj["assignments"] = _cloud_pc_assignments("cloudPcUserSettingAssignment", obj["id"],
                                                   groups[-1 - i % len(groups)])
        s.put("cloudPcUserSettings", obj)
