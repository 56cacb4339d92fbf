"""Benchmark: live restore of N changed items against the simulator with the Intune limits on.

    python -m tests.e2e.bench_restore [--items 200] [--scale 1.0] [--latency-ms 0]

Half the items are settings catalog policies (PUT with every setting), half device
configurations (PATCH); each is drifted out of band, so the restore writes each once. The
figure of merit is wall time ÷ the write-throttle-bound minimum: with Intune's documented
100 writes per 20 s per app per tenant (``--scale`` shrinks every limit), N writes need at
least ``(N - 100) / 5`` s once the first window's allowance is spent (``burst`` below), and
``N / 5`` s at the steady rate. Reported, never asserted (DESIGN §9).
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

from local.graphsim import Limits
from local.stack import running_stack
from tests.e2e.restore_support import live

WINDOW_S, APP_WRITES = 20.0, 100
TYPES = ("configurationPolicies", "deviceConfigurations")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every limit")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    half = args.items // 2
    counts = {TYPES[0]: args.items - half, TYPES[1]: half}
    with running_stack(tenants=1, counts=counts, latency_ms=args.latency_ms) as stack:
        sim = stack.sim
        tenant_id = sim.tenant_ids[0]
        with stack.api(str(uuid.uuid4()), ["Platform.Admin"]) as api:
            api.register_tenant(tenant_id, "Benchmark customer")
            source = api.wait(api.backup(tenant_id, list(TYPES)))
            assert source["status"] == "succeeded", source
            for policy_type in TYPES:
                for obj in live(sim, tenant_id, policy_type):
                    sim.drift(tenant_id, policy_type, obj["id"],
                              patch={"description": f"drifted {uuid.uuid4()}"})
            # Limits on, buckets full: a tenant nobody else is writing to.
            sim.set_limits(Limits.intune(args.scale))
            cursor = sim.request_cursor()
            started_at, started_wall = time.monotonic(), time.time()
            started = api.restore(tenant_id, source["backup_set_id"], dry_run=False)
            accepted_at = time.monotonic()
            run = api.wait(started, timeout=3600, poll_s=0.2)
            wall = time.monotonic() - started_at
            items = api.items(tenant_id, run["run_id"])
        log = [e for e in sim.requests(cursor) if e["kind"] in ("graph", "batch")]
    writes = [e for e in log if e["is_write"]]
    throttled = [e for e in log if e["status"] == 429]
    limit = APP_WRITES * args.scale
    rate = limit / WINDOW_S
    steady_min = len(writes) / rate
    burst_min = max(0.0, len(writes) - limit) / rate
    result = {
        "items": args.items, "scale": args.scale, "status": run["status"],
        "counts": run["counts"],
        "actions": {a: sum(1 for i in items if i["action"] == a)
                    for a in sorted({i["action"] for i in items})},
        "throttled_writes": sum(1 for e in throttled if e["method"] != "GET"
                                and not e["path"].endswith("$batch")),
        "graph_writes": len(writes), "graph_requests": len(log), "throttled_429": len(throttled),
        "start_latency_s": round(accepted_at - started_at, 3),
        "wall_s": round(wall, 1),
        # where the time went: reads and the pre-restore capture, then the writes
        "first_write_after_s": round(writes[0]["time"] - started_wall, 1) if writes else None,
        "write_phase_s": round(writes[-1]["time"] - writes[0]["time"], 1) if writes else None,
        "min_steady_s": round(steady_min, 1), "min_with_burst_s": round(burst_min, 1),
        "ratio_to_steady_min": round(wall / steady_min, 2) if steady_min else None,
        "ratio_to_burst_min": round(wall / burst_min, 2) if burst_min else None,
        # the measure: the write phase alone against the throttle bound
        "write_phase_to_burst_min": (round((writes[-1]["time"] - writes[0]["time"])
                                           / burst_min, 2) if writes and burst_min else None),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
