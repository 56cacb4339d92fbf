"""`python -m tests.durable.runner CONNECTION PREFIX`: serve the test app until signalled.

The kill -9 test runs this in a subprocess. It prints `READY <base_url> <system key>` once serving;
SIGTERM stops it gracefully (exit code 0).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from local.host.durable.extension import DurableExtension
from local.host.durable.standalone import StandaloneHost
from tests.durable.app.function_app import app


async def serve(connection: str, prefix: str) -> None:
    host = StandaloneHost(app, storage_connection=connection, storage_prefix=prefix,
                          hub_name="ConformanceHub", max_activities=8,
                          durable=DurableExtension(visibility_timeout=3))
    await host.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("READY", host.base_url, host.durable.system_key, flush=True)
    await stop.wait()
    await host.stop()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], sys.argv[2]))
