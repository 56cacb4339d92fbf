"""Apps and app management: app protection and app configuration policies, apps and their
categories, policy sets, iOS LOB app provisioning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from shared.graph import evidence as ev
from shared.graph import hooks
from shared.graph.documents import SUB_SERVER_FIELDS, clean_entry
from shared.graph.hooks import WriteContext
from shared.graph.resource import (
    ASSIGNED,
    ASSIGNMENT_EXCLUSIONS,
    ASSIGNMENT_FILTERS,
    ASSIGNMENT_GROUPS,
    ITEM_ASSIGNMENTS,
    LISTED_ASSIGNMENTS,
    VERSIONED,
    G,
    Reference,
    ResourceType,
    SubCollection,
)

_APPS = SubCollection("apps", unordered=True, via_item_expand=True,
                      server_fields=SUB_SERVER_FIELDS | VERSIONED)
_APP_VOLATILE = VERSIONED | {"deployedAppCount"}

# ---- mobile apps ----------------------------------------------------------------------------

# Apps whose binary is uploaded after the create (the mobileLobApp kinds and the managed LOB
# apps): a backup holds their metadata, never their content.
CONTENT_UPLOADED = frozenset(G + t for t in (
    "androidLobApp", "iosLobApp", "macOSLobApp", "macOSDmgApp", "macOSPkgApp",
    "managedAndroidLobApp", "managedIOSLobApp", "win32LobApp", "win32CatalogApp",
    "windowsAppX", "windowsMobileMSI", "windowsPhone81AppX", "windowsPhone81AppXBundle",
    "windowsPhoneXAP", "windowsUniversalAppX"))
# Apps Intune brings in itself: Apple VPP and Microsoft Store for Business sync, Android for
# Work; managed Google Play apps unless they are system apps.
SYNCED = frozenset(G + t for t in (
    "iosVppApp", "macOsVppApp", "androidForWorkApp", "microsoftStoreForBusinessApp"))
_MANAGED_PLAY = frozenset({G + "androidManagedStoreApp", G + "androidManagedStoreWebApp"})
# Properties a PATCH may not carry (microsoft365wp mobileAppTerraformToGraphMiddleware,
# IntuneManagement Start-PreUpdateApplication; Graph: webApp.appUrl "cannot be PATCHed").
_CREATE_ONLY = frozenset({
    "appIdentifier", "appStoreUrl", "appUrl", "channel", "installExperience", "isSystemApp",
    "manifestHash", "packageIdentifier"})
_CREATE_ONLY_BY_TYPE = {
    G + "windowsMobileMSI": frozenset({"useDeviceContext"}),
    G + "officeSuiteApp": frozenset({"developer", "owner", "publisher",
                                     "officePlatformArchitecture", "officeConfigurationXml"}),
    G + "windowsUniversalAppX": frozenset({"isBundle"}),
}
_CATEGORIES = SubCollection(  # links to mobileAppCategories: only the id is the app's
    "categories", unordered=True, via_item_expand=True,
    server_fields=frozenset({"@odata.type", "displayName", "createdDateTime",
                             "lastModifiedDateTime"}))
_MOBILE_APPS_EVIDENCE = (
    "learn.microsoft.com/graph/api/resources/intune-apps-mobileapp?view=graph-rest-beta: "
    "listing mobile apps with $expand=assignments is deprecated, expand on individual apps",
    "Micke-K/IntuneManagement EndpointManager.psm1 Applications: Expand 'categories,"
    "assignments' on the item GET; terraform-provider-microsoft365wp mobile_app.go: "
    "ODataExpand 'categories,assignments', categories written one by one as $ref to "
    "mobileAppCategories, assignments through assign (mobileAppAssignments)",
    "powershell-intune-samples Get-ApplicationAssignment: mobileApps/{id}/?$expand="
    "categories,assignments",
)


def content_uploaded(app: dict[str, Any]) -> bool:
    return app.get("@odata.type") in CONTENT_UPLOADED


def not_synced(app: dict[str, Any]) -> bool:
    """Whether anyone can create the app: not one Intune syncs (VPP, store for business,
    managed Google Play — "non-system apps cannot be created with a POST request",
    microsoft365wp) and not one Microsoft publishes to every tenant (``appAvailability``
    ``global``: IntuneManagement lists those only when assigned)."""
    kind = app.get("@odata.type")
    if kind in SYNCED or (kind in _MANAGED_PLAY and not app.get("isSystemApp")):
        return False
    return app.get("appAvailability") != "global"


def prepare_mobile_app(payload: dict[str, Any], snapshot: dict[str, Any], mode: str,
                       ca_state: str) -> dict[str, Any]:
    """An update leaves out what only a create may set for the app's kind (``create_only``
    holds what no kind may change)."""
    if mode != "update":
        return payload
    fixed = _CREATE_ONLY_BY_TYPE.get(snapshot.get("@odata.type"), frozenset())
    return {k: v for k, v in payload.items() if k not in fixed}


async def sync_categories(ctx: WriteContext) -> None:
    """An app's categories are links to mobileAppCategories (ids already remapped): added
    with ``POST categories/$ref``, removed with ``DELETE categories/{id}/$ref``."""
    live = {c.get("id") for c in await ctx.live("categories")}
    wanted = {c.get("id") for c in ctx.snapshot.get("categories") or [] if c.get("id")}
    base = f"{ctx.client.base_url}/{ctx.rtype.version}/deviceAppManagement/mobileAppCategories"
    writes = [ctx.send("POST", "/categories/$ref", {"@odata.id": f"{base}/{quote(i, safe='')}"})
              for i in sorted(wanted - live)]
    writes += [ctx.send("DELETE", f"/categories/{quote(i, safe='')}/$ref")
               for i in sorted(i for i in live - wanted if i)]
    await asyncio.gather(*writes)


# ---- policy sets ----------------------------------------------------------------------------

# Every catalog type a policy set item's payloadId can name (one per policySetItem kind;
# mdmWindowsInformationProtectionPolicyPolicySetItem names a type the catalog lacks).
POLICY_SET_PAYLOADS = (
    "mobileApps", "mobileAppConfigurations", "targetedManagedAppConfigurations",
    "managedAppPolicies", "windowsManagedAppProtections", "iosLobAppProvisioningConfigurations",
    "deviceConfigurations", "deviceCompliancePolicies", "configurationPolicies",
    "deviceManagementScripts", "deviceEnrollmentConfigurations",
    "windowsAutopilotDeploymentProfiles",
)
_ITEMS = SubCollection(  # Graph fills in the payload's name, type and validation state
    "items", unordered=True, via_item_expand=True, write_inline=True,
    server_fields=SUB_SERVER_FIELDS | {"displayName", "itemType", "status", "errorCode"})
_POLICY_SETS_EVIDENCE = (
    "learn.microsoft.com/graph/api/intune-policyset-policyset-update?view=graph-rest-beta: "
    "POST policySets/{id}/update with addedPolicySetItems, updatedPolicySetItems, "
    "deletedPolicySetItems, assignments; no assign action",
    "Micke-K/IntuneManagement EndpointManager.psm1 PolicySets: Expand 'Items', list $expand "
    "'not allowed', items matched by payloadId for /update, assignments through /Update; "
    "Microsoft365DSC MSFT_IntunePolicySets: item GET -ExpandProperty *, create with items and "
    "assignments inline, PATCH of the base properties then POST /update",
)


async def update_policy_set_items(ctx: WriteContext) -> None:
    """A policy set's items change only through ``POST {set}/update``: items matched to
    the live ones by ``payloadId`` (already remapped) are added, updated or deleted. A create
    carries them inline."""
    if ctx.mode == "create":
        return
    sub = ctx.rtype.sub("items")
    assert sub is not None
    live = {i.get("payloadId"): i for i in await ctx.live(sub.name)}
    wanted = {i.get("payloadId"): clean_entry(sub, i) for i in ctx.snapshot.get(sub.name) or []}
    added = [body for payload, body in wanted.items() if payload not in live]
    updated = [{**body, "id": live[payload]["id"]} for payload, body in wanted.items()
               if payload in live and clean_entry(sub, live[payload]) != body]
    deleted = [item["id"] for payload, item in live.items() if payload not in wanted]
    if added or updated or deleted:
        await ctx.send("POST", "/update", {"addedPolicySetItems": added,
                                           "updatedPolicySetItems": updated,
                                           "deletedPolicySetItems": deleted})


async def assign_policy_set(ctx: WriteContext, assignments: Sequence[dict[str, Any]]) -> None:
    """Policy sets have no ``/assign``: their assignments are replaced through
    ``POST {set}/update`` (IntuneManagement, Microsoft365DSC)."""
    sub = ctx.rtype.sub("assignments")
    assert sub is not None
    await ctx.send("POST", "/update", {"assignments": [clean_entry(sub, a) for a in assignments]},
                   idempotent=True)


# ---- entries --------------------------------------------------------------------------------

ENTRIES: tuple[ResourceType, ...] = (
    ResourceType(  # iOS and Android only: Windows app protection is its own key, below
        key="managedAppPolicies", path="deviceAppManagement/managedAppPolicies",
        version="beta", volatile=_APP_VOLATILE, subcollections=(ITEM_ASSIGNMENTS, _APPS),
        evidence=(ev.TERRAFORM_M365WP, ev.INTUNE_SAMPLES, ev.INTUNE_MANAGEMENT),
        write_paths=(
            (f"{G}iosManagedAppProtection", "deviceAppManagement/iosManagedAppProtections"),
            (f"{G}androidManagedAppProtection",
             "deviceAppManagement/androidManagedAppProtections"),
        ),
        after_write=hooks.sync_apps,
    ),
    ResourceType(
        key="mobileAppConfigurations", path="deviceAppManagement/mobileAppConfigurations",
        version="beta", volatile=VERSIONED, subcollections=(LISTED_ASSIGNMENTS,),
        evidence=(ev.INTUNE_MANAGEMENT, ev.TERRAFORM_M365WP),
    ),
    ResourceType(
        key="targetedManagedAppConfigurations",
        path="deviceAppManagement/targetedManagedAppConfigurations", version="beta",
        volatile=_APP_VOLATILE, subcollections=(ITEM_ASSIGNMENTS, _APPS),
        after_write=hooks.sync_apps, evidence=(ev.INTUNE_SAMPLES, ev.INTUNE_MANAGEMENT),
    ),
    ResourceType(  # the only key that captures Windows app protection (DESIGN §7.1)
        key="windowsManagedAppProtections",
        path="deviceAppManagement/windowsManagedAppProtections", version="beta",
        volatile=_APP_VOLATILE, subcollections=(ITEM_ASSIGNMENTS, _APPS),
        after_write=hooks.sync_apps,
        evidence=(ev.INTUNE_SAMPLES, "Micke-K/IntuneManagement Start-GetAppProtection: each "
                  "app protection read from its platform collection by id"),
    ),
    ResourceType(
        key="mobileAppCategories", path="deviceAppManagement/mobileAppCategories",
        version="beta", subcollections=(), assign_key=None, references=(),
        evidence=("learn.microsoft.com/graph/api/resources/intune-apps-mobileappcategory"
                  "?view=graph-rest-beta: id, displayName, lastModifiedDateTime; no "
                  "navigations",),
    ),
    ResourceType(
        key="mobileApps", path="deviceAppManagement/mobileApps", version="beta",
        assign_key="mobileAppAssignments", subcollections=(ITEM_ASSIGNMENTS, _CATEGORIES),
        read_only=frozenset({"uploadState", "publishingState", "size",
                             "committedContentVersion", "appAvailability", "version"}),
        volatile=frozenset({"dependentAppCount", "supersedingAppCount", "supersededAppCount",
                            "usedLicenseCount", "totalLicenseCount"}),
        references=(*ASSIGNED, Reference("mobileAppCategories", "categories[].id")),
        content_required=content_uploaded, can_create=not_synced,
        prepare=prepare_mobile_app, create_only=_CREATE_ONLY, after_write=sync_categories,
        evidence=_MOBILE_APPS_EVIDENCE,
    ),
    ResourceType(
        key="iosLobAppProvisioningConfigurations",
        path="deviceAppManagement/iosLobAppProvisioningConfigurations", version="beta",
        volatile=VERSIONED, assign_key="iOSLobAppProvisioningConfigAssignments",
        evidence=("learn.microsoft.com/graph/api/intune-apps-ioslobappprovisioningconfiguration"
                  "-assign?view=graph-rest-beta: assign takes "
                  "iOSLobAppProvisioningConfigAssignments; assignments read on their own",),
    ),
    ResourceType(
        key="policySets", path="deviceAppManagement/policySets", version="beta",
        subcollections=(_ITEMS, ITEM_ASSIGNMENTS), assign_key=None,
        assign_via=assign_policy_set,
        volatile=frozenset({"status", "errorCode"}),
        references=(Reference("roleScopeTags", "roleScopeTags[]"), ASSIGNMENT_FILTERS,
                    ASSIGNMENT_GROUPS, ASSIGNMENT_EXCLUSIONS,
                    Reference(POLICY_SET_PAYLOADS, "items[].payloadId")),
        after_write=update_policy_set_items, evidence=_POLICY_SETS_EVIDENCE,
    ),
)
