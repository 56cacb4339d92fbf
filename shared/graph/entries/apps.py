"""Apps and app management: app protection and app configuration policies, apps, policy sets.
"""

from __future__ import annotations

from shared.graph import evidence as ev
from shared.graph import hooks
from shared.graph.documents import SUB_SERVER_FIELDS
from shared.graph.resource import (
    ITEM_ASSIGNMENTS,
    LISTED_ASSIGNMENTS,
    VERSIONED,
    G,
    ResourceType,
    SubCollection,
)

_APPS = SubCollection("apps", unordered=True, via_item_expand=True,
                      server_fields=SUB_SERVER_FIELDS | VERSIONED)
_APP_VOLATILE = VERSIONED | {"deployedAppCount"}

ENTRIES: tuple[ResourceType, ...] = (
    ResourceType(
        key="managedAppPolicies", path="deviceAppManagement/managedAppPolicies",
        version="beta", volatile=_APP_VOLATILE, subcollections=(ITEM_ASSIGNMENTS, _APPS),
        evidence=(ev.TERRAFORM_M365WP, ev.INTUNE_SAMPLES, ev.INTUNE_MANAGEMENT),
        write_paths=(
            (f"{G}iosManagedAppProtection", "deviceAppManagement/iosManagedAppProtections"),
            (f"{G}androidManagedAppProtection",
             "deviceAppManagement/androidManagedAppProtections"),
            (f"{G}windowsManagedAppProtection",
             "deviceAppManagement/windowsManagedAppProtections"),
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
)
