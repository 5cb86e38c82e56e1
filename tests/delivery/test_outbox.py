from __future__ import annotations

import email
from email import policy
from pathlib import Path

from delivery.message import Envelope, Recipient
from delivery.outbox import OutboxSender
from delivery.personalize import list_unsubscribe_headers
from delivery.placeholders import placeholder
from delivery.sender import MailSender


def envelope() -> Envelope:
    return Envelope(
        subject="Hello",
        html=f"<p>Hi</p><a href='{placeholder('unsubscribe_url')}'>Unsubscribe</a>",
        text=f"Hi\nUnsubscribe: {placeholder('unsubscribe_url')}\n",
        from_email="letters@example.com",
        from_name="Letters",
    )


def recipient(n: int) -> Recipient:
    url = f"https://example.com/unsubscribe/tok{n}"
    return Recipient(
        email=f"person{n}@example.org",
        substitutions={"unsubscribe_url": url},
        headers=list_unsubscribe_headers(url),
    )


def read(path: Path) -> email.message.EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[return-value]


def test_outbox_is_a_mail_sender(tmp_path: Path) -> None:
    assert isinstance(OutboxSender(tmp_path), MailSender)


def test_each_recipient_gets_a_multipart_alternative_eml(tmp_path: Path) -> None:
    OutboxSender(tmp_path).send_batch(envelope(), [recipient(1), recipient(2)])
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    msg = read(files[0])
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["List-Unsubscribe"] == "<https://example.com/unsubscribe/tok1>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_placeholders_are_filled_per_recipient(tmp_path: Path) -> None:
    OutboxSender(tmp_path).send_batch(envelope(), [recipient(1), recipient(2)])
    for n, path in enumerate(sorted(tmp_path.glob("*.eml")), start=1):
        msg = read(path)
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f"tok{n}" in text and f"tok{n}" in html
        assert "[%" not in text + html


def test_index_lists_every_message(tmp_path: Path) -> None:
    OutboxSender(tmp_path).send_batch(envelope(), [recipient(1), recipient(2), recipient(3)])
    index = (tmp_path / "index.html").read_text()
    assert index.count('.eml">') == 3
    assert "person3@example.org" in index
