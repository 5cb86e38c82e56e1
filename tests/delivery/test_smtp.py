"""The SMTP backend against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import socket

import pytest

from delivery.message import Envelope, PermanentSendError, Recipient, TransientSendError
from delivery.smtp import SmtpSender, SmtpTarget
from tests.support.smtp_server import SmtpServer


def envelope() -> Envelope:
    return Envelope(
        subject="Notes",
        html="<p>Hello</p>",
        text="Hello",
        from_email="letters@steady-ground.example",
    )


def recipients(n: int) -> list[Recipient]:
    return [Recipient(email=f"r{i}@example.org") for i in range(n)]


def test_url_schemes_choose_plain_starttls_or_implicit_tls() -> None:
    assert SmtpTarget.parse("smtp://mailpit:1025").port == 1025
    starttls = SmtpTarget.parse("smtp+starttls://me%40x.example:p%2Fw@relay.example")
    assert (starttls.scheme, starttls.port) == ("smtp+starttls", 587)
    assert (starttls.username, starttls.password) == ("me@x.example", "p/w")
    assert SmtpTarget.parse("smtps://relay.example").port == 465
    with pytest.raises(ValueError, match="scheme"):
        SmtpTarget.parse("http://relay.example")


def test_one_connection_serves_a_whole_batch() -> None:
    server = SmtpServer().start()
    try:
        SmtpSender(server.url()).send_batch(envelope(), recipients(20))
        assert len(server.recorder.messages) == 20
        assert server.recorder.connections == 1
        assert [rcpt for _, rcpt in server.recorder.envelopes] == [
            [f"r{i}@example.org"] for i in range(20)
        ]
    finally:
        server.stop()


def test_login_uses_the_credentials_in_the_url() -> None:
    server = SmtpServer(username="relay-user", password="s3cret/pass").start()
    try:
        SmtpSender(server.url(userinfo="relay-user:s3cret%2Fpass@")).send_batch(
            envelope(), recipients(2)
        )
        assert len(server.recorder.messages) == 2
        assert server.recorder.logins == ["relay-user"]  # one login serves the whole batch
    finally:
        server.stop()


def test_starttls_is_required_when_the_url_asks_for_it() -> None:
    server = SmtpServer().start()  # offers no STARTTLS
    try:
        with pytest.raises(PermanentSendError, match="STARTTLS"):
            SmtpSender(server.url("smtp+starttls")).send_batch(envelope(), recipients(1))
        assert server.recorder.messages == []
    finally:
        server.stop()


def test_a_refused_address_fails_alone_and_the_rest_go_out() -> None:
    server = SmtpServer().start()
    server.recorder.refuse.add("r1@example.org")
    try:
        receipt = SmtpSender(server.url()).send_batch(envelope(), recipients(3))
        assert list(receipt.failed) == ["r1@example.org"]
        assert "550" in receipt.failed["r1@example.org"]
        assert len(server.recorder.messages) == 2
    finally:
        server.stop()


def test_an_unreachable_server_is_transient() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransientSendError, match="unavailable"):
        SmtpSender(f"smtp://127.0.0.1:{port}").send_batch(envelope(), recipients(1))


def test_a_non_ascii_address_goes_by_smtputf8_when_the_server_offers_it() -> None:
    server = SmtpServer(smtputf8=True).start()
    people = [Recipient(email="r0@example.org"), Recipient(email="josé@example.org")]
    try:
        receipt = SmtpSender(server.url()).send_batch(envelope(), people)
        assert receipt.failed == {} and receipt.not_sent == ()
        assert [rcpt for _, rcpt in server.recorder.envelopes] == [
            ["r0@example.org"],
            ["josé@example.org"],
        ]
        assert "josé@example.org" in str(server.recorder.messages[1]["To"])
    finally:
        server.stop()


def test_a_non_ascii_address_fails_alone_when_the_server_has_no_smtputf8() -> None:
    server = SmtpServer().start()
    people = [
        Recipient(email="r0@example.org"),
        Recipient(email="josé@example.org"),
        Recipient(email="r2@example.org"),
    ]
    try:
        receipt = SmtpSender(server.url()).send_batch(envelope(), people)
        assert list(receipt.failed) == ["josé@example.org"]
        assert "SMTPUTF8" in receipt.failed["josé@example.org"]
        assert receipt.not_sent == () and receipt.uncertain == {}
        assert [rcpt for _, rcpt in server.recorder.envelopes] == [
            ["r0@example.org"],
            ["r2@example.org"],
        ]
    finally:
        server.stop()


def test_a_copy_that_cannot_be_built_fails_alone_with_its_reason() -> None:
    server = SmtpServer().start()
    people = [
        Recipient(email="r0@example.org"),
        Recipient(email="r1@example.org", name="Line\nBreak"),
        Recipient(email="r2@example.org"),
    ]
    try:
        receipt = SmtpSender(server.url()).send_batch(envelope(), people)
        assert list(receipt.failed) == ["r1@example.org"]
        assert receipt.failed["r1@example.org"].startswith("SMTP: not sent:")
        assert len(server.recorder.messages) == 2
    finally:
        server.stop()
