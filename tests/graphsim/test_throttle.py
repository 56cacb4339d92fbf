"""Throttling: per-tenant and per-app token buckets, 429 + Retry-After, recovery."""

from __future__ import annotations

import time

from local.graphsim import Limits
from local.graphsim.throttle import Throttler


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_intune_limits_match_documentation():
    limits = Limits.intune()
    assert (limits.window_s, limits.tenant_requests, limits.app_requests, limits.tenant_writes,
            limits.app_writes) == (20.0, 2000, 1000, 200, 100)


def test_app_bucket_spends_1000_per_20s_then_refills():
    clock = FakeClock()
    throttler = Throttler(Limits.intune(), clock=clock)
    assert all(throttler.check("t1", "app", False) is None for _ in range(1000))
    retry = throttler.check("t1", "app", False)
    assert retry == 1
    assert throttler.check("t2", "app", False) is None
    clock.now += 0.02
    assert throttler.check("t1", "app", False) is None


def test_writes_have_their_own_smaller_budget_and_scale_applies():
    clock = FakeClock()
    throttler = Throttler(Limits.intune(scale=0.1), clock=clock)
    assert all(throttler.check("t", "a", True) is None for _ in range(10))
    assert throttler.check("t", "a", True) is not None
    assert throttler.check("t", "a", False) is None


def test_off_never_throttles():
    throttler = Throttler(Limits.off())
    assert all(throttler.check("t", "a", True) is None for _ in range(5000))


def test_429_with_retry_after_then_recovers_other_tenant_unaffected(graph, graphsim):
    graphsim.set_limits(Limits(window_s=1.0, tenant_requests=100, app_requests=5,
                               tenant_writes=100, app_writes=100))
    busy, other = graph(0), graph(1)
    statuses = [busy.get("/v1.0/groups").status_code for _ in range(5)]
    assert statuses == [200] * 5
    throttled = busy.get("/v1.0/groups")
    assert throttled.status_code == 429
    retry_after = int(throttled.headers["Retry-After"])
    assert retry_after >= 1
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert other.get("/v1.0/groups").status_code == 200
    time.sleep(retry_after)
    assert busy.get("/v1.0/groups").status_code == 200
    stats = graphsim.stats()
    assert stats[graphsim.tenant_ids[0]]["throttled"] == 1
    assert stats[graphsim.tenant_ids[1]]["throttled"] == 0


def test_batch_sub_requests_throttled_individually(graph, graphsim):
    graphsim.set_limits({"window_s": 60.0, "app_requests": 3})
    requests = [{"id": str(i), "method": "GET", "url": "/groups"} for i in range(5)]
    response = graph(0).post("/v1.0/$batch", json={"requests": requests})
    assert response.status_code == 200
    results = response.json()["responses"]
    assert [r["status"] for r in results] == [200, 200, 200, 429, 429]
    assert all(int(r["headers"]["Retry-After"]) >= 1 for r in results[3:])


def test_limits_control_endpoint(http, graphsim):
    body = http.put("/_sim/limits", json={"preset": "intune", "scale": 0.5}).json()
    assert body["enabled"] is True and body["scale"] == 0.5
    assert http.get("/_sim/limits").json()["app_requests"] == 1000
    assert http.put("/_sim/limits", json={"nope": 1}).status_code == 400
    assert http.put("/_sim/limits", json={"preset": "off"}).json()["enabled"] is False
