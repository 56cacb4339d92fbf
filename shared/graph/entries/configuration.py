"""Device configuration: settings catalog, templates, compliance, administrative templates,
scripts and Windows update rings.
"""

from __future__ import annotations

from shared.graph import evidence as ev
from shared.graph import hooks
from shared.graph.resource import (
    ASSIGNED,
    ITEM_ASSIGNMENTS,
    LISTED_ASSIGNMENTS,
    VERSIONED,
    Reference,
    ResourceType,
    SubCollection,
)

ENTRIES: tuple[ResourceType, ...] = (
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
)
