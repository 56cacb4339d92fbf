"""Write validation: what Graph refuses with a 400 before it stores anything."""

from __future__ import annotations

import copy
import re
from typing import Any

from . import catalog
from .catalog import TypeSpec
from .odata import bad_request
from .store import Tenant

_BIND_ID = re.compile(r"\('([^']+)'\)\s*$|/([^/()']+)\s*$")
_ANNOTATION = re.compile(r"^@odata\.(context|etag|id|editLink)$")
_EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
_REFERENCE_VALUE = "#microsoft.graph.deviceManagementConfigurationReferenceSettingValue"


def list_of(body: dict[str, Any], key: str) -> list[Any]:
    """`body[key]` as a list (absent or null → []); anything else is a 400."""
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"'{key}' must be an array.")
    return value


def require_object(raw: Any) -> dict[str, Any]:
    if raw is None:
        raise bad_request("Empty Payload. JSON content expected.")
    if not isinstance(raw, dict):
        raise bad_request("Invalid request body: a JSON object was expected.")
    return raw


def no_read_only(body: dict[str, Any], extra: frozenset[str] = frozenset()) -> None:
    for key in body:
        if key in catalog.COMMON_READ_ONLY or key in extra:
            raise bad_request(f"The property '{key}' is read-only and cannot be set.")
    ref = body.get("templateReference")
    if ref is not None and not isinstance(ref, dict):
        raise bad_request("'templateReference' must be an object.")
    if isinstance(ref, dict):
        for key in ref:
            if key in catalog.TEMPLATE_REFERENCE_READ_ONLY:
                raise bad_request(f"The property 'templateReference.{key}' is read-only and "
                                  "cannot be set.")


def write_body(tenant: Tenant, spec: TypeSpec, raw: Any, mode: str,
               current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Checked copy of a POST ("create"), PATCH or PUT body (of ``current``), without
    ignored keys; the type's own ``write_rules`` run last."""
    body = copy.deepcopy(require_object(raw))
    no_read_only(body, spec.read_only)
    for key in [k for k in body if _ANNOTATION.match(k)]:
        body.pop(key)
    body.pop("id", None)
    odata_type = body.get("@odata.type")
    if odata_type is not None and odata_type not in spec.odata_types:
        raise bad_request(f"Invalid type '{odata_type}' for '{spec.path}'. Expected one of: "
                          f"{', '.join(spec.odata_types)}.")
    kept = (current or {}).get("@odata.type")
    if odata_type is not None and kept is not None and odata_type != kept:
        # OData 4.01 §11.4.3: an update never changes the entity's type.
        raise bad_request(f"The type of an entity cannot be changed: it is '{kept}', the "
                          f"request names '{odata_type}'.")
    if mode == "create" and odata_type is None and spec.abstract:
        base = spec.path.rsplit("/", 1)[-1]
        raise bad_request(f"An instance of an abstract type cannot be created in '{base}': "
                          "'@odata.type' is required.")
    links = dict(spec.links)
    for key in body:
        if key in links:
            body[key] = link(tenant, key, links[key], body[key])
        elif key in spec.nav_names and (mode == "patch" or key not in spec.create_navs):
            raise bad_request(f"The navigation property '{key}' cannot be written with this "
                              "request; use its own endpoint or action.")
    if mode in ("create", "put"):
        for key in spec.required_on_create:
            if not body.get(key):
                raise bad_request(f"'{key}' is required: a compliance policy must be created "
                                  "with at least one scheduled action (block).")
        if not body.get(spec.name_prop):
            raise bad_request(f"The property '{spec.name_prop}' is required.")
    if spec.scope_tag_prop and spec.scope_tag_prop in body:
        scope_tags(tenant, body[spec.scope_tag_prop])
    if "settings" in body and "settings" in spec.nav_names:
        # settings catalog settings; elsewhere (iOS app configurations) a plain property
        settings(body["settings"])
        reusable_references(tenant, body["settings"])
    if body.get("deviceCompliancePolicyScript") is not None:
        compliance_script(tenant, body["deviceCompliancePolicyScript"])
    if "scheduledActionsForRule" in body:
        scheduled_actions(tenant, body["scheduledActionsForRule"])
    if spec.key == "conditionalAccessPolicies":
        ca_policy(tenant, body, mode)
    if spec.write_rules is not None:
        spec.write_rules(tenant, body, mode, current)
    return body


def reference_id(raw: Any, target_path: str) -> str:
    """The id a `POST {nav}/$ref` body links to: its `@odata.id` names an object of the
    collection at `target_path` (`…/mobileAppCategories/{id}` or `…('{id}')`)."""
    ref = require_object(raw).get("@odata.id")
    m = _BIND_ID.search(ref) if isinstance(ref, str) else None
    path = target_path.lower()
    if m is None or not (ref.lower().startswith(path) or f"/{path}" in ref.lower()):
        raise bad_request(f"'@odata.id' must be the URL of an object in {target_path}.")
    return m.group(1) or m.group(2)


def link(tenant: Tenant, name: str, target: str, value: Any) -> dict[str, Any] | None:
    """A single-valued navigation written as ``{"id": …}`` (or null), stored as that: it
    must name an existing object, which an ``$expand`` of the navigation then shows."""
    if value is None:
        return None
    linked = value.get("id") if isinstance(value, dict) else None
    if not isinstance(linked, str) or linked not in tenant.ids(target):
        raise bad_request(f"'{name}' must name an existing object by its 'id'.")
    return {"id": linked}


def bound_parent(tenant: Tenant, spec: TypeSpec, body: dict[str, Any]) -> dict[str, Any]:
    """The object a new member of a bound collection belongs to, named by
    ``{bind}@odata.bind`` (taken out of ``body``)."""
    assert spec.bound_to is not None
    key = f"{spec.bound_to.bind}@odata.bind"
    bind = body.pop(key, None)
    m = _BIND_ID.search(str(bind)) if isinstance(bind, str) else None
    parent = tenant.data.get(spec.bound_to.parent, {}).get(m.group(1) or m.group(2)) if m \
        else None
    if parent is None:
        raise bad_request(f"'{key}' is required and must name an existing object.")
    return parent


def scope_tags(tenant: Tenant, value: Any) -> None:
    known = tenant.ids("roleScopeTags")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request("Scope tag ids must be an array of strings.")
    for tag in value:
        if tag not in known:
            raise bad_request(f"The scope tag '{tag}' does not exist.")


def settings(value: Any) -> None:
    if not isinstance(value, list):
        raise bad_request("'settings' must be an array.")
    for index, setting in enumerate(value):
        instance = setting.get("settingInstance") if isinstance(setting, dict) else None
        if not isinstance(instance, dict):
            raise bad_request(f"settings[{index}] has no settingInstance.")
        if instance.get("@odata.type") not in catalog.SETTING_INSTANCE_TYPES:
            raise bad_request(f"settings[{index}].settingInstance has an unknown type "
                              f"'{instance.get('@odata.type')}'.")
        if not isinstance(instance.get("settingDefinitionId"), str):
            raise bad_request(f"settings[{index}].settingInstance.settingDefinitionId is "
                              "required.")


def reusable_references(tenant: Tenant, value: Any) -> None:
    """Reference values (at any depth) name reusable settings by id: each must exist."""
    known = tenant.ids("reusablePolicySettings")
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if node.get("@odata.type") == _REFERENCE_VALUE and node.get("value") not in known:
                raise bad_request(f"The reusable setting '{node.get('value')}' referenced by a "
                                  "setting value was not found.")
            stack.extend(node.values())


def compliance_script(tenant: Tenant, value: Any) -> None:
    """A Windows compliance policy's custom compliance names an existing compliance script."""
    if not isinstance(value, dict):
        raise bad_request("'deviceCompliancePolicyScript' must be an object.")
    script_id = value.get("deviceComplianceScriptId")
    if script_id not in tenant.ids("deviceComplianceScripts"):
        raise bad_request(f"The device compliance script '{script_id}' was not found.")


def assignment(tenant: Tenant, item: Any) -> None:
    if not isinstance(item, dict) or not isinstance(item.get("target"), dict):
        raise bad_request("An assignment must carry a 'target' object.")
    target = item["target"]
    kind = target.get("@odata.type")
    if kind not in catalog.ASSIGNMENT_TARGET_TYPES:
        raise bad_request(f"Unknown assignment target type '{kind}'.")
    if "Group" in kind.rsplit(".", 1)[-1] and not isinstance(target.get("groupId"), str):
        raise bad_request("A group assignment target requires 'groupId'.")
    filter_type = target.get("deviceAndAppManagementAssignmentFilterType") or "none"
    filter_id = target.get("deviceAndAppManagementAssignmentFilterId")
    if filter_type not in ("none", "include", "exclude"):
        raise bad_request(f"Invalid filter type '{filter_type}'.")
    if filter_type != "none" or filter_id not in (None, "", _EMPTY_GUID):
        if filter_id not in tenant.ids("assignmentFilters"):
            raise bad_request(f"The assignment filter '{filter_id}' was not found.")


def scheduled_actions(tenant: Tenant, rules: Any) -> None:
    if not isinstance(rules, list) or not rules:
        raise bad_request("'scheduledActionsForRule' must be a non-empty array.")
    templates = tenant.ids("notificationMessageTemplates")
    for rule in rules:
        actions = rule.get("scheduledActionConfigurations") if isinstance(rule, dict) else None
        if not isinstance(actions, list) or not actions:
            raise bad_request("Each scheduled action rule needs 'scheduledActionConfigurations'.")
        for action in actions:
            if not isinstance(action, dict) or not action.get("actionType"):
                raise bad_request("Each scheduled action needs an 'actionType'.")
            template = action.get("notificationTemplateId")
            if template not in (None, "", _EMPTY_GUID) and template not in templates:
                raise bad_request(f"The notification template '{template}' was not found.")


def definition_value(tenant: Tenant, item: Any, require_definition: bool) -> dict[str, Any]:
    """A group policy definition value; `definition@odata.bind` resolves to the definition."""
    if not isinstance(item, dict):
        raise bad_request("A definition value must be an object.")
    value = {k: copy.deepcopy(v) for k, v in item.items()
             if not k.endswith("@odata.bind") and k != "definition"}
    bind = item.get("definition@odata.bind")
    if bind is None and isinstance(item.get("definition"), dict):
        bind = item["definition"].get("id")
    if bind is not None:
        m = _BIND_ID.search(str(bind))
        def_id = (m.group(1) or m.group(2)) if m else str(bind)
        definition = tenant.data.get("groupPolicyDefinitions", {}).get(def_id)
        if definition is None:
            raise bad_request(f"The group policy definition '{def_id}' was not found.")
        value["definition"] = copy.deepcopy(definition)
    elif require_definition:
        raise bad_request("'definition@odata.bind' is required for a new definition value.")
    presentations = []
    for pv in list_of(item, "presentationValues"):
        if not isinstance(pv, dict):
            raise bad_request("presentationValues entries must be objects.")
        presentations.append({k: copy.deepcopy(v) for k, v in pv.items()
                              if not k.endswith("@odata.bind")})
    value["presentationValues"] = presentations
    return value


def ca_policy(tenant: Tenant, body: dict[str, Any], mode: str) -> None:
    state = body.get("state")
    if state is not None and state not in ("enabled", "disabled",
                                           "enabledForReportingButNotEnforced"):
        raise bad_request(f"1031: Invalid state value '{state}'.")
    conditions = body.get("conditions")
    if (mode != "patch" or "conditions" in body) and not isinstance(conditions, dict):
        raise bad_request("1003: 'conditions' is required and must be an object.")
    locations = (conditions or {}).get("locations") or {}
    if not isinstance(locations, dict):
        raise bad_request("1040: 'conditions.locations' must be an object.")
    known = tenant.ids("namedLocations")
    for key in ("includeLocations", "excludeLocations"):
        for loc in list_of(locations, key):
            if loc not in ("All", "AllTrusted", _EMPTY_GUID) and loc not in known:
                raise bad_request(f"1040: Invalid location value: '{loc}'.")
    applications = (conditions or {}).get("applications") or {}
    if not isinstance(applications, dict):
        raise bad_request("1003: 'conditions.applications' must be an object.")
    contexts = tenant.ids("authenticationContextClassReferences")
    for ref in list_of(applications, "includeAuthenticationContextClassReferences"):
        if not isinstance(ref, str) or ref not in contexts:
            raise bad_request(f"1003: Invalid authentication context class reference '{ref}'.")
    grant = body.get("grantControls")
    if grant is not None and not isinstance(grant, dict):
        raise bad_request("1003: 'grantControls' must be an object.")
    if isinstance(grant, dict):
        ca_grant_controls(tenant, grant)


def ca_grant_controls(tenant: Tenant, grant: dict[str, Any]) -> None:
    """Terms of use and the authentication strength must exist. The strength is written as
    ``{"id": …}`` and stored as that reference (reads show the whole strength: see
    ``areas.identity.show_conditional_access``)."""
    agreements = tenant.ids("termsOfUseAgreements")
    for agreement in list_of(grant, "termsOfUse"):
        if not isinstance(agreement, str) or agreement not in agreements:
            raise bad_request(f"1003: Invalid terms of use '{agreement}'.")
    strength = grant.get("authenticationStrength")
    if strength is None:
        return
    strengths = tenant.data.get("authenticationStrengthPolicies", {})
    strength_id = strength.get("id") if isinstance(strength, dict) else None
    target = strengths.get(strength_id) if isinstance(strength_id, str) else None
    if target is None:
        raise bad_request("1003: 'grantControls.authenticationStrength' must name an existing "
                          "authentication strength by its id.")
    grant["authenticationStrength"] = {"id": strength_id}
