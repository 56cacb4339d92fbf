"""Pytest fixtures for the simulator.

Use from any test folder with `pytest_plugins = ["local.graphsim.pytest_plugin"]` in its
conftest, or import the fixtures directly. One simulator is started per session
(`graphsim_session`); the function-scoped `graphsim` resets it (data from the seed, log,
faults, limits, latency, consent) before each test and points SSL_CERT_FILE and
REQUESTS_CA_BUNDLE at its bundle for that test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .simulator import GraphSimulator


@pytest.fixture(scope="session")
def graphsim_session() -> Iterator[GraphSimulator]:
    sim = GraphSimulator(tenants=3, seed=1).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def graphsim(graphsim_session: GraphSimulator,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphSimulator]:
    graphsim_session.reset(tenants=3, counts={}, page_size=100)
    monkeypatch.setenv("SSL_CERT_FILE", graphsim_session.bundle_file)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", graphsim_session.bundle_file)
    yield graphsim_session
