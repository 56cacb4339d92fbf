"""The catalog's special cases: small named functions referenced from their entry.

Three kinds: ``prepare`` (adjust a write body: pure), ``after_write`` (follow-up writes Graph
only accepts through an action or a sub-collection, run after the object's create/update),
and ``can_create`` (objects Graph will not let anyone create, e.g. built-ins).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shared.graph.documents import canonical_json, clean_entry

if TYPE_CHECKING:
    from shared.graph.catalog import ResourceType
    from shared.graph.client import GraphClient


@dataclass(frozen=True)
class WriteContext:
    client: GraphClient
    tenant_id: str
    rtype: ResourceType
    item_id: str
    snapshot: dict[str, Any]
    mode: str  # "create" | "update"

    @property
    def item_path(self) -> str:
        return self.rtype.object_path(self.item_id, self.snapshot)

    async def live(self, name: str, params: dict[str, str] | None = None
                   ) -> list[dict[str, Any]]:
        """The live entries of a sub-collection (none right after a create)."""
        if self.mode == "create":
            return []
        return await self.client.get_all(self.tenant_id, f"{self.item_path}/{name}",
                                         version=self.rtype.version, params=params)

    async def send(self, method: str, path: str, body: Any = None, *,
                   idempotent: bool | None = None) -> None:
        await self.client.request(self.tenant_id, method, f"{self.item_path}{path}",
                                  version=self.rtype.version, json=body, idempotent=idempotent)


# ---- prepare: write bodies ------------------------------------------------------------------

def prepare_settings_catalog(payload: dict[str, Any], snapshot: dict[str, Any], mode: str,
                             ca_state: str) -> dict[str, Any]:
    """Settings catalog: settings go without their ids or expanded definitions (a PUT
    replaces them all)."""
    payload["settings"] = [{k: v for k, v in s.items() if k != "settingDefinitions"}
                           for s in payload.get("settings") or []]
    return payload


def prepare_conditional_access(payload: dict[str, Any], snapshot: dict[str, Any], mode: str,
                               ca_state: str) -> dict[str, Any]:
    """DESIGN §8: a policy is created report-only unless the restore asked for
    ``as_snapshot`` — a restore must never lock an MSP out of its customer. An update then
    leaves the live policy's state alone: it neither enforces a policy nor silently stops
    enforcing one (only ``as_snapshot`` writes the backed-up state)."""
    if ca_state == "report_only":
        if mode == "update":
            payload.pop("state", None)
        elif payload.get("state") == "enabled":
            payload["state"] = "enabledForReportingButNotEnforced"
    return payload


# ---- can_create: objects nobody can create --------------------------------------------------

def not_built_in(document: dict[str, Any]) -> bool:
    return not document.get("isBuiltIn")


def not_global_script(document: dict[str, Any]) -> bool:
    return not document.get("isGlobalScript")


def not_default_enrollment(document: dict[str, Any]) -> bool:
    """The tenant's default enrollment configurations (priority 0) exist in every tenant;
    they can be updated, never created."""
    return document.get("priority") != 0


# ---- after_write: actions and sub-collections ----------------------------------------------

async def schedule_compliance_actions(ctx: WriteContext) -> None:
    """Compliance actions are created inline with the policy but changed only through
    ``scheduleActionsForRules``."""
    if ctx.mode != "update":
        return
    sub = ctx.rtype.sub("scheduledActionsForRule")
    assert sub is not None
    rules = [clean_entry(sub, r) for r in ctx.snapshot.get(sub.name) or []]
    await ctx.send("POST", "/scheduleActionsForRules",
                   {"deviceComplianceScheduledActionForRules": rules}, idempotent=True)


async def sync_definition_values(ctx: WriteContext) -> None:
    """Administrative templates: definition values are written only through
    ``updateDefinitionValues`` — matched to live values by definition id."""
    sub = ctx.rtype.sub("definitionValues")
    assert sub is not None
    live = await ctx.live(sub.name, {"$expand": "definition"})
    live_by_definition = {(v.get("definition") or {}).get("id"): v for v in live}
    added: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    wanted: set[str] = set()
    for value in ctx.snapshot.get(sub.name) or []:
        definition_id = (value.get("definition") or {}).get("id")
        if not definition_id:
            continue
        wanted.add(definition_id)
        body = {k: v for k, v in clean_entry(sub, value).items() if k != "definition"}
        body["presentationValues"] = [_presentation_value(ctx, p)
                                      for p in body.get("presentationValues") or []]
        current = live_by_definition.get(definition_id)
        if current is not None:
            updated.append({**body, "id": current["id"]})
        else:
            bind = (f"{ctx.client.base_url}/{ctx.rtype.version}/deviceManagement/"
                    f"groupPolicyDefinitions('{definition_id}')")
            added.append({**body, "definition@odata.bind": bind})
    deleted = [v["id"] for d, v in live_by_definition.items() if d and d not in wanted]
    if added or updated or deleted:
        await ctx.send("POST", "/updateDefinitionValues",
                       {"added": added, "updated": updated, "deletedIds": deleted})


def _presentation_value(ctx: WriteContext, value: dict[str, Any]) -> dict[str, Any]:
    """A presentation value refers to its presentation by binding when the snapshot holds it."""
    out = {k: v for k, v in value.items() if k != "presentation"}
    presentation = value.get("presentation")
    if isinstance(presentation, dict) and presentation.get("id"):
        out["presentation@odata.bind"] = (
            f"{ctx.client.base_url}/{ctx.rtype.version}/deviceManagement/"
            f"groupPolicyDefinitions('{presentation.get('definitionId', '')}')/"
            f"presentations('{presentation['id']}')")
    return out


async def sync_localized_messages(ctx: WriteContext) -> None:
    """Notification templates: one localized message per locale, in a sub-collection."""
    await _sync_children(ctx, "localizedNotificationMessages",
                         key=lambda m: str(m.get("locale", "")).lower(), patch=True)


async def sync_apps(ctx: WriteContext) -> None:
    """App protection and app configuration policies: the targeted apps, matched by their
    ``mobileAppIdentifier``."""
    await _sync_children(ctx, "apps",
                         key=lambda a: canonical_json(a.get("mobileAppIdentifier")).decode(),
                         patch=False)


async def assign_entry_by_entry(ctx: WriteContext, assignments: Sequence[dict[str, Any]]
                                ) -> None:
    """Assignments of a type without ``/assign`` (``ResourceType.assign_via``): entries
    POSTed to and DELETEd from its ``assignments`` sub-collection until it matches, keyed by
    target."""
    await _sync_children(replace(ctx, snapshot={**ctx.snapshot, "assignments": list(assignments)}),
                         "assignments", key=lambda a: canonical_json(a.get("target")).decode(),
                         patch=False)


async def _sync_children(ctx: WriteContext, name: str, key: Callable[[dict[str, Any]], str],
                         patch: bool) -> None:
    """Make a sub-collection match the snapshot: POST missing entries, PATCH changed ones
    (or leave them when ``patch`` is False), DELETE entries the snapshot does not have."""
    sub = ctx.rtype.sub(name)
    assert sub is not None
    live = {key(e): e for e in await ctx.live(name)}
    wanted = {key(e): clean_entry(sub, e) for e in ctx.snapshot.get(name) or []}
    writes = []
    for k, body in wanted.items():
        current = live.get(k)
        if current is None:
            writes.append(ctx.send("POST", f"/{name}", body))
        elif patch and clean_entry(sub, current) != body:
            writes.append(ctx.send("PATCH", f"/{name}/{quote(current['id'], safe='')}", body))
    for k, current in live.items():
        if k not in wanted:
            writes.append(ctx.send("DELETE", f"/{name}/{quote(current['id'], safe='')}"))
    await asyncio.gather(*writes)
