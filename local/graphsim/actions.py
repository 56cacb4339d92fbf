"""Item actions of the first twenty types, as ``TypeSpec.handlers`` functions (the
catalog's breadth keeps its actions beside its types in :mod:`local.graphsim.areas`).
Imports are inside the functions, as in the area modules: the catalog imports this module
before the engine exists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .graph import GraphEngine, GraphResponse
    from .spec import TypeSpec
    from .store import Tenant


def schedule_actions_for_rules(engine: GraphEngine, tenant: Tenant, spec: TypeSpec,
                           obj: dict[str, Any] | None, raw: Any) -> GraphResponse:
    """``POST deviceCompliancePolicies/{id}/scheduleActionsForRules``: the rules replaced."""
    import copy

    from . import validate
    from .graph import GraphResponse, _normalize_sub, _require_writable
    from .odata import bad_request
    from .store import touch

    assert obj is not None
    _require_writable(spec)
    body = validate.require_object(raw)
    rules = body.get("deviceComplianceScheduledActionForRules")
    if not isinstance(rules, list):
        raise bad_request("The request body must contain "
                          "'deviceComplianceScheduledActionForRules'.")
    validate.scheduled_actions(tenant, rules)
    obj["scheduledActionsForRule"] = _normalize_sub(
        spec.sub("scheduledActionsForRule"), copy.deepcopy(rules), obj["id"])
    touch(spec, obj)
    return GraphResponse(204)

def update_definition_values(engine: GraphEngine, tenant: Tenant, spec: TypeSpec,
                         obj: dict[str, Any] | None, raw: Any) -> GraphResponse:
    """``POST groupPolicyConfigurations/{id}/updateDefinitionValues``: values added,
    updated and deleted in one call."""
    import uuid

    from . import seed, validate
    from .graph import GraphResponse, _normalize_sub, _require_writable
    from .odata import bad_request
    from .store import touch

    assert obj is not None
    _require_writable(spec)
    body = validate.require_object(raw)
    values = {v["id"]: v for v in obj.get("definitionValues", [])}
    sub = spec.sub("definitionValues")
    for item in validate.list_of(body, "added"):
        value = validate.definition_value(tenant, item, require_definition=True)
        value["id"] = str(uuid.uuid4())
        values[value["id"]] = _normalize_sub(sub, [value], obj["id"], keep_ids=True)[0]
    for item in validate.list_of(body, "updated"):
        if not isinstance(item, dict) or item.get("id") not in values:
            raise bad_request("An updated definition value references an unknown id.")
        value = validate.definition_value(tenant, item, require_definition=False)
        target = values[item["id"]]
        target.update({k: v for k, v in value.items() if k != "id"})
        target["lastModifiedDateTime"] = seed.now_iso()
    for deleted in validate.list_of(body, "deletedIds"):
        if deleted not in values:
            raise bad_request(f"A deleted definition value id '{deleted}' does not exist.")
        values.pop(deleted)
    obj["definitionValues"] = list(values.values())
    touch(spec, obj)
    return GraphResponse(204)

