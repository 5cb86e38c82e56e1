"""Every backend honours the same MailSender contract (outbox, SMTP, SendGrid).

Each backend is driven against a real receiver: the outbox folder, an SMTP
server on loopback, the fake SendGrid over HTTP. A `Mailbox` reads back what
each recipient got, so the contract is written once.
"""

from __future__ import annotations

import email
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from pathlib import Path

import pytest

from config.settings import load_settings
from delivery.backends import make_sender
from delivery.message import Envelope, Recipient
from delivery.outbox import OutboxSender
from delivery.personalize import list_unsubscribe_headers
from delivery.placeholders import placeholder
from delivery.sender import MAX_BATCH, MailSender
from delivery.sendgrid import SendGridSender
from delivery.smtp import SmtpSender
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.smtp_server import SmtpServer


@dataclass(frozen=True)
class Received:
    email: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]


@dataclass
class Backend:
    sender: MailSender
    received: Callable[[], list[Received]]


def _from_message(msg: email.message.EmailMessage) -> Received:
    return Received(
        email=str(msg["To"].addresses[0].addr_spec),
        subject=str(msg["Subject"]),
        text=msg.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
        html=msg.get_body(("html",)).get_content(),  # type: ignore[union-attr]
        headers={k: str(v) for k, v in msg.items()},
    )


def _outbox(tmp_path: Path) -> Iterator[Backend]:
    directory = tmp_path / "outbox"

    def received() -> list[Received]:
        return [
            _from_message(email.message_from_bytes(p.read_bytes(), policy=policy.default))  # type: ignore[arg-type]
            for p in sorted(directory.glob("*.eml"))
        ]

    yield Backend(OutboxSender(directory), received)


def _smtp(tmp_path: Path) -> Iterator[Backend]:
    server = SmtpServer().start()

    def received() -> list[Received]:
        return [_from_message(m) for m in server.recorder.messages]

    yield Backend(SmtpSender(server.url()), received)
    server.stop()


def _sendgrid(tmp_path: Path) -> Iterator[Backend]:
    fake = FakeSendGrid(api_key="SG.contract").start()

    def received() -> list[Received]:
        out = []
        for accepted in fake.accepted():
            parts = accepted.rendered()
            out.append(
                Received(
                    accepted.email, parts["subject"], parts["text"], parts["html"], accepted.headers
                )
            )
        return out

    sender = SendGridSender("SG.contract", fake.url)
    yield Backend(sender, received)
    sender.close()
    fake.stop()


BACKENDS = {"outbox": _outbox, "smtp": _smtp, "sendgrid": _sendgrid}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    yield from BACKENDS[request.param](tmp_path)


def envelope() -> Envelope:
    return Envelope(
        subject=f"Hello {placeholder('first')}",
        html=f"<p>Hi {placeholder('first')}</p>"
        f"<a href='{placeholder('unsubscribe_url')}'>Leave</a>",
        text=f"Hi {placeholder('first')}\nLeave: {placeholder('unsubscribe_url')}\n",
        from_email="letters@steady-ground.example",
        from_name="Steady Ground",
        categories=("campaign",),
        custom_args={"campaign_id": "7"},
    )


def recipient(n: int) -> Recipient:
    url = f"https://steady-ground.example/unsubscribe/tok{n}"
    return Recipient(
        email=f"reader{n}@example.org",
        substitutions={"first": f"Reader{n}", "unsubscribe_url": url},
        headers=list_unsubscribe_headers(url),
        custom_args={"campaign_id": "7", "delivery_id": str(100 + n)},
    )


def test_every_backend_is_a_mail_sender(backend: Backend) -> None:
    assert isinstance(backend.sender, MailSender)
    assert backend.sender.name in {"outbox", "smtp", "sendgrid"}


def test_each_recipient_gets_exactly_one_copy_with_their_own_values(backend: Backend) -> None:
    receipt = backend.sender.send_batch(envelope(), [recipient(n) for n in range(5)])
    assert not receipt.failed and not receipt.uncertain and not receipt.not_sent
    got = sorted(backend.received(), key=lambda r: r.email)
    assert [r.email for r in got] == [f"reader{n}@example.org" for n in range(5)]
    for n, message in enumerate(got):
        assert message.subject == f"Hello Reader{n}"
        assert f"Hi Reader{n}" in message.text and f"tok{n}" in message.text
        assert f"Hi Reader{n}" in message.html and f"tok{n}" in message.html
        assert "[%" not in message.subject + message.text + message.html


def test_each_copy_carries_its_own_one_click_unsubscribe_headers(backend: Backend) -> None:
    backend.sender.send_batch(envelope(), [recipient(1), recipient(2)])
    for message in backend.received():
        n = message.email.removeprefix("reader").split("@")[0]
        assert message.headers["List-Unsubscribe"] == (
            f"<https://steady-ground.example/unsubscribe/tok{n}>"
        )
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_batch_larger_than_the_limit_is_refused_before_sending(backend: Backend) -> None:
    too_many = [recipient(n) for n in range(MAX_BATCH + 1)]
    with pytest.raises(ValueError, match="exceeds"):
        backend.sender.send_batch(envelope(), too_many)
    assert backend.received() == []


def test_close_can_be_called_after_sending(backend: Backend) -> None:
    backend.sender.send_batch(envelope(), [recipient(1)])
    backend.sender.close()


def test_mail_backend_setting_chooses_the_backend(tmp_path: Path) -> None:
    common = {"outbox_dir": tmp_path, "secret_key": "x" * 32}
    assert make_sender(load_settings(mail_backend="outbox", **common)).name == "outbox"
    smtp = make_sender(
        load_settings(mail_backend="smtp", smtp_url="smtp://127.0.0.1:1025", **common)
    )
    assert smtp.name == "smtp"
    sendgrid = make_sender(
        load_settings(
            mail_backend="sendgrid",
            sendgrid_api_key="SG.k",
            sendgrid_api_host="http://127.0.0.1:9",
            **common,
        )
    )
    assert sendgrid.name == "sendgrid"
    assert (
        isinstance(sendgrid, SendGridSender) and sendgrid.url == "http://127.0.0.1:9/v3/mail/send"
    )
