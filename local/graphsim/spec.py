"""What a simulated collection is: :class:`TypeSpec` and its parts, as data.

Shared by :mod:`local.graphsim.catalog` (the collections the simulator serves) and the area
modules under :mod:`local.graphsim.areas`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .graph import GraphEngine, GraphRequest, GraphResponse
    from .store import Tenant

G = "#microsoft.graph."
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
    "#microsoft.graph.cloudPcManagementGroupAssignmentTarget",  # Windows 365 policies
})

SETTING_INSTANCE_TYPES = frozenset({
    "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
    "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
    "#microsoft.graph.deviceManagementConfigurationGroupSettingCollectionInstance",
    "#microsoft.graph.deviceManagementConfigurationGroupSettingInstance",
    "#microsoft.graph.deviceManagementConfigurationSimpleSettingCollectionInstance",
    "#microsoft.graph.deviceManagementConfigurationChoiceSettingCollectionInstance",
})



# An action Graph serves on an item (``POST {item}/{name}``) or on a collection
# (``POST {collection}/{name}``: ``obj`` is None): (engine, tenant, spec, obj, body) → answer.
ActionHandler = Callable[["GraphEngine", "Tenant", "TypeSpec", "dict[str, Any] | None", Any],
                         "GraphResponse"]
# A function Graph serves on an item (``GET {item}/{name}(a='x')``): (engine, tenant, spec,
# obj, arguments, request) → answer. The request carries the token's roles.
FunctionHandler = Callable[["GraphEngine", "Tenant", "TypeSpec", "dict[str, Any]",
                            "dict[str, str]", "GraphRequest"], "GraphResponse"]
# A type's own rules for a write body, after the common checks (validate.write_body): raise a
# 400 for what Graph refuses, fill in what Graph computes. (tenant, body, mode, the stored
# object — None on a create) → None; ``body`` is the checked copy and may be changed.
WriteRules = Callable[["Tenant", "dict[str, Any]", str, "dict[str, Any] | None"], None]
# How Graph shows a stored object, where it expands targets inline on every read (a CA
# policy's authentication strength): (tenant, stored object) → the object as read.
Shown = Callable[["Tenant", "dict[str, Any]"], "dict[str, Any]"]


@dataclass(frozen=True)
class SubSpec:
    """A navigation collection under an item (`settings`, `assignments`, …).

    `nested` names navigations inside each sub-item (e.g. a compliance rule's
    `scheduledActionConfigurations`); `single` marks a single-valued navigation
    (`definition`) rather than a list. Under a singleton (`TypeSpec.singleton`): entries are
    addressed by `key_prop` (case-insensitively), `fixed` ones can be neither created nor
    deleted and are PATCHed with their `@odata.type`, and `read_only` properties are refused
    on writes. `ref_target` makes it a navigation of links to the objects of another
    TypeSpec (OData `$ref`: an app's `categories`): it reads as the linked objects as they
    are now, and is written with `POST {nav}/$ref` / `DELETE {nav}/{id}/$ref`.
    """

    name: str
    odata_type: str
    nested: tuple[str, ...] = ()
    single: tuple[str, ...] = ()
    id_style: str = "guid"  # "guid" | "index" (settings catalog settings are "0", "1", …)
    key_prop: str = "id"
    fixed: bool = False
    read_only: frozenset[str] = frozenset()
    ref_target: str | None = None  # TypeSpec key of the linked objects


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
    - ``list_omits``: properties a list answers as null (only a single GET carries them);
    - ``auto_expand``: navigations a singleton's GET carries inline without ``$expand``.
    - ``select_only``: properties left out of every answer unless ``$select`` names them.
    """

    page_size: int | None = None
    expand_page_size: tuple[tuple[str, int], ...] = ()
    list_expand: bool = True
    list_expand_empty: frozenset[str] = frozenset()
    item_expand_empty: frozenset[str] = frozenset()
    no_sub_route: frozenset[str] = frozenset()
    list_omits: frozenset[str] = frozenset()
    auto_expand: frozenset[str] = frozenset()
    select_only: frozenset[str] = frozenset()


@dataclass(frozen=True)
class BoundTo:
    """Objects of a collection that belong to one object of ``parent``: a create names it
    with ``{bind}@odata.bind``, and the object shows in the parent's ``nav`` navigation too
    (Intune role assignments: written at ``deviceManagement/roleAssignments``, read through
    ``roleDefinitions/{id}?$expand=roleAssignments``)."""

    parent: str
    bind: str
    nav: str


@dataclass(frozen=True)
class TypeSpec:
    key: str
    path: str
    odata_types: tuple[str, ...]
    abstract: bool = False  # @odata.type required on create
    versions: tuple[str, ...] = BOTH
    # A servicePlanName prefix the tenant must hold (local/graphsim/licences.py): without it
    # every request answers 403, with `unlicensed_message` (None: Intune's wrapped error).
    requires_plan: str | None = None
    unlicensed_message: str | None = None
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
    handlers: tuple[tuple[str, ActionHandler], ...] = ()  # item actions answered by a function
    collection_handlers: tuple[tuple[str, ActionHandler], ...] = ()  # POST {collection}/{name}
    functions: tuple[tuple[str, FunctionHandler], ...] = ()  # GET {item}/{name}(args)
    union_of: tuple[str, ...] = ()  # polymorphic read-only view over other collections
    id_style: str = "guid"  # "guid" | "int" (role scope tags)
    scope_tag_prop: str | None = "roleScopeTagIds"
    writable: bool = True
    upsert_on_patch: bool = False  # PATCH {collection}/{new id} creates the object
    client_ids: str | None = None  # regex an id chosen by the client (upsert) must match
    post_creates: bool = True  # False: POST {collection} is refused (405)
    write_rules: WriteRules | None = None
    shown: Shown | None = None
    bound_to: BoundTo | None = None
    # single-valued navigations written as {"id": …}: (name, collection key of the target)
    links: tuple[tuple[str, str], ...] = ()
    seeded: bool = True
    reads: ReadRules = ReadRules()
    # One object at `path` (local/graphsim/singleton.py): GET, PATCH (PUT with `put_replace`,
    # which needs every `required_on_create` property); POST and DELETE are refused. `subs`
    # are its navigation collections, `parts` its single-valued navigations, `handlers` its
    # actions keyed by their path under it ("default/resetToSystemDefault").
    singleton: bool = False
    parts: tuple[SubSpec, ...] = ()

    def sub(self, name: str) -> SubSpec | None:
        for sub in self.subs:
            if sub.name == name:
                return sub
        return None

    @property
    def nav_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.subs) | {name for name, _ in self.links}


def _assignments(odata_type: str) -> SubSpec:
    return SubSpec("assignments", f"#microsoft.graph.{odata_type}")



def assignments_sub(odata_type: str) -> SubSpec:
    return SubSpec("assignments", f"#microsoft.graph.{odata_type}")
