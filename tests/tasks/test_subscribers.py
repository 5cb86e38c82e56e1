from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from config.runtime import Runtime
from db.models import Subscriber, SubscriberStatus, utcnow
from delivery.smtp import SmtpSender
from subscribers.links import read_confirm_token
from subscribers.service import ConsentInfo, add_subscriber, suppress
from subscribers.signup import add_by_admin, request_subscription
from tasks.subscribers import send_confirmation, sweep_confirmations
from tests.support.mail import link, messages
from tests.support.smtp_server import SmtpServer


def _pending(runtime: Runtime, email: str) -> int:
    """A pending person whose confirmation was asked for (as `subscribers add` does)."""
    with runtime.db.session() as session:
        person, due = add_by_admin(session, runtime.site, email, ["videos"], source="api")
        assert due == person.id
        return person.id


def test_the_confirmation_email_carries_a_link_for_this_person(runtime: Runtime) -> None:
    sid = _pending(runtime, "ola@example.org")
    assert send_confirmation(sid) is True
    [mail] = messages(runtime.settings.outbox_dir)
    assert mail["To"].addresses[0].addr_spec == "ola@example.org"
    assert mail["Subject"] == f"Confirm your subscription to {runtime.site.newsletter.name}"
    assert mail.get_body(("html",)) is not None
    url = link(mail, "/confirm/")
    assert url.startswith(f"{runtime.base_url}/confirm/")
    subscriber_id, prefix = read_confirm_token(runtime.settings.secret_key, url.rsplit("/", 1)[1])
    with runtime.db.session() as session:
        person = session.scalars(select(Subscriber)).one()
    assert subscriber_id == person.id and person.email_hash.startswith(prefix)


def test_no_confirmation_goes_to_someone_confirmed_or_suppressed_meanwhile(
    runtime: Runtime,
) -> None:
    confirmed = _pending(runtime, "pia@example.org")
    gone = _pending(runtime, "quin@example.org")
    with runtime.db.session() as session:
        person = session.get(Subscriber, confirmed)
        assert person is not None
        person.status = SubscriberStatus.confirmed
        left = session.get(Subscriber, gone)
        assert left is not None
        suppress(session, left.email_hash, "complained")
    assert send_confirmation(confirmed) is False
    assert send_confirmation(gone) is False
    assert send_confirmation(123456) is False
    assert messages(runtime.settings.outbox_dir) == []


def test_a_confirmation_queued_twice_is_mailed_once(runtime: Runtime) -> None:
    sid = _pending(runtime, "twice@example.org")
    assert send_confirmation(sid) is True
    assert send_confirmation(sid) is False
    assert len(messages(runtime.settings.outbox_dir)) == 1


def test_the_sweep_mails_a_confirmation_whose_task_was_never_queued(runtime: Runtime) -> None:
    """A web process killed after answering loses the queued id; the sweep finds the person."""
    asked = utcnow() - dt.timedelta(minutes=2)
    with runtime.db.session() as session:
        form = ConsentInfo("form", "1")
        request_subscription(session, runtime.site, "lost@example.org", [], form, now=asked)
        # Imported people were never asked for a confirmation: the sweep leaves them alone.
        add_subscriber(session, "imported@example.org", ["videos"], ConsentInfo("import", "1"))
    assert sweep_confirmations() == 1
    [mail] = messages(runtime.settings.outbox_dir)
    assert mail["To"].addresses[0].addr_spec == "lost@example.org"
    assert sweep_confirmations() == 0
    assert len(messages(runtime.settings.outbox_dir)) == 1


def _stored_non_ascii(runtime: Runtime) -> int:
    """A row stored before non-ASCII local parts were refused at sign-up."""
    with runtime.db.session() as session:
        return session.execute(
            insert(Subscriber)
            .values(
                email="jos\u00e9@example.org",
                email_hash="0" * 64,
                status=SubscriberStatus.pending,
                cadence="instant",
                created_at=utcnow(),
                confirmation_sent_at=utcnow(),
                soft_bounces=0,
            )
            .returning(Subscriber.id)
        ).scalar_one()


def test_a_stored_address_the_backend_cannot_take_fails_that_confirmation_only(
    runtime: Runtime,
) -> None:
    server = SmtpServer().start()  # no SMTPUTF8: it cannot take a non-ASCII mailbox
    try:
        runtime.__dict__["sender"] = SmtpSender(server.url())
        sid = _stored_non_ascii(runtime)
        assert send_confirmation(sid) is False
        assert server.recorder.envelopes == []
        other = _pending(runtime, "plain@example.org")
        assert send_confirmation(other) is True
        assert [rcpt for _, rcpt in server.recorder.envelopes] == [["plain@example.org"]]
    finally:
        server.stop()


def test_a_stored_non_ascii_address_gets_its_confirmation_from_the_outbox(
    runtime: Runtime,
) -> None:
    sid = _stored_non_ascii(runtime)  # the outbox writes RFC 6531 (UTF-8) messages
    assert send_confirmation(sid) is True
    [eml] = runtime.settings.outbox_dir.glob("*.eml")
    assert "To: jos\u00e9@example.org".encode() in eml.read_bytes()


def test_beat_sweeps_owed_confirmations_every_minute() -> None:
    from tasks.app import beat_schedule, celery_app

    entry = beat_schedule()["sweep-confirmations"]
    assert entry["task"] == "tasks.subscribers.sweep_confirmations"
    assert entry["schedule"] == dt.timedelta(minutes=1)
    assert entry["task"] in celery_app.tasks
