"""`GraphSimulator`: the simulator in-process, its event loop on a background thread.

    sim = GraphSimulator(tenants=3, seed=1).start()
    sim.base_url, sim.ca_file, sim.bundle_file, sim.tenants(), sim.add_fault(kind="503")
    sim.stop()

Every control method runs on the simulator's loop (state is single-threaded).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from aiohttp import web

from .entra import mint_graph_token
from .server import build_app, ssl_context
from .state import SimConfig, SimState
from .throttle import Limits


def parse_limits(limits: str | Limits | dict | None) -> Limits:
    if isinstance(limits, Limits):
        return limits
    if isinstance(limits, dict):
        return Limits.from_dict(limits)
    if limits in (None, "off"):
        return Limits.off()
    if limits == "intune":
        return Limits.intune()
    raise ValueError(f"limits must be 'intune', 'off' or a Limits, not {limits!r}")


class GraphSimulator:
    def __init__(self, tenants: int = 3, seed: int = 1, *, latency_ms: float = 0.0,
                 jitter_ms: float = 0.0, limits: str | Limits | dict | None = "off",
                 counts: dict[str, int] | None = None, page_size: int = 100,
                 sub_page_size: int = 25, host: str = "127.0.0.1", port: int = 0,
                 ca_file: str | Path | None = None, workdir: str | Path | None = None):
        self.config = SimConfig(tenants=tenants, seed=seed, counts=dict(counts or {}),
                                latency_ms=latency_ms, jitter_ms=jitter_ms,
                                limits=parse_limits(limits), page_size=page_size,
                                sub_page_size=sub_page_size, host=host)
        self.host = host
        self.port = port
        self._ca_file = ca_file
        self._workdir = workdir
        self.state: SimState | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> GraphSimulator:
        self.state = SimState(self.config, workdir=self._workdir, ca_file=self._ca_file)
        ready: Future = Future()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="graphsim",
                                        daemon=True)
        self._thread.start()
        ready.result(timeout=30)
        return self

    def _run(self, ready: Future) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # surface start-up failures to start()
            if not ready.done():
                ready.set_exception(exc)
            return
        ready.set_result(True)
        self._loop.run_forever()

    async def _serve(self) -> None:
        assert self.state is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        self.state.bind(f"https://{host}:{self.port}")
        self._runner = web.AppRunner(build_app(self.state), access_log=None,
                                     handler_cancellation=True)
        await self._runner.setup()
        await web.SockSite(self._runner, sock, ssl_context=ssl_context(self.state),
                           backlog=1024).start()

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop.close()
        self._loop = None
        if self.state is not None:
            self.state.close()

    def __enter__(self) -> GraphSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._loop is None:
            raise RuntimeError("the simulator is not running")

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    # ---- properties ----------------------------------------------------------------------
    def _st(self) -> SimState:
        if self.state is None:
            raise RuntimeError("the simulator is not running")
        return self.state

    @property
    def base_url(self) -> str:
        return self._st().base_url

    @property
    def ca_file(self) -> str:
        return str(self._st().ca_file)

    @property
    def bundle_file(self) -> str:
        return str(self._st().bundle_file)

    @property
    def client_id(self) -> str:
        return self._st().client_id

    @property
    def client_secret(self) -> str:
        return self._st().client_secret

    @property
    def app_cert_file(self) -> str:
        return str(self._st().app_cert_file)

    @property
    def app_key_file(self) -> str:
        return str(self._st().app_key_file)

    @property
    def app_pem_file(self) -> str:
        return str(self._st().app_pem_file)

    @property
    def app_cert_thumbprint(self) -> str:
        """SHA-1 thumbprint (hex) of the app certificate, as the portal shows it."""
        return self._st().keys.app_cert.sha1_thumbprint

    @property
    def caller_issuer(self) -> str:
        return f"{self.base_url}/pv-issuer"

    @property
    def caller_jwks_url(self) -> str:
        return f"{self.caller_issuer}/discovery/keys"

    @property
    def tenant_ids(self) -> list[str]:
        return [t["id"] for t in self.tenants()]

    def authority(self, tenant_id: str) -> str:
        return f"{self.base_url}/{tenant_id}"

    def msal_certificate_credential(self) -> dict[str, str]:
        """`client_credential` for MSAL certificate auth (PS256 with x5t#S256)."""
        st = self._st()
        return {"private_key": st.app_key_file.read_text(),
                "public_certificate": st.app_cert_file.read_text()}

    # ---- control operations --------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return self._call(self._st().info)

    def tenants(self) -> list[dict[str, Any]]:
        return self._call(self._st().tenants)

    def set_consent(self, tenant_id: str, consented: bool,
                    roles: tuple[str, ...] | None = None) -> None:
        """Consent (or not); ``roles``: the application permissions in the app's tokens."""
        self._call(self._st().set_consent, tenant_id, consented, roles)

    def set_licence(self, tenant_id: str, sku: str, held: bool = True) -> None:
        """Give the tenant a SKU (``local.graphsim.licences.SKUS``: ``SPE_E3``, ``EMS``,
        ``CPC_E_2C_8GB_128GB``) or take it away; ``reset`` restores the seeded ones."""
        self._call(self._st().set_licence, tenant_id, sku, held)

    def graph_token(self, tenant_id: str, roles: tuple[str, ...] | None = None) -> str:
        """A Graph access token for the app in `tenant_id`, without the token endpoint (with
        ``roles``, those instead of every permission)."""
        st = self._st()
        if roles is None:
            return self._call(mint_graph_token, st.token_context, tenant_id)
        return self._call(mint_graph_token, st.token_context, tenant_id, roles)

    def mint_token(self, oid: str | None = None, roles: list[str] | None = None,
                   audience: str | None = None, lifetime_s: int = 3600, **extra: Any) -> str:
        params = {"oid": oid, "roles": roles or [], "audience": audience,
                  "lifetime_s": lifetime_s, **extra}
        return self._call(self._st().mint_token, params)["access_token"]

    def add_fault(self, kind: str, **params: Any) -> str:
        return self._call(self._st().add_fault, {"kind": kind, **params})["id"]

    def faults(self) -> list[dict[str, Any]]:
        return self._call(self._st().list_faults)

    def clear_faults(self, rule_id: str | None = None) -> int:
        return self._call(self._st().clear_faults, rule_id)

    def set_limits(self, limits: Limits | dict[str, Any] | str) -> dict[str, Any]:
        if isinstance(limits, str):
            limits = parse_limits(limits)
        return self._call(self._st().set_limits, limits)

    def set_latency(self, latency_ms: float, jitter_ms: float = 0.0) -> None:
        self._call(self._st().set_latency, latency_ms, jitter_ms)

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return self._call(self._st().requests, since)["value"]

    def request_cursor(self) -> int:
        return self._call(self._st().requests, 10**18)["cursor"]

    def clear_requests(self) -> None:
        self._call(self._st().clear_requests)

    def writes(self, since: int = 0) -> list[dict[str, Any]]:
        return [e for e in self.requests(since) if e["is_write"]]

    def stats(self) -> dict[str, Any]:
        return self._call(self._st().get_stats)

    def reset(self, **params: Any) -> None:
        self._call(self._st().reset, params)

    def drift(self, tenant_id: str, collection: str, item_id: str, op: str = "modify",
              patch: dict[str, Any] | None = None,
              actor: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """Change an object as a portal admin would; ``actor`` ``{"upn", "type": "user"|
        "partner"}`` is who the audit log names (default ``admin@<tenant domain>``)."""
        return self._call(self._st().drift, {"tenant_id": tenant_id, "collection": collection,
                                             "id": item_id, "op": op, "patch": patch,
                                             "actor": actor})

    def objects(self, tenant_id: str, collection: str) -> list[dict[str, Any]]:
        return self._call(self._st().objects, tenant_id, collection)
