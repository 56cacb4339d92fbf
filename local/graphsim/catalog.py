"""The simulated Graph surface as data: one TypeSpec per collection, nothing per-type in code.

Keys are PolicyVault's `policy_type` keys (DESIGN §3) plus the few collections the simulator
needs besides them (the platform app-protection collections that `managedAppPolicies` reads
from, `groupPolicyDefinitions`). The first twenty catalog types are below; the catalog's breadth
(DESIGN §7.1) is in :mod:`local.graphsim.areas`, one module per area with its own seeding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import actions, secrets
from .areas import AREAS
from .areas.identity import show_conditional_access
from .directory import DIRECTORY_OBJECTS, GROUP_READ_ONLY, group_body
from .spec import (  # noqa: F401 - re-exported: the simulator's vocabulary
    ASSIGNMENT_TARGET_TYPES,
    BETA,
    BOTH,
    COMMON_READ_ONLY,
    SETTING_INSTANCE_TYPES,
    TEMPLATE_REFERENCE_READ_ONLY,
    ReadRules,
    SubSpec,
    TypeSpec,
    template_reference,
)
from .spec import assignments_sub as _assignments

_APPS = SubSpec("apps", "#microsoft.graph.managedMobileApp")
_APP_PROTECTION_RO = frozenset({"deployedAppCount", "isAssigned"})

TYPES: tuple[TypeSpec, ...] = (
    TypeSpec(
        key="configurationPolicies", path="deviceManagement/configurationPolicies",
        odata_types=("#microsoft.graph.deviceManagementConfigurationPolicy",),
        versions=BETA, name_prop="name", put_replace=True, create_navs=("settings",),
        subs=(SubSpec("settings", "#microsoft.graph.deviceManagementConfigurationSetting",
                      id_style="index"),
              _assignments("deviceManagementConfigurationPolicyAssignment")),
        assign_keys=("assignments",),
        reads=ReadRules(page_size=25, expand_page_size=(("settings", 2),),
                        item_expand_empty=frozenset({"assignments"})),
    ),
    TypeSpec(
        key="deviceConfigurations", path="deviceManagement/deviceConfigurations",
        odata_types=("#microsoft.graph.windows10GeneralConfiguration",
                     "#microsoft.graph.windows10CustomConfiguration",
                     "#microsoft.graph.iosGeneralDeviceConfiguration",
                     "#microsoft.graph.macOSGeneralDeviceConfiguration",
                     "#microsoft.graph.androidWorkProfileGeneralDeviceConfiguration",
                     "#microsoft.graph.windowsUpdateForBusinessConfiguration",
                     "#microsoft.graph.windowsWifiConfiguration",
                     "#microsoft.graph.iosWiFiConfiguration"),
        abstract=True, version_kind="int", read_only=frozenset({"supportsScopeTags"}),
        subs=(_assignments("deviceConfigurationAssignment"),), assign_keys=("assignments",),
        write_rules=secrets.store_secrets, shown=secrets.shown,
        functions=(("getOmaSettingPlainTextValue", secrets.oma_plain_text),),
    ),
    TypeSpec(
        key="deviceCompliancePolicies", path="deviceManagement/deviceCompliancePolicies",
        odata_types=("#microsoft.graph.windows10CompliancePolicy",
                     "#microsoft.graph.iosCompliancePolicy",
                     "#microsoft.graph.androidWorkProfileCompliancePolicy",
                     "#microsoft.graph.macOSCompliancePolicy"),
        abstract=True, version_kind="int",
        subs=(SubSpec("scheduledActionsForRule",
                      "#microsoft.graph.deviceComplianceScheduledActionForRule",
                      nested=("scheduledActionConfigurations",)),
              _assignments("deviceCompliancePolicyAssignment")),
        create_navs=("scheduledActionsForRule",),
        required_on_create=("scheduledActionsForRule",),
        assign_keys=("assignments",),
        handlers=(("scheduleActionsForRules", actions.schedule_actions_for_rules),),
    ),
    TypeSpec(
        key="groupPolicyConfigurations", path="deviceManagement/groupPolicyConfigurations",
        odata_types=("#microsoft.graph.groupPolicyConfiguration",), versions=BETA,
        read_only=frozenset({"policyConfigurationIngestionType"}),
        subs=(SubSpec("definitionValues", "#microsoft.graph.groupPolicyDefinitionValue",
                      nested=("presentationValues",), single=("definition",)),
              _assignments("groupPolicyConfigurationAssignment")),
        assign_keys=("assignments",),
        handlers=(("updateDefinitionValues", actions.update_definition_values),),
    ),
    TypeSpec(
        key="deviceManagementScripts", path="deviceManagement/deviceManagementScripts",
        odata_types=("#microsoft.graph.deviceManagementScript",), versions=BETA,
        subs=(_assignments("deviceManagementScriptAssignment"),),
        assign_keys=("deviceManagementScriptAssignments", "deviceManagementScriptGroupAssignments",
                     "assignments"),
        reads=ReadRules(list_omits=frozenset({"scriptContent"})),
    ),
    TypeSpec(
        key="deviceShellScripts", path="deviceManagement/deviceShellScripts",
        odata_types=("#microsoft.graph.deviceShellScript",), versions=BETA,
        subs=(_assignments("deviceManagementScriptAssignment"),),
        assign_keys=("deviceManagementScriptAssignments", "deviceManagementScriptGroupAssignments",
                     "assignments"),
        reads=ReadRules(list_omits=frozenset({"scriptContent"}),
                        no_sub_route=frozenset({"assignments"})),
    ),
    TypeSpec(
        key="deviceHealthScripts", path="deviceManagement/deviceHealthScripts",
        odata_types=("#microsoft.graph.deviceHealthScript",), versions=BETA,
        read_only=frozenset({"isGlobalScript", "highestAvailableVersion"}),
        subs=(_assignments("deviceHealthScriptAssignment"),),
        assign_keys=("deviceHealthScriptAssignments", "assignments"),
        reads=ReadRules(list_omits=frozenset({"detectionScriptContent",
                                              "remediationScriptContent"})),
    ),
    TypeSpec(
        key="deviceEnrollmentConfigurations",
        path="deviceManagement/deviceEnrollmentConfigurations",
        odata_types=("#microsoft.graph.windows10EnrollmentCompletionPageConfiguration",
                     "#microsoft.graph.deviceEnrollmentLimitConfiguration",
                     "#microsoft.graph.deviceEnrollmentPlatformRestrictionsConfiguration",
                     "#microsoft.graph.windowsHelloForBusinessConfiguration"),
        abstract=True, version_kind="int",
        subs=(_assignments("enrollmentConfigurationAssignment"),),
        assign_keys=("enrollmentConfigurationAssignments", "assignments"),
    ),
    TypeSpec(
        key="windowsAutopilotDeploymentProfiles",
        path="deviceManagement/windowsAutopilotDeploymentProfiles",
        odata_types=("#microsoft.graph.azureADWindowsAutopilotDeploymentProfile",
                     "#microsoft.graph.activeDirectoryWindowsAutopilotDeploymentProfile"),
        abstract=True,
        subs=(_assignments("windowsAutopilotDeploymentProfileAssignment"),),
        assign_keys=("assignments",),
    ),
    TypeSpec(
        key="windowsFeatureUpdateProfiles", path="deviceManagement/windowsFeatureUpdateProfiles",
        odata_types=("#microsoft.graph.windowsFeatureUpdateProfile",), versions=BETA,
        read_only=frozenset({"deployableContentDisplayName", "endOfSupportDate"}),
        subs=(_assignments("windowsFeatureUpdateProfileAssignment"),),
        assign_keys=("assignments",),
    ),
    TypeSpec(
        key="windowsQualityUpdateProfiles", path="deviceManagement/windowsQualityUpdateProfiles",
        odata_types=("#microsoft.graph.windowsQualityUpdateProfile",), versions=BETA,
        read_only=frozenset({"deployableContentDisplayName", "releaseDateDisplayName"}),
        subs=(_assignments("windowsQualityUpdateProfileAssignment"),),
        assign_keys=("assignments",),
    ),
    TypeSpec(
        key="windowsDriverUpdateProfiles", path="deviceManagement/windowsDriverUpdateProfiles",
        odata_types=("#microsoft.graph.windowsDriverUpdateProfile",), versions=BETA,
        requires_plan="WINDOWSUPDATEFORBUSINESS_DEPLOYMENTSERVICE",
        read_only=frozenset({"deviceReporting", "newUpdates", "inventorySyncStatus"}),
        subs=(_assignments("windowsDriverUpdateProfileAssignment"),),
        assign_keys=("assignments",),
    ),
    TypeSpec(
        key="assignmentFilters", path="deviceManagement/assignmentFilters",
        odata_types=("#microsoft.graph.deviceAndAppManagementAssignmentFilter",),
        versions=BETA, scope_tag_prop="roleScopeTags",
    ),
    TypeSpec(
        key="roleScopeTags", path="deviceManagement/roleScopeTags",
        odata_types=("#microsoft.graph.roleScopeTag",), id_style="int",
        read_only=frozenset({"isBuiltIn"}), created_prop=None, modified_prop=None,
        scope_tag_prop=None,
        subs=(_assignments("roleScopeTagAutoAssignment"),), assign_keys=("assignments",),
        reads=ReadRules(list_expand_empty=frozenset({"assignments"})),
    ),
    TypeSpec(
        key="notificationMessageTemplates",
        path="deviceManagement/notificationMessageTemplates",
        odata_types=("#microsoft.graph.notificationMessageTemplate",), created_prop=None,
        subs=(SubSpec("localizedNotificationMessages",
                      "#microsoft.graph.localizedNotificationMessage"),),
    ),
    TypeSpec(
        key="iosManagedAppProtections", path="deviceAppManagement/iosManagedAppProtections",
        odata_types=("#microsoft.graph.iosManagedAppProtection",), version_kind="str",
        read_only=_APP_PROTECTION_RO,
        subs=(_assignments("targetedManagedAppPolicyAssignment"), _APPS),
        assign_keys=("assignments",),
    ),
    TypeSpec(
        key="androidManagedAppProtections",
        path="deviceAppManagement/androidManagedAppProtections",
        odata_types=("#microsoft.graph.androidManagedAppProtection",), version_kind="str",
        read_only=_APP_PROTECTION_RO,
        subs=(_assignments("targetedManagedAppPolicyAssignment"), _APPS),
        assign_keys=("assignments",),
    ),
    TypeSpec(  # Graph has it in beta only; not seeded unless counts ask for it
        key="windowsManagedAppProtections",
        path="deviceAppManagement/windowsManagedAppProtections",
        odata_types=("#microsoft.graph.windowsManagedAppProtection",), versions=BETA,
        version_kind="str", read_only=_APP_PROTECTION_RO,
        subs=(_assignments("targetedManagedAppPolicyAssignment"), _APPS),
        assign_keys=("assignments",),
    ),
    TypeSpec(  # lists the platform collections served in the request's version
        key="managedAppPolicies", path="deviceAppManagement/managedAppPolicies",
        odata_types=("#microsoft.graph.iosManagedAppProtection",
                     "#microsoft.graph.androidManagedAppProtection",
                     "#microsoft.graph.windowsManagedAppProtection"),
        union_of=("iosManagedAppProtections", "androidManagedAppProtections",
                  "windowsManagedAppProtections"),
        writable=False, seeded=False,
        subs=(_assignments("targetedManagedAppPolicyAssignment"), _APPS),
        reads=ReadRules(list_expand=False),
    ),
    TypeSpec(
        key="mobileAppConfigurations", path="deviceAppManagement/mobileAppConfigurations",
        odata_types=("#microsoft.graph.iosMobileAppConfiguration",
                     "#microsoft.graph.androidManagedStoreAppConfiguration"),
        abstract=True, version_kind="int",
        subs=(_assignments("managedDeviceMobileAppConfigurationAssignment"),),
        assign_keys=("assignments",),
    ),
    TypeSpec(
        key="targetedManagedAppConfigurations",
        path="deviceAppManagement/targetedManagedAppConfigurations",
        odata_types=("#microsoft.graph.targetedManagedAppConfiguration",), version_kind="str",
        read_only=_APP_PROTECTION_RO,
        subs=(_assignments("targetedManagedAppPolicyAssignment"), _APPS),
        assign_keys=("assignments",),
        reads=ReadRules(list_expand=False),
    ),
    TypeSpec(
        key="conditionalAccessPolicies", path="identity/conditionalAccess/policies",
        odata_types=("#microsoft.graph.conditionalAccessPolicy",),
        modified_prop="modifiedDateTime", scope_tag_prop=None,
        read_only=frozenset({"modifiedDateTime"}), shown=show_conditional_access,
    ),
    TypeSpec(
        key="namedLocations", path="identity/conditionalAccess/namedLocations",
        odata_types=("#microsoft.graph.ipNamedLocation", "#microsoft.graph.countryNamedLocation"),
        abstract=True, modified_prop="modifiedDateTime", scope_tag_prop=None,
        read_only=frozenset({"modifiedDateTime"}),
    ),
    TypeSpec(  # definitions only: members are not simulated (directory.py)
        key="groups", path="groups", odata_types=("#microsoft.graph.group",),
        modified_prop=None, scope_tag_prop=None, read_only=GROUP_READ_ONLY,
        write_rules=group_body,
    ),
    DIRECTORY_OBJECTS,
    TypeSpec(
        key="groupPolicyDefinitions", path="deviceManagement/groupPolicyDefinitions",
        odata_types=("#microsoft.graph.groupPolicyDefinition",), versions=BETA,
        writable=False, scope_tag_prop=None, created_prop=None,
    ),
    TypeSpec(  # settings catalog definitions (GET configurationSettings/{id}), seed.py
        key="configurationSettings", path="deviceManagement/configurationSettings",
        odata_types=("#microsoft.graph.deviceManagementConfigurationSettingDefinition",
                     "#microsoft.graph.deviceManagementConfigurationChoiceSettingDefinition",
                     "#microsoft.graph.deviceManagementConfigurationSimpleSettingDefinition",
                     "#microsoft.graph.deviceManagementConfigurationSettingGroupCollectionDefinition"),
        abstract=True, versions=BETA, writable=False, scope_tag_prop=None, created_prop=None,
        modified_prop=None, name_prop="displayName",
    ),
    TypeSpec(  # the tenant's licences (v1.0 and beta), seeded by licences.py
        key="subscribedSkus", path="subscribedSkus",
        odata_types=("#microsoft.graph.subscribedSku",), writable=False, scope_tag_prop=None,
        created_prop=None, modified_prop=None,
    ),
    TypeSpec(  # the tenant itself (one object: its id and verified domains), seeded by store.py
        key="organization", path="organization",
        odata_types=("#microsoft.graph.organization",), writable=False, scope_tag_prop=None,
        created_prop=None, modified_prop=None,
    ),
    *(spec for area in AREAS for spec in area.TYPES),
)

BY_KEY: dict[str, TypeSpec] = {t.key: t for t in TYPES}
BY_PATH: dict[str, TypeSpec] = {t.path.lower(): t for t in TYPES}
POLICY_TYPE_KEYS: tuple[str, ...] = (
    "configurationPolicies", "deviceConfigurations", "deviceCompliancePolicies",
    "groupPolicyConfigurations", "deviceManagementScripts", "deviceShellScripts",
    "deviceHealthScripts", "deviceEnrollmentConfigurations", "windowsAutopilotDeploymentProfiles",
    "windowsFeatureUpdateProfiles", "windowsQualityUpdateProfiles", "windowsDriverUpdateProfiles",
    "assignmentFilters", "roleScopeTags", "notificationMessageTemplates", "managedAppPolicies",
    "mobileAppConfigurations", "targetedManagedAppConfigurations", "conditionalAccessPolicies",
    "namedLocations", "groups",
    *(key for area in AREAS for key in area.POLICY_KEYS),
)


@dataclass
class Resolved:
    """A Graph path split against the table: collection, optional item, sub-path."""

    spec: TypeSpec
    item_id: str | None = None
    rest: list[str] = field(default_factory=list)


def resolve(segments: list[str]) -> Resolved | None:
    """Longest collection path that prefixes `segments` (case-insensitive like Graph)."""
    lowered = [s.lower() for s in segments]
    for n in range(min(len(segments), 3), 0, -1):
        spec = BY_PATH.get("/".join(lowered[:n]))
        if spec is not None:
            rest = segments[n:]
            item = rest[0] if rest else None
            return Resolved(spec=spec, item_id=item, rest=rest[1:])
    return None


def spec_for(key_or_path: str) -> TypeSpec | None:
    return BY_KEY.get(key_or_path) or BY_PATH.get(key_or_path.strip("/").lower())
