"""A small client for PolicyVault's HTTP API (DESIGN §3), as the portal or a Logic App
would call it: start a job, follow ``Location`` until the run is terminal, page lists.

Used by the demo, the end-to-end tests and benchmarks. Every call returns the
``httpx.Response`` or its JSON; nothing here knows how the server is implemented.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx


class RunTimeout(Exception):
    """The run did not reach a terminal state in the time the caller allowed."""


ResponseCheck = Callable[[httpx.Response], None]


class PolicyVaultClient:
    """``check``, if given, sees every response before the caller does (the end-to-end tests
    validate each one against the OpenAPI document)."""

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 30.0,
                 check: ResponseCheck | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)
        self._check = check

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> PolicyVaultClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        if self._check is not None:
            self._check(response)
        return response

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a call that must succeed (raises ``httpx.HTTPStatusError``)."""
        response = self.request(method, path, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    # ---- tenants and access -----------------------------------------------------------------
    def register_tenant(self, tenant_id: str, display_name: str) -> dict[str, Any]:
        return self.ok("PUT", f"/api/tenants/{tenant_id}", json={"display_name": display_name})

    def grant(self, tenant_id: str, principal_id: str, role: str) -> dict[str, Any]:
        return self.ok("PUT", f"/api/tenants/{tenant_id}/access/{principal_id}",
                       json={"role": role})

    # ---- jobs -------------------------------------------------------------------------------
    def capture(self, tenant_id: str, policy_type: str, policy_id: str,
                idempotency_key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self.request(
            "POST", f"/api/tenants/{tenant_id}/policies/{policy_type}/{policy_id}/snapshot",
            headers=headers)

    def backup(self, tenant_id: str, policy_types: list[str] | None = None,
               label: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {}
        if policy_types is not None:
            body["policy_types"] = policy_types
        if label is not None:
            body["label"] = label
        return self.request("POST", f"/api/tenants/{tenant_id}/backups", json=body)

    def restore(self, tenant_id: str, backup_set_id: str, **options: Any) -> httpx.Response:
        return self.request("POST", f"/api/tenants/{tenant_id}/restores",
                            json={"backup_set_id": backup_set_id, **options})

    def drift_check(self, tenant_id: str, baseline_backup_set_id: str | None = None,
                    policy_types: list[str] | None = None) -> httpx.Response:
        body: dict[str, Any] = {}
        if baseline_backup_set_id is not None:
            body["baseline_backup_set_id"] = baseline_backup_set_id
        if policy_types is not None:
            body["policy_types"] = policy_types
        return self.request("POST", f"/api/tenants/{tenant_id}/drift-checks", json=body)

    def baseline(self, tenant_id: str) -> httpx.Response:
        return self.request("GET", f"/api/tenants/{tenant_id}/baseline")

    def pin_baseline(self, tenant_id: str, backup_set_id: str | None) -> httpx.Response:
        """Pin ``backup_set_id`` as the tenant's baseline; None drops the pin."""
        if backup_set_id is None:
            return self.request("DELETE", f"/api/tenants/{tenant_id}/baseline")
        return self.request("PUT", f"/api/tenants/{tenant_id}/baseline",
                            json={"backup_set_id": backup_set_id})

    def report(self, tenant_id: str, backup_set_id: str, report_format: str = "html",
               compare_to: str | None = None) -> httpx.Response:
        body: dict[str, Any] = {"backup_set_id": backup_set_id, "format": report_format}
        if compare_to is not None:
            body["compare_to"] = compare_to
        return self.request("POST", f"/api/tenants/{tenant_id}/reports", json=body)

    def report_document(self, started: httpx.Response, *, timeout: float = 300.0,
                        poll_s: float = 0.1) -> httpx.Response:
        """Follow a report start's ``Location`` until the document arrives (200) or the
        report answers anything but 202; returns that answer."""
        location = started.headers["Location"]
        deadline = time.monotonic() + timeout
        while True:
            response = self.request("GET", location)
            if response.status_code != 202:
                return response
            if time.monotonic() > deadline:
                raise RunTimeout(f"report {location} still {response.json()['status']}")
            time.sleep(poll_s)

    # ---- runs -------------------------------------------------------------------------------
    def wait(self, started: httpx.Response | dict[str, Any], *, timeout: float = 300.0,
             poll_s: float = 0.1) -> dict[str, Any]:
        """Follow the run's ``Location`` until it answers 200 (terminal); returns the run.
        ``poll_s`` overrides ``Retry-After`` so local runs are followed closely."""
        run = started.json() if isinstance(started, httpx.Response) else started
        location = run["links"]["self"]
        deadline = time.monotonic() + timeout
        while True:
            response = self.request("GET", location)
            response.raise_for_status()
            if response.status_code == 200:
                return response.json()
            if time.monotonic() > deadline:
                raise RunTimeout(f"run {run['run_id']} still {response.json()['status']}")
            time.sleep(poll_s)

    def run(self, tenant_id: str, run_id: str) -> httpx.Response:
        return self.request("GET", f"/api/tenants/{tenant_id}/runs/{run_id}")

    def items(self, tenant_id: str, run_id: str) -> list[dict[str, Any]]:
        return list(self.pages(f"/api/tenants/{tenant_id}/runs/{run_id}/items"))

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every element of a list endpoint, following ``continuation``."""
        params = {k: v for k, v in params.items() if v is not None}
        while True:
            body = self.ok("GET", path, params=params)
            yield from body["value"]
            if not body.get("continuation"):
                return
            params["continuation"] = body["continuation"]

    # ---- backup sets ------------------------------------------------------------------------
    def backup_set(self, tenant_id: str, backup_set_id: str) -> dict[str, Any]:
        return self.ok("GET", f"/api/tenants/{tenant_id}/backups/{backup_set_id}")

    def snapshot(self, tenant_id: str, backup_set_id: str, item_id: str) -> dict[str, Any]:
        return self.ok("GET", f"/api/tenants/{tenant_id}/backups/{backup_set_id}/items/{item_id}")

    def notifications(self, unread: bool = False) -> list[dict[str, Any]]:
        return list(self.pages("/api/notifications", unread="true" if unread else None))
