"""Webhook deliveries (DESIGN §13) against a real HTTPS receiver and Azurite: signatures an
independent implementation (the ``standardwebhooks`` package) verifies, retries and their
schedule, the address check at connect time, and what is never followed or retried.

The clock is the ``now`` each attempt is given; the retry job an attempt queues is taken from
its answer instead of waiting for the queue to show it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from datetime import timedelta
from itertools import pairwise

import pytest
from standardwebhooks import Webhook as StandardWebhook

from local.graphsim import certs
from local.webhook_receiver import Answer, WebhookReceiver
from shared.backups.tenant_keys import KeyCache, TenantKeys
from shared.crypto.kek import LocalKek
from shared.platform import tables
from shared.platform.keys import iso, parse_iso, utc_now
from shared.platform.storage import Storage
from shared.webhooks import sender
from shared.webhooks.delivery import (
    DELIVERY_QUEUE,
    RETRY_FOR,
    DeliveryJob,
    attempt,
    enqueue_event,
    next_delay_s,
)
from shared.webhooks.store import WEBHOOKS, DeliveryLog, WebhookStore
from tests.tenants import register

pytestmark = pytest.mark.anyio
TENANT = "11111111-2222-3333-4444-555555555555"
LOCAL = frozenset({"localhost"})
PINNED = "hooks.example.test"  # reserved: no real resolver knows it


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A CA and a leaf for localhost and hooks.example.test, and a trust bundle with the CA."""
    where = tmp_path_factory.mktemp("tls")
    material = certs.make_tls(PINNED)
    (where / "ca.pem").write_bytes(certs.cert_pem(material.ca_cert))
    (where / "cert.pem").write_bytes(certs.cert_pem(material.leaf_cert))
    (where / "key.pem").write_bytes(certs.key_pem(material.leaf_key))
    certs.write_ca_bundle(where / "ca.pem", where / "bundle.pem")
    return where


@pytest.fixture
def receiver(tls, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tls / "bundle.pem"))
    with WebhookReceiver(tls / "cert.pem", tls / "key.pem") as running:
        yield running


@pytest.fixture
async def keys(storage: Storage) -> TenantKeys:
    await register(storage, TENANT)
    return TenantKeys(storage, LocalKek(os.urandom(32)), KeyCache())


def _event(status: str = "succeeded", event_id: str = "e" * 32) -> dict:
    return {"event_id": event_id, "notification_id": event_id, "tenant_id": TENANT,
            "run_type": "backup", "run_id": "01J" + "0" * 23, "status": status,
            "counts": {"total": 1, "processed": 1, "succeeded": 1, "failed": 0, "skipped": 0},
            "error_code": None, "error_context": None, "warnings": [],
            "link": f"/api/tenants/{TENANT}/runs/x", "created_at": "2026-12-01T10:00:00Z"}


async def _queued_jobs(storage: Storage) -> list[DeliveryJob]:
    """Receive and delete the delivery jobs now visible, as the queue function would."""
    queue = await storage.queue(DELIVERY_QUEUE)
    jobs = []
    async for message in queue.receive_messages():
        jobs.append(DeliveryJob.of(json.loads(message.content)))
        await queue.delete_message(message)
    return jobs


async def _register(storage: Storage, keys: TenantKeys, url: str,
                    events: tuple[str, ...] = ("run.succeeded", "run.failed")) -> str:
    saved = await WebhookStore(storage, keys).put(TENANT, "teams", url, list(events), "oid-1")
    assert saved.created and saved.secret
    return saved.secret


async def test_attempt_delivers_a_body_the_standard_webhooks_library_verifies(
        storage, keys, receiver):
    secret = await _register(storage, keys, receiver.url("/hook?sig=do-not-show"))
    assert await enqueue_event(storage, _event()) == 1
    [job] = await _queued_jobs(storage)

    done = await attempt(storage, job, allowed_hosts=LOCAL, keys=keys)

    [request] = receiver.received
    verified = StandardWebhook(secret).verify(request.body, request.headers)
    assert verified == {**_event(), "type": "run.succeeded"}
    assert request.headers["webhook-id"] == "e" * 32
    assert request.path == "/hook?sig=do-not-show"
    assert request.server_name == "localhost"
    assert request.headers["host"] == f"localhost:{receiver.port}"
    assert done.row is not None and done.retry is None
    assert (done.row["outcome"], done.row["status_code"]) == ("delivered", 200)
    page = await DeliveryLog(storage).page(TENANT, "teams", top=10, continuation=None)
    assert [row["url"] for row in page.value] == [receiver.url("/hook?[redacted]")]


async def test_attempt_a_tampered_body_fails_the_independent_verification(
        storage, keys, receiver):
    secret = await _register(storage, keys, receiver.url())
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)
    await attempt(storage, job, allowed_hosts=LOCAL, keys=keys)

    [request] = receiver.received
    with pytest.raises(Exception, match="signature"):
        StandardWebhook(secret).verify(request.body.replace(b"succeeded", b"failed"),
                                       request.headers)


async def test_attempt_503_then_200_is_two_rows_with_one_webhook_id(storage, keys, receiver):
    secret = await _register(storage, keys, receiver.url())
    receiver.script(Answer(503))
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)
    first_at = utc_now()

    failed = await attempt(storage, job, allowed_hosts=LOCAL, keys=keys, now=first_at)
    assert failed.row is not None and failed.retry is not None
    assert failed.row["outcome"] == "retrying"
    assert parse_iso(failed.row["next_attempt_at"]) <= first_at + timedelta(seconds=30)
    assert failed.retry_in_s is not None and failed.retry_in_s <= 30
    later = first_at + timedelta(seconds=failed.retry_in_s)
    delivered = await attempt(storage, failed.retry, allowed_hosts=LOCAL, keys=keys, now=later)

    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "e" * 32
    for request in (first, second):
        StandardWebhook(secret).verify(request.body, request.headers)
    assert delivered.row is not None and delivered.row["outcome"] == "delivered"
    page = await DeliveryLog(storage).page(TENANT, "teams", top=10, continuation=None)
    assert [(r["attempt"], r["outcome"], r["status_code"], r["event_id"]) for r in page.value
            ] == [(2, "delivered", 200, "e" * 32), (1, "retrying", 503, "e" * 32)]


async def test_attempt_the_retry_job_waits_on_the_queue_until_due(storage, keys, receiver):
    await _register(storage, keys, receiver.url())
    receiver.script(Answer(500))
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)

    done = await attempt(storage, job, allowed_hosts=LOCAL, keys=keys)

    queue = await storage.queue(DELIVERY_QUEUE)
    assert [m async for m in queue.receive_messages()] == []  # invisible until due
    assert (await queue.get_queue_properties()).approximate_message_count == 1
    assert done.retry is not None and done.retry.attempt == 2


@pytest.mark.parametrize("allowed", [frozenset(), LOCAL])
async def test_attempt_the_address_is_checked_again_at_connect_time(
        storage, keys, receiver, allowed):
    """Stored directly, as if the name resolved elsewhere when it was registered: a name that
    now resolves to loopback is not called, and not retried."""
    await _register(storage, keys, receiver.url().replace("localhost", "hooks.example.com"))
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)

    async def rebinding(host: str, port: int) -> list[str]:
        assert host == "hooks.example.com"
        return ["127.0.0.1"]

    done = await attempt(storage, job, allowed_hosts=allowed, keys=keys, resolver=rebinding)

    assert receiver.received == []
    assert done.row is not None and done.retry is None
    assert (done.row["outcome"], done.row["error"]) == ("failed", "address_refused")


async def test_attempt_connects_to_the_checked_address_with_the_name_as_sni_and_host(
        storage, keys, receiver):
    """The name resolves only through the resolver the check used: reaching the receiver
    proves the connection went to that address, and TLS verified the certificate for the
    name."""
    await _register(storage, keys, receiver.url().replace("localhost", PINNED))
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)
    asked: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    done = await attempt(storage, job, allowed_hosts=frozenset({PINNED}), keys=keys,
                         resolver=resolver)

    assert done.row is not None and done.row["outcome"] == "delivered"
    [request] = receiver.received
    assert (request.server_name, request.headers["host"]) == (PINNED, f"{PINNED}:{receiver.port}")
    assert asked == [PINNED]


async def test_attempt_localhost_is_called_only_when_allow_listed(storage, keys, receiver):
    await _register(storage, keys, receiver.url())
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)

    refused = await attempt(storage, job, allowed_hosts=frozenset(), keys=keys)
    allowed = await attempt(storage, job, allowed_hosts=LOCAL, keys=keys)

    assert refused.row is not None and refused.row["error"] == "address_refused"
    assert allowed.row is not None and allowed.row["outcome"] == "delivered"
    assert len(receiver.received) == 1


async def test_attempt_a_refused_connection_is_retried(storage, keys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await _register(storage, keys, f"https://localhost:{port}/hook")
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)

    done = await attempt(storage, job, allowed_hosts=LOCAL, keys=keys)

    assert done.row is not None and done.retry is not None
    assert (done.row["outcome"], done.row["error"]) == ("retrying", "connection_failed")


async def test_attempt_a_receiver_too_slow_to_answer_is_retried(
        storage, keys, receiver, monkeypatch):
    monkeypatch.setattr(sender, "READ_TIMEOUT_S", 0.3)
    await _register(storage, keys, receiver.url())
    receiver.script(Answer(200, delay_s=1.5))
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)

    done = await attempt(storage, job, allowed_hosts=LOCAL, keys=keys)

    assert done.row is not None and done.retry is not None
    assert (done.row["outcome"], done.row["error"]) == ("retrying", "timeout")


@pytest.mark.parametrize(("answer", "error"), [
    (Answer(302, headers={"Location": "https://localhost:1/elsewhere"}), "redirect_not_followed"),
    (Answer(410), "http_error"),
])
async def test_attempt_redirects_and_4xx_are_final(storage, keys, receiver, answer, error):
    await _register(storage, keys, receiver.url())
    receiver.script(answer)
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)

    done = await attempt(storage, job, allowed_hosts=LOCAL, keys=keys)

    assert len(receiver.received) == 1
    assert done.row is not None and done.retry is None
    assert (done.row["outcome"], done.row["error"]) == ("failed", error)


async def test_attempt_a_large_answer_is_read_only_up_to_the_bound(storage, keys, receiver):
    await _register(storage, keys, receiver.url())
    receiver.script(Answer(200, body=b"x" * (4 * sender.MAX_ANSWER_BYTES)))
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)

    done = await attempt(storage, job, allowed_hosts=LOCAL, keys=keys)

    assert done.row is not None and done.row["outcome"] == "delivered"


async def test_attempt_after_24_hours_of_failures_gives_up(storage, keys, receiver):
    await _register(storage, keys, receiver.url())
    receiver.script(Answer(503))
    now = utc_now()
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)
    old = DeliveryJob.of({**job.__dict__, "attempt": 12,
                          "first_attempt_at": iso(now - RETRY_FOR)})

    done = await attempt(storage, old, allowed_hosts=LOCAL, keys=keys, now=now)

    assert done.row is not None and done.retry is None
    assert (done.row["outcome"], done.row["next_attempt_at"]) == ("failed", None)


async def test_attempt_a_deleted_webhook_is_not_called(storage, keys, receiver):
    await _register(storage, keys, receiver.url())
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)
    assert await WebhookStore(storage, keys).delete(TENANT, "teams")

    done = await attempt(storage, job, allowed_hosts=LOCAL, keys=keys)

    assert done.row is None and receiver.received == []


async def test_enqueue_event_only_webhooks_subscribed_to_the_type(storage, keys, receiver):
    await _register(storage, keys, receiver.url(), events=("drift_detected",))

    assert await enqueue_event(storage, _event("succeeded")) == 0
    assert await enqueue_event(storage, _event("drift_detected", "d" * 32)) == 1
    [job] = await _queued_jobs(storage)
    assert (job.event_type, json.loads(job.body)["type"]) == ("drift_detected", "drift_detected")


def test_next_delay_s_first_retry_within_30_s_then_backing_off_for_24_hours():
    start = utc_now()
    moments, now, n = [start], start, 1
    while (delay := next_delay_s(n, start, now)) is not None:
        now += timedelta(seconds=delay)
        moments.append(now)
        n += 1

    gaps = [(b - a).total_seconds() for a, b in pairwise(moments)]
    assert gaps[0] <= 30
    assert gaps[:6] == sorted(gaps[:6])
    assert moments[-1] - start == RETRY_FOR
    # A receiver down for the first hour is tried again within an hour of coming back.
    assert any(timedelta(hours=1) <= m - start <= timedelta(hours=2) for m in moments)
    assert len(moments) < 20


async def test_store_the_secret_and_the_url_are_sealed_and_the_secret_is_kept(storage, keys):
    store = WebhookStore(storage, keys)
    created = await store.put(TENANT, "psa", "https://psa.example.com/in?sig=s3cr3t",
                              ["run.failed"], "oid-1")
    replaced = await store.put(TENANT, "psa", "https://psa.example.com/v2?code=k3y",
                               ["run.failed", "run.partial"], "oid-1")

    assert created.created and created.secret and created.secret.startswith("whsec_")
    assert len(base64.b64decode(created.secret.removeprefix("whsec_"))) == 32
    assert not replaced.created and replaced.secret is None
    endpoint = await store.endpoint(TENANT, "psa")
    assert endpoint is not None
    assert (endpoint.secret, endpoint.url) == (created.secret,
                                               "https://psa.example.com/v2?code=k3y")
    assert endpoint.webhook.url == "https://psa.example.com/v2?[redacted]"
    assert endpoint.webhook.events == ["run.failed", "run.partial"]
    [row] = await tables.query_all(await storage.table(WEBHOOKS), TENANT)
    stored = json.dumps(dict(row), default=str)
    assert "k3y" not in stored and "s3cr3t" not in stored
    assert created.secret.removeprefix("whsec_") not in stored


async def test_attempt_a_host_that_does_not_resolve_is_retried(storage, keys):
    await _register(storage, keys, "https://hooks.example.test/in")
    await enqueue_event(storage, _event())
    [job] = await _queued_jobs(storage)

    async def nothing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    done = await attempt(storage, job, allowed_hosts=frozenset(), keys=keys, resolver=nothing)

    assert done.row is not None and done.retry is not None
    assert (done.row["outcome"], done.row["error"]) == ("retrying", "connection_failed")


async def test_store_concurrent_creating_puts_make_one_webhook_with_one_secret(storage, keys):
    store = WebhookStore(storage, keys)
    await keys.current(TENANT)

    saved = await asyncio.gather(*(
        store.put(TENANT, "race", f"https://psa.example.com/{n}", ["run.failed"], "oid-1")
        for n in range(5)))

    [winner] = [s for s in saved if s.created]
    assert [s.secret for s in saved if not s.created] == [None] * 4
    endpoint = await store.endpoint(TENANT, "race")
    assert endpoint is not None and endpoint.secret == winner.secret
