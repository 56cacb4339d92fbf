"""An HTTPS webhook receiver on this machine, for tests and the demo.

It serves ``https://localhost:{port}/…`` with a certificate from the Graph simulator's CA
(``local/graphsim/certs.py``: the leaf names ``localhost``), so the app's trust bundle
(``SSL_CERT_FILE``) accepts it; the local stack puts ``localhost`` on
``PV_WEBHOOK_ALLOWED_HOSTS``. It records every request and answers from a script: each
:class:`Answer` once, in order, then 200.

    with WebhookReceiver(sim.state.leaf_cert_file, sim.state.leaf_key_file) as receiver:
        receiver.script(Answer(503), Answer(200))
        ...
        [first, second] = receiver.wait_for(2)
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    server_name: str | None  # the TLS SNI the sender sent


class WebhookReceiver:
    def __init__(self, cert_file: str | Path, key_file: str | Path, *,
                 host: str = "127.0.0.1") -> None:
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(str(cert_file), str(key_file))
        self._context.sni_callback = self._remember_sni
        self._host = host
        self._answers: deque[Answer] = deque()
        self._received: list[Received] = []
        self._changed = threading.Condition()
        self._sni = threading.local()
        self._server: ThreadingHTTPServer | None = None

    # ---- what tests do -------------------------------------------------------------------------
    def url(self, path: str = "/hook") -> str:
        return f"https://localhost:{self.port}{path}"

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    def script(self, *answers: Answer) -> None:
        with self._changed:
            self._answers.extend(answers)

    @property
    def received(self) -> list[Received]:
        with self._changed:
            return list(self._received)

    def wait_for(self, count: int, timeout_s: float = 60.0) -> list[Received]:
        """The first ``count`` requests, once they have arrived (AssertionError if they do
        not within ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(self._received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self._received)} of {count} webhook requests "
                                         f"arrived within {timeout_s} s")
                self._changed.wait(left)
            return list(self._received[:count])

    # ---- serving -------------------------------------------------------------------------------
    def __enter__(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                answer = receiver._take(Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                    getattr(self.connection, "pv_sni", None)))
                if answer.delay_s:
                    time.sleep(answer.delay_s)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((self._host, 0), Handler)
        server.daemon_threads = True
        server.socket = self._context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, name="webhook-receiver",
                         daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def _take(self, received: Received) -> Answer:
        with self._changed:
            self._received.append(received)
            self._changed.notify_all()
            return self._answers.popleft() if self._answers else Answer()

    @staticmethod
    def _remember_sni(sock: ssl.SSLObject | ssl.SSLSocket, name: str | None,
                      _context: ssl.SSLContext) -> None:
        sock.pv_sni = name  # type: ignore[union-attr]


__all__ = ["Answer", "Received", "WebhookReceiver"]
