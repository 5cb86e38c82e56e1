"""The outbox backend: each message becomes an .eml file, plus an index.html to browse.

For development and the demo: what would have gone to the provider is written
to disk exactly as an email client would receive it.
"""

from __future__ import annotations

import html
import itertools
import os
import re
import threading
import time
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import SMTP
from email.utils import formatdate, make_msgid
from pathlib import Path

from delivery.message import BatchReceipt, Envelope, Recipient
from delivery.placeholders import FillTemplate
from delivery.sender import MAX_BATCH

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def build_message(
    envelope: Envelope, recipient: Recipient, parts: tuple[str, str, str]
) -> EmailMessage:
    """A multipart/alternative message with the text part first, as RFC 2046 asks."""
    subject, text, body_html = parts
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(envelope.from_name or "", addr_spec=envelope.from_email)
    msg["To"] = Address(recipient.name or "", addr_spec=recipient.email)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=envelope.from_email.rpartition("@")[2])
    if envelope.reply_to:
        msg["Reply-To"] = envelope.reply_to
    for name, value in {**envelope.headers, **recipient.headers}.items():
        msg[name] = value
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(body_html, subtype="html", charset="utf-8")
    return msg


class OutboxSender:
    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def send_batch(self, envelope: Envelope, recipients: Sequence[Recipient]) -> BatchReceipt:
        if len(recipients) > MAX_BATCH:
            raise ValueError(f"batch of {len(recipients)} exceeds {MAX_BATCH}")
        subject_t = FillTemplate.compile(envelope.subject)
        text_t = FillTemplate.compile(envelope.text)
        html_t = FillTemplate.compile(envelope.html)
        batch_id = f"{time.time_ns():x}-{os.getpid()}"
        for recipient in recipients:
            values = recipient.substitutions
            parts = (subject_t.fill(values), text_t.fill(values), html_t.fill(values))
            message = build_message(envelope, recipient, parts)
            self._write(message, recipient.email)
        self.write_index()
        return BatchReceipt(message_id=batch_id)

    def _write(self, message: EmailMessage, email: str) -> Path:
        with self._lock:
            seq = next(self._counter)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"{stamp}-{os.getpid()}-{seq:06d}-{_UNSAFE.sub('_', email)}.eml"
        path = self.directory / name
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(message.as_bytes())
        tmp.replace(path)  # readers never see half a message
        return path

    def write_index(self) -> None:
        """A small page listing every message, newest first, for a browser."""
        parser = BytesHeaderParser()
        rows = []
        for path in sorted(self.directory.glob("*.eml"), reverse=True):
            with path.open("rb") as fh:
                headers = parser.parse(fh)
            rows.append(
                '<tr><td>{}</td><td>{}</td><td><a href="{}">{}</a></td></tr>'.format(
                    html.escape(str(headers.get("Date", ""))),
                    html.escape(str(headers.get("To", ""))),
                    html.escape(path.name),
                    html.escape(str(headers.get("Subject", ""))),
                )
            )
        page = (
            "<!doctype html><meta charset=utf-8><title>Broadsheet outbox</title>"
            "<h1>Outbox</h1><p>{} message(s). Open an .eml file in a mail client."
            "</p><table><tr><th>Date</th><th>To</th><th>Subject</th></tr>{}</table>"
        ).format(len(rows), "".join(rows))
        tmp = self.directory / "index.html.tmp"
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(self.directory / "index.html")

    def close(self) -> None:
        pass
