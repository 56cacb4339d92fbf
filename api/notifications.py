"""The caller's own notifications (DESIGN §3); looked up only inside the caller's partition."""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.requests import NotificationListQuery
from api.models.responses import ListBody, NotificationBody
from api.routes import NOTIFICATION_ID_RE, Access, Reply, route
from shared.platform.codes import ErrorCode
from shared.platform.errors import NotFound, ValidationFailed
from shared.runs.notifications import NotificationStore

bp = df.Blueprint()


@route(bp, "GET", "notifications", summary="List my notifications",
       description="The caller's own notifications of run status changes, newest first.",
       access=Access.CALLER, query=NotificationListQuery,
       responses={200: Reply("The notifications", ListBody[NotificationBody])})
async def list_notifications(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list)


@route(bp, "POST", "notifications/{notification_id}/read", summary="Mark a notification read",
       access=Access.CALLER, responses={204: Reply("The notification is marked read")},
       errors={404: (ErrorCode.NOT_FOUND,)})
async def mark_notification_read(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _mark_read)


async def _list(call: ApiCall) -> func.HttpResponse:
    query = call.query(NotificationListQuery)
    page = await NotificationStore(call.storage).list(
        call.principal.oid, unread_only=query.unread, top=query.top,
        continuation=query.continuation,
    )
    return json_response(ListBody[NotificationBody].of(page.value, page.continuation))


async def _mark_read(call: ApiCall) -> func.HttpResponse:
    notification_id = call.route("notification_id")
    if not NOTIFICATION_ID_RE.fullmatch(notification_id):
        raise ValidationFailed("notification_id is not a valid notification id")
    if not await NotificationStore(call.storage).mark_read(call.principal.oid, notification_id):
        raise NotFound("no such notification")
    return func.HttpResponse(status_code=204)
