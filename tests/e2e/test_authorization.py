"""The authorization matrix (DESIGN §3): every endpoint × every kind of caller answers the
status §3 gives it, refusals are problem+json that never echo the token, and a refused call
writes nothing — no table row, blob, queue message or orchestration.

The table below is the contract; :func:`expected_status` reads it the way §3 does:
401 before anything else for a missing, forged, expired or wrong-audience token; 403 for a
tenant the caller may not act on — also an unregistered one, and a run id of another tenant —
never 404; 404 only for things looked up inside the caller's own scope (notifications).

Principals, grants and the runs, backup set and notification the paths point at are set up
once per module (caller tokens are signed by the simulator's per-process key, which
``sim.reset()`` keeps); every allowed job start waits for its run to settle, so each refused
call is checked against quiet storage.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import jwt
import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableClient, TableServiceClient
from azure.storage.blob import BlobServiceClient, ContainerClient
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient, QueueServiceClient
from cryptography.hazmat.primitives.asymmetric import rsa

from local.api_client import PolicyVaultClient
from local.stack import API_AUDIENCE, Stack
from shared.platform.storage import expand_connection_string

# ---- who may call what (DESIGN §3) ---------------------------------------------------------
ANYONE, ANY_CALLER, OWNER, PLATFORM_ADMIN = "anyone", "any caller", "owner", "Platform.Admin"
READER, OPERATOR, ADMIN = "reader", "operator", "admin"
_RANK = {READER: 1, OPERATOR: 2, ADMIN: 3}

HUB = "policyvault"  # the task hub (host.json hubName): its tables, queues and blobs
RUN_EVENTS = "run-events"
TERMINAL = {"succeeded", "failed", "partial"}
BACKUP_TYPE = "assignmentFilters"
SETTLE_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # placeholders: tenant, principal, policy_type, policy, backup_set, item, run,
    #            notification — filled from the module's World
    who: str
    ok: int
    body: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        dry_run = (self.body or {}).get("dry_run")
        source = " from {source}" if "source_tenant_id" in (self.body or {}) else ""
        return f"{self.method} {self.path}{source}" + (
            "" if dry_run is None else f" dry_run={dry_run}")

    @property
    def tenant_scoped(self) -> bool:
        return "{tenant}" in self.path

    @property
    def starts_a_run(self) -> bool:
        return self.ok == 202


_POLICY = "/api/tenants/{tenant}/policies/{policy_type}/{policy}"
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/health", ANYONE, 200),
    Endpoint("PUT", "/api/tenants/{tenant}", PLATFORM_ADMIN, 200, {"display_name": "Authz A"}),
    Endpoint("GET", "/api/tenants", ANY_CALLER, 200),
    Endpoint("GET", "/api/tenants/{tenant}", READER, 200),
    Endpoint("GET", "/api/tenants/{tenant}/access", ADMIN, 200),
    Endpoint("PUT", "/api/tenants/{tenant}/access/{principal}", ADMIN, 200, {"role": "reader"}),
    Endpoint("DELETE", "/api/tenants/{tenant}/access/{principal}", ADMIN, 204),
    Endpoint("POST", _POLICY + "/snapshot", OPERATOR, 202),
    Endpoint("POST", "/api/tenants/{tenant}/backups", OPERATOR, 202,
             {"policy_types": [BACKUP_TYPE]}),
    Endpoint("GET", "/api/tenants/{tenant}/backups", READER, 200),
    Endpoint("GET", "/api/tenants/{tenant}/backups/{backup_set}", READER, 200),
    Endpoint("GET", "/api/tenants/{tenant}/backups/{backup_set}/items/{item}", READER, 200),
    Endpoint("GET", _POLICY + "/versions", READER, 200),
    Endpoint("POST", "/api/tenants/{tenant}/restores", OPERATOR, 202,
             {"backup_set_id": "{backup_set}", "dry_run": True}),
    Endpoint("POST", "/api/tenants/{tenant}/restores", ADMIN, 202,
             {"backup_set_id": "{backup_set}", "dry_run": False}),
    # A cross-tenant deployment from B (DESIGN §11): every principal of A also reads B.
    Endpoint("POST", "/api/tenants/{tenant}/restores", OPERATOR, 202,
             {"backup_set_id": "{source_set}", "source_tenant_id": "{source}",
              "dry_run": True}),
    Endpoint("POST", "/api/tenants/{tenant}/restores", ADMIN, 202,
             {"backup_set_id": "{source_set}", "source_tenant_id": "{source}",
              "dry_run": False}),
    Endpoint("GET", "/api/tenants/{tenant}/runs/{deploy_run}/mapping", READER, 200),
    Endpoint("GET", "/api/tenants/{tenant}/mappings/{source}", ADMIN, 200),
    Endpoint("PUT", "/api/tenants/{tenant}/mappings/{source}", ADMIN, 200, {"mappings": {}}),
    Endpoint("GET", "/api/tenants/{tenant}/runs", READER, 200),
    Endpoint("GET", "/api/tenants/{tenant}/runs/{run}", READER, 200),
    Endpoint("GET", "/api/tenants/{tenant}/runs/{run}/items", READER, 200),
    Endpoint("GET", "/api/notifications", ANY_CALLER, 200),
    Endpoint("POST", "/api/notifications/{notification}/read", OWNER, 204),
    Endpoint("GET", "/api/tenants/{tenant}/audit", ADMIN, 200),
    Endpoint("GET", "/api/audit", PLATFORM_ADMIN, 200),
)


@dataclass(frozen=True)
class Caller:
    name: str
    principal: str | None  # key into World.oids; None: no Authorization header
    token: str = "valid"  # valid | forged | expired | wrong_audience
    unknown_tenant: bool = False  # the path names a tenant nobody registered


CALLERS: tuple[Caller, ...] = (
    Caller("no token", None),
    # Invalid tokens carry the strongest claims there are: only the token itself may fail.
    Caller("forged signature", "platform", token="forged"),
    Caller("expired", "platform", token="expired"),
    Caller("wrong audience", "platform", token="wrong_audience"),
    Caller("reader", "reader"),
    Caller("operator", "operator"),
    Caller("admin", "admin"),
    Caller("Platform.Admin", "platform"),
    Caller("grant on another tenant only", "other"),
    Caller("unknown tenant, admin elsewhere", "admin", unknown_tenant=True),
    Caller("unknown tenant, Platform.Admin", "platform", unknown_tenant=True),
)
GRANTS_ON_A = {"reader": READER, "operator": OPERATOR, "admin": ADMIN}  # "other": admin on B
NOTIFICATION_OWNER = "operator"  # the requester of the run the notification is about


def expected_status(endpoint: Endpoint, caller: Caller) -> int:
    """§3's answer for this endpoint and caller."""
    if endpoint.who == ANYONE:
        return endpoint.ok
    if caller.principal is None or caller.token != "valid":
        return 401
    if endpoint.who == ANY_CALLER:
        return endpoint.ok
    if endpoint.who == OWNER:  # looked up inside the caller's own notifications
        return endpoint.ok if caller.principal == NOTIFICATION_OWNER else 404
    if endpoint.who == PLATFORM_ADMIN:
        if caller.principal != "platform":
            return 403
        return 201 if caller.unknown_tenant else endpoint.ok  # registering a new tenant
    if caller.unknown_tenant:
        return 403
    if caller.principal == "platform":
        return endpoint.ok
    held = GRANTS_ON_A.get(caller.principal)
    return endpoint.ok if held and _RANK[held] >= _RANK[endpoint.who] else 403


def _cases() -> list[Any]:
    # Without a tenant in the path, the unknown-tenant callers make their own row's call.
    return [pytest.param(endpoint, caller, id=f"{endpoint.name} | {caller.name}")
            for endpoint in ENDPOINTS for caller in CALLERS
            if endpoint.tenant_scoped or not caller.unknown_tenant]


# ---- storage, read with the plain SDKs ------------------------------------------------------
class StorageView:
    """Everything the app persists under the stack's prefix, as comparable fingerprints."""

    def __init__(self, stack: Stack) -> None:
        connection = expand_connection_string(stack.storage_connection)
        self._prefix = stack.storage_prefix.lower()
        self._hub = self._prefix + HUB
        self._tables = TableServiceClient.from_connection_string(connection)
        self._blobs = BlobServiceClient.from_connection_string(connection)
        self._queues = QueueServiceClient.from_connection_string(connection)
        self._events = QueueClient.from_connection_string(
            connection, stack.storage_prefix + RUN_EVENTS,
            message_decode_policy=BinaryBase64DecodePolicy())
        self._pool = ThreadPoolExecutor(8)

    def close(self) -> None:
        self._pool.shutdown()
        for client in (self._tables, self._blobs, self._queues, self._events):
            client.close()

    def entities(self, table: str) -> list[Any]:
        try:
            return list(self._tables.get_table_client(self._prefix + table).list_entities())
        except ResourceNotFoundError:
            return []

    def fingerprint(self) -> dict[str, Any]:
        """Every app row, blob and queued message (rows and blobs with their ETag, so even an
        identical rewrite shows), and the task hub's orchestration instances. The hub's
        history and work queues are left out: orchestrations that finished earlier may still
        be writing their last events there. The clients are made here, in one thread: azure-core
        links a sub-client's pipeline as it is made, so making them in the pool's threads at
        once races ("_SansIOHTTPPolicyRunner has no attribute 'next'")."""
        reads: dict[str, Callable[[], set[Any]]] = {}
        for table in self._tables.list_tables():
            name, client = table.name.lower(), self._tables.get_table_client(table.name)
            if name == f"{self._hub}instances":
                reads[name] = partial(_instances, client)
            elif name.startswith(self._prefix) and not name.startswith(self._hub):
                reads[name] = partial(_rows, client)
        for container in self._blobs.list_containers(name_starts_with=self._prefix):
            if not container.name.startswith(self._hub):
                reads[container.name] = partial(
                    _blob_tags, self._blobs.get_container_client(container.name))
        for queue in self._queues.list_queues(name_starts_with=self._prefix):
            if not queue.name.startswith(self._hub):
                reads[queue.name] = partial(_message_ids,
                                            self._queues.get_queue_client(queue.name))
        return dict(zip(reads, self._pool.map(lambda read: read(), reads.values()),
                        strict=True))

    def drain_events(self) -> list[dict[str, Any]]:
        """Receive and delete every `run-events` message now queued."""
        try:
            self._events.get_queue_properties()
        except ResourceNotFoundError:
            return []
        out = []
        while batch := list(self._events.receive_messages(max_messages=32)):
            for message in batch:
                out.append(json.loads(message.content))
                self._events.delete_message(message)
        return out


def _rows(table: TableClient) -> set[tuple[str, str, str]]:
    return {(e.metadata["etag"], e["PartitionKey"], e["RowKey"]) for e in table.list_entities()}


def _instances(table: TableClient) -> set[str]:
    return {e["PartitionKey"] for e in table.list_entities()}


def _blob_tags(box: ContainerClient) -> set[tuple[str, str]]:
    return {(b.name, b.etag) for b in box.list_blobs()}


def _message_ids(queue: QueueClient) -> set[str]:
    return {m.id for m in queue.peek_messages(32)}


# ---- the module's world ----------------------------------------------------------------------
@dataclass
class World:
    stack: Stack
    storage: StorageView
    tenant_a: str  # where reader / operator / admin hold their grants
    tenant_b: str  # where "other" is admin
    oids: dict[str, str]
    tokens: dict[str, str]  # caller name → bearer token
    policy_type: str
    policy: str
    victim: str  # a principal whose grant on A the access endpoints change
    run_a: str = ""
    run_b: str = ""
    backup_set_a: str = ""
    item_a: str = ""
    backup_set_b: str = ""
    deploy_set_b: str = ""  # B's filters and scope tags: what a deployment into A reads
    deploy_run_a: str = ""  # a preview in A of that set
    notification: str = ""
    events_seen: set[tuple[str, str]] = field(default_factory=set)

    def client(self, principal: str) -> PolicyVaultClient:
        return PolicyVaultClient(self.stack.base_url, self.tokens[principal],
                                 check=self.stack.check)

    def fill(self, template: str, tenant_id: str) -> str:
        return template.format(
            tenant=tenant_id, principal=self.victim, policy_type=self.policy_type,
            policy=self.policy, backup_set=self.backup_set_a, item=self.item_a, run=self.run_a,
            notification=self.notification, source=self.tenant_b,
            source_set=self.deploy_set_b, deploy_run=self.deploy_run_a)

    def body(self, endpoint: Endpoint, tenant_id: str) -> dict[str, Any] | None:
        if endpoint.body is None:
            return None
        return {name: self.fill(value, tenant_id) if isinstance(value, str) else value
                for name, value in endpoint.body.items()}

    def settle(self) -> None:
        """Wait until every run this module started is terminal and its last notification
        and `run-events` message are written, so nothing of ours is still writing."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        ours = set(self.oids.values())
        while True:
            self.events_seen |= {(m["run_id"], m["status"]) for m in self.storage.drain_events()}
            runs = [r for r in self.storage.entities("runs") if r["requested_by"] in ours]
            notes = {(n["run_id"], n["status"]) for n in self.storage.entities("notifications")}
            pending = [r["run_id"] for r in runs
                       if r["status"] not in TERMINAL
                       or (r["run_id"], r["status"]) not in notes
                       or (r["run_id"], r["status"]) not in self.events_seen]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"runs still in flight: {pending}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def world(stack: Stack) -> Iterator[World]:
    stack.sim.reset()
    # Not tenant_ids[0]: other modules capture there and expect content not stored before.
    tenant_b, tenant_a = stack.sim.tenant_ids[1:3]
    names = ("reader", "operator", "admin", "platform", "other")
    oids = {name: str(uuid.uuid4()) for name in names}
    tokens = {name: stack.token(oid, ["Platform.Admin"] if name == "platform" else [])
              for name, oid in oids.items()}
    strongest = {"oid": oids["platform"], "roles": ["Platform.Admin"]}
    tokens["forged"] = stack.sim.mint_token(audience=API_AUDIENCE, forge=True, **strongest)
    tokens["expired"] = stack.sim.mint_token(audience=API_AUDIENCE, lifetime_s=-3600,
                                             **strongest)
    tokens["wrong_audience"] = stack.sim.mint_token(audience="api://someone-else", **strongest)
    policy = stack.sim.objects(tenant_a, "configurationPolicies")[0]["id"]
    world = World(stack=stack, storage=StorageView(stack), tenant_a=tenant_a,
                  tenant_b=tenant_b, oids=oids, tokens=tokens,
                  policy_type="configurationPolicies", policy=policy, victim=str(uuid.uuid4()))
    with world.client("platform") as platform, world.client("operator") as operator, \
            world.client("other") as other:
        platform.register_tenant(tenant_a, "Authz A")
        platform.register_tenant(tenant_b, "Authz B")
        for name, role in GRANTS_ON_A.items():
            platform.grant(tenant_a, oids[name], role)
        platform.grant(tenant_a, world.victim, "reader")
        platform.grant(tenant_b, oids["other"], "admin")
        for name in GRANTS_ON_A:  # reader on the source of a deployment into A
            platform.grant(tenant_b, oids[name], "reader")

        run_a = operator.wait(operator.capture(tenant_a, world.policy_type, policy))
        assert run_a["status"] == "succeeded", run_a
        world.run_a, world.backup_set_a = run_a["run_id"], run_a["backup_set_id"]
        [item] = operator.backup_set(tenant_a, world.backup_set_a)["items"]
        world.item_a = item["item_id"]
        policy_b = stack.sim.objects(tenant_b, "configurationPolicies")[0]["id"]
        run_b = other.wait(other.capture(tenant_b, world.policy_type, policy_b))
        assert run_b["status"] == "succeeded", run_b
        world.run_b, world.backup_set_b = run_b["run_id"], run_b["backup_set_id"]
        deploy_set = other.wait(other.backup(tenant_b, [BACKUP_TYPE, "roleScopeTags"]))
        assert deploy_set["status"] == "succeeded", deploy_set
        world.deploy_set_b = deploy_set["backup_set_id"]
        deployment = platform.wait(platform.restore(tenant_a, world.deploy_set_b,
                                                    source_tenant_id=tenant_b))
        assert deployment["status"] == "succeeded", deployment
        world.deploy_run_a = deployment["run_id"]
        world.settle()
        world.notification = next(n["notification_id"] for n in operator.notifications()
                                  if n["run_id"] == world.run_a)
    yield world
    world.storage.close()


def _call(world: World, token: str | None, method: str, path: str,
          body: dict[str, Any] | None = None) -> httpx.Response:
    with PolicyVaultClient(world.stack.base_url, token, check=world.stack.check) as client:
        return client.request(method, path, json=body)


def _assert_refusal_is_safe(response: httpx.Response, status: int, token: str | None) -> None:
    """§3's problem+json, with its code, and nothing of the caller's token in it."""
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "code"}
    assert body["status"] == status
    assert body["code"] == {401: "unauthenticated", 403: "forbidden", 404: "not_found"}[status]
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if token:
        echoed = response.text + json.dumps(dict(response.headers))
        for part in {token, *token.split(".")} - {""}:
            assert part not in echoed


# ---- the matrix -----------------------------------------------------------------------------
@pytest.mark.parametrize(("endpoint", "caller"), _cases())
def test_authorization_matrix_gives_design_status_and_refusals_write_nothing(
        world: World, endpoint: Endpoint, caller: Caller) -> None:
    tenant_id = str(uuid.uuid4()) if caller.unknown_tenant else world.tenant_a
    token = world.tokens[caller.token if caller.token != "valid" else caller.principal] \
        if caller.principal else None
    status = expected_status(endpoint, caller)
    if "{principal}" in endpoint.path and not caller.unknown_tenant:
        with world.client("platform") as platform:
            platform.grant(world.tenant_a, world.victim, "reader")  # DELETE has one to remove
    refused = status >= 400
    if refused:
        before = world.storage.fingerprint()

    response = _call(world, token, endpoint.method, world.fill(endpoint.path, tenant_id),
                     world.body(endpoint, tenant_id))

    assert response.status_code == status, response.text
    if refused:
        _assert_refusal_is_safe(response, status, token)
        assert world.storage.fingerprint() == before
        assert world.storage.drain_events() == []
    elif endpoint.starts_a_run:
        run = response.json()
        assert (run["tenant_id"], run["requested_by"]) == (tenant_id, world.oids[caller.principal])
        world.settle()


# ---- around the matrix ----------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", [pytest.param(e, id=e.name) for e in ENDPOINTS
                                      if e.tenant_scoped])
def test_a_refusal_does_not_tell_whether_the_tenant_is_registered(world: World,
                                                                  endpoint: Endpoint) -> None:
    unknown = str(uuid.uuid4())

    answers = [
        _call(world, world.tokens["other"], endpoint.method, world.fill(endpoint.path, tenant),
              world.body(endpoint, tenant))
        for tenant in (world.tenant_a, unknown)
    ]

    [registered, unregistered] = [(r.status_code, r.json()) for r in answers]
    assert registered[0] == 403
    assert unregistered == registered


@pytest.mark.parametrize("run_path", ["/runs/{run}", "/runs/{run}/items"])
@pytest.mark.parametrize(("caller", "tenant", "run"), [
    ("admin", "a", "b"),  # A's admin names B's run under A
    ("platform", "a", "b"),  # even Platform.Admin: the run is not A's
    ("other", "b", "a"),  # B's admin names A's run under B
    ("platform", "a", "unknown"),  # a well-formed run id nobody created
])
def test_a_run_id_of_another_tenant_is_forbidden_not_missing(world: World, run_path: str,
                                                            caller: str, tenant: str,
                                                            run: str) -> None:
    tenant_id = {"a": world.tenant_a, "b": world.tenant_b}[tenant]
    run_id = {"a": world.run_a, "b": world.run_b, "unknown": "01J0000000000000000000000Z"}[run]

    response = _call(world, world.tokens[caller], "GET",
                     f"/api/tenants/{tenant_id}" + run_path.format(run=run_id))

    assert response.status_code == 403, response.text
    _assert_refusal_is_safe(response, 403, world.tokens[caller])
    assert run_id not in response.text


def test_a_backup_set_of_another_tenant_is_not_found_inside_the_path_tenant(world: World
                                                                          ) -> None:
    base = f"/api/tenants/{world.tenant_a}/backups/{world.backup_set_b}"
    with world.client("admin") as admin:
        own = admin.request("GET", f"/api/tenants/{world.tenant_a}/backups/{world.backup_set_a}")
        foreign = admin.request("GET", base)
        foreign_item = admin.request("GET", f"{base}/items/{world.item_a}")

    assert own.status_code == 200
    assert (foreign.status_code, foreign.json()["code"]) == (404, "not_found")
    assert (foreign_item.status_code, foreign_item.json()["code"]) == (404, "not_found")


def test_tenants_list_shows_only_the_tenants_the_caller_may_see(world: World) -> None:
    def visible(principal: str) -> set[str]:
        with world.client(principal) as client:
            return {t["tenant_id"] for t in client.pages("/api/tenants")}

    assert visible("reader") == {world.tenant_a, world.tenant_b}  # B: a deployment's source
    assert visible("other") == {world.tenant_b}
    assert {world.tenant_a, world.tenant_b} <= visible("platform")
    with PolicyVaultClient(world.stack.base_url, world.stack.token(str(uuid.uuid4())),
                           check=world.stack.check) as nobody:
        assert nobody.ok("GET", "/api/tenants")["value"] == []


# Offboarding is out of the matrix: its one allowed call would delete tenant A for the rest
# of the module. Every refusal is checked here instead (the e2e offboarding tests run it).
@pytest.mark.parametrize("path", ["/api/tenants/{tenant}", "/api/offboardings/{run}"])
@pytest.mark.parametrize(("caller", "status", "unknown"), [
    (None, 401, False), ("forged", 401, False), ("expired", 401, False),
    ("reader", 403, False), ("operator", 403, False), ("admin", 403, False),
    ("other", 403, False), ("platform", 403, True),
], ids=["no token", "forged", "expired", "reader", "operator", "tenant admin",
        "admin elsewhere", "Platform.Admin, unknown tenant"])
def test_only_platform_admin_may_offboard_or_follow_an_offboarding(
        world: World, path: str, caller: str | None, status: int, unknown: bool) -> None:
    method = "DELETE" if path.startswith("/api/tenants") else "GET"
    if unknown and method == "GET":
        status = 404  # an offboarding is looked up in the MSP's scope
    tenant_id = str(uuid.uuid4()) if unknown else world.tenant_a
    token = world.tokens[caller] if caller else None
    before = world.storage.fingerprint()

    response = _call(world, token, method, world.fill(path, tenant_id))

    assert response.status_code == status, response.text
    _assert_refusal_is_safe(response, status, token)
    assert world.storage.fingerprint() == before
    with world.client("reader") as reader:
        assert reader.request("GET", f"/api/tenants/{world.tenant_a}").status_code == 200


_WRITES = [pytest.param(e, id=f"{e.method} {e.path}")
           for e in {(e.method, e.path): e for e in ENDPOINTS}.values()
           if e.method != "GET" and e.who not in (ANYONE, OWNER)]


@pytest.mark.parametrize("body", [b"{" + b" " * (1024 * 1024) + b"}", b"{not json"],
                         ids=["over 1 MiB", "not JSON"])
@pytest.mark.parametrize(("caller", "status"), [(None, 401), ("other", 403)],
                         ids=["no token", "grant on another tenant only"])
@pytest.mark.parametrize("endpoint", _WRITES)
def test_a_refusal_never_depends_on_the_body(world: World, endpoint: Endpoint,
                                             caller: str | None, status: int,
                                             body: bytes) -> None:
    before = world.storage.fingerprint()

    with httpx.Client(base_url=world.stack.base_url) as http:
        response = http.request(
            endpoint.method, world.fill(endpoint.path, world.tenant_a), content=body,
            headers={"Content-Type": "application/json",
                     **({"Authorization": f"Bearer {world.tokens[caller]}"} if caller else {})})

    assert response.status_code == status, response.text
    _assert_refusal_is_safe(response, status, world.tokens[caller] if caller else None)
    assert world.storage.fingerprint() == before


@pytest.mark.parametrize("variant", [
    "wrong issuer", "not yet valid", "without oid", "unknown key id", "HS256 with the JWKS",
    "unsigned", "not a JWT", "Basic scheme", "empty bearer",
])
def test_every_kind_of_bad_token_is_401_and_writes_nothing(world: World, variant: str) -> None:
    strongest = {"oid": world.oids["platform"], "roles": ["Platform.Admin"]}
    valid = world.tokens["platform"]
    header = jwt.get_unverified_header(valid)
    claims = jwt.decode(valid, options={"verify_signature": False})
    sim = world.stack.sim
    if variant == "wrong issuer":
        token = sim.mint_token(audience=API_AUDIENCE, issuer="https://evil.example/", **strongest)
    elif variant == "not yet valid":
        token = sim.mint_token(audience=API_AUDIENCE, nbf_offset_s=3600, **strongest)
    elif variant == "without oid":
        token = sim.mint_token(audience=API_AUDIENCE, roles=["Platform.Admin"],
                               extra_claims={"oid": None})
    elif variant == "unknown key id":
        token = jwt.encode(claims, _foreign_key(), algorithm="RS256",
                           headers={"kid": "not-a-known-kid"})
    elif variant == "HS256 with the JWKS":
        token = jwt.encode(claims, "a-shared-secret-at-least-32-bytes-long!",
                           algorithm="HS256", headers={"kid": header["kid"]})
    elif variant == "unsigned":
        def part(value: dict) -> str:
            return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
        token = f"{part({'alg': 'none', 'kid': header['kid']})}.{part(claims)}."
    elif variant == "not a JWT":
        token = "not-a-jwt"
    else:
        token = ""
    authorization = {"Basic scheme": f"Basic {valid}", "empty bearer": "Bearer"}.get(
        variant, f"Bearer {token}")
    path = f"/api/tenants/{world.tenant_a}/access/{world.victim}"
    before = world.storage.fingerprint()

    with httpx.Client(base_url=world.stack.base_url) as http:
        response = http.put(path, json={"role": "admin"},
                            headers={"Authorization": authorization})

    assert response.status_code == 401, response.text
    _assert_refusal_is_safe(response, 401, token or valid)
    assert world.storage.fingerprint() == before


def _foreign_key() -> Any:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)



def test_module_tokens_outlive_a_simulator_reset(world: World) -> None:
    """The matrix shares tokens minted once; the per-test ``sim`` reset must not void them."""
    world.stack.sim.reset()

    with world.client("reader") as reader:
        assert reader.request("GET", f"/api/tenants/{world.tenant_a}").status_code == 200
