"""Everything one simulator run holds, and the control operations on it.

All methods run on the simulator's event-loop thread (the HTTP control API calls them
directly; `GraphSimulator` marshals its Python calls onto that thread).
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import certs, licences, seed
from .entra import GraphTokenVerifier, Keys, TokenContext, caller_issuer, mint_caller_token
from .faults import FaultRule, FaultSet
from .graph import GraphEngine
from .store import Store
from .throttle import Limits, Throttler


@dataclass
class SimConfig:
    tenants: int = 3
    seed: int = 1
    counts: dict[str, int] = field(default_factory=dict)
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    limits: Limits = field(default_factory=Limits.off)
    page_size: int = 100
    sub_page_size: int = 25
    host: str = "127.0.0.1"
    log_limit: int = 200_000  # oldest request-log entries are dropped beyond this


class SimState:
    def __init__(self, config: SimConfig, workdir: str | Path | None = None,
                 ca_file: str | Path | None = None):
        self.config = config
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="graphsim-")
            workdir = self._tmp.name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.client_id, self.client_secret = seed.app_identity(config.seed)
        self.keys = Keys(client_id=self.client_id)
        self.tls = certs.make_tls(config.host)
        self.ca_file = Path(ca_file) if ca_file else self.workdir / "ca.pem"
        self.ca_file.write_bytes(certs.cert_pem(self.tls.ca_cert))
        self.leaf_cert_file = self.workdir / "server-cert.pem"
        self.leaf_key_file = self.workdir / "server-key.pem"
        self.leaf_cert_file.write_bytes(certs.cert_pem(self.tls.leaf_cert))
        self.leaf_key_file.write_bytes(certs.key_pem(self.tls.leaf_key))
        self.bundle_file = certs.write_ca_bundle(self.ca_file, self.workdir / "bundle.pem")
        assert self.keys.app_cert is not None
        self.app_cert_file = self.workdir / "app-cert.pem"
        self.app_key_file = self.workdir / "app-key.pem"
        self.app_cert_file.write_bytes(certs.cert_pem(self.keys.app_cert.cert))
        self.app_key_file.write_bytes(certs.key_pem(self.keys.app_cert.key))
        self.app_pem_file = self.workdir / "app.pem"  # key + cert, as many tools expect
        self.app_pem_file.write_bytes(self.app_key_file.read_bytes()
                                      + self.app_cert_file.read_bytes())
        self.base_url = ""
        self.verifier = GraphTokenVerifier(self.keys)
        self.store = Store(seed=config.seed, tenant_count=config.tenants,
                           counts=dict(config.counts))
        self.throttler = Throttler(config.limits)
        self.faults = FaultSet(config.seed)
        self.rng = random.Random(f"latency:{config.seed}")
        self.log: list[dict[str, Any]] = []
        self.seq = 0
        self.stats: dict[str, dict[str, int]] = {}
        self.engine = GraphEngine("", config.page_size, config.sub_page_size)
        self._initial = (config.latency_ms, config.jitter_ms, config.limits)

    def bind(self, base_url: str) -> None:
        self.base_url = base_url
        self.engine.base_url = base_url

    @property
    def token_context(self) -> TokenContext:
        return TokenContext(self.base_url, self.keys, self.client_secret)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    # ---- bookkeeping ---------------------------------------------------------------------
    def record(self, *, tenant: str | None, method: str, path: str, query: str, status: int,
               is_write: bool, kind: str, batch: bool = False) -> None:
        self.seq += 1
        self.log.append({"seq": self.seq, "time": time.time(), "tenant": tenant,
                         "method": method, "path": path, "query": query, "status": status,
                         "is_write": is_write, "kind": kind, "batch": batch})
        if len(self.log) > self.config.log_limit:
            del self.log[: len(self.log) // 10]
        if kind == "batch":
            return
        stats = self.stats.setdefault(tenant or "-", {"requests": 0, "writes": 0,
                                                      "throttled": 0, "errors": 0,
                                                      "token_requests": 0})
        if kind == "entra":
            stats["token_requests"] += int(path.endswith("/token"))
            return
        stats["requests"] += 1
        stats["writes"] += int(is_write)
        stats["throttled"] += int(status == 429)
        stats["errors"] += int(status >= 500)

    def latency_s(self) -> float:
        base, jitter = self.config.latency_ms, self.config.jitter_ms
        if base <= 0 and jitter <= 0:
            return 0.0
        return (base + (self.rng.uniform(0, jitter) if jitter > 0 else 0.0)) / 1000.0

    # ---- control operations (also served under /_sim) -----------------------------------
    def info(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "client_id": self.client_id,
                "client_secret": self.client_secret, "ca_file": str(self.ca_file),
                "bundle_file": str(self.bundle_file), "app_cert_file": str(self.app_cert_file),
                "app_key_file": str(self.app_key_file), "app_pem_file": str(self.app_pem_file),
                "app_cert_thumbprint_sha1": self.keys.app_cert.sha1_thumbprint,
                "app_cert_thumbprint_sha256": self.keys.app_cert.sha256_thumbprint,
                "caller_issuer": caller_issuer(self.base_url),
                "caller_jwks_url": f"{caller_issuer(self.base_url)}/discovery/keys",
                "tenants": self.tenants()}

    def tenants(self) -> list[dict[str, Any]]:
        return [{"id": t.id, "display_name": t.display_name, "domain": t.domain,
                 "client_id": self.client_id, "client_secret": self.client_secret,
                 "consented": t.consented} for t in self.store.tenants.values()]

    def set_consent(self, tenant_id: str, consented: bool,
                    roles: tuple[str, ...] | None = None) -> None:
        """Consent (or not); ``roles``: the permissions consented to (None: unchanged)."""
        tenant = self.store.lookup(tenant_id)
        if tenant is None:
            raise KeyError(f"unknown tenant {tenant_id}")
        tenant.consented = consented
        if roles is not None:
            tenant.app_roles = roles

    def set_licence(self, tenant_id: str, sku: str, held: bool) -> None:
        """Give the tenant a SKU of ``licences.SKUS`` or take it away (until the next reset)."""
        tenant = self.store.lookup(tenant_id)
        if tenant is None:
            raise KeyError(f"unknown tenant {tenant_id}")
        licences.set_licence(tenant, sku, held)

    def mint_token(self, params: dict[str, Any]) -> dict[str, Any]:
        return mint_caller_token(self.base_url, self.keys, params)

    def add_fault(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.faults.add(FaultRule(**params)).to_dict()

    def list_faults(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.faults.rules]

    def clear_faults(self, rule_id: str | None = None) -> int:
        return self.faults.clear(rule_id)

    def set_limits(self, params: dict[str, Any] | Limits) -> dict[str, Any]:
        if isinstance(params, Limits):
            limits = params
        else:
            params = dict(params)
            preset = params.pop("preset", "intune")
            base = Limits.off() if preset == "off" else Limits.intune()
            limits = Limits.from_dict({**base.to_dict(), **params})
        self.throttler.set_limits(limits)
        return limits.to_dict()

    def set_latency(self, latency_ms: float, jitter_ms: float = 0.0) -> None:
        self.config.latency_ms = float(latency_ms)
        self.config.jitter_ms = float(jitter_ms)

    def requests(self, since: int = 0) -> dict[str, Any]:
        entries = [e for e in self.log if e["seq"] > since]
        return {"value": entries, "cursor": self.seq}

    def clear_requests(self) -> None:
        self.log.clear()

    def get_stats(self) -> dict[str, Any]:
        return {k: dict(v) for k, v in self.stats.items()}

    def reset(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Regenerate data from the seed; clear log, stats, faults, consent and throttling."""
        params = params or {}
        if "tenants" in params:
            self.config.tenants = int(params["tenants"])
        if "counts" in params:
            self.config.counts = dict(params["counts"] or {})
        if "page_size" in params:
            self.engine.page_size = self.config.page_size = int(params["page_size"])
        else:
            self.engine.page_size = self.config.page_size
        limit = params.get("expand_limit")  # for this reset only: tests of truncation
        self.engine.expand_limit = int(limit) if limit is not None else None
        self.store = Store(seed=self.config.seed, tenant_count=self.config.tenants,
                           counts=dict(self.config.counts))
        for tenant in self.store.tenants.values():  # for this reset only, like expand_limit
            tenant.audit.retention_days.update(params.get("audit_retention_days") or {})
            tenant.audit.max_events = int(params.get("audit_max_events") or
                                          tenant.audit.max_events)
        latency, jitter, limits = self._initial
        self.set_latency(latency, jitter)
        self.throttler.set_limits(limits)
        self.faults = FaultSet(self.config.seed)
        self.rng = random.Random(f"latency:{self.config.seed}")
        self.log.clear()
        self.stats.clear()
        return {"tenants": self.tenants()}

    def drift(self, params: dict[str, Any]) -> dict[str, Any] | None:
        return self.store.drift(params["tenant_id"], params["collection"], params["id"],
                                params.get("op", "modify"), params.get("patch"),
                                params.get("actor"))

    def objects(self, tenant_id: str, collection: str) -> list[dict[str, Any]]:
        return self.store.snapshot(tenant_id, collection)
