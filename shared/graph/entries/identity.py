"""Entra ID: Conditional Access and what it refers to (named locations, authentication
strengths and contexts), terms of use, groups.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shared.graph import hooks
from shared.graph.documents import canonical_json
from shared.graph.resource import (
    Reference,
    ResourceType,
    SubCollection,
)

# Why each read and write plan is what Graph serves (learn.microsoft.com/graph/api/…,
# view=graph-rest-1.0; microsoftgraph/microsoft-graph-docs-contrib api-reference/v1.0).
STRENGTH_DOCS = (
    "authenticationstrengthroot-list-policies: the list returns built-in and custom "
    "strengths (policyType), combinationConfigurations inline; authenticationstrengthpolicy-"
    "update: 'You cannot update the allowed auth method combinations using this request', "
    "use authenticationstrengthpolicy-updateallowedcombinations; authenticationstrengthroot-"
    "post-policies: allowedCombinations required on create; authenticationstrengthpolicy-"
    "list-combinationconfigurations / -post- and authenticationcombinationconfiguration-"
    "update: the FIDO2 restrictions are a navigation written on their own")
CA_STRENGTH_READ = (
    "michev.info/blog/post/6399 and verbatim v1.0 policy listings: grantControls."
    "authenticationStrength is read as the whole strength object (with createdDateTime, "
    "allowedCombinations, …) and written as {\"id\": …}")
CONTEXT_DOCS = (
    "authenticationcontextclassreference-update: PATCH {collection}/{id} creates the object "
    "'if the ID has not been used', else updates it; 204 No Content; v1.0 lists no POST "
    "create (beta's conditionalaccessroot-post-authenticationcontextclassreferences has one)")
AGREEMENT_DOCS = (
    "termsofusecontainer-post-agreements: created with files[].fileData.data (the PDF); "
    "agreement-list-files: GET {id}?$expand=files, every file answered with fileData null; "
    "agreementfiledata: data is read-only; agreement-update: PATCH of the agreement's own "
    "properties only")

CONTEXTS_PATH = "identity/conditionalAccess/authenticationContextClassReferences"
_COMBINATIONS = SubCollection("combinationConfigurations", unordered=True)
_FILES = SubCollection("files", via_item_expand=True, write_inline=True, unordered=True)


# ---- authentication strengths ---------------------------------------------------------------

def custom_strength(document: dict[str, Any]) -> bool:
    """Built-in strengths exist, with the same ids, in every tenant: never backed up."""
    return document.get("policyType") == "custom"


def strength_body(payload: dict[str, Any], snapshot: dict[str, Any], mode: str,
                  ca_state: str) -> dict[str, Any]:
    """``allowedCombinations`` goes in the create POST only; a PATCH may not carry it."""
    if mode == "update":
        payload.pop("allowedCombinations", None)
    return payload


async def sync_strength(ctx: hooks.WriteContext) -> None:
    """After an update, ``updateAllowedCombinations`` when the live combinations differ from
    the snapshot's; then the combination configurations (FIDO2 key restrictions), matched
    by type and the combinations they apply to."""
    if ctx.mode == "update":
        wanted = list(ctx.snapshot.get("allowedCombinations") or [])
        live = await ctx.client.request(ctx.tenant_id, "GET", ctx.item_path,
                                        version=ctx.rtype.version)
        current = live.body.get("allowedCombinations") if isinstance(live.body, dict) else None
        if sorted(current or []) != sorted(wanted):
            await ctx.send("POST", "/updateAllowedCombinations",
                           {"allowedCombinations": wanted}, idempotent=True)
    await hooks._sync_children(ctx, _COMBINATIONS.name, key=_combination_key, patch=True)


def _combination_key(entry: dict[str, Any]) -> str:
    return canonical_json([entry.get("@odata.type"),
                           sorted(entry.get("appliesToCombinations") or [])]).decode()


# ---- authentication contexts and terms of use ----------------------------------------------

def context_path(snapshot: dict[str, Any]) -> str:
    """A context is created under the id it had (``c1``…``c99``): PATCH upserts it."""
    return f"{CONTEXTS_PATH}/{quote(str(snapshot.get('id') or ''), safe='')}"


def agreement_file_missing(document: dict[str, Any]) -> bool:
    """Creating an agreement needs every file's PDF; Graph reads files back with
    ``fileData: null``, so a backup holds it only if it was put there."""
    files = document.get(_FILES.name) or []
    return not files or not all(isinstance(f, dict) and (f.get("fileData") or {}).get("data")
                                for f in files)


# Directory objects a CA policy names that are no catalog type (not backed up): users (a
# break-glass exclusion) and applications (by appId). Only a cross-tenant deployment maps them
# (DESIGN §11); restore levels ignore them. The keywords are Graph's names, not ids.
USERS, APPLICATIONS = "users", "applications"
_USER_KEYWORDS = frozenset({"All", "None", "GuestsOrExternalUsers"})
_APP_KEYWORDS = frozenset({"All", "None", "Office365", "MicrosoftAdminPortals"})
_LOCATION_KEYWORDS = frozenset({"All", "AllTrusted"})

ENTRIES: tuple[ResourceType, ...] = (
    ResourceType(
        key="conditionalAccessPolicies", path="identity/conditionalAccess/policies",
        version="v1.0", subcollections=(), assign_key=None,
        read_only=frozenset({"templateId", "deletedDateTime"}),
        references=(
            Reference("namedLocations", "conditions.locations.includeLocations[]",
                      keywords=_LOCATION_KEYWORDS),
            Reference("namedLocations", "conditions.locations.excludeLocations[]",
                      exclusion=True, keywords=_LOCATION_KEYWORDS),
            Reference("groups", "conditions.users.includeGroups[]"),
            Reference("groups", "conditions.users.excludeGroups[]", exclusion=True),
            Reference(USERS, "conditions.users.includeUsers[]", keywords=_USER_KEYWORDS),
            Reference(USERS, "conditions.users.excludeUsers[]", exclusion=True,
                      keywords=_USER_KEYWORDS),
            Reference(APPLICATIONS, "conditions.applications.includeApplications[]",
                      keywords=_APP_KEYWORDS),
            Reference(APPLICATIONS, "conditions.applications.excludeApplications[]",
                      exclusion=True, keywords=_APP_KEYWORDS),
            Reference("authenticationStrengthPolicies",
                      "grantControls.authenticationStrength.id"),
            Reference("authenticationContextClassReferences",
                      "conditions.applications.includeAuthenticationContextClassReferences[]"),
            Reference("termsOfUseAgreements", "grantControls.termsOfUse[]"),
        ),
        written_by_id=("grantControls.authenticationStrength",),
        prepare=hooks.prepare_conditional_access, evidence=(CA_STRENGTH_READ,),
    ),
    ResourceType(
        key="namedLocations", path="identity/conditionalAccess/namedLocations",
        version="v1.0", subcollections=(), assign_key=None, references=(),
    ),
    ResourceType(
        key="authenticationStrengthPolicies", path="policies/authenticationStrengthPolicies",
        version="v1.0", subcollections=(_COMBINATIONS,), assign_key=None, references=(),
        read_only=frozenset({"policyType", "requirementsSatisfied"}),
        include=custom_strength, listed_fields=("policyType",), can_create=custom_strength,
        prepare=strength_body, after_write=sync_strength, evidence=(STRENGTH_DOCS,),
    ),
    ResourceType(
        key="authenticationContextClassReferences", path=CONTEXTS_PATH, version="v1.0",
        subcollections=(), assign_key=None, references=(),
        create_path=context_path, create_method="PATCH", evidence=(CONTEXT_DOCS,),
    ),
    ResourceType(
        key="termsOfUseAgreements", path="identityGovernance/termsOfUse/agreements",
        version="v1.0", subcollections=(_FILES,), assign_key=None, references=(),
        content_required=agreement_file_missing, evidence=(AGREEMENT_DOCS,),
    ),
)
