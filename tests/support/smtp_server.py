"""A real SMTP server on loopback (aiosmtpd) that records what it receives."""

from __future__ import annotations

import email
import socket
import threading
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Recorder:
    """The aiosmtpd handler: keeps every message and counts connections."""

    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # each message as it came over the wire
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    connections: int = 0
    logins: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self.lock:
            if not getattr(session, "counted", False):
                session.counted = True
                self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.raw.append(envelope.original_content)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


class SmtpServer:
    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        smtputf8: bool = False,
    ) -> None:
        """`smtputf8` makes the server offer SMTPUTF8 (RFC 6531) and take UTF-8 addresses."""
        self.recorder = Recorder()
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": smtputf8}
        if username:

            def check(
                server: Any, session: Any, envelope: Any, mechanism: str, data: Any
            ) -> AuthResult:
                ok = isinstance(data, LoginPassword) and (
                    data.login.decode(),
                    data.password.decode(),
                ) == (username, password)
                if ok:
                    self.recorder.logins.append(username or "")
                return AuthResult(success=ok)

            # Loopback only, so plain-text AUTH is acceptable here.
            kwargs.update(authenticator=check, auth_require_tls=False)
        self.port = _free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port, **kwargs)

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def url(self, scheme: str = "smtp", userinfo: str = "") -> str:
        return f"{scheme}://{userinfo}127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.controller.stop()


def _free_port() -> int:
    # aiosmtpd probes its own port after starting, so it needs a concrete number.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
