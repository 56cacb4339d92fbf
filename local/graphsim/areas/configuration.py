"""Device configuration: compliance scripts, reusable settings, settings-catalog compliance,
intents, custom attribute scripts, hotpatch, BIOS, terms and conditions, device categories.

Cross-references are real: a settings catalog firewall policy and the Linux compliance policy
point at reusable settings through reference values (a dangling one is a 400, see
``validate.reusable_references``), a Windows compliance policy at a compliance script, intents
at the built-in templates they were created from. The templates
(``deviceManagement/templates``) are read-only and the same in every tenant; an intent is
created only through a template's ``createInstance`` and its settings change only through
``updateSettings`` (matched by definition id, as Graph does).
"""

from __future__ import annotations

import base64
import copy
import json
import random
import uuid
from typing import TYPE_CHECKING, Any

# validate, graph, store and catalog import this module (through the catalog): handlers
# import them when they run.
from ..odata import bad_request
from ..spec import BETA, BOTH, G, ReadRules, SubSpec, TypeSpec, assignments_sub

if TYPE_CHECKING:
    from ..graph import GraphEngine, GraphResponse
    from ..seed import TenantSeeder
    from ..store import Tenant

REFERENCE_VALUE = G + "deviceManagementConfigurationReferenceSettingValue"
INTENT_SETTING_TYPES = frozenset(G + t for t in (
    "deviceManagementSettingInstance", "deviceManagementBooleanSettingInstance",
    "deviceManagementIntegerSettingInstance", "deviceManagementStringSettingInstance",
    "deviceManagementCollectionSettingInstance", "deviceManagementComplexSettingInstance",
    "deviceManagementAbstractComplexSettingInstance",
))
CREATE_INSTANCE_KEYS = frozenset({"displayName", "description", "settingsDelta",
                                  "roleScopeTagIds"})
_INTENT_SETTINGS = SubSpec("settings", G + "deviceManagementSettingInstance")


# ---- action handlers --------------------------------------------------------------------

def _apply_intent_settings(current: list[dict[str, Any]], updates: Any) -> list[dict[str, Any]]:
    """Intent settings after ``updates`` (a new list; ``current`` is left alone): matched by
    ``definitionId``, a match keeps its id and takes the new value, anything else is added;
    settings not named stay as they are."""
    if not isinstance(updates, list):
        raise bad_request("'settings' must be an array.")
    out = copy.deepcopy(current)
    by_definition = {s.get("definitionId"): s for s in out}
    for update in updates:
        if not isinstance(update, dict) or not isinstance(update.get("definitionId"), str):
            raise bad_request("Each setting needs a 'definitionId'.")
        if update.get("@odata.type", _INTENT_SETTINGS.odata_type) not in INTENT_SETTING_TYPES:
            raise bad_request(f"Unknown setting instance type '{update.get('@odata.type')}'.")
        if not isinstance(update.get("valueJson"), str):
            raise bad_request(f"Setting '{update['definitionId']}' needs a 'valueJson' string.")
        value = {"@odata.type": _INTENT_SETTINGS.odata_type,
                 **{k: copy.deepcopy(v) for k, v in update.items() if k != "id"}}
        existing = by_definition.get(update["definitionId"])
        if existing is not None:
            setting_id = existing.get("id") or str(uuid.uuid4())
            existing.clear()
            existing.update({**value, "id": setting_id})
        else:
            by_definition[update["definitionId"]] = {**value, "id": str(uuid.uuid4())}
            out.append(by_definition[update["definitionId"]])
    return out


def update_intent_settings(engine: GraphEngine, tenant: Tenant, spec: TypeSpec,
                           obj: dict[str, Any] | None, raw: Any) -> GraphResponse:
    """``POST intents/{id}/updateSettings {settings}`` → 204."""
    from .. import validate
    from ..graph import GraphResponse
    from ..store import touch

    assert obj is not None
    body = validate.require_object(raw)
    if "settings" not in body:
        raise bad_request("The request body must contain 'settings'.")
    obj["settings"] = _apply_intent_settings(obj.get("settings") or [], body["settings"])
    touch(spec, obj)
    return GraphResponse(204)


def create_instance(engine: GraphEngine, tenant: Tenant, spec: TypeSpec,
                    template: dict[str, Any] | None, raw: Any) -> GraphResponse:
    """``POST templates/{id}/createInstance`` → 200 with the new intent: the template's
    settings with ``settingsDelta`` applied."""
    from .. import validate
    from ..catalog import BY_KEY
    from ..graph import GraphResponse

    assert template is not None
    body = validate.require_object(raw)
    unknown = sorted(set(body) - CREATE_INSTANCE_KEYS)
    if unknown:
        raise bad_request(f"'{unknown[0]}' is not a parameter of createInstance.")
    if template.get("isDeprecated"):
        raise bad_request(f"The template '{template['id']}' is deprecated: no new instances.")
    intents = BY_KEY["intents"]
    defaults = [{**s, "id": str(uuid.uuid4())} for s in template.get("settings") or []]
    settings = _apply_intent_settings(defaults, body.get("settingsDelta") or [])
    fields = {k: v for k, v in body.items() if k != "settingsDelta"}
    ctx = f"{engine.base_url}/beta/$metadata#{intents.path}"
    created = engine.create(tenant, intents, fields, ctx)
    obj = tenant.collection(intents)[created.body["id"]]
    obj.update(settings=settings, templateId=template["id"],
               isMigratingToConfigurationPolicy=False, isAssigned=False)
    return GraphResponse(200, {"@odata.context": f"{ctx}/$entity",
                               **engine.present(intents, obj, {}, None)})


def set_scheduled_actions(engine: GraphEngine, tenant: Tenant, spec: TypeSpec,
                          obj: dict[str, Any] | None, raw: Any) -> GraphResponse:
    """``POST compliancePolicies/{id}/setScheduledActions {scheduledActions}`` → 200 with
    the rules now in place (they replace the old ones)."""
    from .. import validate
    from ..graph import GraphResponse, _normalize_sub
    from ..store import touch

    assert obj is not None
    body = validate.require_object(raw)
    rules = body.get("scheduledActions")
    if not isinstance(rules, list):
        raise bad_request("The request body must contain 'scheduledActions'.")
    validate.scheduled_actions(tenant, rules)
    obj["scheduledActionsForRule"] = _normalize_sub(spec.sub("scheduledActionsForRule"),
                                                    copy.deepcopy(rules), obj["id"])
    touch(spec, obj)
    return GraphResponse(200, {"value": copy.deepcopy(obj["scheduledActionsForRule"])})


TYPES: tuple[TypeSpec, ...] = (
    TypeSpec(
        key="deviceCategories", path="deviceManagement/deviceCategories",
        odata_types=(G + "deviceCategory",), versions=BOTH, created_prop=None,
        modified_prop=None,
    ),
    TypeSpec(
        key="termsAndConditions", path="deviceManagement/termsAndConditions",
        odata_types=(G + "termsAndConditions",), versions=BOTH,
        read_only=frozenset({"modifiedDateTime"}),
        subs=(assignments_sub("termsAndConditionsAssignment"),),  # no /assign: POST each
        reads=ReadRules(item_expand_empty=frozenset({"assignments"})),
    ),
    TypeSpec(
        key="deviceComplianceScripts", path="deviceManagement/deviceComplianceScripts",
        odata_types=(G + "deviceComplianceScript",), versions=BETA,
        subs=(assignments_sub("deviceHealthScriptAssignment"),),
        assign_keys=("deviceHealthScriptAssignments",),
        reads=ReadRules(list_omits=frozenset({"detectionScriptContent"})),
    ),
    TypeSpec(
        key="deviceCustomAttributeShellScripts",
        path="deviceManagement/deviceCustomAttributeShellScripts",
        odata_types=(G + "deviceCustomAttributeShellScript",), versions=BETA,
        subs=(assignments_sub("deviceManagementScriptAssignment"),),
        assign_keys=("deviceManagementScriptAssignments",
                     "deviceManagementScriptGroupAssignments"),
        reads=ReadRules(list_omits=frozenset({"scriptContent"})),
    ),
    TypeSpec(
        key="intents", path="deviceManagement/intents",
        odata_types=(G + "deviceManagementIntent",), versions=BETA, created_prop=None,
        read_only=frozenset({"templateId", "isMigratingToConfigurationPolicy"}),
        subs=(_INTENT_SETTINGS, assignments_sub("deviceManagementIntentAssignment")),
        assign_keys=("assignments",), handlers=(("updateSettings", update_intent_settings),),
    ),
    TypeSpec(  # built-in, read-only; an intent is created from one of them
        key="deviceManagementTemplates", path="deviceManagement/templates",
        odata_types=(G + "securityBaselineTemplate", G + "deviceManagementTemplate"),
        versions=BETA, writable=False, scope_tag_prop=None, created_prop=None,
        modified_prop=None, subs=(_INTENT_SETTINGS,),
        handlers=(("createInstance", create_instance),),
    ),
    TypeSpec(
        key="reusablePolicySettings", path="deviceManagement/reusablePolicySettings",
        odata_types=(G + "deviceManagementReusablePolicySetting",), versions=BETA,
        version_kind="int", scope_tag_prop=None,
        read_only=frozenset({"version", "referencingConfigurationPolicyCount"}),
        reads=ReadRules(select_only=frozenset({"settingInstance"})),
    ),
    TypeSpec(
        key="compliancePolicies", path="deviceManagement/compliancePolicies",
        odata_types=(G + "deviceManagementCompliancePolicy",), versions=BETA,
        name_prop="name", put_replace=True,
        create_navs=("settings", "scheduledActionsForRule"),
        required_on_create=("scheduledActionsForRule",),
        subs=(SubSpec("settings", G + "deviceManagementConfigurationSetting",
                      id_style="index"),
              SubSpec("scheduledActionsForRule",
                      G + "deviceManagementComplianceScheduledActionForRule",
                      nested=("scheduledActionConfigurations",)),
              assignments_sub("deviceManagementConfigurationPolicyAssignment")),
        assign_keys=("assignments",),
        handlers=(("setScheduledActions", set_scheduled_actions),),
    ),
    TypeSpec(
        key="windowsQualityUpdatePolicies",
        path="deviceManagement/windowsQualityUpdatePolicies",
        odata_types=(G + "windowsQualityUpdatePolicy",), versions=BETA,
        subs=(assignments_sub("windowsQualityUpdatePolicyAssignment"),),
        assign_keys=("assignments",),
    ),
    TypeSpec(
        key="hardwareConfigurations", path="deviceManagement/hardwareConfigurations",
        odata_types=(G + "hardwareConfiguration",), versions=BETA, version_kind="int",
        read_only=frozenset({"version"}),
        subs=(assignments_sub("hardwareConfigurationAssignment"),),
        assign_keys=("hardwareConfigurationAssignments",),
        reads=ReadRules(list_omits=frozenset({"configurationFileContent"})),
    ),
)
POLICY_KEYS: tuple[str, ...] = (
    "deviceCategories", "termsAndConditions", "deviceComplianceScripts",
    "deviceCustomAttributeShellScripts", "intents", "reusablePolicySettings",
    "compliancePolicies", "windowsQualityUpdatePolicies", "hardwareConfigurations",
)
COUNTS: dict[str, int] = {
    "deviceCategories": 1, "termsAndConditions": 1, "deviceComplianceScripts": 1,
    "deviceCustomAttributeShellScripts": 1, "intents": 1, "reusablePolicySettings": 2,
    "compliancePolicies": 1, "windowsQualityUpdatePolicies": 1, "hardwareConfigurations": 1,
}


# ---- seeding -------------------------------------------------------------------------------

FIREWALL_RULES = "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}"
DYNAMIC_KEYWORDS = "vendor_msft_firewall_mdmstore_dynamickeywords_addresses_{id}"
LINUX_DISCOVERY = "linux_customcompliance_discoveryscript_reusablesetting"
TEMPLATES = (  # (display name, subtype, settings: (definition id suffix, type, value))
    ("Microsoft Defender Firewall", "firewall", (
        ("firewallEnabled", "Boolean", True), ("firewallBlockStatefulFTP", "Boolean", False),
        ("firewallIdleTimeoutForSecurityAssociationInSeconds", "Integer", 300))),
    ("BitLocker", "diskEncryption", (
        ("bitLockerEncryptDevice", "Boolean", True),
        ("bitLockerRecoveryPasswordRotation", "String", "notConfigured"))),
)


def seed(s: TenantSeeder) -> None:
    """Add this area's objects to the tenant being seeded."""
    templates = _seed_templates(s)
    for i in range(s.n("deviceCategories")):
        obj = s.base("deviceCategory", f"Category {i + 1:03d}")
        obj.pop("createdDateTime")
        obj.pop("lastModifiedDateTime")
        obj["roleScopeTagIds"] = s.scope_tags()
        s.put("deviceCategories", obj)
    for i in range(s.n("termsAndConditions")):
        obj = s.base("termsAndConditions", f"Terms {i + 1:03d}")
        obj.update(modifiedDateTime=obj["lastModifiedDateTime"], title="Company terms",
                   bodyText="Devices that enrol accept the company's acceptable use policy.",
                   acceptanceStatement="I accept these terms.", version=1,
                   roleScopeTagIds=s.scope_tags())
        obj["assignments"] = s.assignments("termsAndConditionsAssignment", obj["id"], 1)
        s.put("termsAndConditions", obj)
    for i in range(s.n("deviceComplianceScripts")):
        obj = s.base("deviceComplianceScript", f"Compliance Script {i + 1:03d}")
        obj.update(publisher="PolicyVault", version="1", runAsAccount="system",
                   enforceSignatureCheck=False, runAs32Bit=False,
                   detectionScriptContent=s.script("detect compliance"),
                   roleScopeTagIds=s.scope_tags())
        s.put("deviceComplianceScripts", obj)
    for i in range(s.n("deviceCustomAttributeShellScripts")):
        obj = s.base("deviceCustomAttributeShellScript", f"Custom Attribute {i + 1:03d}")
        obj.update(customAttributeName=f"pvAttribute{i + 1}", customAttributeType="string",
                   scriptContent=s.script("attribute"), runAsAccount="system",
                   fileName=f"attribute{i + 1}.sh", roleScopeTagIds=s.scope_tags())
        obj["assignments"] = s.assignments("deviceManagementScriptAssignment", obj["id"])
        s.put("deviceCustomAttributeShellScripts", obj)
    for i in range(s.n("intents")):
        template = templates[i % len(templates)]
        obj = s.base("deviceManagementIntent", f"Endpoint Security {i + 1:03d}")
        obj.pop("createdDateTime")
        settings = [{**copy.deepcopy(t), "id": s.guid()} for t in template["settings"]]
        settings[-1].update(_intent_value(settings[-1], s.rng))  # one setting customized
        obj.update(templateId=template["id"], isMigratingToConfigurationPolicy=False,
                   roleScopeTagIds=s.scope_tags(), settings=settings)
        obj["assignments"] = s.assignments("deviceManagementIntentAssignment", obj["id"])
        obj["isAssigned"] = bool(obj["assignments"])
        s.put("intents", obj)
    reusable = [_seed_reusable(s, i) for i in range(s.n("reusablePolicySettings"))]
    firewall = [r["id"] for r in reusable if r["settingDefinitionId"] != LINUX_DISCOVERY]
    discovery = [r["id"] for r in reusable if r["settingDefinitionId"] == LINUX_DISCOVERY]
    _firewall_rules_policy(s, firewall)
    for i in range(s.n("compliancePolicies")):
        _seed_linux_compliance(s, i, discovery)
    _script_compliance_policy(s)
    for i in range(s.n("windowsQualityUpdatePolicies")):
        obj = s.base("windowsQualityUpdatePolicy", f"Hotpatch {i + 1:03d}")
        obj.update(hotpatchEnabled=True, roleScopeTagIds=s.scope_tags(), approvalSettings=[{
            "@odata.type": G + "windowsQualityUpdateApprovalSetting",
            "windowsQualityUpdateCadence": "monthly", "windowsQualityUpdateCategory": "all",
            "approvalMethodType": "automatic", "deferredDeploymentInDay": 0}])
        obj["assignments"] = s.assignments("windowsQualityUpdatePolicyAssignment", obj["id"])
        s.put("windowsQualityUpdatePolicies", obj)
    for i in range(s.n("hardwareConfigurations")):
        obj = s.base("hardwareConfiguration", f"BIOS {i + 1:03d}", version=1)
        content = f"[Settings]\nSecureBoot=Enabled\nTpmSecurity=Enabled\n; pv {i + 1}\n"
        obj.update(fileName=f"bios{i + 1}.cctk", hardwareConfigurationFormat="dell",
                   configurationFileContent=base64.b64encode(content.encode()).decode(),
                   perDevicePasswordDisabled=False, roleScopeTagIds=s.scope_tags())
        obj["assignments"] = s.assignments("hardwareConfigurationAssignment", obj["id"])
        s.put("hardwareConfigurations", obj)


def _intent_setting(definition: str, kind: str, value: Any) -> dict[str, Any]:
    return {"@odata.type": G + f"deviceManagement{kind}SettingInstance",
            "definitionId": f"deviceConfiguration--windows10EndpointProtectionConfiguration_"
                            f"{definition}",
            "valueJson": json.dumps(value), "value": value}


def _intent_value(setting: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    value = setting["value"]
    if isinstance(value, bool):
        value = not value
    elif isinstance(value, int):
        value = rng.randint(60, 600)
    else:
        value = "enabledForAzureAd"
    return {"value": value, "valueJson": json.dumps(value)}


def _seed_templates(s: TenantSeeder) -> list[dict[str, Any]]:
    """Built-in templates: the same ids in every tenant (a seed-only RNG)."""
    out = []
    for i, (name, subtype, settings) in enumerate(TEMPLATES):
        rng = random.Random(f"intent-template:{i}")
        template = {
            "@odata.type": G + "securityBaselineTemplate", "id": str(uuid.UUID(
                int=rng.getrandbits(128), version=4)),
            "displayName": name, "description": f"Endpoint security: {name}",
            "versionInfo": "2", "isDeprecated": False, "intentCount": 0,
            "templateType": "securityTemplate", "platformType": "windows10AndLater",
            "templateSubtype": subtype, "publishedDateTime": "2020-06-01T00:00:00Z",
            "settings": [{**_intent_setting(*setting), "id": str(uuid.UUID(
                int=rng.getrandbits(128), version=4))} for setting in settings]}
        out.append(s.put("deviceManagementTemplates", template))
    return out


def _simple(definition: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.type": G + "deviceManagementConfigurationSimpleSettingInstance",
            "settingDefinitionId": definition, "settingInstanceTemplateReference": None,
            "simpleSettingValue": {"settingValueTemplateReference": None, **value}}


def _string(value: str) -> dict[str, Any]:
    return {"@odata.type": G + "deviceManagementConfigurationStringSettingValue",
            "value": value}


def _reference(reusable_id: str) -> dict[str, Any]:
    return {"@odata.type": REFERENCE_VALUE, "settingValueTemplateReference": None,
            "value": reusable_id, "note": None}


def _seed_reusable(s: TenantSeeder, i: int) -> dict[str, Any]:
    """Even ones: a firewall dynamic keyword (address group); odd: a Linux discovery script."""
    if i % 2 == 0:
        obj = s.base("deviceManagementReusablePolicySetting", f"PV Partner Addresses {i + 1}")
        keyword = DYNAMIC_KEYWORDS
        obj["settingDefinitionId"] = keyword
        obj["settingInstance"] = {
            "@odata.type": G + "deviceManagementConfigurationGroupSettingCollectionInstance",
            "settingDefinitionId": keyword, "settingInstanceTemplateReference": None,
            "groupSettingCollectionValue": [{"settingValueTemplateReference": None, "children": [
                _simple(f"{keyword}_keyword", _string(f"pv-partners-{i + 1}")),
                {"@odata.type": G
                 + "deviceManagementConfigurationSimpleSettingCollectionInstance",
                 "settingDefinitionId": f"{keyword}_addresses",
                 "settingInstanceTemplateReference": None,
                 "simpleSettingCollectionValue": [
                     {**_string(f"198.51.{100 + i}.0/24"), "settingValueTemplateReference": None}
                 ]}]}]}
    else:
        obj = s.base("deviceManagementReusablePolicySetting", f"PV Linux Discovery {i + 1}")
        obj["settingDefinitionId"] = LINUX_DISCOVERY
        obj["settingInstance"] = _simple(LINUX_DISCOVERY, _string(s.script("discover")))
    obj.update(version=1, referencingConfigurationPolicyCount=0)
    return s.put("reusablePolicySettings", obj)


def _firewall_rules_policy(s: TenantSeeder, reusable_ids: list[str]) -> None:
    """The last settings catalog policy (when there are two or more) becomes a firewall rules
    policy whose rule's remote addresses are a reusable setting."""
    policies = list(s.data.get("configurationPolicies", {}).values())
    if len(policies) < 2 or not reusable_ids:
        return
    policy = policies[-1]
    rule = FIREWALL_RULES
    for reusable_id in reusable_ids:
        s.data["reusablePolicySettings"][reusable_id]["referencingConfigurationPolicyCount"] += 1
    policy.update(description="Seeded firewall rules", technologies="mdm,microsoftSense")
    policy["settings"] = [{
        "@odata.type": G + "deviceManagementConfigurationSetting", "id": "0",
        "settingInstance": {
            "@odata.type": G + "deviceManagementConfigurationGroupSettingCollectionInstance",
            "settingDefinitionId": rule, "settingInstanceTemplateReference": None,
            "groupSettingCollectionValue": [{"settingValueTemplateReference": None, "children": [
                _simple(f"{rule}_name", _string("PV allow partners")),
                {"@odata.type": G + "deviceManagementConfigurationChoiceSettingInstance",
                 "settingDefinitionId": f"{rule}_action_type",
                 "settingInstanceTemplateReference": None,
                 "choiceSettingValue": {"settingValueTemplateReference": None,
                                        "value": f"{rule}_action_type_1", "children": []}},
                {"@odata.type": G
                 + "deviceManagementConfigurationSimpleSettingCollectionInstance",
                 "settingDefinitionId": f"{rule}_remoteaddressdynamickeywords",
                 "settingInstanceTemplateReference": None,
                 "simpleSettingCollectionValue": [_reference(r) for r in reusable_ids]},
            ]}]}}]
    policy["settingCount"] = len(policy["settings"])


def _seed_linux_compliance(s: TenantSeeder, i: int, discovery_ids: list[str]) -> None:
    obj = s.base("deviceManagementCompliancePolicy", f"Linux Compliance {i + 1:03d}",
                 name_prop="name")
    children = [_simple("linux_customcompliance_rules", _string(s.script("rules")))]
    if discovery_ids:
        children.insert(0, _simple("linux_customcompliance_discoveryscript",
                                   _reference(discovery_ids[i % len(discovery_ids)])))
    obj.update(platforms="linux", technologies="linuxMdm", creationSource=None,
               roleScopeTagIds=s.scope_tags(), settings=[{
                   "@odata.type": G + "deviceManagementConfigurationSetting", "id": "0",
                   "settingInstance": {
                       "@odata.type": G + "deviceManagementConfigurationChoiceSettingInstance",
                       "settingDefinitionId": "linux_customcompliance_required",
                       "settingInstanceTemplateReference": None,
                       "choiceSettingValue": {
                           "settingValueTemplateReference": None,
                           "value": "linux_customcompliance_required_true",
                           "children": children}}}])
    obj["settingCount"] = len(obj["settings"])
    obj["scheduledActionsForRule"] = [{
        "@odata.type": G + "deviceManagementComplianceScheduledActionForRule",
        "id": s.guid(), "ruleName": None, "scheduledActionConfigurations": [{
            "@odata.type": G + "deviceManagementComplianceActionItem", "id": s.guid(),
            "gracePeriodHours": 0, "actionType": "block", "notificationTemplateId": "",
            "notificationMessageCCList": []}]}]
    obj["assignments"] = s.assignments("deviceManagementConfigurationPolicyAssignment",
                                       obj["id"])
    obj["isAssigned"] = bool(obj["assignments"])
    s.put("compliancePolicies", obj)


def _script_compliance_policy(s: TenantSeeder) -> None:
    """The first Windows compliance policy checks custom compliance with a seeded script."""
    scripts = list(s.data.get("deviceComplianceScripts", {}))
    windows = [p for p in s.data.get("deviceCompliancePolicies", {}).values()
               if p["@odata.type"] == G + "windows10CompliancePolicy"]
    if not scripts or not windows:
        return
    rules = {"Rules": [{"SettingName": "PVAgentRunning", "Operator": "IsEquals",
                        "DataType": "Boolean", "Operand": True}]}
    windows[0]["deviceCompliancePolicyScript"] = {
        "@odata.type": G + "deviceCompliancePolicyScript",
        "deviceComplianceScriptId": scripts[0],
        "rulesContent": base64.b64encode(json.dumps(rules).encode()).decode()}
