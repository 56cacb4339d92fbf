"""Singletons: Intune and Entra tenant-wide settings served as one object (``TypeSpec.singleton``,
``local/graphsim/singleton.py``), one per tenant, stored under its key.

Paths, versions and shapes follow Graph's documentation: ``deviceManagement.settings`` (beta and
v1.0), the read-only APNs certificate, the authentication methods policy with its method
configurations inline, ``policies/authorizationPolicy`` as one object (v1.0), security defaults,
the device registration policy (beta, PUT only) and the cross-tenant access policy with its
``default`` and ``partners``.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from ..spec import BETA, BOTH, G, ReadRules, SubSpec, TypeSpec

if TYPE_CHECKING:
    from ..graph import GraphEngine, GraphResponse
    from ..seed import TenantSeeder
    from ..store import Tenant


def reset_default(engine: GraphEngine, tenant: Tenant, spec: TypeSpec,
                  obj: dict[str, Any] | None, body: Any) -> GraphResponse:
    """``POST policies/crossTenantAccessPolicy/default/resetToSystemDefault``: 204."""
    from ..graph import GraphResponse

    assert obj is not None
    obj["default"] = system_default()
    return GraphResponse(204)


def _singleton(key: str, path: str, odata_type: str, **fields: Any) -> TypeSpec:
    fields.setdefault("created_prop", None)
    fields.setdefault("modified_prop", None)
    return TypeSpec(key=key, path=path, odata_types=(G + odata_type,), singleton=True,
                    scope_tag_prop=None, **fields)


TYPES: tuple[TypeSpec, ...] = (
    _singleton("deviceManagementSettings", "deviceManagement", "deviceManagement",
               read_only=frozenset({"subscriptionState", "intuneAccountId"})),
    _singleton("applePushNotificationCertificate",
               "deviceManagement/applePushNotificationCertificate",
               "applePushNotificationCertificate", modified_prop="lastModifiedDateTime",
               read_only=frozenset({"topicIdentifier", "expirationDateTime",
                                    "certificateUploadStatus", "certificateUploadFailureReason",
                                    "certificateSerialNumber"})),
    _singleton("authenticationMethodsPolicy", "policies/authenticationMethodsPolicy",
               "authenticationMethodsPolicy", modified_prop="lastModifiedDateTime",
               read_only=frozenset({"displayName", "description", "policyVersion"}),
               subs=(SubSpec("authenticationMethodConfigurations",
                             G + "authenticationMethodConfiguration", fixed=True),),
               reads=ReadRules(auto_expand=frozenset({"authenticationMethodConfigurations"}))),
    _singleton("authorizationPolicy", "policies/authorizationPolicy", "authorizationPolicy"),
    _singleton("identitySecurityDefaultsEnforcementPolicy",
               "policies/identitySecurityDefaultsEnforcementPolicy",
               "identitySecurityDefaultsEnforcementPolicy"),
    _singleton("deviceRegistrationPolicy", "policies/deviceRegistrationPolicy",
               "deviceRegistrationPolicy", versions=BETA, put_replace=True,
               read_only=frozenset({"displayName", "description"}),
               required_on_create=("userDeviceQuota", "multiFactorAuthConfiguration",
                                   "azureADRegistration", "azureADJoin", "localAdminPassword")),
    _singleton("crossTenantAccessPolicy", "policies/crossTenantAccessPolicy",
               "crossTenantAccessPolicy", versions=BOTH,
               parts=(SubSpec("default", G + "crossTenantAccessPolicyConfigurationDefault",
                              read_only=frozenset({"isServiceDefault",
                                                   "automaticUserConsentSettings"})),),
               subs=(SubSpec("partners", G + "crossTenantAccessPolicyConfigurationPartner",
                             key_prop="tenantId",
                             read_only=frozenset({"isInMultiTenantOrganization"})),),
               handlers=(("default/resetToSystemDefault", reset_default),)),
)
POLICY_KEYS: tuple[str, ...] = tuple(t.key for t in TYPES)
COUNTS: dict[str, int] = {}  # always one each


def _access(access_type: str, target: str, target_type: str) -> dict[str, Any]:
    return {"accessType": access_type, "targets": [{"target": target,
                                                     "targetType": target_type}]}


def _b2b(access_type: str) -> dict[str, Any]:
    return {"usersAndGroups": _access(access_type, "AllUsers", "user"),
            "applications": _access(access_type, "AllApplications", "application")}


def system_default() -> dict[str, Any]:
    """The cross-tenant access default Microsoft ships (``isServiceDefault``)."""
    return {
        "@odata.type": G + "crossTenantAccessPolicyConfigurationDefault",
        "isServiceDefault": True,
        "inboundTrust": {"isMfaAccepted": False, "isCompliantDeviceAccepted": False,
                         "isHybridAzureADJoinedDeviceAccepted": False},
        "automaticUserConsentSettings": {"inboundAllowed": False, "outboundAllowed": False},
        "b2bCollaborationInbound": _b2b("allowed"),
        "b2bCollaborationOutbound": _b2b("allowed"),
        "b2bDirectConnectInbound": _b2b("blocked"),
        "b2bDirectConnectOutbound": _b2b("blocked"),
        "invitationRedemptionIdentityProviderConfiguration": {
            "primaryIdentityProviderPrecedenceOrder": [
                "externalFederation", "azureActiveDirectory", "socialIdentityProviders"],
            "fallbackIdentityProvider": "defaultConfiguredIdp"},
    }


def _method(odata_type: str, method_id: str, state: str, targets: list[dict[str, Any]],
            **settings: Any) -> dict[str, Any]:
    return {"@odata.type": G + odata_type, "id": method_id, "state": state,
            "excludeTargets": [], "includeTargets": targets, **settings}


def _target(target_id: str, **extra: Any) -> dict[str, Any]:
    return {"targetType": "group", "id": target_id, "isRegistrationRequired": False, **extra}


def seed(s: TenantSeeder) -> None:
    """One of each singleton, with values that differ between tenants."""
    groups = sorted(s.data.get("groups", {}))
    group = groups[0] if groups else "all_users"
    odd = s.index % 2 == 1
    number = s.index + 1

    def put(key: str, obj: dict[str, Any]) -> None:
        s.data.setdefault(key, {})[key] = obj

    put("deviceManagementSettings", {
        "@odata.type": G + "deviceManagement", "id": s.guid(), "subscriptionState": "active",
        "intuneAccountId": s.guid(),
        "settings": {"deviceComplianceCheckinThresholdDays": s.rng.choice([7, 14, 30]),
                     "isScheduledActionEnabled": True, "secureByDefault": odd,
                     "enhancedJailBreak": False, "deviceInactivityBeforeRetirementInDay": 0,
                     "derivedCredentialProvider": "notConfigured", "derivedCredentialUrl": None,
                     "androidDeviceAdministratorEnrollmentEnabled": False,
                     "ignoreDevicesForUnsupportedSettingsEnabled": False,
                     "enableLogCollection": True, "enableAutopilotDiagnostics": True,
                     "enableEnhancedTroubleshootingExperience": False,
                     "enableDeviceGroupMembershipReport": False}})
    renewed = s.stamp()
    put("applePushNotificationCertificate", {
        "@odata.type": G + "applePushNotificationCertificate", "id": s.guid(),
        "appleIdentifier": f"mdm-admin@contoso{number}.com",
        "topicIdentifier": f"com.apple.mgmt.External.{s.guid()}",
        "lastModifiedDateTime": renewed, "expirationDateTime": f"{int(renewed[:4]) + 1}"
        f"{renewed[4:]}", "certificateUploadStatus": None, "certificateUploadFailureReason": None,
        "certificateSerialNumber": f"{s.rng.getrandbits(64):016X}",
        "certificate": base64.b64encode(f"APNs certificate {number}".encode()).decode()})
    put("authenticationMethodsPolicy", {
        "@odata.type": G + "authenticationMethodsPolicy", "id": "authenticationMethodsPolicy",
        "displayName": "Authentication Methods Policy",
        "description": "The tenant-wide policy that controls which authentication methods are "
                       "allowed in the tenant, authentication method registration requirements, "
                       "and self-service password reset settings",
        "lastModifiedDateTime": s.stamp(), "policyVersion": "1.5",
        "policyMigrationState": "migrationComplete",
        "registrationEnforcement": {"authenticationMethodsRegistrationCampaign": {
            "snoozeDurationInDays": 1, "state": "enabled" if odd else "default",
            "excludeTargets": [],
            "includeTargets": [{"id": "all_users", "targetType": "group",
                                "targetedAuthenticationMethod": "microsoftAuthenticator"}]}},
        "authenticationMethodConfigurations": [
            _method("fido2AuthenticationMethodConfiguration", "Fido2",
                    "enabled" if odd else "disabled", [_target(group)],
                    isSelfServiceRegistrationAllowed=True, isAttestationEnforced=True,
                    keyRestrictions={"isEnforced": False, "enforcementType": "block",
                                     "aaGuids": []}),
            _method("microsoftAuthenticatorAuthenticationMethodConfiguration",
                    "MicrosoftAuthenticator", "enabled",
                    [_target("all_users", authenticationMode="any")],
                    isSoftwareOathEnabled=False),
            _method("smsAuthenticationMethodConfiguration", "Sms", "disabled",
                    [_target("all_users", isUsableForSignIn=True)]),
            _method("temporaryAccessPassAuthenticationMethodConfiguration",
                    "TemporaryAccessPass", "enabled", [_target(group)],
                    defaultLifetimeInMinutes=60, defaultLength=8, minimumLifetimeInMinutes=60,
                    maximumLifetimeInMinutes=480, isUsableOnce=False),
            _method("emailAuthenticationMethodConfiguration", "Email", "enabled", [],
                    allowExternalIdToUseEmailOtp="default"),
        ]})
    put("authorizationPolicy", {
        "@odata.type": G + "authorizationPolicy", "id": "authorizationPolicy",
        "displayName": "Authorization Policy",
        "description": "Used to manage authorization related settings across the company.",
        "allowInvitesFrom": "adminsAndGuestInviters" if odd else "everyone",
        "allowedToSignUpEmailBasedSubscriptions": True, "allowedToUseSSPR": True,
        "allowEmailVerifiedUsersToJoinOrganization": False,
        "allowUserConsentForRiskyApps": False, "blockMsolPowerShell": odd,
        "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
        "defaultUserRolePermissions": {
            "allowedToCreateApps": not odd, "allowedToCreateSecurityGroups": True,
            "allowedToCreateTenants": False, "allowedToReadBitlockerKeysForOwnedDevice": True,
            "allowedToReadOtherUsers": True,
            "permissionGrantPoliciesAssigned": [
                "ManagePermissionGrantsForSelf.microsoft-user-default-low"]}})
    put("identitySecurityDefaultsEnforcementPolicy", {
        "@odata.type": G + "identitySecurityDefaultsEnforcementPolicy",
        "id": "00000000-0000-0000-0000-000000000005", "displayName": "Security Defaults",
        "description": "Security defaults is a set of basic identity security mechanisms "
                       "recommended by Microsoft.", "isEnabled": not odd})
    put("deviceRegistrationPolicy", {
        "@odata.type": G + "deviceRegistrationPolicy", "id": "deviceRegistrationPolicy",
        "displayName": "Device Registration Policy",
        "description": "Tenant-wide policy that manages initial provisioning controls using "
                       "quota restrictions, additional authentication and authorization checks",
        "userDeviceQuota": s.rng.choice([20, 50]), "multiFactorAuthConfiguration": "notRequired",
        "azureADRegistration": {
            "isAdminConfigurable": False,
            "allowedToRegister": {"@odata.type": G + "allDeviceRegistrationMembership"}},
        "azureADJoin": {
            "isAdminConfigurable": True,
            "allowedToJoin": {"@odata.type": G + "enumeratedDeviceRegistrationMembership",
                              "users": [], "groups": groups[:1]},
            "localAdmins": {"enableGlobalAdmins": True, "registeringUsers": {
                "@odata.type": G + "noDeviceRegistrationMembership"}}},
        "localAdminPassword": {"isEnabled": odd}})
    default = system_default()
    if odd:  # customized: MFA from other tenants is trusted
        default["isServiceDefault"] = False
        default["inboundTrust"]["isMfaAccepted"] = True
    put("crossTenantAccessPolicy", {
        "@odata.type": G + "crossTenantAccessPolicy", "displayName": "CrossTenantAccessPolicy",
        "allowedCloudEndpoints": ["microsoftonline.us"] if odd else [],
        "default": default,
        "partners": [{
            "tenantId": s.guid(), "isServiceProvider": True, "isInMultiTenantOrganization": False,
            "inboundTrust": {"isMfaAccepted": True, "isCompliantDeviceAccepted": True,
                             "isHybridAzureADJoinedDeviceAccepted": False},
            "automaticUserConsentSettings": {"inboundAllowed": None, "outboundAllowed": None},
            "b2bCollaborationInbound": None, "b2bCollaborationOutbound": None,
            "b2bDirectConnectInbound": None, "b2bDirectConnectOutbound": None,
            "tenantRestrictions": None}]})
