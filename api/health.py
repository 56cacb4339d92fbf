"""`GET /api/health`: liveness for load balancers and the demo; no authentication."""

import json

import azure.durable_functions as df
import azure.functions as func

from api.models.responses import Health
from api.routes import Access, Reply, route

bp = df.Blueprint()


@route(bp, "GET", "health", summary="Check health", description="Liveness, without a token.",
       access=Access.ANYONE, responses={200: Reply("The app is up", Health)},
       visibility="internal")
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(Health(status="ok").body()), status_code=200, mimetype="application/json"
    )
