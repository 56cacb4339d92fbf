"""``python -m local.demo [--tenants N] [--storage CONNECTION] [--timeout S] [--verbose]``.

Exit codes: 0 the whole story ran as DESIGN §3 describes; 1 a step answered something else
(the line says which call and what came back); 2 bad options; 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from local.demo.console import Console
from local.demo.deploy import show_deploy
from local.demo.drift import show_drift
from local.demo.reports import show_reports
from local.demo.scenario import Demo, DemoFailed
from local.host.startup import configure_logging
from local.stack import running_stack

# The app's own loggers, which --verbose shows from INFO up (libraries from WARNING up).
APP_LOGGERS = ("activities", "api", "orchestrators", "shared", "timers")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description="Run PolicyVault locally (Azurite + Graph simulator + local Functions "
                    "runtime) and walk through capture, backup and restore over its HTTP API.")
    parser.add_argument("--tenants", type=int, default=3, choices=range(1, 11),
                        metavar="N", help="customer tenants in the simulator (1-10, default 3)")
    parser.add_argument("--storage", metavar="CONNECTION",
                        help="use this Azure Storage connection string (e.g. a running "
                             "Azurite) instead of starting Azurite; the demo writes under a "
                             "fresh PV_STORAGE_PREFIX")
    parser.add_argument("--timeout", type=float, default=240.0, metavar="SECONDS",
                        help="longest wait for any one run (default 240)")
    parser.add_argument("--reports-dir", default="demo-reports", metavar="FOLDER",
                        help="where the demo writes its reports (default ./demo-reports)")
    parser.add_argument("--verbose", action="store_true",
                        help="also print the app's log (with each line's run, tenant and "
                             "invocation) and the runtime's warnings and errors to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    # The demo reports outcomes itself; the runtime's own log is for --verbose.
    if args.verbose:  # the app's own lines, each naming its run, tenant and invocation
        configure_logging("WARNING", stream=sys.stderr,
                          levels=dict.fromkeys(APP_LOGGERS, "INFO"))
    else:
        logging.basicConfig(level=logging.CRITICAL)
    console.line("PolicyVault demo: Intune backup and restore on one machine "
                 "(no Azure, no Core Tools, no Docker)")
    began = time.monotonic()
    try:
        with ExitStack() as resources:
            try:
                stack = resources.enter_context(running_stack(
                    tenants=args.tenants, storage_connection=args.storage))
            except Exception as exc:  # one line naming what did not start
                console.line(f"demo FAILED: the local stack did not start: {exc}")
                return 1
            demo = Demo(stack, console, run_timeout=args.timeout)
            try:
                demo.show_stack(time.monotonic() - began, reused_storage=bool(args.storage))
                demo.register_tenants()
                demo.capture_policy()
                demo.backup_tenants()
                demo.restore()
                show_drift(demo)
                show_deploy(demo)
                show_reports(demo, Path(args.reports_dir))
            finally:
                demo.close()
    except DemoFailed as failure:
        console.line()
        console.line(f"demo FAILED: {failure}")
        return 1
    except KeyboardInterrupt:
        console.line("demo interrupted")
        return 130
    console.line()
    console.line(f"Done in {time.monotonic() - began:.1f}s, {console.calls} API calls "
                 f"(polls included). Next: scripts/test, and README.md for the layout.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
