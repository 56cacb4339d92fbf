"""Fixtures for the simulator's own tests: real MSAL and real httpx against it over HTTPS."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import msal
import pytest

from local.graphsim.pytest_plugin import graphsim, graphsim_session  # noqa: F401
from local.graphsim.simulator import GraphSimulator

GRAPH_SCOPE = ["https://graph.microsoft.com/.default"]


@pytest.fixture
def tenant_ids(graphsim: GraphSimulator) -> list[str]:  # noqa: F811
    return graphsim.tenant_ids


@pytest.fixture
def msal_app(graphsim: GraphSimulator) -> Callable[..., msal.ConfidentialClientApplication]:  # noqa: F811
    def make(tenant_id: str, credential: object | None = None,
             client_id: str | None = None) -> msal.ConfidentialClientApplication:
        return msal.ConfidentialClientApplication(
            client_id or graphsim.client_id, authority=graphsim.authority(tenant_id),
            client_credential=credential if credential is not None else graphsim.client_secret,
            instance_discovery=False)
    return make


@pytest.fixture
def http(graphsim: GraphSimulator) -> Iterator[httpx.Client]:  # noqa: F811
    # No verify=: httpx reads SSL_CERT_FILE, which the graphsim fixture points at the bundle.
    with httpx.Client(base_url=graphsim.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def graph(graphsim: GraphSimulator, msal_app, http: httpx.Client,  # noqa: F811
          tenant_ids: list[str]) -> Callable[..., httpx.Client]:
    """graph(tenant_index=0) → an httpx client carrying that tenant's Graph token."""
    tokens: dict[str, str] = {}

    def make(index: int = 0) -> httpx.Client:
        tid = tenant_ids[index]
        if tid not in tokens:
            result = msal_app(tid).acquire_token_for_client(GRAPH_SCOPE)
            tokens[tid] = result["access_token"]
        client = httpx.Client(base_url=graphsim.base_url, timeout=30,
                              headers={"Authorization": f"Bearer {tokens[tid]}"})
        opened.append(client)
        return client

    opened: list[httpx.Client] = []
    yield make
    for client in opened:
        client.close()
