"""A function app exercising what the local runtime serves: every route form, sync and async
HTTP, errors, a timer every second and two queues (one always failing).

Side effects go to files under $PV_TEST_MARKERS so tests can observe them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import threading
import time
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
bp = func.Blueprint()

_sync_barrier = threading.Barrier(3, timeout=10)
_async_barrier: asyncio.Barrier | None = None


def _json(value: object, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status, mimetype="application/json")


def _marker(name: str) -> Path | None:
    folder = os.environ.get("PV_TEST_MARKERS")
    return Path(folder) / name if folder else None


def _describe(req: func.HttpRequest) -> dict[str, object]:
    body = req.get_body()
    return {
        "method": req.method,
        "url": req.url,
        "headers": dict(req.headers),
        "params": dict(req.params),
        "route_params": dict(req.route_params),
        "body_len": len(body),
        "body_sha256": hashlib.sha256(body).hexdigest(),
    }


@bp.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")


@bp.route(route="echo/{*rest}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return _json(_describe(req))


@bp.route(route="items/{item_id:guid}", methods=["GET"])
def item_by_guid(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"route_params": dict(req.route_params)})


@bp.route(route="things/special", methods=["GET"])
def special_thing(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"which": "literal"})


@bp.route(route="things/{name}", methods=["GET"])
def any_thing(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"which": "parameter", "name": req.route_params["name"]})


@bp.route(route="opt/{name?}", methods=["GET"])
def optional_name(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"route_params": dict(req.route_params)})


@bp.route(route="nums/{n:int}", methods=["GET"])
def number(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"n": int(req.route_params["n"])})


@bp.route(route="letters/{word:alpha}", methods=["GET"])
def letters(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"word": req.route_params["word"]})


@bp.route(route="files/{stem}.{ext}", methods=["GET"])
def file_parts(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"route_params": dict(req.route_params)})


@bp.route(route="async-json", methods=["POST"])
async def async_json(req: func.HttpRequest) -> func.HttpResponse:
    payload = req.get_json()
    await asyncio.sleep(0)
    return _json({"received": payload, "async": True}, status=201)


@bp.route(route="binary", methods=["POST"])
def binary(req: func.HttpRequest) -> func.HttpResponse:
    body = req.get_body()
    return func.HttpResponse(
        body, mimetype="application/octet-stream", headers={"X-Length": str(len(body))}
    )


@bp.route(route="headers", methods=["GET"])
def many_headers(req: func.HttpRequest) -> func.HttpResponse:
    response = func.HttpResponse(
        "a;b\n1;2\n", status_code=202, headers={"Content-Type": "text/csv; charset=latin-1"}
    )
    response.headers.add_header("Set-Cookie", "a=1; Path=/")
    response.headers.add_header("Set-Cookie", "b=2; Path=/")
    response.headers["X-Custom"] = "yes"
    return response


@bp.route(route="html", methods=["GET"])
def html(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("<p>héllo</p>", mimetype="text/html", charset="utf-8")


@bp.route(route="plain-str", methods=["GET"])
def plain_str(req: func.HttpRequest) -> str:
    return "just a string"


@bp.route(route="teapot", methods=["GET"])
async def teapot(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(status_code=418)


@bp.route(route="boom", methods=["GET"])
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise ValueError("secret-detail-sync do not leak")


@bp.route(route="boom-async", methods=["GET"])
async def boom_async(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret-detail-async do not leak")


@bp.route(route="sync-barrier", methods=["GET"])
def sync_barrier(req: func.HttpRequest) -> func.HttpResponse:
    """Returns only once three requests are inside at the same time (else 500)."""
    _sync_barrier.wait()
    return func.HttpResponse("together")


@bp.route(route="async-barrier", methods=["GET"])
async def async_barrier(req: func.HttpRequest) -> func.HttpResponse:
    global _async_barrier
    if _async_barrier is None:
        _async_barrier = asyncio.Barrier(3)
    await asyncio.wait_for(_async_barrier.wait(), 10)
    return func.HttpResponse("together")


@bp.route(route="size", methods=["POST"])
def size(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"body_len": len(req.get_body())})


@bp.route(route="with-context", methods=["GET"])
def with_context(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return _json({"function_name": context.function_name, "id": context.invocation_id})


@bp.route(route="slow", methods=["GET"])
def slow(req: func.HttpRequest) -> func.HttpResponse:
    """Signals that it started, then takes a while: used to test graceful shutdown."""
    marker = _marker("slow-started")
    if marker:
        marker.write_text("started")
    time.sleep(1.5)
    return func.HttpResponse("done")


app.register_functions(bp)


@app.timer_trigger(schedule="* * * * * *", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    marker = _marker("tick.log")
    if marker:
        with marker.open("a") as out:
            out.write(json.dumps({"past_due": timer.past_due}) + "\n")


@app.queue_trigger(arg_name="msg", queue_name="%PV_STORAGE_PREFIX%work",
                 connection="AzureWebJobsStorage")
def work(msg: func.QueueMessage) -> None:
    marker = _marker(f"work-{msg.id}.json")
    if marker:
        # Written aside, then renamed: the test reads the marker as soon as it exists.
        partial = marker.with_suffix(".partial")
        partial.write_text(json.dumps({
            "body": msg.get_body().decode("utf-8"),
            "dequeue_count": msg.dequeue_count,
            "has_pop_receipt": bool(msg.pop_receipt),
            "has_insertion_time": msg.insertion_time is not None,
        }))
        partial.replace(marker)


@app.queue_trigger(arg_name="msg", queue_name="%PV_STORAGE_PREFIX%fail",
                 connection="AzureWebJobsStorage")
async def always_fails(msg: func.QueueMessage) -> None:
    marker = _marker(f"fail-{msg.id}.log")
    if marker:
        with marker.open("a") as out:
            out.write(f"{msg.dequeue_count}\n")
    raise RuntimeError("this message can never be processed")


@app.blob_trigger(arg_name="blob", path="samples/{name}", connection="AzureWebJobsStorage")
def on_blob(blob: func.InputStream) -> None:
    """Not served locally: the runtime must say so and still start."""
