"""Fixtures for shared.graph: the real MSAL and httpx against the Graph + Entra simulator.

Each test gets a freshly reset simulator (``graphsim``), settings pointing at it, and a
client built through ``build_graph_client`` with its own token provider, so token counts
and throttling gates never leak between tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from local.graphsim.pytest_plugin import graphsim, graphsim_session  # noqa: F401
from local.graphsim.simulator import GraphSimulator
from shared.crypto.kek import new_local_kek
from shared.graph import (
    GraphClient,
    RetryPolicy,
    build_graph_client,
    close_graph_client,
    get_graph_client,
)
from shared.graph.tokens import MsalTokenProvider
from shared.platform.config import Settings, get_settings, load_settings

TEST_KEK = new_local_kek()  # one per test session, as a deployment has one

# Fast but real: honours Retry-After (capped low) and keeps backoff short so faults settle
# in milliseconds. Tests of the real caps use their own policy.
FAST = RetryPolicy(backoff_base_s=0.01, backoff_max_s=0.05, retry_after_cap_s=0.05,
                   deadline_s=20.0)


def sim_env(sim: GraphSimulator, **extra: str) -> dict[str, str]:
    env = {
        "GRAPH_BASE_URL": sim.base_url, "ENTRA_AUTHORITY_HOST": sim.base_url,
        "GRAPH_CLIENT_ID": sim.client_id, "GRAPH_CLIENT_SECRET": sim.client_secret,
        "API_AUTH_ISSUER": sim.caller_issuer, "API_AUTH_AUDIENCE": "api://policyvault",
        "API_AUTH_JWKS_URL": sim.caller_jwks_url, "PV_SNAPSHOT_KEK": TEST_KEK,
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v}


@pytest.fixture
def settings(graphsim: GraphSimulator) -> Settings:  # noqa: F811
    return load_settings(sim_env(graphsim))


@pytest.fixture
def tenants(graphsim: GraphSimulator) -> list[str]:  # noqa: F811
    return graphsim.tenant_ids


@pytest.fixture
async def make_client(settings: Settings) -> AsyncIterator[Callable[..., GraphClient]]:
    made: list[GraphClient] = []

    def make(policy: RetryPolicy = FAST, settings_: Settings | None = None,
             **kwargs: object) -> GraphClient:
        s = settings_ or settings
        tokens = kwargs.pop("tokens", None) or MsalTokenProvider(s.graph, s.authority_host)
        client = build_graph_client(s, tokens=tokens, policy=policy, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
async def client(make_client: Callable[..., GraphClient]) -> GraphClient:
    return make_client()


def graph_requests(sim: GraphSimulator, since: int = 0, **match: object) -> list[dict]:
    """Request-log entries (Graph and batch sub-requests) matching every given field."""
    return [e for e in sim.requests(since) if all(e.get(k) == v for k, v in match.items())]


@pytest.fixture
async def loop_client(graphsim: GraphSimulator, monkeypatch: pytest.MonkeyPatch  # noqa: F811
                      ) -> AsyncIterator[GraphClient]:
    """The running loop's own client (what ``assess_batch`` and the activities use), pointed
    at the simulator through the environment, as the runtime's settings would be."""
    for name, value in sim_env(graphsim).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        yield get_graph_client()
    finally:
        await close_graph_client()
        get_settings.cache_clear()


async def until(predicate: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Wait (polling) until ``predicate()`` holds; fail naming ``what`` after ``timeout_s``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)
