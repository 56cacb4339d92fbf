"""Deterministic tenant data: the same seed gives the same tenants, ids and objects.

Objects are stored with their navigation collections inline (`settings`, `assignments`,
`scheduledActionsForRule`, …); `graph.py` strips or expands them per request.
Cross-references are real: assignments point at the tenant's groups and filters, policies
carry its scope tag ids, CA policies its named locations, compliance actions its templates.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import uuid
from typing import Any

from . import catalog, secrets
from .areas import AREAS

DEFAULT_COUNTS: dict[str, int] = {
    "groups": 8, "roleScopeTags": 3, "assignmentFilters": 3, "namedLocations": 3,
    "notificationMessageTemplates": 2, "groupPolicyDefinitions": 6,
    "configurationPolicies": 8, "deviceConfigurations": 6, "deviceCompliancePolicies": 4,
    "groupPolicyConfigurations": 3, "deviceManagementScripts": 2, "deviceShellScripts": 2,
    "deviceHealthScripts": 2, "deviceEnrollmentConfigurations": 3,
    "windowsAutopilotDeploymentProfiles": 2, "windowsFeatureUpdateProfiles": 2,
    "windowsQualityUpdateProfiles": 1, "windowsDriverUpdateProfiles": 1,
    "iosManagedAppProtections": 2, "androidManagedAppProtections": 2,
    "mobileAppConfigurations": 2, "targetedManagedAppConfigurations": 2,
    "conditionalAccessPolicies": 4,
    **{key: n for area in AREAS for key, n in area.COUNTS.items()},
}
# Not policies: what policies reference.
_SUPPORTING = ("groups", "groupPolicyDefinitions")


def policy_counts(policies: int) -> dict[str, int]:
    """The default mix of policy types scaled to about ``policies`` per tenant (benchmarks)."""
    mix = {k: v for k, v in DEFAULT_COUNTS.items() if k not in _SUPPORTING}
    factor = policies / sum(mix.values())
    return {k: max(1, round(v * factor)) for k, v in mix.items()}


BIG_POLICY_SETTINGS = 60  # every tenth settings catalog policy (from the first) has this many
_EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
G = "#microsoft.graph."


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rng_guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def tenant_ids(seed: int, count: int) -> list[str]:
    rng = random.Random(f"tenants:{seed}")
    return [rng_guid(rng) for _ in range(count)]


def app_identity(seed: int) -> tuple[str, str]:
    """(client_id, client_secret) of the simulated multi-tenant app."""
    rng = random.Random(f"app:{seed}")
    secret_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-"
    return rng_guid(rng), "".join(rng.choice(secret_chars) for _ in range(40))


class TenantSeeder:
    def __init__(self, seed: int, index: int, counts: dict[str, int]):
        self.rng = random.Random(f"tenant:{seed}:{index}")
        self.index = index
        self.counts = {**DEFAULT_COUNTS, **counts}
        self.data: dict[str, dict[str, dict[str, Any]]] = {}

    # ---- helpers -------------------------------------------------------------------------
    def guid(self) -> str:
        return rng_guid(self.rng)

    def stamp(self) -> str:
        moment = _EPOCH + dt.timedelta(minutes=self.rng.randint(0, 525600))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def n(self, key: str) -> int:
        return max(0, int(self.counts.get(key, 0)))

    def put(self, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        self.data.setdefault(key, {})[obj["id"]] = obj
        return obj

    def base(self, odata_type: str, name: str, *, name_prop: str = "displayName",
             version: Any = None, modified: str = "lastModifiedDateTime") -> dict[str, Any]:
        created = self.stamp()
        obj: dict[str, Any] = {"@odata.type": G + odata_type, "id": self.guid(),
                               name_prop: name, "description": f"Seeded {name}"}
        obj["createdDateTime"] = created
        obj[modified] = created
        if version is not None:
            obj["version"] = version
        return obj

    def scope_tags(self) -> list[str]:
        tags = list(self.data.get("roleScopeTags", {}))
        extra = [t for t in tags if t != "0" and self.rng.random() < 0.4]
        return ["0", *extra]

    def target(self, assignment_type: str) -> dict[str, Any]:
        groups = list(self.data.get("groups", {}))
        filters = list(self.data.get("assignmentFilters", {}))
        roll = self.rng.random()
        if roll < 0.1 or not groups:
            target: dict[str, Any] = {"@odata.type": G + "allDevicesAssignmentTarget"}
        elif roll < 0.2:
            target = {"@odata.type": G + "exclusionGroupAssignmentTarget",
                      "groupId": self.rng.choice(groups)}
        else:
            target = {"@odata.type": G + "groupAssignmentTarget",
                      "groupId": self.rng.choice(groups)}
        if filters and target["@odata.type"] != G + "exclusionGroupAssignmentTarget" \
                and self.rng.random() < 0.5:
            target["deviceAndAppManagementAssignmentFilterId"] = self.rng.choice(filters)
            target["deviceAndAppManagementAssignmentFilterType"] = self.rng.choice(
                ["include", "exclude"])
        else:
            target["deviceAndAppManagementAssignmentFilterId"] = None
            target["deviceAndAppManagementAssignmentFilterType"] = "none"
        return target

    def assignments(self, odata_type: str, policy_id: str, count: int | None = None) -> list:
        count = self.rng.randint(0, 3) if count is None else count
        out = []
        for _ in range(count):
            target = self.target(odata_type)
            out.append({"@odata.type": G + odata_type,
                        "id": f"{policy_id}_{target.get('groupId') or self.guid()}",
                        "target": target})
        return out

    def group(self, name: str, nickname: str, *, mail_enabled: bool = False,
              group_types: tuple[str, ...] = (), rule: str | None = None) -> dict[str, Any]:
        """A group as ``GET /groups`` lists it (its default properties; no members)."""
        obj = self.base("group", name, modified="renewedDateTime")
        mail = f"{nickname}@contoso{self.index + 1}.onmicrosoft.com" if mail_enabled else None
        words = uuid.UUID(obj["id"]).bytes
        sid = "-".join(str(int.from_bytes(words[n:n + 4], "little")) for n in range(0, 16, 4))
        obj.update(
            mailNickname=nickname, securityEnabled=True, mailEnabled=mail_enabled,
            groupTypes=list(group_types), deletedDateTime=None, classification=None,
            expirationDateTime=None, isAssignableToRole=None, mail=mail,
            membershipRule=rule, membershipRuleProcessingState="On" if rule else None,
            onPremisesDomainName=None, onPremisesLastSyncDateTime=None,
            onPremisesNetBiosName=None, onPremisesSamAccountName=None,
            onPremisesSecurityIdentifier=None, onPremisesSyncEnabled=None,
            onPremisesProvisioningErrors=[], preferredDataLocation=None,
            preferredLanguage=None, proxyAddresses=[f"SMTP:{mail}"] if mail else [],
            resourceBehaviorOptions=[], resourceProvisioningOptions=[],
            securityIdentifier=f"S-1-12-1-{sid}", theme=None, visibility=None)
        return self.put("groups", obj)

    # ---- building blocks -----------------------------------------------------------------
    def seed_group_kinds(self) -> None:
        """Besides the assigned security groups: a mail-enabled security group (Exchange's:
        Graph will not create one) and a dynamic device group. Seeded last, so the rest of
        the tenant's data is what it was before they existed."""
        if not self.n("groups"):
            return
        self.group("PV Mail Security", "pvmailsecurity", mail_enabled=True)
        self.group("PV Windows Devices", "pvwindowsdevices", group_types=("DynamicMembership",),
                   rule='(device.deviceOSType -eq "Windows")')

    def seed_foundation(self) -> None:
        self.put("roleScopeTags", {"@odata.type": G + "roleScopeTag", "id": "0",
                                   "displayName": "Default", "description": "Built-in",
                                   "isBuiltIn": True, "assignments": []})
        for i in range(self.n("roleScopeTags")):
            self.put("roleScopeTags", {"@odata.type": G + "roleScopeTag", "id": str(i + 1),
                                       "displayName": f"Scope {i + 1}",
                                       "description": f"Scope tag {i + 1}",
                                       "isBuiltIn": False, "assignments": []})
        for i in range(self.n("groups")):
            self.group(f"PV Group {i + 1:03d}", f"pvgroup{i + 1}")
        platforms = ["windows10AndLater", "iOS", "androidForWork", "macOS"]
        for i in range(self.n("assignmentFilters")):
            obj = self.base("deviceAndAppManagementAssignmentFilter", f"Filter {i + 1:03d}")
            obj.update(platform=self.rng.choice(platforms),
                       rule=f'(device.osVersion -startsWith "10.0.{19000 + i}")',
                       assignmentFilterManagementType="devices",
                       roleScopeTags=self.scope_tags())
            self.put("assignmentFilters", obj)
        for i in range(self.n("namedLocations")):
            if i % 2 == 0:
                obj = self.base("ipNamedLocation", f"Office {i + 1}", modified="modifiedDateTime")
                obj.update(isTrusted=True, ipRanges=[
                    {"@odata.type": G + "iPv4CidrRange", "cidrAddress": f"203.0.{i}.0/24"}])
            else:
                obj = self.base("countryNamedLocation", f"Countries {i + 1}",
                                modified="modifiedDateTime")
                obj.update(countriesAndRegions=self.rng.sample(["US", "GB", "DE", "FR", "NL"], 2),
                           includeUnknownCountriesAndRegions=False,
                           countryLookupMethod="clientIpAddress")
            obj.pop("description")
            self.put("namedLocations", obj)
        for i in range(self.n("notificationMessageTemplates")):
            obj = self.base("notificationMessageTemplate", f"Notice {i + 1}")
            obj.pop("createdDateTime")
            obj.update(defaultLocale="en-us", brandingOptions="includeCompanyLogo",
                       roleScopeTagIds=self.scope_tags())
            obj["localizedNotificationMessages"] = [{
                "@odata.type": G + "localizedNotificationMessage", "id": self.guid(),
                "lastModifiedDateTime": obj["lastModifiedDateTime"], "locale": "en-us",
                "subject": f"Device not compliant ({i + 1})",
                "messageTemplate": "Your device does not meet company policy.",
                "isDefault": True}]
            self.put("notificationMessageTemplates", obj)
        for i in range(self.n("groupPolicyDefinitions")):
            # Built-in ADMX definitions share ids across tenants, hence a seed-only RNG.
            def_rng = random.Random(f"gpdef:{i}")
            self.put("groupPolicyDefinitions", {
                "@odata.type": G + "groupPolicyDefinition", "id": rng_guid(def_rng),
                "displayName": f"Admin template setting {i + 1}", "classType": "machine",
                "categoryPath": "\\Windows Components\\PolicyVault", "policyType": "admxBacked",
                "explainText": "Seeded definition", "supportedOn": "At least Windows 10",
                "lastModifiedDateTime": "2023-06-01T00:00:00Z"})

    def setting(self, i: int) -> dict[str, Any]:
        kind = i % 3
        def_id = f"device_vendor_msft_policy_config_pvsim_setting{i}"
        if kind == 0:
            instance = {
                "@odata.type": G + "deviceManagementConfigurationChoiceSettingInstance",
                "settingDefinitionId": def_id, "settingInstanceTemplateReference": None,
                "choiceSettingValue": {
                    "@odata.type": G + "deviceManagementConfigurationChoiceSettingValue",
                    "settingValueTemplateReference": None,
                    "value": f"{def_id}_{self.rng.randint(0, 1)}",
                    "children": [{
                        "@odata.type": G + "deviceManagementConfigurationSimpleSettingInstance",
                        "settingDefinitionId": f"{def_id}_child",
                        "settingInstanceTemplateReference": None,
                        "simpleSettingValue": {
                            "@odata.type": G + "deviceManagementConfigurationIntegerSettingValue",
                            "settingValueTemplateReference": None,
                            "value": self.rng.randint(1, 90)}}]}}
        elif kind == 1:
            instance = {
                "@odata.type": G + "deviceManagementConfigurationSimpleSettingInstance",
                "settingDefinitionId": def_id, "settingInstanceTemplateReference": None,
                "simpleSettingValue": {
                    "@odata.type": G + "deviceManagementConfigurationStringSettingValue",
                    "settingValueTemplateReference": None,
                    "value": f"value-{self.rng.randint(1000, 9999)}"}}
        else:
            instance = {
                "@odata.type": G + "deviceManagementConfigurationGroupSettingCollectionInstance",
                "settingDefinitionId": def_id, "settingInstanceTemplateReference": None,
                "groupSettingCollectionValue": [{
                    "settingValueTemplateReference": None,
                    "children": [{
                        "@odata.type": G + "deviceManagementConfigurationSimpleSettingInstance",
                        "settingDefinitionId": f"{def_id}_item",
                        "settingInstanceTemplateReference": None,
                        "simpleSettingValue": {
                            "@odata.type": G + "deviceManagementConfigurationStringSettingValue",
                            "settingValueTemplateReference": None,
                            "value": f"item-{j}"}} for j in range(2)]}]}
        return {"@odata.type": G + "deviceManagementConfigurationSetting", "id": str(i),
                "settingInstance": instance}

    def seed_setting_definitions(self) -> None:
        """The settings catalog definitions the seeded settings name, as
        ``GET /beta/deviceManagement/configurationSettings/{id}`` serves them (display names,
        and each choice's option labels). Built-in definitions are the same in every tenant;
        no RNG is drawn, so the rest of the data is what it was before they existed."""
        if not self.n("configurationPolicies"):
            return
        for i in range(BIG_POLICY_SETTINGS):
            for definition in setting_definitions(i):
                self.put("configurationSettings", definition)
        for definition in catalog_definitions():
            self.put("configurationSettings", definition)

    # ---- policy types ----------------------------------------------------------------------
    def seed_policies(self) -> None:
        for i in range(self.n("configurationPolicies")):
            obj = self.base("deviceManagementConfigurationPolicy", f"SC Policy {i + 1:04d}",
                            name_prop="name")
            count = BIG_POLICY_SETTINGS if i % 10 == 0 else self.rng.randint(3, 12)
            obj.update(platforms="windows10", technologies="mdm", creationSource=None,
                       roleScopeTagIds=self.scope_tags(), isAssigned=False,
                       priorityMetaData=None, settingCount=count,
                       templateReference=catalog.template_reference(""))
            obj["settings"] = [self.setting(s) for s in range(count)]
            obj["assignments"] = self.assignments(
                "deviceManagementConfigurationPolicyAssignment", obj["id"])
            obj["isAssigned"] = bool(obj["assignments"])
            self.put("configurationPolicies", obj)
        config_types = [("windows10GeneralConfiguration", {"passwordRequired": True,
                                                            "defenderMonitorFileActivity":
                                                            "monitorAllFiles"}),
                        ("windows10CustomConfiguration", {"omaSettings": [{
                            "@odata.type": G + "omaSettingString", "displayName": "Custom",
                            "omaUri": "./Device/Vendor/MSFT/Policy/Config/PV/Setting",
                            "value": "1"}]}),
                        ("iosGeneralDeviceConfiguration", {"passcodeRequired": True,
                                                           "passcodeMinimumLength": 6}),
                        ("macOSGeneralDeviceConfiguration", {"passwordRequired": True})]
        for i in range(self.n("deviceConfigurations")):
            odata_type, props = config_types[i % len(config_types)]
            obj = self.base(odata_type, f"Device Config {i + 1:04d}", version=1)
            obj.update(props, roleScopeTagIds=self.scope_tags(), supportsScopeTags=True)
            if "omaSettings" in props:  # Intune keeps string values encrypted (secrets.py)
                obj["omaSettings"] = [secrets.seeded(s, obj["id"]) for s in props["omaSettings"]]
            obj["assignments"] = self.assignments("deviceConfigurationAssignment", obj["id"])
            self.put("deviceConfigurations", obj)
        templates = list(self.data.get("notificationMessageTemplates", {}))
        compliance_types = [("windows10CompliancePolicy", {"bitLockerEnabled": True,
                                                            "osMinimumVersion": "10.0.19045"}),
                            ("iosCompliancePolicy", {"passcodeRequired": True}),
                            ("androidWorkProfileCompliancePolicy", {"passwordRequired": True}),
                            ("macOSCompliancePolicy", {"systemIntegrityProtectionEnabled": True})]
        for i in range(self.n("deviceCompliancePolicies")):
            odata_type, props = compliance_types[i % len(compliance_types)]
            obj = self.base(odata_type, f"Compliance {i + 1:04d}", version=1)
            obj.update(props, roleScopeTagIds=self.scope_tags())
            actions = [{"@odata.type": G + "deviceComplianceActionItem", "id": self.guid(),
                        "gracePeriodHours": 0, "actionType": "block",
                        "notificationTemplateId": "", "notificationMessageCCList": []}]
            if templates:
                actions.append({"@odata.type": G + "deviceComplianceActionItem",
                                "id": self.guid(), "gracePeriodHours": 24,
                                "actionType": "notification",
                                "notificationTemplateId": self.rng.choice(templates),
                                "notificationMessageCCList": []})
            obj["scheduledActionsForRule"] = [{
                "@odata.type": G + "deviceComplianceScheduledActionForRule",
                "id": self.guid(), "ruleName": "PasswordRequired",
                "scheduledActionConfigurations": actions}]
            obj["assignments"] = self.assignments("deviceCompliancePolicyAssignment", obj["id"])
            self.put("deviceCompliancePolicies", obj)
        definitions = list(self.data.get("groupPolicyDefinitions", {}).values())
        for i in range(self.n("groupPolicyConfigurations")):
            obj = self.base("groupPolicyConfiguration", f"Admin Template {i + 1:04d}")
            obj.update(roleScopeTagIds=self.scope_tags(),
                       policyConfigurationIngestionType="builtIn")
            values = []
            for definition in self.rng.sample(definitions, min(len(definitions), 3)):
                values.append({
                    "@odata.type": G + "groupPolicyDefinitionValue", "id": self.guid(),
                    "enabled": self.rng.random() < 0.8, "configurationType": "policy",
                    "createdDateTime": obj["createdDateTime"],
                    "lastModifiedDateTime": obj["createdDateTime"],
                    "definition": dict(definition),
                    "presentationValues": [{
                        "@odata.type": G + "groupPolicyPresentationValueText", "id": self.guid(),
                        "value": f"text-{self.rng.randint(1, 99)}",
                        "lastModifiedDateTime": obj["createdDateTime"],
                        "createdDateTime": obj["createdDateTime"]}]})
            obj["definitionValues"] = values
            obj["assignments"] = self.assignments("groupPolicyConfigurationAssignment", obj["id"])
            self.put("groupPolicyConfigurations", obj)
        self.seed_scripts()
        self.seed_updates_and_enrollment()
        self.seed_apps()
        self.seed_conditional_access()

    def script(self, name: str) -> str:
        body = f"# {name}\nWrite-Output 'PolicyVault {self.rng.randint(1, 10**6)}'\n"
        return base64.b64encode(body.encode()).decode()

    def seed_scripts(self) -> None:
        for key, odata_type, extra in (
            ("deviceManagementScripts", "deviceManagementScript",
             {"runAsAccount": "system", "enforceSignatureCheck": False, "runAs32Bit": False,
              "fileName": "pv.ps1"}),
            ("deviceShellScripts", "deviceShellScript",
             {"runAsAccount": "system", "executionFrequency": "PT0S", "retryCount": 0,
              "blockExecutionNotifications": True, "fileName": "pv.sh"}),
        ):
            for i in range(self.n(key)):
                obj = self.base(odata_type, f"{odata_type} {i + 1:03d}")
                obj.update(extra, scriptContent=self.script(obj["displayName"]),
                           roleScopeTagIds=self.scope_tags())
                obj["assignments"] = self.assignments("deviceManagementScriptAssignment",
                                                      obj["id"])
                self.put(key, obj)
        for i in range(self.n("deviceHealthScripts")):
            obj = self.base("deviceHealthScript", f"Remediation {i + 1:03d}")
            obj.update(publisher="PolicyVault", version="1", runAsAccount="system",
                       enforceSignatureCheck=False, runAs32Bit=False, isGlobalScript=False,
                       highestAvailableVersion=None, deviceHealthScriptType="deviceHealthScript",
                       detectionScriptContent=self.script("detect"),
                       remediationScriptContent=self.script("remediate"),
                       roleScopeTagIds=self.scope_tags())
            obj["assignments"] = self.assignments("deviceHealthScriptAssignment", obj["id"])
            self.put("deviceHealthScripts", obj)

    def seed_updates_and_enrollment(self) -> None:
        enrollment = [("deviceEnrollmentLimitConfiguration", {"limit": 5}),
                      ("windows10EnrollmentCompletionPageConfiguration",
                       {"showInstallationProgress": True, "installProgressTimeoutInMinutes": 60}),
                      ("deviceEnrollmentPlatformRestrictionsConfiguration",
                       {"iosRestriction": {"platformBlocked": False,
                                           "personalDeviceEnrollmentBlocked": True}})]
        for i in range(self.n("deviceEnrollmentConfigurations")):
            odata_type, props = enrollment[i % len(enrollment)]
            obj = self.base(odata_type, f"Enrollment {i + 1:03d}", version=1)
            obj.update(props, priority=i + 1, roleScopeTagIds=self.scope_tags())
            obj["assignments"] = self.assignments("enrollmentConfigurationAssignment",
                                                  obj["id"])
            self.put("deviceEnrollmentConfigurations", obj)
        for i in range(self.n("windowsAutopilotDeploymentProfiles")):
            obj = self.base("azureADWindowsAutopilotDeploymentProfile", f"Autopilot {i + 1:03d}")
            obj.update(language="os-default", deviceNameTemplate=f"PV{i}-%RAND:5%",
                       deviceType="windowsPc", enableWhiteGlove=True, extractHardwareHash=False,
                       outOfBoxExperienceSettings={"hidePrivacySettings": True,
                                                   "hideEULA": True, "userType": "standard",
                                                   "deviceUsageType": "singleUser",
                                                   "skipKeyboardSelectionPage": True,
                                                   "hideEscapeLink": True},
                       roleScopeTagIds=self.scope_tags())
            obj["assignments"] = self.assignments("windowsAutopilotDeploymentProfileAssignment",
                                                  obj["id"])
            self.put("windowsAutopilotDeploymentProfiles", obj)
        for i in range(self.n("windowsFeatureUpdateProfiles")):
            obj = self.base("windowsFeatureUpdateProfile", f"Feature Update {i + 1:03d}")
            obj.update(featureUpdateVersion="Windows 11, version 23H2",
                       deployableContentDisplayName="Windows 11, version 23H2",
                       endOfSupportDate="2025-11-11T00:00:00Z", rolloutSettings={
                           "offerStartDateTimeInUTC": None, "offerEndDateTimeInUTC": None,
                           "offerIntervalInDays": None},
                       installLatestWindows10OnWindows11IneligibleDevice=False,
                       roleScopeTagIds=self.scope_tags())
            obj["assignments"] = self.assignments("windowsFeatureUpdateProfileAssignment",
                                                  obj["id"])
            self.put("windowsFeatureUpdateProfiles", obj)
        for i in range(self.n("windowsQualityUpdateProfiles")):
            obj = self.base("windowsQualityUpdateProfile", f"Quality Update {i + 1:03d}")
            obj.update(releaseDateDisplayName="March 2024",
                       deployableContentDisplayName="2024.03 B Security Updates",
                       expeditedUpdateSettings={"qualityUpdateRelease": "2024-03-12T00:00:00Z",
                                                "daysUntilForcedReboot": 1},
                       roleScopeTagIds=self.scope_tags())
            obj["assignments"] = self.assignments("windowsQualityUpdateProfileAssignment",
                                                  obj["id"])
            self.put("windowsQualityUpdateProfiles", obj)
        for i in range(self.n("windowsDriverUpdateProfiles")):
            obj = self.base("windowsDriverUpdateProfile", f"Driver Update {i + 1:03d}")
            obj.update(approvalType="manual", deploymentDeferralInDays=0, deviceReporting=0,
                       newUpdates=0, inventorySyncStatus=None,
                       roleScopeTagIds=self.scope_tags())
            obj["assignments"] = self.assignments("windowsDriverUpdateProfileAssignment",
                                                  obj["id"])
            self.put("windowsDriverUpdateProfiles", obj)

    def apps(self, platform: str) -> list[dict[str, Any]]:
        ident = {
            "ios": {"@odata.type": G + "iosMobileAppIdentifier",
                    "bundleId": "com.microsoft.Office.Outlook"},
            "android": {"@odata.type": G + "androidMobileAppIdentifier",
                        "packageId": "com.microsoft.office.outlook"},
            "windows": {"@odata.type": G + "windowsAppIdentifier",
                        "windowsAppId": "com.microsoft.edge"},
        }[platform]
        return [{"@odata.type": G + "managedMobileApp", "id": self.guid(),
                 "mobileAppIdentifier": ident, "version": "1"}]

    def seed_apps(self) -> None:
        mobile = {"dataBackupBlocked": True, "deviceComplianceRequired": True,
                  "pinRequired": True, "minimumPinLength": 4,
                  "allowedDataStorageLocations": ["oneDriveForBusiness"],
                  "targetedAppManagementLevels": "unspecified"}
        windows = {"printBlocked": True, "allowedInboundDataTransferSources": "allSources",
                   "allowedOutboundClipboardSharingLevel": "none",
                   "allowedOutboundDataTransferDestinations": "none"}
        for key, odata_type, platform, settings in (
            ("iosManagedAppProtections", "iosManagedAppProtection", "ios", mobile),
            ("androidManagedAppProtections", "androidManagedAppProtection", "android", mobile),
            ("windowsManagedAppProtections", "windowsManagedAppProtection", "windows", windows),
        ):
            for i in range(self.n(key)):
                obj = self.base(odata_type, f"{platform.upper()} APP {i + 1:03d}",
                                version=f'"{self.rng.getrandbits(32):08x}"')
                obj.update(periodOfflineBeforeAccessCheck="PT12H", **settings,
                           roleScopeTagIds=self.scope_tags(), isAssigned=False,
                           deployedAppCount=1)
                obj["apps"] = self.apps(platform)
                obj["assignments"] = self.assignments("targetedManagedAppPolicyAssignment",
                                                      obj["id"])
                obj["isAssigned"] = bool(obj["assignments"])
                self.put(key, obj)
        for i in range(self.n("mobileAppConfigurations")):
            odata_type = ("iosMobileAppConfiguration" if i % 2 == 0
                          else "androidManagedStoreAppConfiguration")
            obj = self.base(odata_type, f"App Config {i + 1:03d}", version=1)
            obj.update(targetedMobileApps=[self.guid()], roleScopeTagIds=self.scope_tags())
            if i % 2 == 0:
                obj.update(encodedSettingXml=None, settings=[
                    {"appConfigKey": "IntuneMAMUPN", "appConfigKeyType": "stringType",
                     "appConfigKeyValue": "{{userprincipalname}}"}])
            else:
                obj.update(packageId="app:com.microsoft.office.outlook",
                           payloadJson=base64.b64encode(b'{"kind":"pv"}').decode(),
                           profileApplicability="default")
            obj["assignments"] = self.assignments(
                "managedDeviceMobileAppConfigurationAssignment", obj["id"])
            self.put("mobileAppConfigurations", obj)
        for i in range(self.n("targetedManagedAppConfigurations")):
            obj = self.base("targetedManagedAppConfiguration", f"MAM Config {i + 1:03d}",
                            version=f'"{self.rng.getrandbits(32):08x}"')
            obj.update(customSettings=[{"name": "com.microsoft.outlook.Mail.FocusedInbox",
                                        "value": "false"}],
                       roleScopeTagIds=self.scope_tags(), isAssigned=False, deployedAppCount=1,
                       appGroupType="selectedPublicApps")
            obj["apps"] = self.apps("ios")
            obj["assignments"] = self.assignments("targetedManagedAppPolicyAssignment",
                                                  obj["id"])
            self.put("targetedManagedAppConfigurations", obj)

    def seed_conditional_access(self) -> None:
        locations = list(self.data.get("namedLocations", {}))
        groups = list(self.data.get("groups", {}))
        for i in range(self.n("conditionalAccessPolicies")):
            obj = self.base("conditionalAccessPolicy", f"CA{i + 1:03d} - Require MFA",
                            modified="modifiedDateTime")
            obj.pop("description")
            include_locations = ["All"]
            exclude_locations = self.rng.sample(locations, min(len(locations), 1))
            obj.update(
                templateId=None,
                state=self.rng.choice(["enabled", "disabled", "enabledForReportingButNotEnforced"]),
                sessionControls=None,
                conditions={
                    "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": ["all"],
                    "platforms": None, "devices": None,
                    "locations": {"includeLocations": include_locations,
                                  "excludeLocations": exclude_locations},
                    "applications": {"includeApplications": ["All"], "excludeApplications": [],
                                     "includeUserActions": []},
                    "users": {"includeUsers": [] if groups else ["All"], "excludeUsers": [],
                              "includeGroups": self.rng.sample(groups, min(len(groups), 1)),
                              "excludeGroups": [], "includeRoles": [], "excludeRoles": []}},
                grantControls={"operator": "OR", "builtInControls": ["mfa"],
                               "customAuthenticationFactors": [], "termsOfUse": []})
            self.put("conditionalAccessPolicies", obj)


_SETTING_NAMES = (
    "Allow Telemetry", "Require Device Encryption", "Minimum PIN Length", "Allow Camera",
    "Cloud Protection Level", "Screen Lock Timeout", "Allow Bluetooth", "Firewall Profile",
    "Windows Hello for Business", "Removable Storage Access", "SmartScreen for Apps",
    "Automatic Updates Schedule",
)
_CATEGORY = "pvsim-category"


def setting_definitions(i: int) -> list[dict[str, Any]]:
    """The definition of seeded setting ``i`` (``TenantSeeder.setting``) and of its child."""
    def_id = f"device_vendor_msft_policy_config_pvsim_setting{i}"
    name = _SETTING_NAMES[i % len(_SETTING_NAMES)]
    label = name if i < len(_SETTING_NAMES) else f"{name} ({i // len(_SETTING_NAMES) + 1})"

    def common(odata_type: str, ident: str, display: str) -> dict[str, Any]:
        return {"@odata.type": G + odata_type, "id": ident, "name": ident.rsplit("_", 1)[-1],
                "displayName": display, "description": f"{display} (simulated definition)",
                "helpText": "", "categoryId": _CATEGORY, "baseUri": "./Device/Vendor/MSFT/Policy",
                "offsetUri": f"/Config/PVSim/Setting{i}", "keywords": [], "infoUrls": [],
                "visibility": "settingsCatalog", "rootDefinitionId": def_id}

    kind = i % 3
    if kind == 0:
        choice = common("deviceManagementConfigurationChoiceSettingDefinition", def_id, label)
        choice["options"] = [
            {"itemId": f"{def_id}_{n}", "name": f"{def_id}_{n}", "displayName": text,
             "description": None, "optionValue": {
                 "@odata.type": G + "deviceManagementConfigurationIntegerSettingValue",
                 "value": n}, "dependentOn": []}
            for n, text in enumerate(("Disabled", "Enabled"))]
        choice["defaultOptionId"] = f"{def_id}_0"
        child = common("deviceManagementConfigurationSimpleSettingDefinition",
                       f"{def_id}_child", f"{label}: days")
        return [choice, child]
    if kind == 1:
        return [common("deviceManagementConfigurationSimpleSettingDefinition", def_id, label)]
    group = common("deviceManagementConfigurationSettingGroupCollectionDefinition", def_id, label)
    group["childIds"] = [f"{def_id}_item"]
    item = common("deviceManagementConfigurationSimpleSettingDefinition", f"{def_id}_item",
                  f"{label}: entry")
    return [group, item]


_FIREWALL = "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}"
_KEYWORDS = "vendor_msft_firewall_mdmstore_dynamickeywords_addresses_{id}"
_LINUX = "linux_customcompliance"
# (id, @odata.type suffix, display name, options (itemId suffix, label)) of the real
# definitions the areas' firewall, reusable-setting and Linux compliance objects name.
_CATALOG_DEFINITIONS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    (_FIREWALL, "SettingGroupCollectionDefinition", "Firewall Rules", ()),
    (f"{_FIREWALL}_name", "SimpleSettingDefinition", "Name", ()),
    (f"{_FIREWALL}_action_type", "ChoiceSettingDefinition", "Action",
     (("0", "Block"), ("1", "Allow"))),
    (f"{_FIREWALL}_remoteaddressdynamickeywords", "SimpleSettingCollectionDefinition",
     "Remote Address Dynamic Keywords", ()),
    (_KEYWORDS, "SettingGroupCollectionDefinition", "Dynamic Keywords", ()),
    (f"{_KEYWORDS}_keyword", "SimpleSettingDefinition", "Keyword", ()),
    (f"{_KEYWORDS}_addresses", "SimpleSettingCollectionDefinition", "Addresses", ()),
    (f"{_LINUX}_required", "ChoiceSettingDefinition", "Custom Compliance",
     (("true", "True"), ("false", "False"))),
    (f"{_LINUX}_discoveryscript", "SimpleSettingDefinition", "Discovery script", ()),
    (f"{_LINUX}_discoveryscript_reusablesetting", "SimpleSettingDefinition",
     "Discovery script (reusable)", ()),
    (f"{_LINUX}_rules", "SimpleSettingDefinition", "Rules", ()),
)


def catalog_definitions() -> list[dict[str, Any]]:
    out = []
    for def_id, kind, name, options in _CATALOG_DEFINITIONS:
        definition: dict[str, Any] = {
            "@odata.type": f"{G}deviceManagementConfiguration{kind}", "id": def_id,
            "name": def_id.rsplit("_", 1)[-1], "displayName": name, "description": name,
            "helpText": "", "keywords": [], "infoUrls": [], "visibility": "settingsCatalog"}
        if options:
            definition["options"] = [{"itemId": f"{def_id}_{suffix}", "displayName": label,
                                      "name": f"{def_id}_{suffix}", "dependentOn": []}
                                     for suffix, label in options]
        out.append(definition)
    return out


def seed_tenant(seed: int, index: int, counts: dict[str, int]) -> dict[str, dict[str, Any]]:
    """All collections of one tenant, keyed by TypeSpec key then object id."""
    seeder = TenantSeeder(seed, index, counts)
    seeder.seed_foundation()
    seeder.seed_policies()
    for area in AREAS:
        area.seed(seeder)
    seeder.seed_group_kinds()
    seeder.seed_setting_definitions()
    return seeder.data
