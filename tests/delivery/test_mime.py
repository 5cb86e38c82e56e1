"""Every header we write is valid on the wire, through the outbox and through SMTP.

Each message is read back from the bytes that were written or received, with
the standard parser (`policy.default`), as a mail provider would read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from delivery.message import Envelope, Recipient
from delivery.outbox import OutboxSender
from delivery.personalize import ONE_CLICK, LinkMaker, campaign_recipient
from delivery.placeholders import placeholder
from delivery.smtp import SmtpSender
from tests.support.smtp_server import SmtpServer

LINKS = LinkMaker(
    base_url="https://letters.steady-ground.example/newsletter",
    secret_key="test-secret-key-0123456789abcdef",
)
# Folded by the header classes, this subject came back as "Brücken,Flüsse": the space
# between two encoded words was lost.
SUBJECT = "Grüße aus München: Zoë über Brücken, Flüsse und Wälder im späten Herbst des Jahres"


def envelope() -> Envelope:
    return Envelope(
        subject=SUBJECT,
        html=f"<p>Hi</p><a href='{placeholder('unsubscribe_url')}'>Leave</a>",
        text=f"Hi. Leave: {placeholder('unsubscribe_url')}",
        from_email="letters@steady-ground.example",
        from_name="Grüße & Steady Ground",
        reply_to="hello@steady-ground.example",
    )


def recipient() -> Recipient:
    return campaign_recipient(
        LINKS,
        email="reader@example.org",
        name="Ana María",
        subscriber_id=123456,
        campaign_id=7890,
        delivery_id=4242,
        sponsor_name=None,
        crisis={},
    )


@pytest.fixture(params=["outbox", "smtp"])
def written(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[bytes]:
    """The bytes of one message as the backend wrote (outbox) or sent (SMTP) it."""
    if request.param == "outbox":
        OutboxSender(tmp_path).send_batch(envelope(), [recipient()])
        [path] = tmp_path.glob("*.eml")
        yield path.read_bytes()
        return
    server = SmtpServer().start()
    try:
        SmtpSender(server.url()).send_batch(envelope(), [recipient()])
        [raw] = server.recorder.raw
        yield raw
    finally:
        server.stop()


def header_lines(raw: bytes, name: str) -> str:
    """The header as written, with its continuation lines."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    pattern = rf"^{name}:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*"
    found = re.search(pattern, head, flags=re.MULTILINE | re.IGNORECASE)
    assert found, f"no {name} header"
    return found.group(0)


def test_list_unsubscribe_is_a_plain_url_folded_only_at_spaces(written: bytes) -> None:
    url = recipient().substitutions["unsubscribe_url"]
    assert len(f"List-Unsubscribe: <{url}>") > 78  # long enough to have been encoded
    line = header_lines(written, "List-Unsubscribe")
    assert "=?" not in line
    assert line == f"List-Unsubscribe: <{url}>"
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(written)  # type: ignore[assignment]
    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] == ONE_CLICK


def test_every_header_we_write_round_trips(written: bytes) -> None:
    head = written.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # an ASCII recipient gets a 7-bit header block
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))
    message: EmailMessage = BytesParser(policy=policy.default).parsebytes(written)  # type: ignore[assignment]
    assert message.defects == []
    assert message["Subject"] == SUBJECT  # encoded, every space kept
    assert "=?utf-8?" in header_lines(written, "Subject")
    assert message["From"].addresses[0].display_name == "Grüße & Steady Ground"
    assert message["From"].addresses[0].addr_spec == "letters@steady-ground.example"
    assert message["To"].addresses[0].addr_spec == "reader@example.org"
    assert message["To"].addresses[0].display_name == "Ana María"
    assert message["Reply-To"] == "hello@steady-ground.example"
    assert re.fullmatch(r"<[^<>@\s]+@steady-ground\.example>", message["Message-ID"])
    assert message["Date"].datetime is not None
    for name, value in message.items():
        assert not message[name].defects, (name, value)
