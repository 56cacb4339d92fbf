"""Entra ID: authentication strengths and contexts, terms of use agreements.

Where Graph (v1.0 documentation) is not plain OData, and how the simulator follows it:

- authentication strengths (``policies/authenticationStrengthPolicies``) list the built-in
  strengths (``policyType: builtIn``, the same ids in every tenant) with the custom ones;
  built-ins cannot be changed. ``allowedCombinations`` is required on create and changed only
  through ``POST {id}/updateAllowedCombinations`` ("You cannot update the allowed auth method
  combinations using this request"): a PATCH carrying it is refused. ``policyType`` and
  ``requirementsSatisfied`` are Graph's. ``combinationConfigurations`` (FIDO2 key
  restrictions) is a navigation of its own;
- authentication contexts are created and updated by ``PATCH {collection}/{id}`` (an upsert
  that answers 204); v1.0 documents no POST create (beta does); ids are ``c1``…``c99``;
- terms of use agreements are created with their files, the PDF in ``fileData.data``; reads
  answer ``fileData: null`` ("List files" and "Get agreementFile" examples), so the simulator
  does not keep the PDF it was sent;
- a Conditional Access policy's ``grantControls.authenticationStrength`` is written as
  ``{"id": …}`` and read as the whole strength object (:func:`show_conditional_access`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..odata import bad_request
from ..spec import BOTH, G, SubSpec, TypeSpec

if TYPE_CHECKING:
    from ..graph import GraphEngine, GraphResponse
    from ..seed import TenantSeeder
    from ..store import Tenant

STRENGTHS = "authenticationStrengthPolicies"
CONTEXTS = "authenticationContextClassReferences"
AGREEMENTS = "termsOfUseAgreements"

# authenticationMethodModes (the create and updateAllowedCombinations docs list them).
METHOD_MODES = frozenset({
    "password", "voice", "hardwareOath", "softwareOath", "sms", "fido2",
    "windowsHelloForBusiness", "microsoftAuthenticatorPush", "deviceBasedPush",
    "temporaryAccessPassOneTime", "temporaryAccessPassMultiUse", "email",
    "x509CertificateSingleFactor", "x509CertificateMultiFactor", "federatedSingleFactor",
    "federatedMultiFactor", "qrCodePin",
})
_SINGLE_FACTOR = frozenset({
    "password", "voice", "hardwareOath", "softwareOath", "sms", "email",
    "microsoftAuthenticatorPush", "x509CertificateSingleFactor", "federatedSingleFactor",
    "qrCodePin",
})
BUILT_IN_PHISHING_RESISTANT = "00000000-0000-0000-0000-000000000004"


# ---- authentication strengths -----------------------------------------------------------------

def _combinations(value: Any) -> list[str]:
    """A valid ``allowedCombinations``: a non-empty array of method-mode combinations."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise bad_request("'allowedCombinations' is required: a non-empty array of "
                          "authentication method combinations.")
    for combination in value:
        modes = {m.strip() for m in combination.split(",")}
        if not modes <= METHOD_MODES:
            raise bad_request(f"Invalid authentication method combination '{combination}'.")
    return list(value)


def _requirements(combinations: list[str]) -> str:
    """``requirementsSatisfied``: mfa unless one combination is a single weak factor."""
    singles = [c for c in combinations if "," not in c and c.strip() in _SINGLE_FACTOR]
    return "none" if singles else "mfa"


def _refuse_built_in(current: dict[str, Any] | None) -> None:
    if current is not None and current.get("policyType") == "builtIn":
        raise bad_request("Built-in authentication strength policies cannot be modified.")


def _strength_rules(tenant: Tenant, body: dict[str, Any], mode: str,
                    current: dict[str, Any] | None) -> None:
    _refuse_built_in(current)
    if mode != "create" and "allowedCombinations" in body:
        raise bad_request("'allowedCombinations' cannot be updated with this request; use "
                          "the updateAllowedCombinations action.")
    if mode == "create":
        combinations = _combinations(body.get("allowedCombinations"))
        body["policyType"] = "custom"
        body["requirementsSatisfied"] = _requirements(combinations)


def _update_allowed_combinations(engine: GraphEngine, tenant: Tenant, spec: TypeSpec,
                                 obj: dict[str, Any] | None, raw: Any) -> GraphResponse:
    """``POST {id}/updateAllowedCombinations``: 200 with an updateAllowedCombinationsResult."""
    from ..graph import GraphResponse  # the engine imports the areas: not at import time
    from ..store import touch
    from ..validate import require_object

    assert obj is not None
    _refuse_built_in(obj)
    combinations = _combinations(require_object(raw).get("allowedCombinations"))
    previous = obj.get("allowedCombinations") or []
    obj["allowedCombinations"] = combinations
    obj["requirementsSatisfied"] = _requirements(combinations)
    touch(spec, obj)
    using = [p["id"] for p in tenant.data.get("conditionalAccessPolicies", {}).values()
             if _strength_ref(p) == obj["id"]]
    return GraphResponse(200, {
        "@odata.context": f"{engine.base_url}/v1.0/$metadata#microsoft.graph."
                          "updateAllowedCombinationsResult",
        "previousCombinations": previous, "currentCombinations": combinations,
        "conditionalAccessReferences": using, "additionalInformation": None})


def _strength_ref(policy: dict[str, Any]) -> str | None:
    grant = policy.get("grantControls")
    ref = grant.get("authenticationStrength") if isinstance(grant, dict) else None
    return ref.get("id") if isinstance(ref, dict) else None


def show_conditional_access(tenant: Tenant, policy: dict[str, Any]) -> dict[str, Any]:
    """A CA policy as Graph reads it: the authentication strength it names, whole (null when
    that strength is gone)."""
    strength_id = _strength_ref(policy)
    if strength_id is None:
        return policy
    target = tenant.data.get(STRENGTHS, {}).get(strength_id)
    inline = {k: v for k, v in target.items() if k != "@odata.type"} if target else None
    return {**policy, "grantControls": {**policy["grantControls"],
                                        "authenticationStrength": inline}}


# ---- authentication contexts and terms of use ---------------------------------------------

_CONTEXT_ID = r"c([1-9]|[1-9][0-9])"


def _agreement_rules(tenant: Tenant, body: dict[str, Any], mode: str,
                     current: dict[str, Any] | None) -> None:
    """An agreement is created with at least one file carrying its PDF (base64); Graph never
    reads the PDF back, so it is not kept."""
    from ..validate import list_of

    if mode != "create":
        return
    files = list_of(body, "files")
    if not files:
        raise bad_request("An agreement must be created with at least one file.")
    for file in files:
        data = (file.get("fileData") or {}).get("data") if isinstance(file, dict) else None
        if not isinstance(data, str) or not data or not isinstance(file.get("fileName"), str):
            raise bad_request("Each agreement file needs a 'fileName' and its PDF in "
                              "'fileData.data'.")
        file["fileData"] = None
        file.setdefault("displayName", body.get("displayName"))
        file.setdefault("isDefault", len(files) == 1)
        file.setdefault("isMajorVersion", False)


TYPES: tuple[TypeSpec, ...] = (
    TypeSpec(
        key=STRENGTHS, path="policies/authenticationStrengthPolicies",
        odata_types=(G + "authenticationStrengthPolicy",), versions=BOTH,
        modified_prop="modifiedDateTime", scope_tag_prop=None,
        read_only=frozenset({"policyType", "requirementsSatisfied"}),
        subs=(SubSpec("combinationConfigurations", G + "fido2CombinationConfiguration"),),
        handlers=(("updateAllowedCombinations", _update_allowed_combinations),),
        write_rules=_strength_rules,
    ),
    TypeSpec(
        key=CONTEXTS, path="identity/conditionalAccess/authenticationContextClassReferences",
        odata_types=(G + "authenticationContextClassReference",), versions=BOTH,
        created_prop=None, modified_prop=None, scope_tag_prop=None,
        upsert_on_patch=True, client_ids=_CONTEXT_ID, post_creates=False,
    ),
    TypeSpec(
        key=AGREEMENTS, path="identityGovernance/termsOfUse/agreements",
        odata_types=(G + "agreement",), versions=BOTH, created_prop=None, modified_prop=None,
        scope_tag_prop=None, subs=(SubSpec("files", G + "agreementFileLocalization"),),
        create_navs=("files",), write_rules=_agreement_rules,
    ),
)
POLICY_KEYS: tuple[str, ...] = (STRENGTHS, CONTEXTS, AGREEMENTS)
COUNTS: dict[str, int] = {STRENGTHS: 1, CONTEXTS: 1, AGREEMENTS: 1}


def seed(s: TenantSeeder) -> None:
    """The built-in phishing-resistant strength, custom strengths with a FIDO2 restriction,
    contexts ``c1``…, agreements with one file, and a CA policy that uses all three."""
    s.put(STRENGTHS, {
        "@odata.type": G + "authenticationStrengthPolicy", "id": BUILT_IN_PHISHING_RESISTANT,
        "createdDateTime": "2021-12-01T08:00:00Z", "modifiedDateTime": "2021-12-01T08:00:00Z",
        "displayName": "Phishing-resistant MFA",
        "description": "Phishing-resistant, Passwordless methods for the strongest "
                       "authentication, such as a FIDO2 security key",
        "policyType": "builtIn", "requirementsSatisfied": "mfa",
        "allowedCombinations": ["windowsHelloForBusiness", "fido2",
                                "x509CertificateMultiFactor"],
        "combinationConfigurations": []})
    for i in range(s.n(STRENGTHS)):
        obj = s.base("authenticationStrengthPolicy", f"PV Strength {i + 1}",
                     modified="modifiedDateTime")
        obj.update(policyType="custom", requirementsSatisfied="mfa",
                   allowedCombinations=["fido2", "windowsHelloForBusiness",
                                        "password,microsoftAuthenticatorPush"])
        obj["combinationConfigurations"] = [{
            "@odata.type": G + "fido2CombinationConfiguration", "id": s.guid(),
            "allowedAAGUIDs": [s.guid()], "appliesToCombinations": ["fido2"]}]
        s.put(STRENGTHS, obj)
    for i in range(min(s.n(CONTEXTS), 99)):
        s.put(CONTEXTS, {"@odata.type": G + "authenticationContextClassReference",
                         "id": f"c{i + 1}", "displayName": f"PV Context {i + 1}",
                         "description": f"Step-up {i + 1}", "isAvailable": True})
    for i in range(s.n(AGREEMENTS)):
        name = f"PV Terms of use {i + 1}"
        s.put(AGREEMENTS, {
            "@odata.type": G + "agreement", "id": s.guid(), "displayName": name,
            "isViewingBeforeAcceptanceRequired": True, "isPerDeviceAcceptanceRequired": False,
            "userReacceptRequiredFrequency": "P90D", "termsExpiration": None,
            "files": [{"@odata.type": G + "agreementFileLocalization", "id": s.guid(),
                       "fileName": "TOU.pdf", "displayName": name, "language": "en",
                       "isDefault": True, "isMajorVersion": False,
                       "createdDateTime": s.stamp(), "fileData": None}]})
    _seed_step_up_policy(s)


def _seed_step_up_policy(s: TenantSeeder) -> None:
    """A CA policy for authentication context c1 that requires a custom strength and the
    terms of use (references that a restore must write first and remap)."""
    custom = [k for k, v in s.data.get(STRENGTHS, {}).items() if v["policyType"] == "custom"]
    contexts, agreements = list(s.data.get(CONTEXTS, {})), list(s.data.get(AGREEMENTS, {}))
    if not (s.n("conditionalAccessPolicies") and custom and contexts and agreements):
        return
    obj = s.base("conditionalAccessPolicy", "CA900 - Step-up with custom strength",
                 modified="modifiedDateTime")
    obj.pop("description")
    obj.update(
        templateId=None, state="enabledForReportingButNotEnforced", sessionControls=None,
        conditions={
            "userRiskLevels": [], "signInRiskLevels": [], "clientAppTypes": ["all"],
            "platforms": None, "devices": None,
            "locations": {"includeLocations": ["All"], "excludeLocations": []},
            "applications": {"includeApplications": [], "excludeApplications": [],
                             "includeUserActions": [],
                             "includeAuthenticationContextClassReferences": contexts[:1]},
            "users": {"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [],
                      "excludeGroups": [], "includeRoles": [], "excludeRoles": []}},
        grantControls={"operator": "AND", "builtInControls": [],
                       "customAuthenticationFactors": [], "termsOfUse": agreements[:1],
                       "authenticationStrength": {"id": custom[0]}})
    s.put("conditionalAccessPolicies", obj)
