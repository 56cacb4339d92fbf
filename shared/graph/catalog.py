"""The resource catalog: one declarative :class:`ResourceType` per supported policy type.

The catalog is data (STYLE rule 10): collection path and API version, the display-name field,
which sub-collections make a document complete and how each is read, which fields Graph manages
(stripped before writes, ignored by diffs) or changes without a content change (left out of
snapshots so an unchanged policy hashes the same), how writes and assignments work, and which
other objects a document refers to. The few special cases are small named functions in
:mod:`shared.graph.hooks`, referenced from their entry. One engine
(:mod:`shared.graph.operations`) runs every type.

Versions: Intune types use ``beta`` — several of them exist only there and the others lose
properties on ``v1.0``, so a ``v1.0`` backup would not be complete. Conditional Access and
named locations use ``v1.0``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.graph import evidence as ev
from shared.graph import hooks
from shared.graph.documents import COMMON_VOLATILE, SUB_SERVER_FIELDS
from shared.platform.errors import ValidationFailed

if TYPE_CHECKING:
    from shared.graph.hooks import WriteContext

# Graph-managed fields, stripped before every write and ignored by comparisons.
COMMON_READ_ONLY = frozenset({
    "id", "createdDateTime", "settingCount", "isAssigned", "creationSource",
    "priorityMetaData", "supportsScopeTags",
})
VERSIONED = frozenset({"version"})  # an ETag-like counter Graph bumps on every change


@dataclass(frozen=True)
class SubCollection:
    """A navigation that belongs in the complete document (``settings``, ``assignments``…).

    How it is read, cheapest first (what Graph supports, per the entry's ``evidence``):
    ``via_list_expand`` — inline in the collection list through its ``$expand``;
    ``via_item_expand`` — inline in the item GET through its ``$expand``; otherwise a paged
    ``GET {item}/{name}`` (``expand`` is the ``$expand`` of each entry or of the
    navigation). ``count_field`` names the object's property that counts the entries
    (``settingCount``): fewer entries inline means Graph cut them short, and they are read
    again on their own. ``nested`` names lists inside each entry whose members carry server
    ids. ``unordered`` marks set semantics: entries are sorted by content in the snapshot so
    the hash does not depend on Graph's order. ``write_inline`` sends the entries inside the
    create body (and a PUT update).
    """

    name: str
    expand: str | None = None
    via_item_expand: bool = False
    via_list_expand: bool = False
    count_field: str | None = None
    nested: tuple[str, ...] = ()
    unordered: bool = False
    write_inline: bool = False
    server_fields: frozenset[str] = SUB_SERVER_FIELDS


@dataclass(frozen=True)
class Reference:
    """Ids at ``path`` (dotted; ``[]`` walks a list) name objects of catalog type ``target``
    (or ``groups``, which PolicyVault never restores)."""

    target: str
    path: str


ASSIGNMENTS = SubCollection("assignments", unordered=True)
# Assignments inline in the collection list (``?$expand=assignments``) or in the item GET.
LISTED_ASSIGNMENTS = SubCollection("assignments", unordered=True, via_list_expand=True)
ITEM_ASSIGNMENTS = SubCollection("assignments", unordered=True, via_item_expand=True)
SCOPE_TAGS = Reference("roleScopeTags", "roleScopeTagIds[]")
ASSIGNMENT_FILTERS = Reference(
    "assignmentFilters", "assignments[].target.deviceAndAppManagementAssignmentFilterId")
ASSIGNMENT_GROUPS = Reference("groups", "assignments[].target.groupId")
ASSIGNED = (SCOPE_TAGS, ASSIGNMENT_FILTERS, ASSIGNMENT_GROUPS)


def _always(_doc: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class ResourceType:
    key: str
    path: str
    version: str
    name_field: str = "displayName"
    subcollections: tuple[SubCollection, ...] = (ASSIGNMENTS,)
    assign_key: str | None = "assignments"  # body key of POST {item}/assign; None: no /assign
    read_only: frozenset[str] = frozenset()
    volatile: frozenset[str] = frozenset()
    update_method: str = "PATCH"
    references: tuple[Reference, ...] = ASSIGNED
    write_paths: tuple[tuple[str, str], ...] = ()  # polymorphic: @odata.type → collection
    prepare: Callable[[dict[str, Any], dict[str, Any], str, str], dict[str, Any]] | None = None
    after_write: Callable[[WriteContext], Awaitable[None]] | None = None
    can_create: Callable[[dict[str, Any]], bool] = field(default=_always)
    list_omits: frozenset[str] = frozenset()  # properties only an item GET carries
    evidence: tuple[str, ...] = ()  # why the read plan is what Graph serves (docs, records)

    @property
    def has_assignments(self) -> bool:
        return self.assign_key is not None

    @property
    def list_select(self) -> str:
        return f"id,{self.name_field}"

    @property
    def item_expand(self) -> str | None:
        parts = [s.expand or s.name for s in self.subcollections if s.via_item_expand]
        return ",".join(parts) or None

    @property
    def list_expand(self) -> str | None:
        parts = [s.expand or s.name for s in self.subcollections if s.via_list_expand]
        return ",".join(parts) or None

    @property
    def listing_complete(self) -> bool:
        """Whether the collection list (with :attr:`list_expand`) returns whole documents."""
        return not self.list_omits and all(s.via_list_expand for s in self.subcollections)

    @property
    def strip_on_write(self) -> frozenset[str]:
        return COMMON_READ_ONLY | COMMON_VOLATILE | self.volatile | self.read_only

    @property
    def sub_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.subcollections)

    def sub(self, name: str) -> SubCollection | None:
        return next((s for s in self.subcollections if s.name == name), None)

    def supports(self, odata_type: str | None) -> bool:
        """Whether a listed object is one this entry handles (polymorphic collections)."""
        return not self.write_paths or odata_type in dict(self.write_paths)

    def collection_for(self, document: dict[str, Any] | None = None) -> str:
        """Where an object lives for sub-collection reads and all writes."""
        if not self.write_paths:
            return self.path
        odata_type = (document or {}).get("@odata.type")
        paths = dict(self.write_paths)
        if odata_type not in paths:
            raise ValidationFailed(f"{self.key}: unsupported @odata.type {odata_type!r}")
        return paths[odata_type]


_G = "#microsoft.graph."
_APPS = SubCollection("apps", unordered=True, via_item_expand=True,
                      server_fields=SUB_SERVER_FIELDS | VERSIONED)
_APP_VOLATILE = VERSIONED | {"deployedAppCount"}

CATALOG: tuple[ResourceType, ...] = (
    ResourceType(
        key="configurationPolicies", path="deviceManagement/configurationPolicies",
        version="beta", name_field="name", update_method="PUT",
        subcollections=(SubCollection("settings", write_inline=True, via_item_expand=True,
                                      count_field="settingCount"), LISTED_ASSIGNMENTS),
        prepare=hooks.prepare_settings_catalog,
        evidence=(ev.SETTINGS_CATALOG_DOCS, ev.LAB_RECORD, ev.ZERO_TRUST_ASSESSMENT),
    ),
    ResourceType(
        key="deviceConfigurations", path="deviceManagement/deviceConfigurations",
        version="beta", volatile=VERSIONED, subcollections=(LISTED_ASSIGNMENTS,),
        evidence=(ev.ZERO_TRUST_ASSESSMENT, ev.INTUNE_MANAGEMENT),
    ),
    ResourceType(
        key="deviceCompliancePolicies", path="deviceManagement/deviceCompliancePolicies",
        version="beta", volatile=VERSIONED,
        subcollections=(
            SubCollection("scheduledActionsForRule", via_item_expand=True, via_list_expand=True,
                          write_inline=True,
                          expand="scheduledActionsForRule($expand=scheduledActionConfigurations)",
                          nested=("scheduledActionConfigurations",)),
            LISTED_ASSIGNMENTS,
        ),
        references=(*ASSIGNED, Reference(
            "notificationMessageTemplates",
            "scheduledActionsForRule[].scheduledActionConfigurations[].notificationTemplateId")),
        after_write=hooks.schedule_compliance_actions,
        evidence=(ev.INTUNECD, ev.TERRAFORM_M365WP, ev.ZERO_TRUST_ASSESSMENT),
    ),
    ResourceType(
        key="groupPolicyConfigurations", path="deviceManagement/groupPolicyConfigurations",
        version="beta", read_only=frozenset({"policyConfigurationIngestionType"}),
        subcollections=(SubCollection("definitionValues", expand="definition,presentationValues",
                                      nested=("presentationValues",)), LISTED_ASSIGNMENTS),
        after_write=hooks.sync_definition_values, evidence=(ev.INTUNE_MANAGEMENT,),
    ),
    ResourceType(
        key="deviceManagementScripts", path="deviceManagement/deviceManagementScripts",
        version="beta", assign_key="deviceManagementScriptAssignments",
        subcollections=(ITEM_ASSIGNMENTS,), list_omits=frozenset({"scriptContent"}),
        evidence=(ev.SCRIPT_BODY, ev.TERRAFORM_M365WP),
    ),
    ResourceType(
        key="deviceShellScripts", path="deviceManagement/deviceShellScripts",
        version="beta", assign_key="deviceManagementScriptAssignments",
        subcollections=(ITEM_ASSIGNMENTS,), list_omits=frozenset({"scriptContent"}),
        evidence=(ev.SCRIPT_BODY, ev.LAB_RECORD, ev.INTUNECD),
    ),
    ResourceType(
        key="deviceHealthScripts", path="deviceManagement/deviceHealthScripts",
        version="beta", assign_key="deviceHealthScriptAssignments",
        read_only=frozenset({"isGlobalScript", "highestAvailableVersion"}),
        can_create=hooks.not_global_script, subcollections=(ITEM_ASSIGNMENTS,),
        list_omits=frozenset({"detectionScriptContent", "remediationScriptContent"}),
        evidence=(ev.SCRIPT_BODY, ev.TERRAFORM_M365WP),
    ),
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
        key="windowsFeatureUpdateProfiles", path="deviceManagement/windowsFeatureUpdateProfiles",
        version="beta", read_only=frozenset({"deployableContentDisplayName", "endOfSupportDate"}),
        subcollections=(LISTED_ASSIGNMENTS,), evidence=(ev.INTUNE_MANAGEMENT,),
    ),
    ResourceType(
        key="windowsQualityUpdateProfiles", path="deviceManagement/windowsQualityUpdateProfiles",
        version="beta",
        read_only=frozenset({"deployableContentDisplayName", "releaseDateDisplayName"}),
        subcollections=(LISTED_ASSIGNMENTS,), evidence=(ev.INTUNE_MANAGEMENT,),
    ),
    ResourceType(
        key="windowsDriverUpdateProfiles", path="deviceManagement/windowsDriverUpdateProfiles",
        version="beta", volatile=frozenset({"deviceReporting", "newUpdates",
                                            "inventorySyncStatus"}),
        subcollections=(LISTED_ASSIGNMENTS,), evidence=(ev.INTUNE_MANAGEMENT,),
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
        key="managedAppPolicies", path="deviceAppManagement/managedAppPolicies",
        version="beta", volatile=_APP_VOLATILE, subcollections=(ITEM_ASSIGNMENTS, _APPS),
        evidence=(ev.TERRAFORM_M365WP, ev.INTUNE_SAMPLES, ev.INTUNE_MANAGEMENT),
        write_paths=(
            (f"{_G}iosManagedAppProtection", "deviceAppManagement/iosManagedAppProtections"),
            (f"{_G}androidManagedAppProtection",
             "deviceAppManagement/androidManagedAppProtections"),
            (f"{_G}windowsManagedAppProtection",
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
    ResourceType(
        key="conditionalAccessPolicies", path="identity/conditionalAccess/policies",
        version="v1.0", subcollections=(), assign_key=None,
        read_only=frozenset({"templateId", "deletedDateTime"}),
        references=(
            Reference("namedLocations", "conditions.locations.includeLocations[]"),
            Reference("namedLocations", "conditions.locations.excludeLocations[]"),
            Reference("groups", "conditions.users.includeGroups[]"),
            Reference("groups", "conditions.users.excludeGroups[]"),
        ),
        prepare=hooks.prepare_conditional_access,
    ),
    ResourceType(
        key="namedLocations", path="identity/conditionalAccess/namedLocations",
        version="v1.0", subcollections=(), assign_key=None, references=(),
    ),
)

BY_KEY: dict[str, ResourceType] = {entry.key: entry for entry in CATALOG}
SUPPORTED_KEYS: tuple[str, ...] = tuple(BY_KEY)


def supported_type(key: str) -> ResourceType:
    """The entry for a DESIGN §3 ``policy_type`` key; :class:`ValidationFailed` listing the
    supported keys otherwise."""
    entry = BY_KEY.get(key) if isinstance(key, str) else None
    if entry is None:
        err = ValidationFailed("use one of: " + ",".join(SUPPORTED_KEYS))
        err.supported = SUPPORTED_KEYS  # type: ignore[attr-defined]
        raise err
    return entry


def restore_levels() -> tuple[tuple[str, ...], ...]:
    """Catalog keys grouped by dependency depth: level 0 refers to no other catalog type,
    level n only to lower levels. Types within a level may be written concurrently."""
    depth: dict[str, int] = {}

    def visit(key: str, path: tuple[str, ...]) -> int:
        if key in depth:
            return depth[key]
        if key in path:
            raise ValueError(f"reference cycle through {key}")
        targets = {r.target for r in BY_KEY[key].references if r.target in BY_KEY} - {key}
        depth[key] = 1 + max((visit(t, (*path, key)) for t in targets), default=-1)
        return depth[key]

    for entry in CATALOG:
        visit(entry.key, ())
    levels = range(max(depth.values()) + 1)
    return tuple(tuple(e.key for e in CATALOG if depth[e.key] == n) for n in levels)

