"""Device configuration: settings catalog, templates, compliance, administrative templates,
scripts, Windows update rings, and the §7.1 breadth of this area — reusable settings,
settings-catalog compliance, legacy endpoint security intents, compliance and custom attribute
scripts, hotpatch, BIOS, terms and conditions, device categories.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shared.graph import evidence as ev
from shared.graph import hooks
from shared.graph.documents import clean_entry
from shared.graph.resource import (
    ASSIGNED,
    ASSIGNMENTS,
    ITEM_ASSIGNMENTS,
    LISTED_ASSIGNMENTS,
    SCOPE_TAGS,
    VERSIONED,
    G,
    Reference,
    ResourceType,
    SubCollection,
)
from shared.graph.secrets import Secret, Served

# ---- evidence: why each read plan is what Graph serves -------------------------------------

REUSABLE_SELECT = (
    "almenscorner/IntuneCD ReusableSettings.py lists reusablePolicySettings with $select="
    "id,settinginstance,displayname,description,settingDefinitionId,version; "
    "Micke-K/IntuneManagement Start-PostGetReusableSettings re-reads each one with $select="
    "settinginstance: a plain GET leaves settingInstance out")
REUSABLE_REFERENCE = (
    "learn.microsoft.com deviceManagementConfigurationReferenceSettingValue (a string value "
    "with a note); IntuneCD update_compliancePolicies.py writes the reusable setting's id as "
    "the value (linux_customcompliance_discoveryscript); IntuneManagement imports "
    "ReusableSettings before EndpointSecurity")
COMPLIANCE_V2 = (
    "IntuneManagement 'Compliance Policies - V2': compliancePolicies with Expand=settings, "
    "name property 'name'; IntuneCD update_compliancePolicies.py: "
    "{id}/scheduledActionsForRule?$expand=scheduledActionConfigurations and {id}/assignments "
    "read on their own, POST with settings and rules inline, PUT for settings, "
    "setScheduledActions {scheduledActions} for rules, /assign {assignments}")
INTENTS = (
    "IntuneManagement EndpointSecurity: GET intents/{id}/settings, create through "
    "templates/{templateId}/createInstance, settings through intents/{id}/updateSettings "
    "{settings}; IntuneCD ManagementIntents.py: intents/{id}/assignments read on their own")
TERMS = (
    "IntuneManagement TermsAndConditions.psm1: '?$expand=assignments is not working so get "
    "assignments' (GET {id}/assignments), assignments imported one POST each to "
    "termsAndConditions/{id}/assignments; Graph documents no assign action for the type")
SCRIPT_ITEMS = (
    "IntuneCD ComplianceScripts.py / CustomAttributes.py read every script with an item GET "
    "(the list lacks the script body); CustomAttributes assignments via ?$expand=assignments. "
    "Compliance scripts: Graph documents assignments (deviceHealthScriptAssignment, "
    "GET {id}/assignments) and assign, like health scripts, though the portal never assigns "
    "them and IntuneCD skips them")
ITEM_PROFILES = (
    "learn.microsoft.com beta hardwareConfiguration / windowsQualityUpdatePolicy / "
    "deviceCategory: no tool evidence for $expand, so assignments are read on their own and "
    "binary content (configurationFileContent) by an item GET")

# Settings catalog values that point at a reusable setting (firewall rules, Linux discovery
# scripts) carry its id as their value.
REUSABLE_SETTINGS = Reference("reusablePolicySettings", "value",
                              within=G + "deviceManagementConfigurationReferenceSettingValue")
COMPLIANCE_SCRIPT = Reference(
    "deviceComplianceScripts", "deviceCompliancePolicyScript.deviceComplianceScriptId")
NOTIFICATION_TEMPLATES = Reference(
    "notificationMessageTemplates",
    "scheduledActionsForRule[].scheduledActionConfigurations[].notificationTemplateId")
INTENT_WRITABLE = ("displayName", "description", "roleScopeTagIds")  # createInstance, PATCH
CUSTOM_ATTRIBUTE_FIXED = frozenset({"customAttributeName", "customAttributeType", "displayName"})


# ---- secrets (DESIGN §12) -------------------------------------------------------------------

OMA_SECRET_EVIDENCE = (
    "learn.microsoft.com beta omaSetting: secretReferenceValueId 'ReferenceId for looking up "
    "secret for decryption', isEncrypted 'Indicates whether the value field is encrypted', both "
    "read-only; deviceConfiguration getOmaSettingPlainTextValue(secretReferenceValueId) returns "
    "a String and needs DeviceManagementConfiguration.ReadWrite.All ('This API involves "
    "potential secret values'); IntuneCD and Microsoft365DSC read encrypted values through it "
    "one call per setting; terraprovider microsoft365wp: string, base64 and XML values are "
    "saved encrypted")
OMA_SETTINGS = frozenset(G + t for t in (
    "omaSettingString", "omaSettingStringXml", "omaSettingBase64", "omaSettingInteger",
    "omaSettingBoolean", "omaSettingFloatingPoint", "omaSettingDateTime"))
# Wi-Fi profiles with a pre-shared key (write-only: Graph reads it as null)
WIFI_WITH_KEY = frozenset(G + t for t in (
    "windowsWifiConfiguration", "iosWiFiConfiguration", "macOSWiFiConfiguration",
    "androidDeviceOwnerWiFiConfiguration"))
_KEYED_SECURITY = frozenset({"wep", "wpaPersonal", "wpa2Personal", "wpa3Personal"})
SECRET_SETTING_VALUE = frozenset({G + "deviceManagementConfigurationSecretSettingValue"})


def oma_encrypted(setting: dict[str, Any]) -> bool:
    return setting.get("isEncrypted") is True


def oma_plain_text_path(object_path: str, setting: dict[str, Any]) -> str | None:
    """Where Graph serves an encrypted OMA-URI value's plain text (one request each)."""
    reference = setting.get("secretReferenceValueId")
    if not isinstance(reference, str) or not reference:
        return None
    quoted = quote(reference.replace("'", "''"), safe="-_.'")
    return f"{object_path}/getOmaSettingPlainTextValue(secretReferenceValueId='{quoted}')"


def wifi_key_set(profile: dict[str, Any]) -> bool:
    """Whether a Wi-Fi profile has a pre-shared key (its security type uses one)."""
    security = profile.get("wiFiSecurityType") or profile.get("wifiSecurityType")
    return security in _KEYED_SECURITY or profile.get("preSharedKeyIsSet") is True


def token_value(value: dict[str, Any]) -> bool:
    return value.get("valueState") == "encryptedValueToken"


def plain_value(value: dict[str, Any]) -> bool:
    return not token_value(value)


DEVICE_CONFIGURATION_SECRETS = frozenset({
    Secret("value", within=OMA_SETTINGS, when=oma_encrypted, served=Served.MASKED,
           reveal=oma_plain_text_path,
           server_fields=frozenset({"isEncrypted", "secretReferenceValueId"}),
           note="getOmaSettingPlainTextValue needs DeviceManagementConfiguration.ReadWrite.All"),
    Secret("preSharedKey", within=WIFI_WITH_KEY, served=Served.NEVER, is_set=wifi_key_set,
           note="Graph never returns Wi-Fi pre-shared keys"),
    "kioskModeExitCode",  # Android Enterprise dedicated devices: the PIN that leaves kiosk mode
})
# Settings catalog secret settings: a plain value Graph returns as is (notEncrypted), or an
# encrypted token it returns instead of the value (encryptedValueToken).
SETTINGS_SECRETS = frozenset({
    Secret("value", within=SECRET_SETTING_VALUE, when=plain_value),
    Secret("value", within=SECRET_SETTING_VALUE, when=token_value, served=Served.NEVER,
           note="Graph returns secret settings as an encryptedValueToken"),
})


# ---- hooks of this area's entries ---------------------------------------------------------

def intent_create_path(snapshot: dict[str, Any]) -> str:
    """An intent is an instance of its template (legacy endpoint security)."""
    template = quote(str(snapshot.get("templateId") or ""), safe="")
    return f"deviceManagement/templates/{template}/createInstance"


def has_template(document: dict[str, Any]) -> bool:
    return bool(document.get("templateId"))


def prepare_intent(payload: dict[str, Any], snapshot: dict[str, Any], mode: str,
                   ca_state: str) -> dict[str, Any]:
    """``createInstance`` and the intent PATCH take only the names and scope tags; the
    template is the create path and the settings go through ``updateSettings``."""
    return {k: payload[k] for k in INTENT_WRITABLE if k in payload}


async def update_intent_settings(ctx: hooks.WriteContext) -> None:
    """Intent settings change only through ``updateSettings`` (matched by definition id)."""
    sub = ctx.rtype.sub("settings")
    assert sub is not None
    settings = [clean_entry(sub, s) for s in ctx.snapshot.get(sub.name) or []
                if isinstance(s, dict)]
    if settings:
        await ctx.send("POST", "/updateSettings", {"settings": settings}, idempotent=True)


async def set_compliance_v2_actions(ctx: hooks.WriteContext) -> None:
    """Settings-catalog compliance: the rules' actions are replaced through
    ``setScheduledActions`` on an update (a create carries them inline)."""
    if ctx.mode != "update":
        return
    sub = ctx.rtype.sub("scheduledActionsForRule")
    assert sub is not None
    rules = [clean_entry(sub, r) for r in ctx.snapshot.get(sub.name) or []
             if isinstance(r, dict)]
    await ctx.send("POST", "/setScheduledActions", {"scheduledActions": rules},
                   idempotent=True)


def file_missing(document: dict[str, Any]) -> bool:
    """A BIOS profile is created with its configuration file; a backup without it cannot."""
    return not document.get("configurationFileContent")

ENTRIES: tuple[ResourceType, ...] = (
    ResourceType(
        key="configurationPolicies", path="deviceManagement/configurationPolicies",
        version="beta", name_field="name", update_method="PUT",
        subcollections=(SubCollection("settings", write_inline=True, via_item_expand=True,
                                      count_field="settingCount"), LISTED_ASSIGNMENTS),
        references=(*ASSIGNED, REUSABLE_SETTINGS), prepare=hooks.prepare_settings_catalog,
        secrets=SETTINGS_SECRETS,
        evidence=(ev.SETTINGS_CATALOG_DOCS, ev.LAB_RECORD, ev.ZERO_TRUST_ASSESSMENT,
                  REUSABLE_REFERENCE),
    ),
    ResourceType(
        key="deviceConfigurations", path="deviceManagement/deviceConfigurations",
        version="beta", volatile=VERSIONED, subcollections=(LISTED_ASSIGNMENTS,),
        secrets=DEVICE_CONFIGURATION_SECRETS,
        evidence=(ev.ZERO_TRUST_ASSESSMENT, ev.INTUNE_MANAGEMENT, OMA_SECRET_EVIDENCE),
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
        references=(*ASSIGNED, NOTIFICATION_TEMPLATES, COMPLIANCE_SCRIPT),
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
        # Intune answers a tenant without this plan 403 (IntuneManagement #322,
        # IntuneHydrationKit #4; the plan: IntuneHydrationKit #14)
        licensed_by=("WINDOWSUPDATEFORBUSINESS_DEPLOYMENTSERVICE",),
    ),
    ResourceType(
        key="deviceCategories", path="deviceManagement/deviceCategories", version="beta",
        subcollections=(), assign_key=None, references=(SCOPE_TAGS,),
        evidence=(ITEM_PROFILES,),
    ),
    ResourceType(
        key="termsAndConditions", path="deviceManagement/termsAndConditions", version="beta",
        subcollections=(ASSIGNMENTS,), assign_key=None, assign_via=hooks.assign_entry_by_entry,
        evidence=(TERMS,),
    ),
    ResourceType(
        key="deviceComplianceScripts", path="deviceManagement/deviceComplianceScripts",
        version="beta", assign_key="deviceHealthScriptAssignments",
        subcollections=(ITEM_ASSIGNMENTS,), list_omits=frozenset({"detectionScriptContent"}),
        evidence=(SCRIPT_ITEMS, ev.TERRAFORM_M365WP),
    ),
    ResourceType(
        key="deviceCustomAttributeShellScripts",
        path="deviceManagement/deviceCustomAttributeShellScripts", version="beta",
        assign_key="deviceManagementScriptAssignments", subcollections=(ITEM_ASSIGNMENTS,),
        list_omits=frozenset({"scriptContent"}), create_only=CUSTOM_ATTRIBUTE_FIXED,
        evidence=(ev.SCRIPT_BODY, SCRIPT_ITEMS),
    ),
    ResourceType(
        key="intents", path="deviceManagement/intents", version="beta",
        read_only=frozenset({"isMigratingToConfigurationPolicy"}),
        subcollections=(SubCollection("settings", unordered=True), ASSIGNMENTS),
        create_path=intent_create_path, can_create=has_template, prepare=prepare_intent,
        after_write=update_intent_settings, evidence=(INTENTS,),
    ),
    ResourceType(
        key="reusablePolicySettings", path="deviceManagement/reusablePolicySettings",
        version="beta", subcollections=(), assign_key=None, references=(),
        volatile=VERSIONED | {"referencingConfigurationPolicyCount"}, secrets=SETTINGS_SECRETS,
        select=("id", "displayName", "description", "settingDefinitionId", "settingInstance",
                "createdDateTime", "lastModifiedDateTime", "version"),
        evidence=(REUSABLE_SELECT,),
    ),
    ResourceType(
        key="compliancePolicies", path="deviceManagement/compliancePolicies", version="beta",
        name_field="name", update_method="PUT",
        subcollections=(
            SubCollection("settings", write_inline=True, via_item_expand=True,
                          count_field="settingCount"),
            SubCollection("scheduledActionsForRule", expand="scheduledActionConfigurations",
                          nested=("scheduledActionConfigurations",), write_inline=True),
            ASSIGNMENTS,
        ),
        references=(*ASSIGNED, REUSABLE_SETTINGS, NOTIFICATION_TEMPLATES),
        prepare=hooks.prepare_settings_catalog, after_write=set_compliance_v2_actions,
        secrets=SETTINGS_SECRETS,
        evidence=(COMPLIANCE_V2, REUSABLE_REFERENCE),
    ),
    ResourceType(
        key="windowsQualityUpdatePolicies",
        path="deviceManagement/windowsQualityUpdatePolicies", version="beta",
        subcollections=(ASSIGNMENTS,), evidence=(ITEM_PROFILES,),
    ),
    ResourceType(
        key="hardwareConfigurations", path="deviceManagement/hardwareConfigurations",
        version="beta", volatile=VERSIONED, assign_key="hardwareConfigurationAssignments",
        subcollections=(ASSIGNMENTS,), list_omits=frozenset({"configurationFileContent"}),
        content_required=file_missing, evidence=(ITEM_PROFILES,),
    ),
)
