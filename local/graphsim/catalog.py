"""The simulated Graph surface as data: one TypeSpec per collection, nothing per-type in code.

Keys are PolicyVault's `policy_type` keys (DESIGN §3) plus the few collections the simulator
needs besides them (the platform app-protection collections that `managedAppPolicies` reads
from, `groups`, `groupPolicyDefinitions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

BOTH = ("v1.0", "beta")
BETA = ("beta",)

# Properties a client may never send on a write; any of them → 400 (see graph.py).
COMMON_READ_ONLY = frozenset({
    "createdDateTime", "lastModifiedDateTime", "settingCount", "isAssigned",
    "creationSource", "priorityMetaData",
})
TEMPLATE_REFERENCE_READ_ONLY = frozenset({
    "templateFamily", "templateDisplayName", "templateDisplayVersion",
})


def template_reference(template_id: str | None) -> dict[str, object]:
    """A settings catalog policy's ``templateReference`` as Graph serves it: annotated, with
    the read-only template fields filled in (none here: no policy uses a template)."""
    return {"@odata.type": "#microsoft.graph.deviceManagementConfigurationPolicyTemplateReference",
            "templateId": template_id or "", "templateFamily": "none",
            "templateDisplayName": None, "templateDisplayVersion": None}

ASSIGNMENT_TARGET_TYPES = frozenset({
    "#microsoft.graph.groupAssignmentTarget",
    "#microsoft.graph.exclusionGroupAssignmentTarget",
    "#microsoft.graph.allDevicesAssignmentTarget",
    "#microsoft.graph.allLicensedUsersAssignmentTarget",
    "#microsoft.graph.configurationManagerCollectionAssignmentTarget",
})

SETTING_INSTANCE_TYPES = frozenset({
    "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
    "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
    "#microsoft.graph.deviceManagementConfigurationGroupSettingCollectionInstance",
    "#microsoft.graph.deviceManagementConfigurationGroupSettingInstance",
    "#microsoft.graph.deviceManagementConfigurationSimpleSettingCollectionInstance",
    "#microsoft.graph.deviceManagementConfigurationChoiceSettingCollectionInstance",
})


@dataclass(frozen=True)
class SubSpec:
    """A navigation collection under an item (`settings`, `assignments`, …).

    `nested` names navigations inside each sub-item (e.g. a compliance rule's
    `scheduledActionConfigurations`); `single` marks a single-valued navigation
    (`definition`) rather than a list.
    """

    name: str
    odata_type: str
    nested: tuple[str, ...] = ()
    single: tuple[str, ...] = ()
    id_style: str = "guid"  # "guid" | "index" (settings catalog settings are "0", "1", …)


@dataclass(frozen=True)
class ReadRules:
    """Where Graph's reads of a collection are not uniform. Each rule is evidence-based (the
    simulator README lists the sources); everything else reads as OData says.

    - ``page_size``: the list's default page, when Graph's differs from the engine default;
    - ``expand_page_size``: a navigation whose ``$expand`` on the list shrinks the page to
      this many objects (big inline documents);
    - ``list_expand``: False when the list refuses ``$expand`` (400);
    - ``list_expand_empty`` / ``item_expand_empty``: navigations Graph expands as ``[]``
      on the list / on a single GET even when the object has entries;
    - ``no_sub_route``: navigations without a ``GET {id}/{name}`` route (400; ``$expand``
      them instead);
    - ``list_omits``: properties a list answers as null (only a single GET carries them).
    """

    page_size: int | None = None
    expand_page_size: tuple[tuple[str, int], ...] = ()
    list_expand: bool = True
    list_expand_empty: frozenset[str] = frozenset()
    item_expand_empty: frozenset[str] = frozenset()
    no_sub_route: frozenset[str] = frozenset()
    list_omits: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TypeSpec:
    key: str
    path: str
    odata_types: tuple[str, ...]
    abstract: bool = False  # @odata.type required on create
    versions: tuple[str, ...] = BOTH
    subs: tuple[SubSpec, ...] = ()
    name_prop: str = "displayName"
    read_only: frozenset[str] = frozenset()
    version_kind: str | None = None  # "int" | "str" | None
    created_prop: str | None = "createdDateTime"
    modified_prop: str | None = "lastModifiedDateTime"
    put_replace: bool = False  # PUT replaces the whole object including `create_navs`
    create_navs: tuple[str, ...] = ()  # navigations a create (and PUT) may carry inline
    required_on_create: tuple[str, ...] = ()
    assign_keys: tuple[str, ...] = ()  # body keys `/assign` accepts; empty → no /assign
    actions: tuple[str, ...] = ()
    union_of: tuple[str, ...] = ()  # polymorphic read-only view over other collections
    id_style: str = "guid"  # "guid" | "int" (role scope tags)
    scope_tag_prop: str | None = "roleScopeTagIds"
    writable: bool = True
    seeded: bool = True
    reads: ReadRules = ReadRules()

    def sub(self, name: str) -> SubSpec | None:
        for sub in self.subs:
            if sub.name == name:
                return sub
        return None

    @property
    def nav_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.subs)


def _assignments(odata_type: str) -> SubSpec:
    return SubSpec("assignments", f"#microsoft.graph.{odata_type}")


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
                     "#microsoft.graph.windowsUpdateForBusinessConfiguration"),
        abstract=True, version_kind="int", read_only=frozenset({"supportsScopeTags"}),
        subs=(_assignments("deviceConfigurationAssignment"),), assign_keys=("assignments",),
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
        assign_keys=("assignments",), actions=("scheduleActionsForRules",),
    ),
    TypeSpec(
        key="groupPolicyConfigurations", path="deviceManagement/groupPolicyConfigurations",
        odata_types=("#microsoft.graph.groupPolicyConfiguration",), versions=BETA,
        read_only=frozenset({"policyConfigurationIngestionType"}),
        subs=(SubSpec("definitionValues", "#microsoft.graph.groupPolicyDefinitionValue",
                      nested=("presentationValues",), single=("definition",)),
              _assignments("groupPolicyConfigurationAssignment")),
        assign_keys=("assignments",), actions=("updateDefinitionValues",),
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
        read_only=frozenset({"modifiedDateTime"}),
    ),
    TypeSpec(
        key="namedLocations", path="identity/conditionalAccess/namedLocations",
        odata_types=("#microsoft.graph.ipNamedLocation", "#microsoft.graph.countryNamedLocation"),
        abstract=True, modified_prop="modifiedDateTime", scope_tag_prop=None,
        read_only=frozenset({"modifiedDateTime"}),
    ),
    TypeSpec(
        key="groups", path="groups", odata_types=("#microsoft.graph.group",),
        modified_prop=None, scope_tag_prop=None,
    ),
    TypeSpec(
        key="groupPolicyDefinitions", path="deviceManagement/groupPolicyDefinitions",
        odata_types=("#microsoft.graph.groupPolicyDefinition",), versions=BETA,
        writable=False, scope_tag_prop=None, created_prop=None,
    ),
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
    "namedLocations",
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
