"""The benchmark's function app: an HTTP starter, a no-op, a fan-out and a trivial activity."""

from __future__ import annotations

import json

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="bench/{name}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def bench_start(req: func.HttpRequest, client: df.DurableOrchestrationClient):
    body = req.get_body()
    instance_id = await client.start_new(req.route_params["name"], None,
                                         json.loads(body) if body else None)
    return client.create_check_status_response(req, instance_id)


@app.activity_trigger(input_name="value")
def bench_work(value: int) -> int:
    return value + 1


@app.orchestration_trigger(context_name="context")
def bench_noop(context: df.DurableOrchestrationContext):
    return context.get_input()


@app.orchestration_trigger(context_name="context")
def bench_fan(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity(bench_work, i)
                                      for i in range(count)])
    return sum(results)
