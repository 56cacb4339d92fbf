"""Benchmark (storage floor): what one storage operation costs, in Azurite's CPU and in ours.

    .venv/bin/python -m tests.e2e.bench_storage [--ops 1000]

A backup writes per new object one snapshot blob and one version row, and per 100 objects a
few entity-group transactions; the engine polls its queues. This measures each of those
against a fresh Azurite through the same async SDK clients the product uses (16 in flight),
as CPU milliseconds per operation of the Azurite process and of this Python process, so the
estate figures can be read against a floor: on 2 cores, with Azurite on one, its CPU per
object bounds the objects per second whatever the runtime does. Azure Storage runs none of
this on the machine, and reads queues and partitions by index where Azurite scans.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable

from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueServiceClient

from local.azurite import Azurite, running_azurite

IN_FLIGHT = 16


def _azurite_pid(azurite: Azurite) -> int:
    """The Azurite process serving ``azurite`` (found by its blob port)."""
    wanted = f"--blobPort\0{azurite.blob_port}\0".encode()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    if wanted in cmdline.read():
                        return int(entry)
            except OSError:
                continue
    raise RuntimeError("the Azurite process was not found")


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(azurite_pid: int, label: str, count: int,
                   op: Callable[[int], Awaitable[object]], per: int = 1) -> None:
    """Run ``op(0..count-1)`` with IN_FLIGHT at once; print CPU ms per unit (``per`` units
    an op)."""
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(n: int) -> None:
        async with gate:
            await op(n)

    azurite, ours = _cpu_s(azurite_pid), time.process_time()
    await asyncio.gather(*(one(n) for n in range(count)))
    units = count * per
    print(f"  {label:<58} Azurite {(_cpu_s(azurite_pid) - azurite) / units * 1000:5.2f} ms"
          f"   client {(time.process_time() - ours) / units * 1000:5.2f} ms")


async def _run(connection: str, azurite_pid: int, ops: int) -> None:
    name = "bench" + uuid.uuid4().hex[:8]
    async with TableServiceClient.from_connection_string(connection) as tables_, \
            BlobServiceClient.from_connection_string(connection) as blobs, \
            QueueServiceClient.from_connection_string(connection) as queues:
        table = tables_.get_table_client(name)
        await table.create_table()
        container = blobs.get_container_client(name)
        await container.create_container()
        document = os.urandom(2048)  # a sealed snapshot's typical size

        print("per operation (CPU):")
        await _measure(azurite_pid, "blob PUT, 2 KiB (a snapshot)", ops, lambda n:
                       container.upload_blob(f"t/type/p{n}/{uuid.uuid4().hex}.json", document))
        await _measure(azurite_pid, "row upsert, one per request (a version)", ops, lambda n:
                       table.upsert_entity({"PartitionKey": f"v{n}", "RowKey": "r",
                                            "sha256": "a" * 64}))
        rows = 100

        def transaction(n: int) -> Awaitable[object]:
            return table.submit_transaction([("upsert", {
                "PartitionKey": f"set{n}", "RowKey": f"item{i:03d}", "sha256": "a" * 64,
                "display_name": "A policy", "blob_path": "t/type/p/" + "b" * 64 + ".json",
            }) for i in range(rows)])
        await _measure(azurite_pid, f"row in a transaction of {rows} (set, run items)",
                       max(1, ops // rows), transaction, per=rows)

        poll = queues.get_queue_client(name + "-poll")
        other = queues.get_queue_client(name + "-other")
        await asyncio.gather(poll.create_queue(), other.create_queue())
        waiting = 0
        for backlog in (0, 1000, 5000):
            gate = asyncio.Semaphore(IN_FLIGHT)

            async def send(gate: asyncio.Semaphore = gate) -> None:
                async with gate:
                    await other.send_message("x" * 300)
            await asyncio.gather(*(send() for _ in range(backlog - waiting)))
            waiting = backlog
            await _measure(azurite_pid, f"empty queue receive, {backlog} messages elsewhere",
                           max(1, ops // 5), lambda n: _drain(poll))


async def _drain(queue: object) -> None:
    async for _ in queue.receive_messages(max_messages=32):  # type: ignore[attr-defined]
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000)
    args = parser.parse_args()
    with running_azurite() as azurite:
        asyncio.run(_run(azurite.connection_string, _azurite_pid(azurite), args.ops))
    print(f"({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
