"""A tenant's webhooks and their delivery log (DESIGN §13), for the tenant's admins.

The creating PUT is the only answer that shows the secret. A URL is refused (400) unless it is
https and its host resolves only to public addresses (or is on ``PV_WEBHOOK_ALLOWED_HOSTS``);
the same check runs again before every delivery. Every answer shows URLs with the query
string redacted. Changes are audited.
"""

import azure.durable_functions as df
import azure.functions as func

from api.handler import ApiCall, handle, json_response
from api.models.requests import ListQuery, WebhookPut
from api.models.responses import DeliveryBody, ListBody, WebhookBody, WebhookCreated
from api.routes import WEBHOOK_ID_RE, Access, Reply, route
from shared.platform.codes import ErrorCode
from shared.platform.config import get_settings
from shared.platform.errors import NotFound, ValidationFailed
from shared.platform.keys import iso, stable_id, utc_now
from shared.tenants.audit import AuditEvent, AuditLog
from shared.webhooks.address import parse_url, resolve_checked
from shared.webhooks.store import DeliveryLog, Webhook, WebhookStore

bp = df.Blueprint()
NOT_FOUND = {404: (ErrorCode.NOT_FOUND,)}


@route(bp, "PUT", "tenants/{tenant_id}/webhooks/{webhook_id}",
       summary="Register or replace a webhook",
       description="Creates the webhook (201, with its signing secret: the only time it is "
                   "shown) or replaces its URL and events (200, the secret is kept).",
       access=Access.ADMIN, body=WebhookPut,
       responses={201: Reply("The webhook was created", WebhookCreated),
                  200: Reply("The webhook was replaced", WebhookBody)},
       errors={409: (ErrorCode.CONFLICT,)})
async def put_webhook(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _put_webhook)


@route(bp, "GET", "tenants/{tenant_id}/webhooks", summary="List webhooks", access=Access.ADMIN,
       responses={200: Reply("The tenant's webhooks", ListBody[WebhookBody])})
async def list_webhooks(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list_webhooks)


@route(bp, "GET", "tenants/{tenant_id}/webhooks/{webhook_id}", summary="Get a webhook",
       access=Access.ADMIN, responses={200: Reply("The webhook", WebhookBody)},
       errors=NOT_FOUND)
async def get_webhook(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _get_webhook)


@route(bp, "DELETE", "tenants/{tenant_id}/webhooks/{webhook_id}", summary="Delete a webhook",
       description="Deletes the webhook and its delivery log; pending retries are dropped.",
       access=Access.ADMIN, responses={204: Reply("The webhook was deleted")},
       errors=NOT_FOUND)
async def delete_webhook(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _delete_webhook)


@route(bp, "GET", "tenants/{tenant_id}/webhooks/{webhook_id}/deliveries",
       summary="List a webhook's delivery attempts",
       description="One row per attempt, newest first.", access=Access.ADMIN, query=ListQuery,
       responses={200: Reply("The attempts", ListBody[DeliveryBody])}, errors=NOT_FOUND)
async def list_webhook_deliveries(req: func.HttpRequest) -> func.HttpResponse:
    return await handle(req, _list_deliveries)


def _webhook_id(call: ApiCall) -> str:
    webhook_id = call.route("webhook_id")
    if not WEBHOOK_ID_RE.fullmatch(webhook_id):
        raise ValidationFailed("webhook_id: letters, digits, - and _, at most 64 characters")
    return webhook_id


def _body(hook: Webhook) -> dict:
    return {"webhook_id": hook.webhook_id, "url": hook.url, "events": hook.events,
            "created_at": hook.created_at, "updated_at": hook.updated_at}


async def _put_webhook(call: ApiCall) -> func.HttpResponse:
    webhook_id = _webhook_id(call)
    body = call.body(WebhookPut)
    await resolve_checked(parse_url(body.url), get_settings().webhook_allowed_hosts)
    saved = await WebhookStore(call.storage).put(call.tenant_id, webhook_id, body.url,
                                                 list(body.events), call.principal.oid)
    await _audit(call, "webhook.registered" if saved.created else "webhook.replaced",
                 webhook_id, {"url": saved.webhook.url, "events": saved.webhook.events})
    if saved.secret is not None:
        return json_response(WebhookCreated.model_validate(
            {**_body(saved.webhook), "secret": saved.secret}), status=201)
    return json_response(WebhookBody.model_validate(_body(saved.webhook)))


async def _list_webhooks(call: ApiCall) -> func.HttpResponse:
    hooks = await WebhookStore(call.storage).list(call.tenant_id)
    return json_response(ListBody[WebhookBody].of(_body(h) for h in hooks))


async def _existing(call: ApiCall) -> Webhook:
    hook = await WebhookStore(call.storage).get(call.tenant_id, _webhook_id(call))
    if hook is None:
        raise NotFound("the tenant has no webhook with this id")
    return hook


async def _get_webhook(call: ApiCall) -> func.HttpResponse:
    return json_response(WebhookBody.model_validate(_body(await _existing(call))))


async def _delete_webhook(call: ApiCall) -> func.HttpResponse:
    webhook_id = _webhook_id(call)
    if not await WebhookStore(call.storage).delete(call.tenant_id, webhook_id):
        raise NotFound("the tenant has no webhook with this id")
    await _audit(call, "webhook.deleted", webhook_id, {})
    return func.HttpResponse(status_code=204)


async def _list_deliveries(call: ApiCall) -> func.HttpResponse:
    hook = await _existing(call)
    query = call.query()
    page = await DeliveryLog(call.storage).page(call.tenant_id, hook.webhook_id,
                                                top=query.top, continuation=query.continuation)
    return json_response(ListBody[DeliveryBody].of(page.value, page.continuation))


async def _audit(call: ApiCall, action: str, webhook_id: str, details: dict) -> None:
    now = utc_now()
    event = AuditEvent(
        event_id=stable_id(call.tenant_id, action, webhook_id, iso(now), call.principal.oid),
        tenant_id=call.tenant_id, actor=call.principal.oid, action=action,
        target=f"webhook:{webhook_id}", outcome="succeeded", created_at=iso(now),
        details=details)
    await AuditLog(call.storage).record(event, now)
