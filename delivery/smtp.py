"""The SMTP backend: one connection per batch, one message per recipient.

`SMTP_URL` says how to connect:

- `smtp://host:1025` plain SMTP (Mailpit, a local relay);
- `smtp+starttls://user:pass@host:587` upgrades with STARTTLS and refuses to
  continue if the server does not offer it;
- `smtps://user:pass@host:465` TLS from the first byte.

User and password (URL-encoded) log in after the TLS step. Because SMTP sends
message by message, a batch can fail part way; the receipt says which
recipients were refused, which message was in flight when the connection broke
(uncertain) and which were never attempted (retried later).

One recipient never fails the others: a copy that cannot be built (see
delivery/mime.py), an address the server refuses, or an address with non-ASCII
characters when the server does not offer SMTPUTF8 (RFC 6531) is `failed` for
that recipient, with the reason. When the server offers SMTPUTF8, such an
address is sent with it (smtplib adds SMTPUTF8 and BODY=8BITMIME to MAIL FROM).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from delivery.message import (
    BatchReceipt,
    Envelope,
    PermanentSendError,
    Recipient,
    TransientSendError,
)
from delivery.mime import build_message, needs_smtputf8
from delivery.placeholders import FillTemplate
from delivery.sender import MAX_BATCH

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class SmtpTarget:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS:
            raise ValueError(
                f"SMTP_URL scheme {parts.scheme!r} is not one of smtp, smtp+starttls, smtps"
            )
        if not parts.hostname:
            raise ValueError("SMTP_URL has no host")
        return cls(
            scheme=parts.scheme,
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpSender:
    name = "smtp"

    def __init__(self, url: str, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.target = SmtpTarget.parse(url)
        self.tls_context = tls_context or ssl.create_default_context()

    def send_batch(self, envelope: Envelope, recipients: Sequence[Recipient]) -> BatchReceipt:
        if len(recipients) > MAX_BATCH:
            raise ValueError(f"batch of {len(recipients)} exceeds {MAX_BATCH}")
        if not recipients:
            return BatchReceipt()
        templates = tuple(
            FillTemplate.compile(t) for t in (envelope.subject, envelope.text, envelope.html)
        )
        connection = self._connect()  # raises TransientSendError: nothing sent yet
        smtputf8 = connection.has_extn("smtputf8")
        failed: dict[str, str] = {}
        try:
            for index, recipient in enumerate(recipients):
                utf8 = needs_smtputf8(recipient.email)
                if utf8 and not smtputf8:
                    failed[recipient.email] = (
                        "address is not ASCII and the SMTP server does not offer SMTPUTF8"
                    )
                    continue
                values = recipient.substitutions
                try:
                    parts = (
                        templates[0].fill(values),
                        templates[1].fill(values),
                        templates[2].fill(values),
                    )
                    message = build_message(envelope, recipient, parts, utf8=utf8)
                except Exception as exc:  # this recipient's copy only; see delivery/mime.py
                    failed[recipient.email] = f"SMTP: not sent: {exc}"[:2000]
                    continue
                try:
                    connection.send_message(
                        message, from_addr=envelope.from_email, to_addrs=[recipient.email]
                    )
                except smtplib.SMTPRecipientsRefused as exc:
                    code, reason = next(iter(exc.recipients.values()))
                    if 400 <= code < 500:  # greylisted or mailbox busy: try again later
                        return _broken_at(recipients, index, failed, uncertain=False)
                    failed[recipient.email] = f"SMTP {code}: {reason.decode(errors='replace')}"
                except smtplib.SMTPResponseException as exc:
                    if 400 <= exc.smtp_code < 500:
                        return _broken_at(recipients, index, failed, uncertain=False)
                    failed[recipient.email] = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
                except (smtplib.SMTPServerDisconnected, OSError):
                    return _broken_at(recipients, index, failed, uncertain=True)
                except (smtplib.SMTPException, ValueError, UnicodeError) as exc:
                    # Refused by smtplib before the message went (no SMTPUTF8, a bad
                    # address form): this recipient fails; the session is reset
                    # so the next one starts clean.
                    failed[recipient.email] = f"SMTP: not sent: {exc}"[:2000]
                    try:
                        connection.rset()
                    except (smtplib.SMTPException, OSError):
                        rest = tuple(r.email for r in recipients[index + 1 :])
                        return BatchReceipt(failed=failed, not_sent=rest)
        finally:
            _quit(connection)
        return BatchReceipt(failed=failed)

    def _connect(self) -> smtplib.SMTP:
        t = self.target
        try:
            if t.scheme == "smtps":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(
                    t.host, t.port, timeout=TIMEOUT_SECONDS, context=self.tls_context
                )
            else:
                connection = smtplib.SMTP(t.host, t.port, timeout=TIMEOUT_SECONDS)
            connection.ehlo()
            if t.scheme == "smtp+starttls":
                if not connection.has_extn("starttls"):
                    _quit(connection)
                    raise PermanentSendError(
                        f"{t.host}:{t.port} does not offer STARTTLS, which SMTP_URL requires"
                    )
                connection.starttls(context=self.tls_context)
                connection.ehlo()
            if t.username:
                connection.login(t.username, t.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise PermanentSendError(f"SMTP login refused: {exc.smtp_code}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientSendError(f"SMTP server {t.host}:{t.port} unavailable: {exc}") from exc
        return connection

    def close(self) -> None:
        """Connections live for one batch, so there is nothing to close between batches."""


def _broken_at(
    recipients: Sequence[Recipient], index: int, failed: dict[str, str], *, uncertain: bool
) -> BatchReceipt:
    rest = [r.email for r in recipients[index + 1 :]]
    current = recipients[index].email
    if uncertain:
        return BatchReceipt(
            failed=failed,
            uncertain={current: "SMTP connection broke while sending"},
            not_sent=tuple(rest),
        )
    return BatchReceipt(failed=failed, not_sent=(current, *rest))


def _quit(connection: smtplib.SMTP) -> None:
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()
