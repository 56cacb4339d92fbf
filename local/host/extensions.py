"""The one seam through which triggers and bindings plug into the local runtime.

A `TriggerExtension` serves some trigger types (it decides *when* functions run) and some
non-trigger input binding types (it supplies their *values*). The host owns everything else:
discovery, invocation, the aiohttp server, configuration.

Lifecycle, in this order::

    host = FunctionHost(app, extensions=[HttpExtension(), TimerExtension(), ..., YourExtension()])
    await host.start()
        ext.start(host)       # each extension, in list order, BEFORE the server listens:
                              # read host.functions_for(self.trigger_types), add routes to
                              # host.web_app (e.g. /runtime/webhooks/durabletask/{*rest}),
                              # start background tasks; raise to abort start-up
        server listens        # host.base_url was already known during start()
    ...                       # extensions call `await host.invoke(spec, {trigger_name: value})`
    await host.stop()
        server stops accepting, in-flight requests finish (bounded), then
        ext.stop()            # each extension, in reverse order

Routes: the HTTP extension mounts a catch-all under `/{routePrefix}`. aiohttp resolves the
longest static path prefix first, so an extension's `/runtime/...` routes are never shadowed,
whatever the order of registration.

`invoke` fills every non-trigger input binding by asking the extension that lists its `type`
in `input_binding_types` for `input_binding_value(binding)` (e.g. the Durable client JSON
string for `durableClient`). Register the extension list in one place:
`local.host.extensions_registry.default_extensions()`.

Optional: `describe(self, trigger: dict) -> str`, one short phrase for the start-up summary
(e.g. `GET,POST /api/items/{id}`); without it the summary shows the trigger type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from local.host.function_host import FunctionHost


@runtime_checkable
class TriggerExtension(Protocol):
    """Serves `trigger_types` and supplies values for `input_binding_types`."""

    trigger_types: frozenset[str]
    input_binding_types: frozenset[str]

    async def start(self, host: FunctionHost) -> None:
        """Begin serving; called before the HTTP server listens. Raise to abort start-up."""
        ...

    async def stop(self) -> None:
        """Stop serving and release resources; in-flight work may be given a short grace."""
        ...

    def input_binding_value(self, binding: dict[str, Any]) -> Any:
        """The value passed for a non-trigger input binding of one of our types."""
        ...


class NoInputBindings:
    """Mixin for extensions that serve triggers only."""

    input_binding_types: frozenset[str] = frozenset()

    def input_binding_value(self, binding: dict[str, Any]) -> Any:
        raise LookupError(f"no value for binding type {binding.get('type')!r}")

    def describe(self, binding: dict[str, Any]) -> str:
        return str(binding.get("type"))
