"""The demo's story, one method per section, against a running local stack.

An MSP's Platform.Admin registers the customer tenants and grants an engineer ``operator``;
the engineer captures one settings catalog policy, backs up every tenant, and — once a
customer admin has changed things in the portal (``sim.drift``) — previews a restore and
restores the drifted policies live. Every step checks the answer against the contract in
DESIGN §3 and raises :class:`DemoFailed` when it differs.
"""

from __future__ import annotations

import copy
import re
import time
from collections import Counter
from typing import Any

import httpx

from local.api_client import PolicyVaultClient
from local.demo.console import Console, counts_text, duration
from local.stack import API_AUDIENCE, Stack

# The demo's two callers (Entra object ids are GUIDs; these are fixed so the output reads
# the same every time — each demo run has its own storage prefix, so nothing is shared).
ADMIN_OID = "0a0a0a0a-0000-4000-8000-000000000001"
ENGINEER_OID = "0e0e0e0e-0000-4000-8000-000000000002"
TERMINAL = ("succeeded", "failed", "partial")
PROGRESS_EVERY_S = 3.0  # a running run's progress line, at most this often


class DemoFailed(Exception):
    """Raised when the API answers something other than what DESIGN §3 promises."""


def expect(response: httpx.Response, *statuses: int) -> Any:
    """The JSON body of ``response`` if its status is one of ``statuses``."""
    if response.status_code not in statuses:
        detail = ""
        if response.headers.get("content-type", "").startswith("application/problem+json"):
            problem = response.json()
            detail = f": {problem.get('code')} - {problem.get('detail')}"
        raise DemoFailed(f"{response.request.method} {response.request.url.path} answered "
                         f"{response.status_code}, expected {'/'.join(map(str, statuses))}"
                         f"{detail}")
    return response.json() if response.content else None


class Demo:
    def __init__(self, stack: Stack, console: Console, *, run_timeout: float = 240.0) -> None:
        self.stack = stack
        self.sim = stack.sim
        self.out = console
        self.run_timeout = run_timeout
        self.admin: PolicyVaultClient = console.client(
            stack.base_url, stack.token(ADMIN_OID, ["Platform.Admin"]), "admin")
        self.engineer: PolicyVaultClient = console.client(
            stack.base_url, stack.token(ENGINEER_OID), "engineer")
        self.tenants: dict[str, str] = {}  # tenant id → display name
        self.backups: dict[str, dict[str, Any]] = {}  # tenant id → finished backup run

    def close(self) -> None:
        self.admin.close()
        self.engineer.close()

    # ---- 1. the stack -----------------------------------------------------------------------
    def show_stack(self, started_in: float, reused_storage: bool) -> None:
        out = self.out
        out.section(1, "The local stack")
        ports = dict(re.findall(r"(Blob|Queue|Table)Endpoint=https?://[^;]*:(\d+)/",
                                self.stack.storage_connection))
        storage = ("Azurite given with --storage" if reused_storage else "Azurite (started)")
        out.fields([
            ("storage", f"{storage}: blob :{ports.get('Blob')}, queue :{ports.get('Queue')}, "
                        f"table :{ports.get('Table')}"),
            ("Graph + Entra ID", f"simulator at {self.sim.base_url}, "
                                 f"{len(self.sim.tenant_ids)} customer tenants"),
            ("Functions runtime", f"local.host serving function_app.py at {self.stack.base_url}"),
            ("ready in", f"{started_in:.1f}s"),
        ])
        out.line()
        out.note("The app sees only configuration (DESIGN.md section 2):")
        out.fields([
            ("AzureWebJobsStorage", "<Azurite connection string>"),
            ("PV_STORAGE_PREFIX", self.stack.storage_prefix),
            ("GRAPH_BASE_URL", self.sim.base_url),
            ("ENTRA_AUTHORITY_HOST", self.sim.base_url),
            ("GRAPH_CLIENT_ID", self.sim.client_id),
            ("GRAPH_CLIENT_SECRET", "<set, not shown>"),
            ("PV_SNAPSHOT_KEK", "<generated for this run, not shown>"),
            ("API_AUTH_ISSUER", self.sim.caller_issuer),
            ("API_AUTH_AUDIENCE", API_AUDIENCE),
            ("API_AUTH_JWKS_URL", self.sim.caller_jwks_url),
            ("SSL_CERT_FILE", "system CAs + the simulator's CA"),
        ], indent=5)

    # ---- 2. tenants and access --------------------------------------------------------------
    def register_tenants(self) -> None:
        out = self.out
        out.section(2, "Tenants and access")
        out.note(f"admin    = an MSP engineer with the Platform.Admin app role (oid {ADMIN_OID})")
        out.note(f"engineer = an MSP engineer without app roles (oid {ENGINEER_OID})")
        out.note("Every call carries 'Authorization: Bearer <JWT>' (RS256, validated against "
                 "API_AUTH_JWKS_URL).")
        out.line()
        expect(self.engineer.request("GET", "/api/health"), 200)
        for tenant in self.sim.tenants():
            tenant_id, name = tenant["id"], tenant["display_name"]
            expect(self.admin.request("PUT", f"/api/tenants/{tenant_id}",
                                      json={"display_name": name}), 201, 200)
            self.tenants[tenant_id] = name
        for tenant_id in self.tenants:
            expect(self.admin.request("PUT", f"/api/tenants/{tenant_id}/access/{ENGINEER_OID}",
                                      json={"role": "operator"}), 200)
        visible = expect(self.engineer.request("GET", "/api/tenants"), 200)["value"]
        out.line()
        out.note("What the engineer now sees (GET /api/tenants):")
        out.table(["tenant_id", "display_name"],
                  [(t["tenant_id"], t.get("display_name")) for t in visible])
        if {t["tenant_id"] for t in visible} != set(self.tenants):
            raise DemoFailed("the engineer does not see exactly the registered tenants")

    # ---- 3. capture one policy --------------------------------------------------------------
    def capture_policy(self) -> None:
        out = self.out
        out.section(3, "Capture one settings catalog policy (engineer, operator)")
        tenant_id = self.first_tenant
        policy = max(self.sim.objects(tenant_id, "configurationPolicies"),
                     key=lambda p: len(p.get("settings") or []))
        settings, assignments = len(policy["settings"]), len(policy.get("assignments") or [])
        out.note(f"'{policy['name']}' in {self.tenants[tenant_id]}: {settings} settings "
                 f"(Graph pages them at 25), {assignments} assignment(s)")
        out.line()
        path = f"/api/tenants/{tenant_id}/policies/configurationPolicies/{policy['id']}/snapshot"
        key = f"demo-capture-{self.stack.storage_prefix}"
        started = self.engineer.request("POST", path, headers={"Idempotency-Key": key})
        run = expect(started, 202)
        out.fields([("Location", started.headers.get("Location")),
                    ("Retry-After", started.headers.get("Retry-After")),
                    ("body", f"run_id={run['run_id']} status={run['status']} "
                             f"reused={str(run['reused']).lower()}")], indent=24)
        out.note("(the demo polls Location every 0.2 s; other clients should honour "
                 "Retry-After)")
        [run] = self.follow(self.engineer, "engineer", [run])
        self.require_status(run, "succeeded")

        again = self.engineer.request("POST", path, headers={"Idempotency-Key": key})
        retried = expect(again, 202)
        out.note(f"A retry with the same Idempotency-Key returns the same run: "
                 f"run_id={retried['run_id']} reused={str(retried['reused']).lower()}")
        if retried["run_id"] != run["run_id"] or retried["reused"] is not True:
            raise DemoFailed("the Idempotency-Key retry did not return the same run")

        items = self.items(self.engineer, tenant_id, run["run_id"])
        out.line()
        out.table(["policy_type", "display_name", "action", "status"],
                  [(i["policy_type"], i["display_name"], i["action"], i["status"])
                   for i in items])
        out.line()
        [item] = items
        document = expect(self.engineer.request(
            "GET", f"/api/tenants/{tenant_id}/backups/{run['backup_set_id']}/items/"
                   f"{item['item_id']}"), 200)
        stored = (len(document.get("settings") or []), len(document.get("assignments") or []))
        out.note(f"Stored snapshot: {stored[0]} settings, {stored[1]} assignment(s) - "
                 f"every page followed")
        if stored != (settings, assignments):
            raise DemoFailed(f"the snapshot holds {stored}, Graph has {(settings, assignments)}")

        notifications = [n for n in expect(
            self.engineer.request("GET", "/api/notifications", params={"unread": "true"}),
            200)["value"] if n["run_id"] == run["run_id"]]
        out.line()
        out.note("The engineer's notifications for this run (one per status change):")
        out.table(["created_at", "run_type", "status", "counts", "link"],
                  [(n["created_at"], n["run_type"], n["status"],
                    f"{n['counts']['succeeded']}/{n['counts']['total']} ok", n["link"])
                   for n in notifications])
        if not any(n["status"] == "succeeded" for n in notifications):
            raise DemoFailed("no 'succeeded' notification for the capture run")

    # ---- 4. back up every tenant ------------------------------------------------------------
    def backup_tenants(self) -> None:
        out = self.out
        out.section(4, "Back up every tenant (engineer, operator)")
        out.note(f"{len(self.tenants)} backups start at once; each answers 202 and runs as its "
                 f"own orchestration.")
        out.line()
        started = [expect(self.engineer.request(
            "POST", f"/api/tenants/{tenant_id}/backups", json={"label": "demo"}), 202)
            for tenant_id in self.tenants]
        runs = self.follow(self.engineer, "engineer", started)
        items = {run["tenant_id"]: self.items(self.engineer, run["tenant_id"], run["run_id"])
                 for run in runs}
        self.backups = {run["tenant_id"]: run for run in runs}

        names = {t: self.tenants[t] for t in self.tenants}
        types = sorted({i["policy_type"] for found in items.values() for i in found})
        rows: list[list[Any]] = []
        for policy_type in types:
            row: list[Any] = [policy_type]
            for tenant_id in self.tenants:
                row.append(_cell([i for i in items[tenant_id]
                                  if i["policy_type"] == policy_type]))
            rows.append(row)
        rows.append(["items", *(len(items[t]) for t in self.tenants)])
        rows.append(["status", *(self.backups[t]["status"] for t in self.tenants)])
        rows.append(["time", *(duration(self.backups[t]) for t in self.tenants)])
        out.line()
        out.table(["policy type", *names.values()], rows,
                  right=range(1, len(names) + 1))
        out.line()
        out.table(["tenant", "backup_set_id", "counts"],
                  [(names[t], r["backup_set_id"], counts_text(r["counts"]))
                   for t, r in self.backups.items()])
        for run in runs:
            self.require_status(run, "succeeded")

    # ---- 5. restore ---------------------------------------------------------------------------
    def restore(self) -> None:
        out = self.out
        out.section(5, "Restore after drift (preview as operator, live as admin)")
        tenant_id = self.first_tenant
        backup = self.backups[tenant_id]
        changed, deleted = self.drift(tenant_id)

        out.line()
        out.note("Preview of the whole backup set (dry_run: true: reads Graph, writes nothing):")
        writes_before = len(self.sim.writes())
        preview = self.start_restore(self.engineer, "engineer", tenant_id, {
            "backup_set_id": backup["backup_set_id"], "dry_run": True})
        self.require_status(preview, "succeeded")
        if len(self.sim.writes()) != writes_before:
            raise DemoFailed("the preview wrote to Graph")
        items = self.items(self.engineer, tenant_id, preview["run_id"])
        actions = Counter(i["action"] for i in items)
        out.note("planned: " + ", ".join(f"{n} {a}" for a, n in sorted(actions.items())))
        drifted = [i for i in items if i["action"] not in ("no_change", "would_skip")]
        skipped = Counter((i.get("error") or {}).get("code") for i in items
                          if i["action"] == "would_skip")
        if skipped:
            out.note("would_skip: " + ", ".join(f"{n} {code}" for code, n in
                                                  sorted(skipped.items()))
                     + " (types a restore never writes, or never creates)")
        out.line()
        out.table(["policy_type", "display_name", "action", "diff path", "change"],
                  [row for i in drifted for row in diff_rows(i)])
        expected = {changed["id"]: "would_update", deleted["id"]: "would_create"}
        planned = {i["policy_id"]: i["action"] for i in drifted}
        if planned != expected:
            raise DemoFailed(f"the preview planned {planned}, expected {expected}")

        out.line()
        out.note("Live restore of the drifted items (dry_run: false):")
        body = {"backup_set_id": backup["backup_set_id"], "dry_run": False,
                "item_ids": [i["item_id"] for i in drifted]}
        expect(self.engineer.request("POST", f"/api/tenants/{tenant_id}/restores", json=body),
               403)
        out.note("  -> an operator may only preview; the admin makes the engineer a tenant admin")
        expect(self.admin.request("PUT", f"/api/tenants/{tenant_id}/access/{ENGINEER_OID}",
                                  json={"role": "admin"}), 200)
        live = self.start_restore(self.engineer, "engineer", tenant_id, body)
        outcomes = self.items(self.engineer, tenant_id, live["run_id"])
        out.line()
        out.table(["policy_type", "display_name", "action", "status", "error"],
                  [(i["policy_type"], i["display_name"], i["action"], i["status"],
                    (i.get("error") or {}).get("code")) for i in outcomes])
        out.fields([("pre_restore_backup_set_id", live.get("pre_restore_backup_set_id")),
                    ("counts", counts_text(live["counts"]))])
        self.require_status(live, "succeeded")
        self.check_restored(tenant_id, changed, deleted)

        out.line()
        out.note("The same live restore again: everything already equals the backup, so "
                 "nothing is written:")
        writes_before = len(self.sim.writes())
        again = self.start_restore(self.engineer, "engineer", tenant_id, body)
        self.require_status(again, "succeeded")
        repeat = Counter(i["action"] for i in self.items(self.engineer, tenant_id,
                                                          again["run_id"]))
        writes = len(self.sim.writes()) - writes_before
        out.note(f"  {', '.join(f'{n} {a}' for a, n in sorted(repeat.items()))}; "
                 f"{writes} Graph writes")
        if set(repeat) != {"no_change"} or writes:
            raise DemoFailed(f"a second identical restore changed things: {dict(repeat)}, "
                             f"{writes} writes")

        events = expect(self.engineer.request(
            "GET", f"/api/tenants/{tenant_id}/audit", params={"top": "5"}), 200)["value"]
        out.line()
        out.note("Latest audit events (tenant admins may read them):")
        out.table(["created_at", "actor", "action", "outcome"],
                  [(e["created_at"], e["actor"], e["action"], e.get("outcome"))
                   for e in events])

    def drift(self, tenant_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """A customer admin edits one settings catalog policy and deletes a compliance policy."""
        policy = max(self.sim.objects(tenant_id, "configurationPolicies"),
                     key=lambda p: len(p.get("settings") or []))
        settings = copy.deepcopy(policy["settings"][:-1])  # one setting removed
        for setting in settings:
            value = setting["settingInstance"].get("simpleSettingValue")
            if value and isinstance(value.get("value"), str):
                value["value"] = "changed-in-portal"  # one setting changed
                break
        self.sim.drift(tenant_id, "configurationPolicies", policy["id"], patch={
            "description": "Edited in the Intune portal by a customer admin",
            "settings": settings})
        victim = self.sim.objects(tenant_id, "deviceCompliancePolicies")[0]
        self.sim.drift(tenant_id, "deviceCompliancePolicies", victim["id"], op="delete")
        self.out.line()
        self.out.note(f"Drift in {self.tenants[tenant_id]} (simulator, as a customer admin):")
        self.out.note(f"  '{policy['name']}': description edited, one setting changed, "
                      f"one removed")
        self.out.note(f"  '{victim['displayName']}': deleted")
        return policy, victim

    def check_restored(self, tenant_id: str, changed: dict[str, Any],
                       deleted: dict[str, Any]) -> None:
        """Graph (the simulator) holds the backed-up content again."""
        [now] = [p for p in self.sim.objects(tenant_id, "configurationPolicies")
                 if p["id"] == changed["id"]]
        if (now.get("description"), _instances(now)) != (
                changed.get("description"), _instances(changed)):
            raise DemoFailed(f"'{changed['name']}' was not restored")
        recreated = [p for p in self.sim.objects(tenant_id, "deviceCompliancePolicies")
                     if p["displayName"] == deleted["displayName"]]
        if len(recreated) != 1:
            raise DemoFailed(f"'{deleted['displayName']}' exists {len(recreated)} times")
        self.out.note(f"Graph again has '{changed['name']}' as backed up, and "
                      f"'{deleted['displayName']}' (new id {recreated[0]['id']}).")

    # ---- helpers ------------------------------------------------------------------------------
    @property
    def first_tenant(self) -> str:
        return next(iter(self.tenants))

    def start_restore(self, api: PolicyVaultClient, actor: str, tenant_id: str,
                      body: dict[str, Any]) -> dict[str, Any]:
        run = expect(api.request("POST", f"/api/tenants/{tenant_id}/restores", json=body), 202)
        [run] = self.follow(api, actor, [run])
        return run

    def follow(self, api: PolicyVaultClient, actor: str,
               started: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Poll each run's ``Location`` until it answers 200 (terminal), printing a line when
        its status changes, and its progress at most every ``PROGRESS_EVERY_S``."""
        pending = {run["links"]["self"]: run for run in started}
        last: dict[str, tuple[Any, ...]] = {}
        printed_at: dict[str, float] = {}
        done: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + self.run_timeout
        while pending:
            for location in list(pending):
                with self.out.muted():
                    response = api.request("GET", location)
                run = expect(response, 200, 202)
                counts = run["counts"]
                state = (response.status_code, run["status"], counts["processed"],
                         counts["total"])
                previous = last.get(location)
                moved = previous is not None and previous[:2] == state[:2]
                if previous != state and not (
                        moved and time.monotonic() - printed_at[location] < PROGRESS_EVERY_S):
                    last[location], printed_at[location] = state, time.monotonic()
                    self.out.call_line(actor, response, f"{run['status']:<9} "
                                  f"{counts['processed']}/{counts['total']}")
                if response.status_code == 200:
                    if run["status"] not in TERMINAL:
                        raise DemoFailed(f"run {run['run_id']} answered 200 while "
                                         f"{run['status']}")
                    done[location] = run
                    del pending[location]
            if pending and time.monotonic() > deadline:
                raise DemoFailed(f"{len(pending)} run(s) not finished after "
                                 f"{self.run_timeout:.0f}s")
            time.sleep(0.2)
        return [done[run["links"]["self"]] for run in started]

    def items(self, api: PolicyVaultClient, tenant_id: str, run_id: str
              ) -> list[dict[str, Any]]:
        path = f"/api/tenants/{tenant_id}/runs/{run_id}/items"
        found: list[dict[str, Any]] = []
        params: dict[str, str] = {"top": "1000"}
        while True:
            page = expect(api.request("GET", path, params=params), 200)
            found.extend(page["value"])
            if not page.get("continuation"):
                return found
            params["continuation"] = page["continuation"]

    @staticmethod
    def require_status(run: dict[str, Any], status: str) -> None:
        if run["status"] != status:
            error = run.get("error") or {}
            raise DemoFailed(f"{run['run_type']} run {run['run_id']} ended {run['status']}"
                             f" ({counts_text(run['counts'])}; error: {error.get('code')} "
                             f"{error.get('message') or ''})".rstrip())


def _cell(items: list[dict[str, Any]]) -> str:
    """``n`` when every item succeeded, else e.g. ``5 (1 failed)``."""
    statuses = Counter(i["status"] for i in items)
    bad = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()) if s != "succeeded")
    return f"{len(items)} ({bad})" if bad else str(len(items))


def _instances(policy: dict[str, Any]) -> list[Any]:
    return [s["settingInstance"] for s in policy.get("settings") or []]


def diff_rows(item: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    diff = item.get("diff") or []
    head = (item["policy_type"], item["display_name"], item["action"])
    if not diff:
        return [(*head, "-", "-")]
    if item["action"] == "would_create":  # every property is "added": say so once
        return [(*head, f"(the whole object: {len(diff)} properties)", "added")]
    return [(*(head if n == 0 else ("", "", "")), d["path"], d["change"])
            for n, d in enumerate(diff)]
