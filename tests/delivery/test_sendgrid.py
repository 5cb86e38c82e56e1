"""The SendGrid backend against the fake SendGrid: request shape and error mapping."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from config.settings import load_settings
from delivery.backends import make_sender
from delivery.message import (
    Envelope,
    PermanentSendError,
    Recipient,
    TransientSendError,
    UncertainSendError,
)
from delivery.personalize import list_unsubscribe_headers
from delivery.placeholders import placeholder
from delivery.sendgrid import SendGridSender, request_body
from tests.support.fake_sendgrid import FakeSendGrid

KEY = "SG.test-key"


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    server = FakeSendGrid(api_key=KEY).start()
    yield server
    server.stop()


@pytest.fixture
def sender(fake: FakeSendGrid) -> Iterator[SendGridSender]:
    s = SendGridSender(KEY, fake.url)
    yield s
    s.close()


def envelope() -> Envelope:
    return Envelope(
        subject="New video",
        html=f"<a href='{placeholder('unsubscribe_url')}'>Leave</a>",
        text=f"Leave: {placeholder('unsubscribe_url')}",
        from_email="letters@steady-ground.example",
        from_name="Steady Ground",
        reply_to="hello@steady-ground.example",
        categories=("campaign", "campaign-3"),
        custom_args={"campaign_id": "3"},
    )


def recipient(n: int) -> Recipient:
    url = f"https://steady-ground.example/u/{n}"
    return Recipient(
        email=f"r{n}@example.org",
        name=f"Reader {n}",
        substitutions={"unsubscribe_url": url},
        headers=list_unsubscribe_headers(url),
        custom_args={"campaign_id": "3", "delivery_id": str(n)},
    )


def test_one_request_carries_one_personalization_per_recipient(
    fake: FakeSendGrid, sender: SendGridSender
) -> None:
    receipt = sender.send_batch(envelope(), [recipient(n) for n in range(3)])
    assert fake.counts["accepted_requests"] == 1
    assert receipt.message_id is not None and receipt.message_id.startswith("fake-")
    first = fake.accepted()[0]
    assert first.personalization["to"] == [{"email": "r0@example.org", "name": "Reader 0"}]
    assert first.personalization["substitutions"] == {
        "[%unsubscribe_url%]": "https://steady-ground.example/u/0"
    }
    assert first.custom_args == {"campaign_id": "3", "delivery_id": "0"}
    assert first.request["categories"] == ["campaign", "campaign-3"]
    assert first.request["reply_to"] == {"email": "hello@steady-ground.example"}
    assert [c["type"] for c in first.request["content"]] == ["text/plain", "text/html"]


def test_text_outside_ascii_arrives_as_written(fake: FakeSendGrid, sender: SendGridSender) -> None:
    base = envelope()
    letter = Envelope(
        subject="Ça va — café ☕",
        html=f"<p>Zoë\u2019s notes</p>{base.html}",
        text=f"Zoë\u2019s notes {base.text}",
        from_email=base.from_email,
        from_name="Grüße Weekly",
    )
    sender.send_batch(letter, [recipient(1)])
    rendered = fake.accepted()[0].rendered()
    assert rendered["subject"] == "Ça va — café ☕"
    assert rendered["html"].startswith("<p>Zoë\u2019s notes</p>")
    assert rendered["text"].startswith("Zoë\u2019s notes Leave: https://steady-ground.example/u/1")
    assert fake.accepted()[0].request["from"]["name"] == "Grüße Weekly"


def test_a_429_is_transient_and_carries_the_reset_time(
    fake: FakeSendGrid, sender: SendGridSender
) -> None:
    fake.set_faults(sequence=[429], reset_after=5)
    with pytest.raises(TransientSendError) as caught:
        sender.send_batch(envelope(), [recipient(1)])
    assert caught.value.retry_after is not None and 3 <= caught.value.retry_after <= 6
    assert fake.recipients() == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_transient(fake: FakeSendGrid, sender: SendGridSender, status: int) -> None:
    fake.set_faults(sequence=[status])
    with pytest.raises(TransientSendError, match=str(status)):
        sender.send_batch(envelope(), [recipient(1)])
    sender.send_batch(envelope(), [recipient(1)])  # the next call goes through
    assert fake.recipients() == ["r1@example.org"]


def test_a_400_is_permanent_with_the_providers_message(
    fake: FakeSendGrid, sender: SendGridSender
) -> None:
    duplicate = [recipient(1), recipient(1)]
    with pytest.raises(PermanentSendError) as caught:
        sender.send_batch(envelope(), duplicate)
    assert "SendGrid 400" in str(caught.value)
    assert "duplicate instance of [r1@example.org]" in str(caught.value)


@pytest.mark.parametrize("status", [400, 403, 413])
def test_refusals_are_never_retried(
    fake: FakeSendGrid, sender: SendGridSender, status: int
) -> None:
    fake.set_faults(sequence=[status])
    with pytest.raises(PermanentSendError, match=f"SendGrid {status}"):
        sender.send_batch(envelope(), [recipient(1)])


def test_a_wrong_key_is_permanent(fake: FakeSendGrid) -> None:
    sender = SendGridSender("SG.wrong", fake.url)
    with pytest.raises(PermanentSendError, match=r"401.*authorization grant"):
        sender.send_batch(envelope(), [recipient(1)])


def test_a_timeout_is_uncertain_because_the_batch_may_have_gone_out(fake: FakeSendGrid) -> None:
    fake.set_faults(sequence=["timeout"], hang_seconds=1.5)
    sender = SendGridSender(KEY, fake.url, timeout=httpx.Timeout(0.5, connect=0.5))
    with pytest.raises(UncertainSendError):
        sender.send_batch(envelope(), [recipient(1)])
    assert fake.in_flight() == 1  # still hanging after the sender gave up
    deadline = time.monotonic() + 5
    while fake.in_flight() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fake.recipients() == ["r1@example.org"]  # it did go out: hence never re-send blindly


def test_the_timeout_setting_bounds_the_wait_for_sendgrid(fake: FakeSendGrid) -> None:
    fake.set_faults(sequence=["timeout"], hang_seconds=1.5)
    settings = load_settings(
        mail_backend="sendgrid",
        sendgrid_api_key=KEY,
        sendgrid_api_host=fake.url,
        sendgrid_timeout_seconds=0.3,
    )
    sender = make_sender(settings)
    started = time.monotonic()
    with pytest.raises(UncertainSendError):
        sender.send_batch(envelope(), [recipient(1)])
    assert time.monotonic() - started < 1.2  # gave up at the setting, not at the fake's answer
    sender.close()


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = SendGridSender(KEY, f"http://127.0.0.1:{port}")
    with pytest.raises(TransientSendError, match="unreachable"):
        sender.send_batch(envelope(), [recipient(1)])


def test_an_empty_batch_makes_no_request(fake: FakeSendGrid, sender: SendGridSender) -> None:
    sender.send_batch(envelope(), [])
    assert fake.counts["requests"] == 0


def test_the_fake_refuses_more_than_1000_personalizations(fake: FakeSendGrid) -> None:
    body = request_body(envelope(), [recipient(n) for n in range(1001)])
    response = httpx.post(
        f"{fake.url}/v3/mail/send", json=body, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "personalizations"


def test_the_fake_requires_from_subject_and_content(fake: FakeSendGrid) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    base = request_body(envelope(), [recipient(1)])
    for missing in ("from", "subject", "content"):
        body = {k: v for k, v in base.items() if k != missing}
        response = httpx.post(f"{fake.url}/v3/mail/send", json=body, headers=headers)
        assert response.status_code == 400, missing
        assert response.json()["errors"][0]["field"] == missing


def test_the_fake_answers_a_body_that_is_not_json_with_a_400(fake: FakeSendGrid) -> None:
    response = httpx.post(
        f"{fake.url}/v3/mail/send",
        content=b'{"personalizations": [',
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "Invalid JSON body"
    assert fake.recipients() == []


def test_a_non_ascii_address_is_refused_alone_and_the_rest_go_in_one_request(
    fake: FakeSendGrid, sender: SendGridSender
) -> None:
    people = [recipient(1), Recipient(email="josé@example.org"), recipient(2)]
    receipt = sender.send_batch(envelope(), people)
    assert fake.counts["accepted_requests"] == 1
    assert fake.recipients() == ["r1@example.org", "r2@example.org"]
    assert list(receipt.failed) == ["josé@example.org"]
    assert "non-ASCII" in receipt.failed["josé@example.org"]


def test_a_batch_of_only_refused_addresses_makes_no_request(
    fake: FakeSendGrid, sender: SendGridSender
) -> None:
    receipt = sender.send_batch(envelope(), [Recipient(email="zoë@example.org")])
    assert fake.counts["accepted_requests"] == 0
    assert list(receipt.failed) == ["zoë@example.org"]


def test_the_fake_refuses_a_whole_request_for_one_non_ascii_address(fake: FakeSendGrid) -> None:
    body = request_body(envelope(), [recipient(1), Recipient(email="josé@example.org")])
    response = httpx.post(
        f"{fake.url}/v3/mail/send", json=body, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status_code == 400
    assert fake.recipients() == []
