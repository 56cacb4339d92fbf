"""`GET /api/health`: liveness for load balancers and the demo; no authentication."""

import json

import azure.durable_functions as df
import azure.functions as func

from api.models.responses import Health

bp = df.Blueprint()


@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(Health(status="ok").body()), status_code=200, mimetype="application/json"
    )
