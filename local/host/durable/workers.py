"""Activity workers: child processes of ``python -m local.host`` that run activities only.

The Durable work-item queue is a competing-consumer queue, as on Azure, where every
scaled-out instance takes work items from it; orchestrations stay in the main process (the
control queues have one reader per task hub here). Workers put the machine's other cores to
use: one Python process runs on one core, whatever its event loop holds.

Two pipes per worker carry no data, only wake-ups, so an idle poller looks at its queue at
once instead of after its idle pause (up to a second):

- the worker's standard input: the main process writes a byte after it sends work items.
  It is also the worker's lifeline: when the main process ends — even by SIGKILL — the pipe
  closes and the worker stops gracefully (running activities finish; the work items it holds
  become visible again);
- a pipe back (``--wake-fd``): the worker writes a byte after it sends completions to the
  control queues.

Messages themselves always travel through the storage queues, so a lost wake-up costs only
latency. A worker that exits on its own is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from azure.storage.queue.aio import QueueClient

from local.host.durable.storage import TaskHubStorage

log = logging.getLogger("local.host")

WORKER_FLAG = "--activity-worker"
WAKE_FD_FLAG = "--wake-fd"
STOP_GRACE_S = 30.0   # the extension's own drain is bounded at 20 s
RESTART_DELAY_S = 1.0
MAX_RESTART_DELAY_S = 30.0
STABLE_AFTER_S = 60.0  # a worker that ran this long before exiting restarts without delay
POKE = b"."


class _Waker:
    """Writes one byte to a pipe per loop iteration in which something was sent (however
    much was), without blocking: a full pipe already holds a wake-up."""

    def __init__(self, loop: asyncio.AbstractEventLoop, fds: Callable[[], Sequence[int]]):
        self.loop = loop
        self.fds = fds
        self.due = False

    def __call__(self) -> None:
        if not self.due:
            self.due = True
            self.loop.call_soon(self._write)

    def _write(self) -> None:
        self.due = False
        for fd in self.fds():
            with contextlib.suppress(OSError):  # a full pipe, or a peer gone: no poke needed
                os.write(fd, POKE)


def _on_sends_to(storage: TaskHubStorage, queues: Sequence[QueueClient],
                 poke: Callable[[], None]) -> None:
    names = {q.queue_name for q in queues}
    storage.sent_hooks.append(lambda queue: poke() if queue.queue_name in names else None)


@dataclass
class _Worker:
    number: int
    process: subprocess.Popen[bytes] | None = None
    wake_from: int | None = None       # read end of the worker's pipe back
    started_at: float = 0.0
    exited_at: float | None = None
    restarts: int = 0


@dataclass
class ActivityWorkers:
    """Starts, wakes, watches and stops ``count`` worker processes for one app."""

    count: int
    app_ref: str
    script_root: str
    _storage: TaskHubStorage | None = None
    _workers: list[_Worker] = field(default_factory=list)
    _watcher: asyncio.Task[None] | None = None
    _stopping: bool = False

    async def start(self, storage: TaskHubStorage) -> None:
        """Start the workers; ``storage`` is the main process's task hub (its sends of work
        items wake the workers, their completions wake its control-queue pollers)."""
        self._storage = storage
        loop = asyncio.get_running_loop()
        _on_sends_to(storage, [storage.workitems], _Waker(loop, self._stdin_fds))
        self._workers = [_Worker(n) for n in range(1, self.count + 1)]
        for worker in self._workers:
            self._spawn(worker)
        self._watcher = asyncio.ensure_future(self._watch())

    def command(self, number: int, wake_fd: int) -> list[str]:
        return [sys.executable, "-m", "local.host", "--app", self.app_ref,
                "--script-root", self.script_root, WORKER_FLAG, str(number),
                WAKE_FD_FLAG, str(wake_fd)]

    def _spawn(self, worker: _Worker) -> None:
        loop = asyncio.get_running_loop()
        read_end, write_end = os.pipe()
        os.set_blocking(read_end, False)
        try:
            # stdout/stderr are this process's: one log, each worker line tagged worker=N
            worker.process = subprocess.Popen(self.command(worker.number, write_end),
                                              stdin=subprocess.PIPE, pass_fds=(write_end,))
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        assert worker.process.stdin is not None
        os.set_blocking(worker.process.stdin.fileno(), False)
        worker.wake_from = read_end
        loop.add_reader(read_end, self._woken, worker, read_end)
        worker.started_at, worker.exited_at = time.monotonic(), None
        log.info("activity worker %d started (pid %d)", worker.number, worker.process.pid)

    def _woken(self, worker: _Worker, fd: int) -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data and self._storage is not None:
            self._storage.wake(self._storage.control)
        elif not data:  # the worker is gone
            self._close_wake_pipe(worker)

    def _close_wake_pipe(self, worker: _Worker) -> None:
        if worker.wake_from is not None:
            asyncio.get_running_loop().remove_reader(worker.wake_from)
            os.close(worker.wake_from)
            worker.wake_from = None

    def _stdin_fds(self) -> list[int]:
        return [w.process.stdin.fileno() for w in self._workers
                if w.process is not None and w.process.stdin is not None
                and not w.process.stdin.closed]

    async def _watch(self) -> None:
        """Start again a worker that exited, after a pause that doubles with each quick
        restart (up to ``MAX_RESTART_DELAY_S``), so one that cannot start does not spin."""
        while not self._stopping:
            await asyncio.sleep(RESTART_DELAY_S)
            now = time.monotonic()
            for worker in self._workers:
                process = worker.process
                if self._stopping or process is None or process.poll() is None:
                    continue
                if worker.exited_at is None:
                    worker.exited_at = now
                    lived = now - worker.started_at
                    worker.restarts = 1 if lived >= STABLE_AFTER_S else worker.restarts + 1
                    log.warning("activity worker %d exited with %s; starting it again",
                                worker.number, process.returncode)
                pause = RESTART_DELAY_S * 2 ** (worker.restarts - 1)
                if now - worker.exited_at >= min(MAX_RESTART_DELAY_S, pause):
                    self._retire(worker)
                    self._spawn(worker)

    def _retire(self, worker: _Worker) -> None:
        if worker.process is not None and worker.process.stdin is not None:
            worker.process.stdin.close()
        self._close_wake_pipe(worker)

    async def stop(self) -> None:
        """SIGTERM every worker (each drains its running activities), then wait; SIGKILL one
        that is still running after ``STOP_GRACE_S``."""
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        running = [w.process for w in self._workers
                   if w.process is not None and w.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(_wait_all, running, STOP_GRACE_S)
        for worker in self._workers:
            self._retire(worker)


def _wait_all(processes: Sequence[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("activity worker pid %d did not stop in %.0f s; killing it",
                        process.pid, timeout)
            process.kill()
            process.wait()


def serve_wakeups(storage: TaskHubStorage, wake_fd: int, on_lifeline_closed: Callable[[], None]
                  ) -> None:
    """In a worker: wake the work-item poller when the main process pokes standard input,
    call ``on_lifeline_closed`` when it closes, and poke ``wake_fd`` after each send of
    completions to the control queues."""
    loop = asyncio.get_running_loop()
    os.set_blocking(wake_fd, False)
    _on_sends_to(storage, storage.control, _Waker(loop, lambda: [wake_fd]))

    def lifeline() -> None:
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            while os.read(sys.stdin.fileno(), 4096):
                loop.call_soon_threadsafe(storage.wake, [storage.workitems])
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            loop.call_soon_threadsafe(on_lifeline_closed)
    threading.Thread(target=lifeline, name="lifeline", daemon=True).start()


class WorkerTag(logging.Filter):
    """Adds ``worker=N`` to every record a worker logs (shown by the FieldsFormatter)."""

    def __init__(self, number: int) -> None:
        super().__init__()
        self.number = number

    def filter(self, record: logging.LogRecord) -> bool:
        record.worker = self.number
        return True
