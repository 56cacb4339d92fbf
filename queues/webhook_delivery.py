"""Webhook deliveries (DESIGN §13): one attempt per ``webhook-deliveries`` message.

A failed attempt that may succeed later has already queued its retry (invisible until due)
when this function returns, so the message is settled either way; only our own failure (e.g.
storage unreachable) raises, and the host retries the message (host.json ``queues``).
``shared.webhooks.delivery.attempt`` holds the logic and takes its clock; this function only
supplies the real time and the configuration.
"""

import json

import azure.durable_functions as df
import azure.functions as func

from shared.platform.config import get_settings
from shared.platform.log_context import log_context
from shared.platform.storage import get_storage
from shared.webhooks.delivery import DELIVERY_QUEUE, DeliveryJob, attempt

bp = df.Blueprint()


@bp.queue_trigger(arg_name="message", queue_name=f"%PV_STORAGE_PREFIX%{DELIVERY_QUEUE}",
                  connection="AzureWebJobsStorage")
async def deliver_webhook(message: func.QueueMessage, context: func.Context) -> None:
    job = DeliveryJob.of(json.loads(message.get_body()))
    with log_context(tenant_id=job.tenant_id, invocation_id=context.invocation_id):
        await attempt(get_storage(), job, allowed_hosts=get_settings().webhook_allowed_hosts)
