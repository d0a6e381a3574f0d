"""Real local test servers on 127.0.0.1: an SMTP server (aiosmtpd) and an HTTP receiver.

Reusable by any test (``from tests.receivers import ...``). Pytest fixtures at the bottom:
``smtp_receiver``, ``http_receiver``, ``tls_files`` (a self-signed cert for 127.0.0.1; skips
when the ``openssl`` command is missing). Register them in a conftest with
``from tests.receivers import smtp_receiver, http_receiver, tls_files  # noqa: F401``.

- :class:`SmtpReceiver` records every accepted message (envelope, parsed message, who logged
  in, whether TLS was on); optional AUTH (PLAIN/LOGIN) with fixed credentials, STARTTLS or
  implicit TLS; can be stopped and restarted on the same port; ``reject_next(n, reply)``
  makes the next ``n`` DATA commands fail with an SMTP error reply; addresses in
  ``refuse_recipients`` are refused at RCPT TO (550).
- :class:`HttpReceiver` records every request (method, path, headers, body, parsed JSON) and
  answers 200 ``{"success": true}``; ``fail_next(n, status)`` makes the next ``n`` requests
  fail; can be stopped and restarted on the same port.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

LOCALHOST = "127.0.0.1"


def free_port(host: str = LOCALHOST) -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------- SMTP


@dataclass(frozen=True, kw_only=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message: EmailMessage
    authenticated_as: str | None
    tls: bool

    def part(self, content_type: str) -> str:
        """The decoded body of the first part with ``content_type`` (e.g. "text/html")."""
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                return part.get_content()
        raise KeyError(f"no {content_type} part in message {self.message['Subject']!r}")


@dataclass(frozen=True, kw_only=True)
class AuthAttempt:
    mechanism: str
    login: str
    password: str
    success: bool


class _SmtpHandler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        if address in self.receiver.refuse_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        r = self.receiver
        with r._lock:
            hold = r._hold_left > 0
            r._hold_left -= int(hold)
        if hold:  # a slow MTA: the reply to the message data waits until release()
            r.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, r._released.wait)
        with r._lock:
            if r._reject_left > 0:
                r._reject_left -= 1
                return r._reject_reply
        data: bytes = envelope.original_content or envelope.content
        message = email.message_from_bytes(data, policy=email.policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        mail = ReceivedMail(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=data,
            message=message,  # type: ignore[arg-type]
            authenticated_as=login if session.authenticated else None,
            tls=session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
        )
        with r._lock:
            r.messages.append(mail)
        return "250 2.0.0 Message accepted for delivery"


class SmtpReceiver:
    """An aiosmtpd server on 127.0.0.1 that keeps what it receives in :attr:`messages`."""

    def __init__(
        self,
        *,
        port: int | None = None,
        credentials: tuple[str, str] | None = None,
        starttls_context: ssl.SSLContext | None = None,
        implicit_tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = LOCALHOST
        self.port = port or free_port()
        self.credentials = credentials
        self.starttls_context = starttls_context
        self.implicit_tls_context = implicit_tls_context
        self.messages: list[ReceivedMail] = []
        self.refuse_recipients: set[str] = set()  # RCPT TO these gets "550 No such user"
        self.auth_attempts: list[AuthAttempt] = []
        self._lock = threading.Lock()
        self._reject_left = 0
        self._reject_reply = ""
        self._hold_left = 0
        self.holding = threading.Event()  # set while a held DATA waits for release()
        self._released = threading.Event()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.credentials is None:
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        ok = (login, password) == self.credentials
        with self._lock:
            self.auth_attempts.append(AuthAttempt(mechanism=mechanism, login=login, password=password, success=ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    def start(self) -> SmtpReceiver:
        if self._controller is not None:
            return self
        kwargs: dict[str, Any] = {"server_hostname": "loadmon-test-smtp", "ready_timeout": 5.0}
        if self.credentials is not None:
            kwargs["authenticator"] = self._authenticate
            # Login in clear is fine on the loopback test server unless TLS is offered.
            kwargs["auth_require_tls"] = self.starttls_context is not None
        if self.starttls_context is not None:
            kwargs["tls_context"] = self.starttls_context
            kwargs["require_starttls"] = True
        if self.implicit_tls_context is not None:
            kwargs["ssl_context"] = self.implicit_tls_context
        controller = Controller(_SmtpHandler(self), hostname=self.host, port=self.port, **kwargs)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        self._released.set()  # never leave a held reply behind
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def restart(self) -> SmtpReceiver:
        self.stop()
        return self.start()

    def hold_next(self, count: int = 1) -> None:
        """Keep the reply to the next ``count`` message data waiting until :meth:`release`
        (the message is then accepted, or refused by :meth:`reject_next`)."""
        with self._lock:
            self._hold_left = count
            self.holding.clear()
            self._released.clear()

    def release(self) -> None:
        self._released.set()

    def reject_next(self, count: int, reply: str = "451 4.3.0 Temporary failure, try again later") -> None:
        """Answer the next ``count`` DATA commands with ``reply`` instead of accepting."""
        with self._lock:
            self._reject_left = count
            self._reject_reply = reply


class DripSmtpServer:
    """A hostile SMTP server on 127.0.0.1: it greets one byte every ``interval_s`` seconds
    (``220`` and then ``length`` filler bytes), so every read gets data in time and only a
    deadline on the whole conversation ends it. ``hung_up_early`` tells whether the client
    closed the connection before the greeting was complete."""

    def __init__(self, *, interval_s: float = 0.2, length: int = 60) -> None:
        self.host = LOCALHOST
        self.interval_s = interval_s
        self.length = length
        self.hung_up_early = threading.Event()
        self.finished = threading.Event()
        self._listener = socket.create_server((self.host, 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="drip-smtp", daemon=True)

    def __enter__(self) -> DripSmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._listener.close()
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        try:
            conn, _addr = self._listener.accept()
        except OSError:
            return
        with conn:
            try:
                for byte in b"220" + b"-" * self.length:
                    if self._stop.wait(self.interval_s):
                        return
                    conn.sendall(bytes([byte]))
                conn.sendall(b" drip\r\n")
            except OSError:  # the client hung up (sendall into a closed connection)
                self.hung_up_early.set()
            finally:
                self.finished.set()


# ---------------------------------------------------------------------------------- HTTP


@dataclass(frozen=True, kw_only=True)
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered
    json: Any = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _HttpHandler(BaseHTTPRequestHandler):
    server: _RecordingServer
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        receiver = self.server.receiver
        status = receiver._next_status()
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        receiver._record(
            ReceivedRequest(
                method=self.command,
                path=self.path,
                headers={k: v for k, v in self.headers.items()},
                body=body,
                status=status,
                json=parsed,
            )
        )
        if status < 300:
            payload = json.dumps({"success": True}).encode()
        else:
            payload = json.dumps({"code": status, "error": f"test receiver told to fail with {status}"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _RecordingServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], receiver: HttpReceiver) -> None:
        self.receiver = receiver
        super().__init__(address, _HttpHandler)


class HttpReceiver:
    """A plain-HTTP server on 127.0.0.1 that records every request it gets."""

    def __init__(self, *, port: int | None = None) -> None:
        self.host = LOCALHOST
        self.port = port or free_port()
        self.requests: list[ReceivedRequest] = []
        self._lock = threading.Lock()
        self._fail_left = 0
        self._fail_status = 500
        self._server: _RecordingServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> HttpReceiver:
        if self._server is not None:
            return self
        server = _RecordingServer((self.host, self.port), self)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None

    def restart(self) -> HttpReceiver:
        self.stop()
        return self.start()

    def fail_next(self, count: int, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status`` (and a JSON error body)."""
        with self._lock:
            self._fail_left = count
            self._fail_status = status

    def _next_status(self) -> int:
        with self._lock:
            if self._fail_left > 0:
                self._fail_left -= 1
                return self._fail_status
            return 200

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)


# ---------------------------------------------------------------------------------- TLS


@dataclass(frozen=True, kw_only=True)
class TlsFiles:
    """A self-signed certificate for 127.0.0.1 / localhost and its key."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts only this certificate."""
        context = ssl.create_default_context(cafile=str(self.cert))
        return context


def make_self_signed(directory: Path) -> TlsFiles:
    """Create a self-signed EC certificate with the ``openssl`` command (SAN 127.0.0.1, localhost)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("the openssl command is not installed")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=loadmon test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return TlsFiles(cert=cert, key=key)


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """A running plain SMTP server without AUTH on 127.0.0.1 (stopped after the test)."""
    receiver = SmtpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """A running HTTP receiver on 127.0.0.1 (stopped after the test)."""
    receiver = HttpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1; skips when ``openssl`` is missing or fails."""
    try:
        return make_self_signed(tmp_path_factory.mktemp("tls"))
    except (FileNotFoundError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot make a self-signed certificate: {exc}")


__all__ = [
    "AuthAttempt",
    "HttpReceiver",
    "ReceivedMail",
    "ReceivedRequest",
    "SmtpReceiver",
    "TlsFiles",
    "free_port",
    "http_receiver",
    "make_self_signed",
    "smtp_receiver",
    "tls_files",
]
