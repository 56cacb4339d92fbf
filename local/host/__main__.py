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

from local.host.durable import DurableExtension
from local.host.durable.storage import TaskHubStorage
from local.host.durable.workers import (
    WAKE_FD_FLAG,
    WORKER_FLAG,
    ActivityWorkers,
    WorkerTag,
    serve_wakeups,
)
from local.host.errors import HostStartError
from local.host.extensions_registry import activity_worker_extensions, default_extensions
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
    parser.add_argument("--activity-workers", type=int, default=0, metavar="N",
                        help="run Durable activities in N worker processes instead of this "
                             "one (default 0: everything in one process)")
    parser.add_argument(WORKER_FLAG, type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument(WAKE_FD_FLAG, type=int, default=-1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.activity_workers < 0:
        parser.error("--activity-workers must be 0 or more")
    return args


async def serve(host: FunctionHost, *, check_storage: bool = True,
                workers: ActivityWorkers | None = None) -> None:
    """Start, print the summary, run until SIGINT/SIGTERM, stop gracefully."""
    if check_storage:
        await probe_storage(host.storage_connection)
    await host.start()
    try:
        if workers is not None:
            await workers.start(_task_hub(host))
        print("\n".join(host.summary_lines()), flush=True)
        await _stop_on_signals().wait()
    finally:
        print("local.host: stopping", flush=True)
        # Workers drain their activities while this process drains its own work.
        await asyncio.gather(host.stop(), *([workers.stop()] if workers else []))


async def serve_activity_worker(host: FunctionHost, number: int, wake_fd: int) -> None:
    """An activity worker: run until SIGTERM/SIGINT or until the main process is gone."""
    await host.start()
    hub = _task_hub(host)
    stopping = _stop_on_signals()
    serve_wakeups(hub, wake_fd, stopping.set)
    print(f"local.host: activity worker {number} (pid {os.getpid()}) takes the work items of "
          f"{hub.workitems.queue_name}", flush=True)
    try:
        await stopping.wait()
    finally:
        await host.stop()


def _task_hub(host: FunctionHost) -> TaskHubStorage:
    """The started host's Durable task hub."""
    durable = next(e for e in host.extensions if isinstance(e, DurableExtension))
    assert durable.storage is not None, "the host has not started"
    return durable.storage


def _stop_on_signals() -> asyncio.Event:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    return stopping


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
    worker = args.activity_worker
    configure_logging(os.environ.get("PV_HOST_LOG_LEVEL", "INFO"))
    if worker:
        for handler in logging.getLogger().handlers:
            handler.addFilter(WorkerTag(worker))
    try:
        if worker:
            host = prepare_host(args.app, script_root=args.script_root,
                                extensions=activity_worker_extensions(), listen=False)
            asyncio.run(serve_activity_worker(host, worker, args.wake_fd))
        else:
            workers = args.activity_workers
            host = prepare_host(args.app, script_root=args.script_root, host=args.host,
                                port=args.port,
                                extensions=default_extensions(activities=not workers))
            pool = ActivityWorkers(workers, args.app, str(host.script_root)) if workers else None
            asyncio.run(serve(host, check_storage=not args.no_storage_check, workers=pool))
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
