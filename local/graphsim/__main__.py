"""`python -m local.graphsim --port N [...]`: serve the simulator until interrupted.

Prints one line `graphsim listening on https://HOST:PORT (tenants=K)` once it accepts
connections, so a parent process can wait for it. The CA is written to `--ca-file` and a
bundle (system CAs + simulator CA) beside it as `<ca-file stem>-bundle.pem`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from .certs import write_ca_bundle
from .simulator import GraphSimulator, parse_limits


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m local.graphsim",
                                description="Microsoft Graph + Entra ID simulator (HTTPS).")
    p.add_argument("--port", type=int, required=True, help="0 picks a free port")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--tenants", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ca-file", type=Path, help="where to write the simulator CA (PEM)")
    p.add_argument("--bundle-file", type=Path,
                   help="where to write system CAs + simulator CA (default: beside --ca-file)")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--limits", choices=("intune", "off"), default="off")
    p.add_argument("--limits-scale", type=float, default=1.0,
                   help="multiply every Intune limit (with --limits intune)")
    p.add_argument("--counts", type=json.loads, default={},
                   help='per-type object counts as JSON, e.g. \'{"configurationPolicies": 500}\'')
    p.add_argument("--page-size", type=int, default=100)
    p.add_argument("--info-file", type=Path, help="write /_sim/info JSON here once ready")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    limits = parse_limits(args.limits)
    limits.scale = args.limits_scale
    sim = GraphSimulator(tenants=args.tenants, seed=args.seed, latency_ms=args.latency_ms,
                         jitter_ms=args.jitter_ms, limits=limits, counts=args.counts,
                         page_size=args.page_size, host=args.host, port=args.port,
                         ca_file=args.ca_file)
    sim.start()
    try:
        if args.ca_file:
            bundle = args.bundle_file or args.ca_file.with_name(args.ca_file.stem + "-bundle.pem")
            write_ca_bundle(args.ca_file, bundle)
        if args.info_file:
            args.info_file.write_text(json.dumps(sim.info(), indent=2))
        print(f"graphsim listening on {sim.base_url} (tenants={args.tenants})", flush=True)
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        loop.run_until_complete(stop.wait())
        loop.close()
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
