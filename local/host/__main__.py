"""`python -m local.host`: serve a Python v2 function app on this machine."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from local.host.errors import HostStartError
from local.host.function_host import FunctionHost
from local.host.startup import configure_logging, prepare_host
from local.host.storage_probe import probe_storage

log = logging.getLogger("local.host")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local.host", description=__doc__)
    parser.add_argument("--app", default="function_app:app", help="MODULE:ATTR")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=None,
                        help="default: local.settings.json Host.LocalHttpPort, else 7071")
    parser.add_argument("--script-root", type=Path, default=None,
                        help="folder with host.json and local.settings.json (default: cwd)")
    parser.add_argument("--no-storage-check", action="store_true",
                        help="skip the start-up storage reachability probe")
    return parser.parse_args(argv)


async def serve(host: FunctionHost, *, check_storage: bool = True) -> None:
    """Start, print the summary, run until SIGINT/SIGTERM, stop gracefully."""
    if check_storage:
        await probe_storage(host.storage_connection)
    await host.start()
    print("\n".join(host.summary_lines()), flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    try:
        await stopping.wait()
    finally:
        print("local.host: stopping", flush=True)
        await host.stop()


def _exit_now_if_functions_still_run() -> None:
    """Shutdown is complete: ignore further signals, and do not let a sync function still
    running past the grace period keep the process alive (its thread cannot be cancelled)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    workers = [t for t in threading.enumerate() if t.name.startswith("function")]
    for worker in workers:  # idle workers exit at once; busy ones are past the grace period
        worker.join(0.2)
    stuck = [t for t in workers if t.is_alive()]
    if stuck:
        print(f"local.host: abandoning {len(stuck)} function thread(s) still running",
              flush=True)
        sys.stderr.flush()
        os._exit(0)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    configure_logging(os.environ.get("PV_HOST_LOG_LEVEL", "INFO"))
    try:
        host = prepare_host(args.app, script_root=args.script_root, host=args.host,
                            port=args.port)
        asyncio.run(serve(host, check_storage=not args.no_storage_check))
        _exit_now_if_functions_still_run()
    except KeyboardInterrupt:
        return 130
    except HostStartError as exc:
        print(f"local.host: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception as exc:
        log.debug("start-up failed", exc_info=True)
        print(f"local.host: start-up failed: {type(exc).__name__}: {exc}", file=sys.stderr,
              flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
