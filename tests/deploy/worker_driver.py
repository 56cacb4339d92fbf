"""Run Azure's Python worker (azure-functions-runtime) over an unpacked function app, in a
fresh interpreter as on an instance: its WorkerInitRequest handler imports the app, indexes
every function and validates every binding against the Python signature; then its
FunctionMetadataRequest handler answers what the host would receive. Prints that as JSON.

    python tests/deploy/worker_driver.py <function app directory>

The host talks to the worker over gRPC; the only stand-in here is the FunctionRpc.proto
message classes, which the worker only constructs and reads fields of (``PROTOS``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import types
from typing import Any


class _Message:
    """A FunctionRpc.proto message as a plain record of its fields."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)


class BindingInfo(_Message):
    # FunctionRpc.proto BindingInfo.Direction (in = 0) and BindingInfo.DataType
    out = 1
    inout = 2
    undefined = 0


class StatusResult(_Message):
    Failure = 0
    Success = 1


PROTOS = types.SimpleNamespace(
    BindingInfo=BindingInfo, StatusResult=StatusResult,
    **{name: type(name, (_Message,), {}) for name in (
        "WorkerInitResponse", "WorkerMetadata", "FunctionMetadataResponse",
        "RpcFunctionMetadata", "RpcRetryOptions", "RpcException")})


def index(directory: str) -> dict[str, Any]:
    """The worker's answer for the app in ``directory``: status, error, function metadata."""
    from azure_functions_runtime import handle_event

    init = types.SimpleNamespace(capabilities={}, function_app_directory=directory)
    request = types.SimpleNamespace(request=types.SimpleNamespace(worker_init_request=init),
                                    properties={"host": "127.0.0.1", "protos": PROTOS})
    response = asyncio.run(handle_event.worker_init_request(request))
    if response.result.status != StatusResult.Success:
        return {"status": "failure", "error": response.result.exception.message}
    metadata = asyncio.run(handle_event.functions_metadata_request(None))
    functions = []
    for meta in metadata.function_metadata_results:
        info = handle_event._functions.get_function(meta.function_id)
        functions.append({
            "name": meta.name,
            "script_file": meta.script_file,
            "bindings": {name: {"type": b.type, "direction": int(b.direction)}
                         for name, b in meta.bindings.items()},
            "raw_bindings": [json.loads(raw) for raw in meta.raw_bindings],
            "input_types": sorted(info.input_types),
            "properties": meta.properties,
        })
    return {"status": "success", "functions": functions}


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])  # the host starts the worker in the app's directory
    print(json.dumps(index(sys.argv[1])))
