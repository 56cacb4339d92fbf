"""Apps: mobile apps and categories, policy sets, iOS LOB provisioning, Windows app protection.

Cross-references are real: apps link to the tenant's categories (a ``$ref`` navigation, read
as the categories as they are now), policy set items name existing apps, configurations,
compliance policies, settings catalog policies and app protections by ``payloadId``.
"""

from __future__ import annotations

import base64
import random
from typing import TYPE_CHECKING, Any

from ..odata import bad_request
from ..spec import BETA, BOTH, G, SubSpec, TypeSpec, assignments_sub

if TYPE_CHECKING:
    from ..graph import GraphEngine, GraphResponse
    from ..seed import TenantSeeder
    from ..store import Tenant

# Apps whose content is uploaded after the create (mobileLobApp and managedMobileLobApp
# kinds): Graph creates them unpublished, without content.
CONTENT_APPS = frozenset(G + t for t in (
    "androidLobApp", "iosLobApp", "macOSLobApp", "macOSDmgApp", "macOSPkgApp",
    "managedAndroidLobApp", "managedIOSLobApp", "win32LobApp", "win32CatalogApp",
    "windowsAppX", "windowsMobileMSI", "windowsPhone81AppX", "windowsPhone81AppXBundle",
    "windowsPhoneXAP", "windowsUniversalAppX"))
# Apps Intune brings in itself (Apple VPP and store-for-business sync, managed Google Play
# approvals): a POST of one is refused.
SYNCED_APPS = frozenset(G + t for t in (
    "iosVppApp", "macOsVppApp", "androidForWorkApp", "microsoftStoreForBusinessApp"))
_MANAGED_PLAY = frozenset({G + "androidManagedStoreApp", G + "androidManagedStoreWebApp"})
APP_TYPES = tuple(sorted(CONTENT_APPS | SYNCED_APPS | _MANAGED_PLAY | {G + t for t in (
    "webApp", "windowsWebApp", "iosiPadOSWebClip", "macOSWebClip", "iosStoreApp",
    "androidStoreApp", "managedIOSStoreApp", "managedAndroidStoreApp", "windowsStoreApp",
    "winGetApp", "officeSuiteApp", "macOSOfficeSuiteApp", "windowsMicrosoftEdgeApp",
    "macOSMicrosoftEdgeApp", "macOSMicrosoftDefenderApp")}))
_APP_READ_ONLY = frozenset({
    "uploadState", "publishingState", "dependentAppCount", "supersedingAppCount",
    "supersededAppCount", "size", "usedLicenseCount", "totalLicenseCount", "appAvailability"})
# microsoft365wp leaves these out of every PATCH; Graph documents webApp.appUrl as "cannot
# be PATCHed".
_APP_CREATE_ONLY = frozenset({
    "appIdentifier", "appStoreUrl", "appUrl", "channel", "installExperience", "isSystemApp",
    "manifestHash", "packageIdentifier"})

# policySetItem @odata.type → the collections its payloadId names an object of.
PAYLOAD_COLLECTIONS: dict[str, tuple[str, ...]] = {G + k: v for k, v in {
    "mobileAppPolicySetItem": ("mobileApps",),
    "deviceConfigurationPolicySetItem": ("deviceConfigurations",),
    "deviceCompliancePolicyPolicySetItem": ("deviceCompliancePolicies",),
    "deviceManagementConfigurationPolicyPolicySetItem": ("configurationPolicies",),
    "deviceManagementScriptPolicySetItem": ("deviceManagementScripts",),
    "enrollmentRestrictionsConfigurationPolicySetItem": ("deviceEnrollmentConfigurations",),
    "windows10EnrollmentCompletionPageConfigurationPolicySetItem":
        ("deviceEnrollmentConfigurations",),
    "iosLobAppProvisioningConfigurationPolicySetItem": ("iosLobAppProvisioningConfigurations",),
    "managedAppProtectionPolicySetItem": ("iosManagedAppProtections",
                                          "androidManagedAppProtections",
                                          "windowsManagedAppProtections"),
    "managedDeviceMobileAppConfigurationPolicySetItem": ("mobileAppConfigurations",),
    "targetedManagedAppConfigurationPolicySetItem": ("targetedManagedAppConfigurations",),
    "windowsAutopilotDeploymentProfilePolicySetItem": ("windowsAutopilotDeploymentProfiles",),
    "mdmWindowsInformationProtectionPolicyPolicySetItem": (),  # not simulated
}.items()}
_ITEM_READ_ONLY = ("status", "errorCode", "itemType", "displayName", "createdDateTime",
                   "lastModifiedDateTime")


def _app_rules(tenant: Tenant, app: dict[str, Any], mode: str,
               current: dict[str, Any] | None) -> None:
    """A PATCH may not carry what only a create sets. Intune refuses to create what it
    syncs itself, creates an app whose content is uploaded later unpublished, and a managed
    (MAM) app as the tenant's own (``appAvailability`` ``lineOfBusiness``; ``global`` ones
    Microsoft publishes)."""
    if mode != "create":
        fixed = sorted(_APP_CREATE_ONLY & app.keys())
        if fixed:
            raise bad_request(f"The property '{fixed[0]}' cannot be changed once the app "
                              "exists.")
        return
    kind = app.get("@odata.type")
    if kind in SYNCED_APPS or (kind in _MANAGED_PLAY and not app.get("isSystemApp")):
        raise bad_request(f"Apps of type '{kind}' are synchronized by Intune and cannot be "
                          "created.")
    if str(kind).startswith(G + "managed"):
        app["appAvailability"] = "lineOfBusiness"
    content = kind in CONTENT_APPS
    app.update(uploadState=0 if content else 1,
               publishingState="notPublished" if content else "published",
               dependentAppCount=0, supersedingAppCount=0, supersededAppCount=0,
               isAssigned=False)
    if content:
        app.update(size=0, committedContentVersion=None)


def _policy_set_item(data: dict[str, dict[str, Any]], item: Any) -> dict[str, Any]:
    """A checked policy set item as Graph keeps it: the name and type of the tenant's
    (``data``) payload filled in, ``errorCode`` ``notFound`` when ``payloadId`` names nothing
    of the item's kind."""
    if not isinstance(item, dict):
        raise bad_request("A policy set item must be an object.")
    kind = item.get("@odata.type")
    if kind not in PAYLOAD_COLLECTIONS:
        raise bad_request(f"Invalid policy set item type '{kind}'.")
    payload_id = item.get("payloadId")
    if not isinstance(payload_id, str) or not payload_id:
        raise bad_request("A policy set item requires 'payloadId'.")
    from .. import catalog

    out = {k: v for k, v in item.items() if k not in _ITEM_READ_ONLY}
    out.setdefault("guidedDeploymentTags", [])
    for key in PAYLOAD_COLLECTIONS[kind]:
        payload = data.get(key, {}).get(payload_id)
        if payload is not None:
            name = payload.get(catalog.BY_KEY[key].name_prop)
            return {**out, "displayName": name, "itemType": payload.get("@odata.type"),
                    "status": "success", "errorCode": "noError"}
    return {**out, "displayName": None, "itemType": None, "status": "error",
            "errorCode": "notFound"}


def _policy_set_rules(tenant: Tenant, policy_set: dict[str, Any], mode: str,
                      current: dict[str, Any] | None) -> None:
    """A create may carry items and assignments inline (checked as ``update`` checks them);
    Graph fills in the validation state."""
    if mode != "create":
        return
    from ..validate import assignment, list_of

    for entry in list_of(policy_set, "assignments"):
        assignment(tenant, entry)
    policy_set["items"] = [_policy_set_item(tenant.data, item)
                           for item in list_of(policy_set, "items")]
    policy_set.update(status="success", errorCode="noError")
    policy_set.setdefault("guidedDeploymentTags", [])


def _update_policy_set(engine: GraphEngine, tenant: Tenant, spec: TypeSpec,
                       policy_set: dict[str, Any] | None, raw: Any) -> GraphResponse:
    """``POST policySets/{id}/update``: items added, updated (by id, else payloadId) and
    deleted (by id), and — when the body has them — the assignments replaced. Everything is
    checked before anything is written."""
    from ..graph import GraphResponse, _normalize_sub
    from ..store import touch
    from ..validate import assignment, list_of, require_object

    assert policy_set is not None
    body = require_object(raw)
    items = {i["id"]: i for i in policy_set.get("items", [])}
    by_payload = {i.get("payloadId"): i for i in items.values()}
    added = [_policy_set_item(tenant.data, i) for i in list_of(body, "addedPolicySetItems")]
    updated = []
    for item in list_of(body, "updatedPolicySetItems"):
        checked = _policy_set_item(tenant.data, item)
        current = items.get(item.get("id")) or by_payload.get(checked["payloadId"])
        if current is None:
            raise bad_request("An updated policy set item names no item of this policy set.")
        updated.append((current, checked))
    deleted = list_of(body, "deletedPolicySetItems")
    if any(not isinstance(d, str) or d not in items for d in deleted):
        raise bad_request("A deleted policy set item id does not exist.")
    assignments = list_of(body, "assignments") if "assignments" in body else None
    for entry in assignments or []:
        assignment(tenant, entry)
    for current, checked in updated:
        current.update({k: v for k, v in checked.items() if k != "id"})
    kept = [i for i in policy_set.get("items", []) if i["id"] not in set(deleted)]
    policy_set["items"] = kept + _normalize_sub(spec.sub("items"), added, policy_set["id"])
    if assignments is not None:
        policy_set["assignments"] = _normalize_sub(spec.sub("assignments"), assignments,
                                                   policy_set["id"])
    touch(spec, policy_set)
    return GraphResponse(204)


TYPES: tuple[TypeSpec, ...] = (
    TypeSpec(
        key="mobileAppCategories", path="deviceAppManagement/mobileAppCategories",
        odata_types=(G + "mobileAppCategory",), versions=BOTH, created_prop=None,
        scope_tag_prop=None,
    ),
    TypeSpec(
        key="mobileApps", path="deviceAppManagement/mobileApps", odata_types=APP_TYPES,
        abstract=True, versions=BOTH, read_only=_APP_READ_ONLY,
        subs=(assignments_sub("mobileAppAssignment"),
              SubSpec("categories", G + "mobileAppCategory", ref_target="mobileAppCategories")),
        assign_keys=("mobileAppAssignments",), write_rules=_app_rules,
    ),
    TypeSpec(
        key="iosLobAppProvisioningConfigurations",
        path="deviceAppManagement/iosLobAppProvisioningConfigurations",
        odata_types=(G + "iosLobAppProvisioningConfiguration",), versions=BETA,
        version_kind="int",
        subs=(assignments_sub("iosLobAppProvisioningConfigurationAssignment"),),
        assign_keys=("iOSLobAppProvisioningConfigAssignments",),
    ),
    TypeSpec(  # no /assign: items and assignments change through the update action
        key="policySets", path="deviceAppManagement/policySets",
        odata_types=(G + "policySet",), versions=BETA, scope_tag_prop="roleScopeTags",
        subs=(SubSpec("items", G + "policySetItem"), assignments_sub("policySetAssignment")),
        create_navs=("items", "assignments"), write_rules=_policy_set_rules,
        handlers=(("update", _update_policy_set),),
    ),
)
POLICY_KEYS: tuple[str, ...] = (
    "windowsManagedAppProtections", "mobileAppCategories", "mobileApps",
    "iosLobAppProvisioningConfigurations", "policySets",
)
# Apps seed one of each kind in turn: a web link (creatable), a Win32 app (content
# uploaded), an Apple VPP app (synced), an iOS store app (creatable).
COUNTS: dict[str, int] = {
    "windowsManagedAppProtections": 1, "mobileAppCategories": 1, "mobileApps": 3,
    "iosLobAppProvisioningConfigurations": 1, "policySets": 1,
}
BUILT_IN_CATEGORY = "Business"  # Intune's categories exist in every tenant, under one id


def _app(s: TenantSeeder, i: int) -> dict[str, Any]:
    kind = ("webApp", "win32LobApp", "iosVppApp", "iosStoreApp")[i % 4]
    app = s.base(kind, f"{kind} {i + 1:03d}")
    app.update(publisher="PolicyVault", isFeatured=False, privacyInformationUrl=None,
               informationUrl=None, owner="", developer="", notes="", largeIcon=None,
               uploadState=1, publishingState="published", isAssigned=False,
               roleScopeTagIds=s.scope_tags(), dependentAppCount=0, supersedingAppCount=0,
               supersededAppCount=0)
    if kind == "webApp":
        app.update(appUrl=f"https://intranet.contoso.com/{i}", useManagedBrowser=True)
    elif kind == "win32LobApp":
        app.update(committedContentVersion="1", fileName="pv.intunewin", size=4096,
                   installCommandLine="setup.exe /q", uninstallCommandLine="setup.exe /x",
                   setupFilePath="setup.exe", applicableArchitectures="x64",
                   minimumSupportedWindowsRelease="21H2", rules=[{
                       "@odata.type": G + "win32LobAppFileSystemRule",
                       "ruleType": "detection", "path": "C:\\Program Files\\PV",
                       "fileOrFolderName": "pv.exe", "check32BitOn64System": False,
                       "operationType": "exists", "operator": "notConfigured",
                       "comparisonValue": None}],
                   installExperience={"runAsAccount": "system",
                                      "deviceRestartBehavior": "suppress"})
    elif kind == "iosVppApp":
        app.update(usedLicenseCount=3, totalLicenseCount=10, bundleId="com.contoso.vpp",
                   appStoreUrl="https://apps.apple.com/app/id1", vppTokenAppleId="vpp@contoso",
                   licensingType={"supportsUserLicensing": True,
                                  "supportsDeviceLicensing": True})
    else:
        app.update(bundleId="com.microsoft.CompanyPortal",
                   appStoreUrl="https://apps.apple.com/app/id719171358",
                   applicableDeviceType={"iPad": True, "iPhoneAndIPod": True},
                   minimumSupportedOperatingSystem={"v15_0": True})
    categories = sorted(s.data.get("mobileAppCategories", {}))
    app["categories"] = [{"id": c} for c in s.rng.sample(categories, min(len(categories), 2))]
    app["assignments"] = [{**a, "intent": "required", "settings": None, "source": "direct"}
                          for a in s.assignments("mobileAppAssignment", app["id"])]
    app["isAssigned"] = bool(app["assignments"])
    return app


def _policy_set(s: TenantSeeder, i: int) -> dict[str, Any]:
    obj = s.base("policySet", f"Policy Set {i + 1:03d}")
    obj.update(status="success", errorCode="noError", guidedDeploymentTags=[],
               roleScopeTags=s.scope_tags())
    payloads = [("mobileAppPolicySetItem", "mobileApps", {"intent": "required",
                                                          "settings": None}),
                ("deviceConfigurationPolicySetItem", "deviceConfigurations", {}),
                ("deviceCompliancePolicyPolicySetItem", "deviceCompliancePolicies", {}),
                ("deviceManagementConfigurationPolicyPolicySetItem", "configurationPolicies",
                 {}),
                ("managedAppProtectionPolicySetItem", "iosManagedAppProtections", {})]
    items = []
    for kind, key, extra in payloads:
        ids = sorted(s.data.get(key, {}))
        if ids:
            item = {"@odata.type": G + kind, "payloadId": s.rng.choice(ids), **extra}
            items.append({**_policy_set_item(s.data, item), "id": s.guid(),
                          "createdDateTime": obj["createdDateTime"],
                          "lastModifiedDateTime": obj["createdDateTime"]})
    obj["items"] = items
    obj["assignments"] = s.assignments("policySetAssignment", obj["id"])
    return obj


def seed(s: TenantSeeder) -> None:
    """Categories (one built in, the rest custom), apps linked to them, an iOS provisioning
    profile and policy sets naming objects of several types."""
    from ..seed import rng_guid

    builtin = random.Random(f"appcategory:{BUILT_IN_CATEGORY}")
    s.put("mobileAppCategories", {
        "@odata.type": G + "mobileAppCategory", "id": rng_guid(builtin),
        "displayName": BUILT_IN_CATEGORY, "lastModifiedDateTime": "2023-01-01T00:00:00Z"})
    for i in range(s.n("mobileAppCategories")):
        category = s.base("mobileAppCategory", f"PV Category {i + 1:02d}")
        category.pop("description")
        category.pop("createdDateTime")
        s.put("mobileAppCategories", category)
    for i in range(s.n("mobileApps")):
        s.put("mobileApps", _app(s, i))
    for i in range(s.n("iosLobAppProvisioningConfigurations")):
        obj = s.base("iosLobAppProvisioningConfiguration", f"iOS Provisioning {i + 1:03d}",
                     version=1)
        obj.update(payloadFileName="pv.mobileprovision",
                   payload=base64.b64encode(f"profile {i} {s.guid()}".encode()).decode(),
                   expirationDateTime="2027-01-01T00:00:00Z", roleScopeTagIds=s.scope_tags())
        obj["assignments"] = s.assignments("iosLobAppProvisioningConfigurationAssignment",
                                           obj["id"])
        s.put("iosLobAppProvisioningConfigurations", obj)
    for i in range(s.n("policySets")):
        s.put("policySets", _policy_set(s, i))
