"""A fake SendGrid: a real HTTP server on loopback speaking POST /v3/mail/send.

It validates bodies the way SendGrid does (bearer key, 1..1000
personalizations, no address twice, from/subject/content present, text/plain
before text/html, 30 MB cap), answers 202 with X-Message-Id, and records every
accepted recipient. Faults are injected per request, either as a scripted
sequence (`set_faults(sequence=[429, 500, "timeout"])`, consumed first) or as
fractions (`set_faults(rate_5xx=0.1)`), plus a fixed latency.

    fake = FakeSendGrid(api_key="SG.test").start()
    ... point SENDGRID_API_HOST at fake.url ...
    fake.recipients()   # every accepted address, in order
    fake.stop()

A "timeout" fault sleeps `hang_seconds` and then accepts the batch: the worst
case for a sender, whose call timed out although the mail went out.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

MAX_PERSONALIZATIONS = 1000
MAX_BODY_BYTES = 30 * 1024 * 1024

Fault = int | str  # an HTTP status (429, 500, 503, 400...) or "timeout"


@dataclass(frozen=True)
class Accepted:
    """One recipient of an accepted request, with what SendGrid would mail them."""

    email: str
    message_id: str
    personalization: dict[str, Any]
    request: dict[str, Any]

    def rendered(self) -> dict[str, str]:
        """Subject, text and html after this recipient's substitutions."""
        subs: dict[str, str] = self.personalization.get("substitutions", {})
        subject = self.personalization.get("subject", self.request.get("subject", ""))
        out = {"subject": subject}
        for part in self.request["content"]:
            out["text" if part["type"] == "text/plain" else "html"] = part["value"]
        for key in out:
            for placeholder, value in subs.items():
                out[key] = out[key].replace(placeholder, value)
        return out

    @property
    def headers(self) -> dict[str, str]:
        return {**self.request.get("headers", {}), **self.personalization.get("headers", {})}

    @property
    def custom_args(self) -> dict[str, str]:
        return {
            **self.request.get("custom_args", {}),
            **self.personalization.get("custom_args", {}),
        }


@dataclass
class _Faults:
    latency: float = 0.0
    sequence: list[Fault] = field(default_factory=list)
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    reset_after: float = 1.0
    hang_seconds: float = 2.0


class FakeSendGrid:
    def __init__(self, api_key: str = "SG.fake-key", *, keep_bodies: bool = True) -> None:
        self.api_key = api_key
        # Benchmarks keep counts only: storing 300,000 personalizations costs memory and time.
        self.keep_bodies = keep_bodies
        self.counts: Counter[str] = Counter()
        self._accepted: list[Accepted] = []
        self._emails: list[str] = []
        self._faults = _Faults()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._random = random.Random(1234)
        self._server: ThreadingHTTPServer | None = None
        self._in_flight = 0

    # -- control --------------------------------------------------------------

    def start(self) -> FakeSendGrid:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="fake-sg").start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def set_faults(
        self,
        *,
        latency: float | None = None,
        sequence: list[Fault] | None = None,
        rate_429: float = 0.0,
        rate_5xx: float = 0.0,
        rate_timeout: float = 0.0,
        reset_after: float = 1.0,
        hang_seconds: float = 2.0,
    ) -> None:
        with self._lock:
            self._faults = _Faults(
                latency=self._faults.latency if latency is None else latency,
                sequence=list(sequence or []),
                rate_429=rate_429,
                rate_5xx=rate_5xx,
                rate_timeout=rate_timeout,
                reset_after=reset_after,
                hang_seconds=hang_seconds,
            )

    def clear_faults(self) -> None:
        self.set_faults(latency=0.0)

    # -- what happened --------------------------------------------------------

    def recipients(self) -> list[str]:
        with self._lock:
            return list(self._emails)

    def accepted(self) -> list[Accepted]:
        with self._lock:
            return list(self._accepted)

    def in_flight(self) -> int:
        """Requests still being answered (a hanging "timeout" accepts when it ends)."""
        with self._lock:
            return self._in_flight

    def reset(self) -> None:
        with self._lock:
            self._accepted.clear()
            self._emails.clear()
            self.counts.clear()

    # -- request handling (called from server threads) -------------------------

    def _next_fault(self) -> tuple[float, Fault | None]:
        with self._lock:
            f = self._faults
            if f.sequence:
                return f.latency, f.sequence.pop(0)
            roll = self._random.random()
            if roll < f.rate_429:
                return f.latency, 429
            if roll < f.rate_429 + f.rate_5xx:
                return f.latency, 503
            if roll < f.rate_429 + f.rate_5xx + f.rate_timeout:
                return f.latency, "timeout"
            return f.latency, None

    def _accept(self, body: dict[str, Any]) -> str:
        message_id = f"fake-{next(self._ids):08d}"
        with self._lock:
            for p in body["personalizations"]:
                for to in p["to"]:
                    self._emails.append(to["email"])
                    if self.keep_bodies:
                        self._accepted.append(Accepted(to["email"], message_id, p, body))
            self.counts["accepted_requests"] += 1
            self.counts["accepted_recipients"] += sum(
                len(p["to"]) for p in body["personalizations"]
            )
        return message_id

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1


class _Handler(BaseHTTPRequestHandler):
    owner: FakeSendGrid
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read counts, not access logs."""

    def do_POST(self) -> None:
        fake = self.owner
        with fake._lock:
            fake._in_flight += 1
        try:
            self._handle(fake)
        finally:
            with fake._lock:
                fake._in_flight -= 1

    def _handle(self, fake: FakeSendGrid) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/v3/mail/send":
            self._reply(404, _errors("not found", None))
            return
        fake._count("requests")
        if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            fake._count("401")
            self._reply(
                401,
                _errors("The provided authorization grant is invalid, expired, or revoked", None),
            )
            return
        latency, fault = fake._next_fault()
        if latency:
            time.sleep(latency)
        if fault == 429:
            fake._count("429")
            reset = int(time.time() + fake._faults.reset_after)
            self._reply(429, _errors("too many requests", None), {"X-RateLimit-Reset": str(reset)})
            return
        if isinstance(fault, int) and fault >= 500:
            fake._count(str(fault))
            self._reply(fault, _errors("internal error", None))
            return
        if length > MAX_BODY_BYTES:
            fake._count("413")
            self._reply(413, _errors("request body too large", None))
            return
        try:
            # orjson: the fake shares the benchmark's two cores with the system it measures.
            body = orjson.loads(raw)
        except ValueError:  # orjson.JSONDecodeError is one
            self._reply(400, _errors("Invalid JSON body", None))
            return
        problem = validate(body)
        if problem is None and isinstance(fault, int):  # a scripted 400/403/413
            problem = (f"injected {fault}", None)
        if problem is not None:
            status = fault if isinstance(fault, int) else 400
            fake._count(str(status))
            self._reply(status, _errors(*problem))
            return
        if fault == "timeout":
            fake._count("timeout")
            time.sleep(fake._faults.hang_seconds)
        message_id = fake._accept(body)
        self._reply(202, b"", {"X-Message-Id": message_id})

    def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if body:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout); the server must not crash


def _errors(message: str, field_name: str | None) -> bytes:
    return json.dumps(
        {"errors": [{"message": message, "field": field_name, "help": None}]}
    ).encode()


def validate(body: Any) -> tuple[str, str | None] | None:
    """The first problem SendGrid would report, as (message, field), or None."""
    if not isinstance(body, dict):
        return "Invalid JSON body", None
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        return (
            "The personalizations field is required and must have at least one personalization.",
            "personalizations",
        )
    if len(personalizations) > MAX_PERSONALIZATIONS:
        return (
            "The personalizations field must have less than 1000 personalizations.",
            "personalizations",
        )
    seen: set[str] = set()
    for i, p in enumerate(personalizations):
        to = p.get("to") if isinstance(p, dict) else None
        if not isinstance(to, list) or not to:
            return (
                "The to array is required for all personalization objects, and must have at "
                "least one email object with a valid email address.",
                f"personalizations.{i}.to",
            )
        for address in to:
            email = str(address.get("email", "")) if isinstance(address, dict) else ""
            # SendGrid takes no internationalised address (no SMTPUTF8): a 400 for all.
            if "@" not in email or not email.isascii():
                return "Does not contain a valid address.", f"personalizations.{i}.to"
            key = email.lower()
            if key in seen:
                return (
                    "Each email address in the personalization block should be unique between "
                    f"to, cc, and bcc. We found the first duplicate instance of [{email}] in the "
                    f"personalizations.{i}.to field.",
                    f"personalizations.{i}",
                )
            seen.add(key)
        if not body.get("subject") and not p.get("subject"):
            return (
                "The subject is required. You can get around this requirement if you use a "
                "template with a subject defined or if every personalization has a subject "
                "defined.",
                "subject",
            )
    sender = body.get("from")
    if not isinstance(sender, dict) or "@" not in str(sender.get("email", "")):
        return (
            "The from object must be provided for every email send. It is an object that "
            "requires the email parameter, but may also contain a name parameter.",
            "from",
        )
    content = body.get("content")
    if (
        not isinstance(content, list)
        or not content
        or not all(isinstance(c, dict) and c.get("type") and c.get("value") for c in content)
    ):
        return (
            "Unless a valid template_id is provided, the content parameter is required. "
            "There must be at least one defined content block.",
            "content",
        )
    types = [c["type"] for c in content]
    if "text/plain" in types and types.index("text/plain") != 0:
        return (
            "If present, text/plain content must be first, followed by any other content.",
            "content",
        )
    return None
