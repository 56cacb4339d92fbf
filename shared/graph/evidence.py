"""Where each catalog read plan comes from (DESIGN §9: a request saved only counts when Graph
really serves it). Graph documents ``$expand`` for Intune barely (item GETs "support the
OData query parameters"), so most entries rest on tools that run these reads against
production tenants every day, and on published lab records. The simulator serves the same
behaviour (``local/graphsim/catalog.py`` ``ReadRules``)."""

SETTINGS_CATALOG_DOCS = (
    "learn.microsoft.com/graph/api/intune-deviceconfigv2-devicemanagementconfigurationpolicy-get"
    "?view=graph-rest-beta: the item GET supports OData query parameters; the resource carries "
    "settingCount")
LAB_RECORD = (
    "SkipToTheEndpoint/TenuVault docs/roadmap/lokka-verification-features.md (lab, "
    "2026-09-30): configurationPolicies?$expand=assignments lists assignments; the item GET "
    "with $expand=settings,assignments answers assignments [] but all 306 of 306 settings "
    "inline; deviceShellScripts/{id}/assignments is 400 'No OData route', "
    "?$expand=assignments works")
ZERO_TRUST_ASSESSMENT = (
    "microsoft/zerotrustassessment Export-TenantData.ps1 and Test-Assessment.*: list "
    "$expand of configurationPolicies (assignments,settings), deviceConfigurations, "
    "deviceCompliancePolicies, deviceEnrollmentConfigurations, ios/android app protections")
INTUNECD = (
    "almenscorner/IntuneCD 2.6.0 Compliance.py: deviceCompliancePolicies?$expand="
    "scheduledActionsForRule($expand=scheduledActionConfigurations); ShellScripts.py: "
    "?$expand=assignments")
TERRAFORM_M365WP = (
    "terraform-provider-microsoft365wp: ODataExpand 'scheduledActionsForRule($expand="
    "scheduledActionConfigurations),assignments' (compliance), 'assignments' (scripts), "
    "'apps,assignments' (app protections)")
INTUNE_MANAGEMENT = (
    "Micke-K/IntuneManagement EndpointManager.psm1: lists with $expand=assignments by default; "
    "disabled for managedAppPolicies and targetedManagedAppConfigurations; roleScopeTags list "
    "expand 'adds the assignments property but always empty'")
SCRIPT_BODY = (
    "IntuneManagement #100 (maintainer), salto-io/salto #6563: scriptContent is null when "
    "scripts are listed; only an item GET carries it")
INTUNE_SAMPLES = (
    "microsoftgraph/powershell-intune-samples: targetedManagedAppConfigurations('{id}')"
    "?$expand=apps,assignments; iosManagedAppProtections('{id}')?$expand=apps")
CIPP = "KelvinTegelaar/CIPP-API: windowsAutopilotDeploymentProfiles?$expand=assignments"
NOTIFICATION_TEMPLATES = (
    "IntuneManagement, microsoft365wp: notificationMessageTemplates?$expand="
    "localizedNotificationMessages")
