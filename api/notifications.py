"""The caller's own notifications (DESIGN §3); looked up only inside the caller's partition."""

import re

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.responses import ListBody, NotificationBody
from shared.platform.errors import NotFound, ValidationFailed
from shared.runs.notifications import NotificationStore

bp = df.Blueprint()
_ID_RE = re.compile(r"^[0-9a-f]{32}$")


@bp.route(route="notifications", methods=["GET"])
async def list_notifications(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list, role=None)


@bp.route(route="notifications/{notification_id}/read", methods=["POST"])
async def mark_notification_read(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _mark_read, role=None)


async def _list(call: ApiCall) -> func.HttpResponse:
    unread = (call.req.params.get("unread") or "false").lower()
    if unread not in ("true", "false"):
        raise ValidationFailed("unread must be true or false")
    query = call.query()
    page = await NotificationStore(call.storage).list(
        call.principal.oid, unread_only=unread == "true", top=query.top,
        continuation=query.continuation,
    )
    return json_response(ListBody[NotificationBody].of(page.value, page.continuation))


async def _mark_read(call: ApiCall) -> func.HttpResponse:
    notification_id = call.route("notification_id")
    if not _ID_RE.match(notification_id):
        raise ValidationFailed("notification_id is not a valid notification id")
    if not await NotificationStore(call.storage).mark_read(call.principal.oid, notification_id):
        raise NotFound("no such notification")
    return func.HttpResponse(status_code=204)
