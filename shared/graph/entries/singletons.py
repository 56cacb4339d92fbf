"""Singletons: one object per tenant, captured as one item whose id is the entry's key,
restored by an update, never created or deleted (DESIGN §7.1).

Where Graph differs from DESIGN §7.1 the entries follow Graph: the authentication methods
policy's PATCH does not take its method configurations (each is PATCHed on its own), and the
cross-tenant access policy's ``default`` and ``partners`` are navigations of their own, read
and written at ``policies/crossTenantAccessPolicy/default`` and ``…/partners/{tenantId}``.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from shared.graph.documents import (
    COMMON_VOLATILE,
    SUB_SERVER_FIELDS,
    clean_entry,
    drop_deep,
    strip_annotations,
)
from shared.graph.hooks import WriteContext
from shared.graph.resource import Reference, ResourceType, Restore, SubCollection

# ---- evidence: what Graph serves for each read ----------------------------------------------

DEVICE_MANAGEMENT_SETTINGS = (
    "learn.microsoft.com/graph/api/intune-deviceconfig-devicemanagement-update?view=graph-rest-"
    "beta: PATCH /deviceManagement with settings; microsoft/zerotrustassessment and other "
    "assessment tools read GET /deviceManagement?$select=settings")
APNS_CERTIFICATE = (
    "learn.microsoft.com/graph/api/intune-devices-applepushnotificationcertificate-get?view="
    "graph-rest-beta: GET /deviceManagement/applePushNotificationCertificate, one object")
AUTHENTICATION_METHODS = (
    "learn.microsoft.com/graph/api/authenticationmethodspolicy-get (v1.0): the GET answers "
    "authenticationMethodConfigurations inline ('Automatically expanded on GET "
    "/policies/authenticationMethodsPolicy', Get-MgPolicyAuthenticationMethodPolicy"
    "AuthenticationMethodConfiguration); the policy's PATCH takes registrationEnforcement and "
    "its own settings; each configuration is PATCHed at …/authenticationMethodConfigurations/"
    "{id} with its @odata.type")
AUTHORIZATION_POLICY = (
    "learn.microsoft.com/graph/api/authorizationpolicy-get (v1.0): 'the single "
    "authorizationPolicy object', id authorizationPolicy (beta answers a one-item collection)")
SECURITY_DEFAULTS = (
    "learn.microsoft.com/graph/api/identitysecuritydefaultsenforcementpolicy-get (v1.0): one "
    "object, id 00000000-0000-0000-0000-000000000005; PATCH isEnabled")
DEVICE_REGISTRATION = (
    "learn.microsoft.com/graph/api/deviceregistrationpolicy-update?view=graph-rest-beta: PUT "
    "with every updatable property (all required)")
CROSS_TENANT_ACCESS = (
    "learn.microsoft.com/graph/api/resources/crosstenantaccesspolicy (v1.0): default and "
    "partners are relationships (GET …/default, GET …/partners keyed by tenantId; POST, PATCH "
    "and DELETE partners/{tenantId}; PATCH default, POST default/resetToSystemDefault)")

# ---- parts ------------------------------------------------------------------------------------

METHOD_CONFIGURATIONS = "authenticationMethodConfigurations"
# A configuration's id names its method (Fido2, Sms, …): kept, and compared.
_CONFIGURATIONS = SubCollection(METHOD_CONFIGURATIONS, unordered=True,
                                server_fields=SUB_SERVER_FIELDS - {"id"})
PARTNERS = "partners"
_PARTNERS = SubCollection(PARTNERS, unordered=True,
                          server_fields=SUB_SERVER_FIELDS | {"isInMultiTenantOrganization"})
DEFAULT = "default"
# Graph manages these on the default configuration: never written.
_DEFAULT_READ_ONLY = frozenset({"isServiceDefault", "automaticUserConsentSettings"})

_CAMPAIGN = "registrationEnforcement.authenticationMethodsRegistrationCampaign"
# Include and exclude targets of targetType group name groups ("all_users" is not one, and
# stays as it is); an excluded group is an exclusion.
_METHOD_TARGETS = tuple(
    Reference("groups", f"{root}.{side}[].id", exclusion=side == "excludeTargets",
              where=(("targetType", "group"),), keywords=frozenset({"all_users"}))
    for root in (f"{METHOD_CONFIGURATIONS}[]", _CAMPAIGN)
    for side in ("includeTargets", "excludeTargets"))
_REGISTRATION_GROUPS = tuple(
    Reference("groups", f"{path}.groups[]")
    for path in ("azureADJoin.allowedToJoin", "azureADRegistration.allowedToRegister",
                 "azureADJoin.localAdmins.registeringUsers"))


# ---- hooks -------------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """``value`` as compared: no OData annotations, no modification times."""
    return drop_deep(strip_annotations(value), COMMON_VOLATILE)


async def patch_method_configurations(ctx: WriteContext) -> None:
    """Each authentication method's configuration that differs from live is PATCHed on its
    own, with its ``@odata.type`` (Graph requires it); methods are never added or removed."""
    live = {str(c.get("id", "")).lower(): c for c in await ctx.live(METHOD_CONFIGURATIONS)}
    writes = []
    for config in ctx.snapshot.get(METHOD_CONFIGURATIONS) or []:
        method_id = str(config.get("id") or "")
        current = live.get(method_id.lower())
        body = clean_entry(_CONFIGURATIONS, config)
        if not method_id or (current is not None and
                             _plain(clean_entry(_CONFIGURATIONS, current))
                             == _plain(body)):
            continue
        body.pop("id", None)
        writes.append(ctx.send("PATCH", f"/{METHOD_CONFIGURATIONS}/{quote(method_id, safe='')}",
                               body))
    await asyncio.gather(*writes)


def without_default(payload: dict[str, Any], snapshot: dict[str, Any], mode: str,
                    ca_state: str) -> dict[str, Any]:
    """The cross-tenant access policy's PATCH carries its own properties only; ``default``
    is written at its own path (:func:`write_default_and_partners`)."""
    payload.pop(DEFAULT, None)
    return payload


async def write_default_and_partners(ctx: WriteContext) -> None:
    await asyncio.gather(_write_default(ctx), _sync_partners(ctx))


async def _write_default(ctx: WriteContext) -> None:
    """The default configuration as captured: back to the system default when it was the
    system default then (``resetToSystemDefault``), else PATCHed with its settings."""
    wanted = ctx.snapshot.get(DEFAULT)
    if not isinstance(wanted, dict):
        return
    live = await ctx.client.get_json(ctx.tenant_id, f"{ctx.item_path}/{DEFAULT}",
                                     version=ctx.rtype.version)
    if _plain(live) == _plain(wanted):
        return
    if wanted.get("isServiceDefault"):
        await ctx.send("POST", f"/{DEFAULT}/resetToSystemDefault", idempotent=True)
        return
    body = {k: v for k, v in _plain(wanted).items() if k not in _DEFAULT_READ_ONLY}
    await ctx.send("PATCH", f"/{DEFAULT}", body)


async def _sync_partners(ctx: WriteContext) -> None:
    """Partner configurations keyed by ``tenantId``: POST the missing, PATCH the changed
    (without their key), DELETE those the snapshot does not have."""
    live = {str(p.get("tenantId")): clean_entry(_PARTNERS, p)
            for p in await ctx.live(PARTNERS)}
    wanted = {str(p.get("tenantId")): clean_entry(_PARTNERS, p)
              for p in ctx.snapshot.get(PARTNERS) or [] if p.get("tenantId")}
    writes = []
    for tenant, body in wanted.items():
        path = f"/{PARTNERS}/{quote(tenant, safe='')}"
        if tenant not in live:
            writes.append(ctx.send("POST", f"/{PARTNERS}", body))
        elif _plain(live[tenant]) != _plain(body):
            writes.append(ctx.send("PATCH", path,
                                   {k: v for k, v in body.items() if k != "tenantId"}))
    writes += [ctx.send("DELETE", f"/{PARTNERS}/{quote(tenant, safe='')}")
               for tenant in live.keys() - wanted.keys()]
    await asyncio.gather(*writes)


# ---- entries -----------------------------------------------------------------------------------

def _singleton(key: str, path: str, version: str, **fields: Any) -> ResourceType:
    """A singleton entry: no assignments, no references unless given, updated in place."""
    fields.setdefault("references", ())
    fields.setdefault("subcollections", ())
    fields.setdefault("restore", Restore.UPDATE_ONLY)
    return ResourceType(key=key, path=path, version=version, singleton=True,
                        assign_key=None, **fields)


ENTRIES: tuple[ResourceType, ...] = (
    _singleton(
        "deviceManagementSettings", "deviceManagement", "beta", singleton_property="settings",
        name_field="id", evidence=(DEVICE_MANAGEMENT_SETTINGS,),
    ),
    _singleton(  # backed up for reference (the expiry date); renewed in the Intune portal
        "applePushNotificationCertificate", "deviceManagement/applePushNotificationCertificate",
        "beta", name_field="id", restore=Restore.NONE, secrets=frozenset({"certificate"}),
        evidence=(APNS_CERTIFICATE,),
    ),
    _singleton(
        "authenticationMethodsPolicy", "policies/authenticationMethodsPolicy", "v1.0",
        read_only=frozenset({"displayName", "description", "policyVersion"}),
        subcollections=(_CONFIGURATIONS,), references=_METHOD_TARGETS,
        after_write=patch_method_configurations, evidence=(AUTHENTICATION_METHODS,),
    ),
    _singleton(
        "authorizationPolicy", "policies/authorizationPolicy", "v1.0",
        evidence=(AUTHORIZATION_POLICY,),
    ),
    _singleton(
        "identitySecurityDefaultsEnforcementPolicy",
        "policies/identitySecurityDefaultsEnforcementPolicy", "v1.0",
        evidence=(SECURITY_DEFAULTS,),
    ),
    _singleton(
        "deviceRegistrationPolicy", "policies/deviceRegistrationPolicy", "beta",
        update_method="PUT", read_only=frozenset({"displayName", "description"}),
        references=_REGISTRATION_GROUPS, evidence=(DEVICE_REGISTRATION,),
    ),
    _singleton(
        "crossTenantAccessPolicy", "policies/crossTenantAccessPolicy", "v1.0",
        singleton_parts=(DEFAULT,), subcollections=(_PARTNERS,), prepare=without_default,
        after_write=write_default_and_partners, evidence=(CROSS_TENANT_ACCESS,),
    ),
)
