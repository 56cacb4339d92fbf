"""The conformance suite's function app: one orchestrator per Durable feature.

Started through an HTTP starter that uses `durable_client_input`, exactly like the product
app, so every call goes through the real SDK and the local runtime's client API.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import timedelta
from pathlib import Path

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# attempts per key, for retry tests (the in-process host runs activities in this process)
ATTEMPTS: dict[str, int] = {}


@app.route(route="start/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    body = req.get_body()
    payload = json.loads(body) if body else None
    try:
        instance_id = await client.start_new(req.route_params["name"],
                                             req.params.get("instance_id"), payload)
    except Exception as exc:  # duplicate start of an active instance, unknown orchestrator
        return func.HttpResponse(json.dumps({"error": str(exc)}), status_code=409,
                                 mimetype="application/json")
    return client.create_check_status_response(req, instance_id)


@app.route(route="raise/{instance_id}/{event}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def http_raise(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    await client.raise_event(req.route_params["instance_id"], req.route_params["event"],
                             json.loads(req.get_body()))
    return func.HttpResponse(status_code=202)


# -- activities ---------------------------------------------------------------------------------

@app.activity_trigger(input_name="value")
def double(value: int) -> int:
    return value * 2


@app.activity_trigger(input_name="pause")
def process_id(pause: float) -> int:
    """Which process ran this activity (the activity-worker tests)."""
    time.sleep(pause)
    logging.getLogger("conformance").info("process_id ran")
    return os.getpid()


@app.activity_trigger(input_name="item")
def slow_double(item: dict) -> int:
    """Sleeps a little and appends to a ledger file: the kill -9 test counts executions."""
    time.sleep(item.get("sleep", 0.02))
    ledger = item.get("ledger")
    if ledger:
        with Path(ledger).open("a", encoding="utf-8") as handle:
            handle.write(f"{item['tag']}:{item['i']}\n")
    return item["i"] * 2


@app.activity_trigger(input_name="request")
def flaky(request: dict) -> dict:
    """Fails until it has been called `fail_times` times for this key."""
    key = request["key"]
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] <= request["fail_times"]:
        raise RuntimeError(f"flaky failure {ATTEMPTS[key]}")
    return {"attempts": ATTEMPTS[key]}


@app.activity_trigger(input_name="reason")
def always_fails(reason: str) -> None:
    raise ValueError(reason)


@app.activity_trigger(input_name="text")
def echo(text: str) -> str:
    return text


# -- orchestrators ------------------------------------------------------------------------------

@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()["n"]
    results = yield context.task_all([context.call_activity(double, i) for i in range(count)])
    return {"count": len(results), "sum": sum(results), "first": results[:3]}


@app.orchestration_trigger(context_name="context")
def retry_succeeds(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=3)
    result = yield context.call_activity_with_retry(flaky, options, context.get_input())
    return result


@app.orchestration_trigger(context_name="context")
def retry_exhausts(context: df.DurableOrchestrationContext):
    options = df.RetryOptions(first_retry_interval_in_milliseconds=100, max_number_of_attempts=2)
    try:
        yield context.call_activity_with_retry(always_fails, options, "no luck")
    except Exception as exc:
        after = yield context.call_activity(echo, "after")
        return {"caught": str(exc), "after": after}
    return "not reached"


@app.orchestration_trigger(context_name="context")
def child(context: df.DurableOrchestrationContext):
    value = context.get_input()
    doubled = yield context.call_activity(double, value)
    if value < 0:
        raise ValueError(f"negative input {value}")
    return {"child": context.instance_id, "parent": context.parent_instance_id,
            "doubled": doubled}


@app.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    ok = yield context.call_sub_orchestrator(child, 21)
    named = yield context.call_sub_orchestrator(child, 5, f"{context.instance_id}-named")
    try:
        yield context.call_sub_orchestrator(child, -1)
        caught = None
    except Exception as exc:
        caught = str(exc)
    return {"ok": ok, "named": named, "caught": caught}


@app.orchestration_trigger(context_name="context")
def timer(context: df.DurableOrchestrationContext):
    start = context.current_utc_datetime
    yield context.create_timer(start + timedelta(seconds=context.get_input() or 1))
    return (context.current_utc_datetime - start).total_seconds()


@app.orchestration_trigger(context_name="context")
def retry_fan(context: df.DurableOrchestrationContext):
    """Retried activities failing in the same episodes as plain ones complete: the sequence
    numbers of retry timers and re-scheduled attempts must match the SDK's."""
    job = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=50, max_number_of_attempts=4)
    tasks = []
    for i in range(job["n"]):
        request = {"key": f"{job['key']}-{i}", "fail_times": i % 3}
        tasks.append(context.call_activity_with_retry(flaky, options, request))
        tasks.append(context.call_activity(double, i))
    results = yield context.task_all(tasks)
    follow_up = yield context.call_activity(double, 1000)
    return {"attempts": [r["attempts"] for r in results[0::2]], "doubled": results[1::2],
            "follow_up": follow_up}


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting for approval"})
    answer = yield context.wait_for_external_event("approve")
    context.set_custom_status({"stage": "approved"})
    return {"answer": answer}


@app.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext):
    deadline = context.current_utc_datetime + timedelta(seconds=context.get_input())
    timeout = context.create_timer(deadline)
    work = context.call_activity(slow_double, {"i": 21, "sleep": 0.5})
    winner = yield context.task_any([timeout, work])
    if winner == work:
        timeout.cancel()
        return {"winner": "activity", "value": work.result}
    return {"winner": "timer"}


@app.orchestration_trigger(context_name="context")
def generations(context: df.DurableOrchestrationContext):
    state = context.get_input()
    value = yield context.call_activity(double, state["n"])
    if state["n"] < state["until"]:
        context.continue_as_new({"n": state["n"] + 1, "until": state["until"],
                                 "trail": state["trail"] + [value]})
        return None
    return {"generation": state["n"], "trail": state["trail"] + [value]}


@app.orchestration_trigger(context_name="context")
def wait_forever(context: df.DurableOrchestrationContext):
    context.set_custom_status("waiting")
    yield context.wait_for_external_event("never")
    return "unreachable"


@app.orchestration_trigger(context_name="context")
def fails(context: df.DurableOrchestrationContext):
    yield context.call_activity(echo, "before")
    raise RuntimeError("orchestrator gave up")


@app.orchestration_trigger(context_name="context")
def crash_workload(context: df.DurableOrchestrationContext):
    """Fan-out, then a sequential chain, then a sub-orchestration and a timer: the shape the
    kill -9 test interrupts at random points."""
    job = context.get_input()
    tag, ledger = job["tag"], job["ledger"]
    items = [{"i": i, "tag": tag, "ledger": ledger, "sleep": 0.02} for i in range(job["fan"])]
    fanned = yield context.task_all([context.call_activity(slow_double, x) for x in items])
    chain = []
    for step in range(job["chain"]):
        item = {"i": 1000 + step, "tag": tag, "ledger": ledger, "sleep": 0.05}
        chain.append((yield context.call_activity(slow_double, item)))
    sub = yield context.call_sub_orchestrator(child, 7)
    yield context.create_timer(context.current_utc_datetime + timedelta(milliseconds=300))
    return {"fan_sum": sum(fanned), "chain": chain, "sub": sub["doubled"]}


@app.orchestration_trigger(context_name="context")
def where_activities_run(context: df.DurableOrchestrationContext):
    """Fan out ``count`` activities that each return their process id."""
    job = context.get_input()
    pids = yield context.task_all([context.call_activity(process_id, job["pause"])
                                   for _ in range(job["count"])])
    return pids


@app.orchestration_trigger(context_name="context")
def big_payload(context: df.DurableOrchestrationContext):
    """Input, activity result and output all larger than a table property or queue message."""
    text = context.get_input()
    echoed = yield context.call_activity(echo, text)
    return {"length": len(echoed), "same": echoed == text, "tail": echoed[-10:]}
