"""Options for the runtime's own Azure Storage clients (task hub, queue triggers).

aiohttp's ``trust_env`` looks for proxy variables and a ``.netrc`` file on every request, on a
worker thread: measured, a few per cent of the runtime's CPU and a thread hop per storage call.
Proxies are read from the environment once, here, instead. The function app's clients do the
same in ``shared/platform/storage.py``; the runtime does not import the app's code.
"""

from __future__ import annotations

import urllib.request
from typing import Any

from azure.core.pipeline.transport import AioHttpTransport


def client_options() -> dict[str, Any]:
    """Keyword arguments for an ``azure.*.aio`` client: a transport of its own."""
    options: dict[str, Any] = {"transport": AioHttpTransport(use_env_settings=False)}
    proxies = {scheme: url for scheme, url in urllib.request.getproxies().items()
               if scheme in ("http", "https")}
    if proxies:
        options["proxies"] = proxies
    return options
