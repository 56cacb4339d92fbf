"""Run IntuneCD 2.6.0's backup, unmodified, against the Graph simulator (benchmark only).

    python -m tests.e2e.intunecd_runner --graph-url https://127.0.0.1:PORT --token T --path DIR

IntuneCD calls ``https://graph.microsoft.com`` through ``requests``' module-level functions
(a new session per call), so this process rewrites that origin to the simulator in
``requests``' transport (``HTTPAdapter.send``) before IntuneCD is imported, and trusts the
simulator's CA through ``REQUESTS_CA_BUNDLE`` (DESIGN §9). ``--token`` is a simulator-issued
Graph token, so nothing contacts a real login endpoint.
"""

from __future__ import annotations

import argparse
import sys

GRAPH = "https://graph.microsoft.com"


def redirect_graph(graph_url: str) -> None:
    """Send every ``requests`` call for Graph's origin to ``graph_url`` instead."""
    from requests.adapters import HTTPAdapter

    original = HTTPAdapter.send

    def send(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        if request.url.startswith(GRAPH + "/"):
            request.url = graph_url.rstrip("/") + request.url[len(GRAPH):]
        return original(self, request, *args, **kwargs)

    HTTPAdapter.send = send  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.e2e.intunecd_runner")
    parser.add_argument("--graph-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--max-workers", type=int, default=10)
    args = parser.parse_args(argv)
    redirect_graph(args.graph_url)
    from IntuneCD.run_backup import get_parser, start

    start(get_parser(include_help=False).parse_args([
        "-m", "1", "-o", "json", "-p", args.path, "--token", args.token, "--skip-archive",
        "--max-workers", str(args.max_workers),
    ]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
