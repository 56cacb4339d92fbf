"""The whole local PolicyVault in one process: Azurite, the Graph simulator, and the local
Functions runtime serving ``function_app.py`` — what the demo, end-to-end tests and
benchmarks run against.

    with running_stack(tenants=3) as stack:
        api = stack.api(oid="engineer-1", roles=["Platform.Admin"])
        run = api.capture(tenant_id, "configurationPolicies", policy_id)

The function app only sees configuration (DESIGN §2): the stack writes it into the process
environment before the app starts and restores the environment afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import BinaryBase64DecodePolicy, QueueClient

from local.api_client import PolicyVaultClient, ResponseCheck
from local.azurite import running_azurite
from local.graphsim import GraphSimulator
from local.host import running_host
from local.host.runner import RunningHost
from local.host.timer_trigger import TimerExtension
from shared.crypto.kek import new_local_kek
from shared.platform.storage import expand_connection_string

REPO_ROOT = Path(__file__).resolve().parent.parent
API_AUDIENCE = "api://policyvault"


@dataclass
class Stack:
    sim: GraphSimulator
    host: RunningHost
    storage_connection: str
    storage_prefix: str
    check: ResponseCheck | None = None  # applied to every response of api() clients

    @property
    def base_url(self) -> str:
        return self.host.base_url

    def token(self, oid: str, roles: list[str] | None = None, **claims: Any) -> str:
        """A caller token as the MSP's Entra ID would issue it for PolicyVault's API."""
        return self.sim.mint_token(oid=oid, roles=roles or [], audience=API_AUDIENCE, **claims)

    def api(self, oid: str, roles: list[str] | None = None) -> PolicyVaultClient:
        """A client acting as the MSP engineer ``oid``."""
        return PolicyVaultClient(self.base_url, self.token(oid, roles), check=self.check)

    def fire_timer(self, name: str) -> None:
        """Run timer function ``name`` now instead of at its schedule."""
        timers = next(e for e in self.host.host.extensions if isinstance(e, TimerExtension))
        self.host.call(timers.fire_now(self.host.host, name))

    # ---- what the app stored, read with the plain SDK (for assertions and the demo) ---------
    def entities(self, table: str) -> list[dict[str, Any]]:
        client = TableServiceClient.from_connection_string(self._connection)
        with client:
            try:
                return list(client.get_table_client(self.storage_prefix + table)
                            .list_entities())
            except ResourceNotFoundError:
                return []

    def blobs(self, container: str) -> dict[str, bytes]:
        client = BlobServiceClient.from_connection_string(self._connection)
        with client:
            box = client.get_container_client(self.storage_prefix + container)
            if not box.exists():
                return {}
            return {b.name: box.download_blob(b.name).readall() for b in box.list_blobs()}

    def drain_queue(self, queue: str) -> list[str]:
        """Receive and delete every message now on ``queue`` (base64-decoded text)."""
        client = QueueClient.from_connection_string(
            self._connection, self.storage_prefix + queue,
            message_decode_policy=BinaryBase64DecodePolicy())
        with client:
            if not _exists(client):
                return []
            out = []
            while batch := list(client.receive_messages(max_messages=32)):
                for message in batch:
                    out.append(message.content.decode())
                    client.delete_message(message)
            return out

    @property
    def _connection(self) -> str:
        return expand_connection_string(self.storage_connection)


def _exists(queue: QueueClient) -> bool:
    try:
        queue.get_queue_properties()
    except ResourceNotFoundError:
        return False
    return True


@lru_cache(maxsize=1)
def local_kek() -> str:
    """This process's ``PV_SNAPSHOT_KEK``, generated on first use: every runtime it starts —
    also one restarted on the same storage prefix — unwraps the data keys the others wrapped."""
    return new_local_kek()


def stack_environment(sim: GraphSimulator, storage_connection: str,
                      storage_prefix: str) -> dict[str, str]:
    """Configuration (DESIGN §2) pointing the app at the simulator and Azurite."""
    return {
        "AzureWebJobsStorage": storage_connection,
        "PV_STORAGE_PREFIX": storage_prefix,
        "GRAPH_BASE_URL": sim.base_url,
        "ENTRA_AUTHORITY_HOST": sim.base_url,
        "GRAPH_CLIENT_ID": sim.client_id,
        "GRAPH_CLIENT_SECRET": sim.client_secret,
        "API_AUTH_ISSUER": sim.caller_issuer,
        "API_AUTH_AUDIENCE": API_AUDIENCE,
        "API_AUTH_JWKS_URL": sim.caller_jwks_url,
        "PV_SNAPSHOT_KEK": local_kek(),
        "SSL_CERT_FILE": sim.bundle_file,
        "REQUESTS_CA_BUNDLE": sim.bundle_file,
        # Webhook receivers of the local stack (tests, the demo) listen on this machine.
        "PV_WEBHOOK_ALLOWED_HOSTS": "localhost",
    }


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def running_stack(*, tenants: int = 3, seed: int = 1, storage_connection: str | None = None,
                  storage_prefix: str | None = None, latency_ms: float = 0.0,
                  limits: str = "off", counts: dict[str, int] | None = None,
                  port: int = 0, settings: Mapping[str, str] | None = None) -> Iterator[Stack]:
    """Start (or reuse, with ``storage_connection``) Azurite, a simulator and the runtime.
    ``settings``: more app settings, e.g. ``AzureWebJobs.schedule_tick.Disabled`` for tests
    that fire the timer themselves."""
    from shared.platform.config import get_settings

    prefix = storage_prefix or "pv" + uuid.uuid4().hex[:8]
    with ExitStack() as stack:
        if storage_connection is None:
            storage_connection = stack.enter_context(running_azurite()).connection_string
        sim = stack.enter_context(GraphSimulator(
            tenants=tenants, seed=seed, latency_ms=latency_ms, limits=limits, counts=counts,
        ))
        stack.enter_context(patched_environ(
            {**stack_environment(sim, storage_connection, prefix), **(settings or {})}))
        get_settings.cache_clear()
        stack.callback(get_settings.cache_clear)
        host = stack.enter_context(running_host(
            "function_app:app", script_root=REPO_ROOT, port=port, check_storage=True,
        ))
        yield Stack(sim=sim, host=host, storage_connection=storage_connection,
                    storage_prefix=prefix)
