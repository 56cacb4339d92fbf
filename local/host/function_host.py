"""`FunctionHost`: discovered functions, invocation, the aiohttp server and extension lifecycle.

See `local.host.extensions` for how triggers plug in. The host itself serves no trigger.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import os
import socket
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from local.host.app_loader import FunctionSpec, discover_functions
from local.host.config import DEFAULT_STORAGE_CONNECTION, HostConfig, resolve_setting_refs
from local.host.errors import HostConfigError
from local.host.extensions import TriggerExtension

log = logging.getLogger("local.host")

# Azure Functions rejects request bodies above 100 MiB with 413; so do we.
MAX_REQUEST_BYTES = 100 * 1024 * 1024
# Output binding types the host understands (the HTTP response); others are not yet served.
SERVED_OUTPUT_TYPES = frozenset({"http"})


class OutValue:
    """What a function receives for an output parameter (`func.Out` semantics)."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


@dataclass(frozen=True)
class InvocationContext:
    """Passed as `context` to functions declaring that parameter (like `func.Context`)."""

    invocation_id: str
    function_name: str
    function_directory: str
    trace_context: Any = None
    retry_context: Any = None
    thread_local_storage: Any = None


@dataclass
class InvocationResult:
    return_value: Any
    outputs: dict[str, Any] = field(default_factory=dict)


def _default_threads() -> int:
    configured = os.environ.get("PYTHON_THREADPOOL_THREAD_COUNT", "")
    return int(configured) if configured.isdigit() and int(configured) > 0 else min(
        32, (os.cpu_count() or 1) + 4
    )


class FunctionHost:
    """Runs one function app. Build it, `await start()`, `await stop()` (same event loop)."""

    def __init__(
        self,
        app: Any,
        *,
        extensions: Sequence[TriggerExtension],
        host_config: HostConfig | None = None,
        settings: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 7071,
        script_root: Path | None = None,
        shutdown_grace_seconds: float = 5.0,
        listen: bool = True,
    ) -> None:
        """``listen=False``: serve no HTTP at all (an activity worker)."""
        self.app = app
        self.functions: list[FunctionSpec] = discover_functions(app)
        self.extensions = list(extensions)
        self.host_config = host_config or HostConfig()
        self.settings: dict[str, str] = dict(os.environ if settings is None else settings)
        self.settings.setdefault("PV_STORAGE_PREFIX", "")
        self.storage_connection = (
            self.settings.get("AzureWebJobsStorage") or DEFAULT_STORAGE_CONNECTION
        )
        self.storage_prefix = self.settings.get("PV_STORAGE_PREFIX", "")
        self.script_root = (script_root or Path.cwd()).resolve()
        self.web_app = web.Application(
            client_max_size=MAX_REQUEST_BYTES, middlewares=[_bare_not_found]
        )
        self.base_url = ""
        self._bind = (host, port)
        self._listen = listen
        self._grace = shutdown_grace_seconds
        self._executor = ThreadPoolExecutor(_default_threads(), thread_name_prefix="function")
        self._runner: web.AppRunner | None = None
        self._started: list[TriggerExtension] = []
        self._trigger_owner = {t: e for e in self.extensions for t in e.trigger_types}
        self._input_owner = {t: e for e in self.extensions for t in e.input_binding_types}
        self.unsupported: dict[str, str] = {
            spec.name: reason for spec in self.functions if (reason := self._unsupported(spec))
        }

    # -- discovery ---------------------------------------------------------------------------

    def _unsupported(self, spec: FunctionSpec) -> str | None:
        """Why this function cannot be served (None if it can)."""
        if spec.trigger_type not in self._trigger_owner:
            return spec.trigger_type
        for binding in spec.input_bindings():
            if binding["type"] not in self._input_owner:
                return f"{spec.trigger_type} with {binding['type']} input '{binding['name']}'"
        for binding in spec.output_bindings():
            if binding["type"] not in SERVED_OUTPUT_TYPES:
                return f"{spec.trigger_type} with {binding['type']} output '{binding['name']}'"
        return None

    def functions_for(self, trigger_types: Iterable[str]) -> list[FunctionSpec]:
        """The servable functions whose trigger is one of `trigger_types`."""
        wanted = set(trigger_types)
        return [
            f for f in self.functions if f.trigger_type in wanted and f.name not in self.unsupported
        ]

    def resolve(self, value: str, where: str) -> str:
        """Substitute `%NAME%` app-setting references (unset names raise HostConfigError)."""
        return resolve_setting_refs(value, self.settings, where)

    def connection_string(self, setting_name: str | None, where: str) -> str:
        """The storage connection string a binding's `connection` names (default: AzureWebJobs
        Storage). Looks up NAME, then AzureWebJobsNAME, as the Functions host does."""
        if not setting_name or setting_name == "AzureWebJobsStorage":
            return self.storage_connection
        for candidate in (setting_name, f"AzureWebJobs{setting_name}"):
            if self.settings.get(candidate):
                return self.settings[candidate]
        raise HostConfigError(f"{where}: connection setting '{setting_name}' is not set")

    def summary_lines(self) -> list[str]:
        """Human-readable start-up summary: URL, then one line per function."""
        lines = [f"local.host: listening on {self.base_url}"]
        for spec in self.functions:
            if spec.name in self.unsupported:
                lines.append(f"  not yet supported: {spec.name} ({self.unsupported[spec.name]})")
                continue
            owner = self._trigger_owner[spec.trigger_type]
            describe = getattr(owner, "describe", None)
            detail = describe(spec.trigger) if describe else spec.trigger_type
            lines.append(f"  {spec.name}: {detail}")
        return lines

    # -- invocation --------------------------------------------------------------------------

    async def invoke(self, spec: FunctionSpec, trigger_kwargs: dict[str, Any]) -> Any:
        """Call the user function: `trigger_kwargs` plus every other input binding (from its
        extension), passed by binding name; returns the function's return value."""
        return (await self.invoke_with_outputs(spec, trigger_kwargs)).return_value

    async def invoke_with_outputs(
        self, spec: FunctionSpec, trigger_kwargs: dict[str, Any]
    ) -> InvocationResult:
        """Like `invoke`, also returning values set on named output parameters."""
        kwargs = dict(trigger_kwargs)
        for binding in spec.input_bindings():
            kwargs[binding["name"]] = self._input_owner[binding["type"]].input_binding_value(
                binding
            )
        outputs = {
            b["name"]: OutValue()
            for b in spec.output_bindings()
            if b["name"] != "$return" and b["name"] not in kwargs
        }
        kwargs.update(outputs)
        function = spec.user_function
        if _wants_context(function) and "context" not in kwargs:
            kwargs["context"] = InvocationContext(
                str(uuid.uuid4()), spec.name, str(self.script_root)
            )
        result = await self._call(function, kwargs)
        return InvocationResult(result, {name: out.get() for name, out in outputs.items()})

    async def _call(self, function: Any, kwargs: dict[str, Any]) -> Any:
        timeout = self.host_config.function_timeout
        if inspect.iscoroutinefunction(function):
            pending: Any = function(**kwargs)
        else:
            call = functools.partial(contextvars.copy_context().run, function, **kwargs)
            pending = asyncio.get_running_loop().run_in_executor(self._executor, call)
        result = await asyncio.wait_for(pending, timeout.total_seconds() if timeout else None)
        if inspect.isawaitable(result):
            result = await result
        return result

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind the port, start extensions (in order), then serve HTTP."""
        sock = self._bind_socket() if self._listen else None
        try:
            for extension in self.extensions:
                await extension.start(self)
                self._started.append(extension)
            if sock is not None:
                self._runner = web.AppRunner(
                    self.web_app, access_log=None, shutdown_timeout=self._grace
                )
                await self._runner.setup()
                await web.SockSite(self._runner, sock).start()
        except BaseException:
            if sock is not None:
                sock.close()
            await self.stop()
            raise

    def _bind_socket(self) -> socket.socket:
        host, port = self._bind
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise HostConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        self.base_url = f"http://{shown}:{sock.getsockname()[1]}"
        return sock

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish (bounded), stop extensions."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
        while self._started:
            extension = self._started.pop()
            try:
                await extension.stop()
            except Exception:
                log.exception("extension %s failed to stop", type(extension).__name__)
        self._executor.shutdown(wait=False, cancel_futures=True)


@web.middleware
async def _bare_not_found(request: web.Request, handler: Any) -> web.StreamResponse:
    """aiohttp's own 404/405 (no route at all) become the host's empty 404."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        return web.Response(status=404)


@functools.lru_cache(maxsize=512)
def _wants_context(function: Any) -> bool:
    try:
        return "context" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
