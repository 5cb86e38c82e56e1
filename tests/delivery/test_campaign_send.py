"""Sending a campaign step by step: life cycle, failures, local send times, the sweeper.

These drive delivery/campaign_send.py directly (no Celery) on SQLite and
PostgreSQL, with the SendGrid backend talking to the fake SendGrid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

import pytest
from sqlalchemy import select

from campaigns.compose import CampaignError, create_campaign
from config.site import SiteConfig
from db.engine import Database
from db.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Subscriber,
    SubscriberStatus,
    utcnow,
)
from delivery import campaign_send, ledger
from delivery.message import BatchReceipt, Envelope, Recipient, TransientSendError
from delivery.personalize import LinkMaker
from delivery.sendgrid import SendGridSender
from subscribers.addresses import email_hash
from subscribers.service import suppress
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.seed import seed_addresses, seed_subscribers

KEY = "SG.campaign-send"
LINKS = LinkMaker(base_url="http://testserver", secret_key="test-secret-key-0123456789abcdef")


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


def new_campaign(db: Database, site: SiteConfig, **kwargs: object) -> int:
    kwargs.setdefault("intro", "A note from the editor.")
    with db.session() as session:
        return create_campaign(session, site, lists=["videos"], subject="Hello", **kwargs).id  # type: ignore[arg-type]


def started(db: Database, site: SiteConfig) -> int:
    campaign_id = new_campaign(db, site)
    campaign_send.start_campaign(db, site, campaign_id)
    return campaign_id


def fan_out(db: Database, site: SiteConfig, campaign_id: int) -> list[list[int]]:
    return list(campaign_send.fan_out(db, site, campaign_id))


def statuses(db: Database, campaign_id: int) -> dict[str, int]:
    with db.session() as session:
        return {k: v for k, v in ledger.counts_by_status(session, campaign_id).items() if v}


def campaign(db: Database, campaign_id: int) -> Campaign:
    with db.session() as session:
        found = session.get(Campaign, campaign_id)
        assert found is not None
        return found


def send(
    db: Database, site: SiteConfig, sender: SendGridSender, cid: int, ids: list[int], **kw: object
) -> campaign_send.BatchOutcome:
    return campaign_send.send_batch(db, site, sender, LINKS, cid, ids, **kw)  # type: ignore[arg-type]


def test_every_confirmed_unsuppressed_subscriber_gets_one_message(
    db: Database, site: SiteConfig, fake: FakeSendGrid, sender: SendGridSender
) -> None:
    seed_subscribers(db, 1500)
    seed_subscribers(db, 5, start=5000, status=SubscriberStatus.pending)
    with db.session() as session:
        suppress(session, email_hash("reader7@example.org"), "complained")
    cid = started(db, site)
    batches = fan_out(db, site, cid)
    # Slices are ranges of subscriber ids: the first 1,000 ids hold the suppressed one.
    assert [len(b) for b in batches] == [999, 500]
    for ids in batches:
        send(db, site, sender, cid, ids)
    assert campaign_send.finish_if_done(db, cid)
    got = fake.recipients()
    assert len(got) == len(set(got)) == 1499
    assert "reader7@example.org" not in got
    assert not any(
        e.startswith("reader50") and len(e) == len("reader5000@example.org") for e in got
    )
    assert statuses(db, cid) == {"sent": 1499}


def test_a_batch_sent_twice_goes_out_once(
    db: Database, site: SiteConfig, fake: FakeSendGrid, sender: SendGridSender
) -> None:
    seed_subscribers(db, 10)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    first = send(db, site, sender, cid, ids)
    second = send(db, site, sender, cid, ids)  # a redelivered task
    assert (first.sent, second.sent) == (10, 0)
    assert len(fake.recipients()) == 10


def test_a_row_whose_subscriber_is_gone_is_skipped(
    db: Database, site: SiteConfig, fake: FakeSendGrid, sender: SendGridSender
) -> None:
    # The ledger has no foreign keys: an erasure racing a fan-out can leave a row
    # whose subscriber_id names nobody. The send must skip it, not fail the batch.
    seed_subscribers(db, 3)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    with db.session() as session:
        gone = session.scalars(select(Subscriber).where(Subscriber.email == "reader1@example.org"))
        session.delete(gone.one())
    outcome = send(db, site, sender, cid, ids)
    assert (outcome.sent, outcome.skipped) == (2, 1)
    assert sorted(fake.recipients()) == ["reader0@example.org", "reader2@example.org"]


def test_pause_leaves_rows_queued_and_resume_sends_them(
    db: Database, site: SiteConfig, fake: FakeSendGrid, sender: SendGridSender
) -> None:
    seed_subscribers(db, 20)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    campaign_send.pause(db, cid)
    outcome = send(db, site, sender, cid, ids)
    assert outcome.error == "campaign is paused"
    assert statuses(db, cid) == {"queued": 20}
    assert fake.recipients() == []
    campaign_send.resume(db, cid)
    for batch in campaign_send.queued_batches(db, cid):
        send(db, site, sender, cid, batch)
    assert campaign_send.finish_if_done(db, cid)
    assert len(fake.recipients()) == 20


def test_cancel_skips_queued_rows_and_nothing_more_is_sent(
    db: Database, site: SiteConfig, fake: FakeSendGrid, sender: SendGridSender
) -> None:
    seed_subscribers(db, 20)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    assert campaign_send.cancel(db, cid) == 20
    send(db, site, sender, cid, ids)
    assert fake.recipients() == []
    assert statuses(db, cid) == {"skipped": 20}
    assert campaign(db, cid).status is CampaignStatus.cancelled
    with pytest.raises(CampaignError, match="cancelled"):
        campaign_send.resume(db, cid)


def test_a_400_fails_the_batch_with_the_providers_message(
    db: Database, site: SiteConfig, fake: FakeSendGrid, sender: SendGridSender
) -> None:
    seed_subscribers(db, 5)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    fake.set_faults(sequence=[400])
    outcome = send(db, site, sender, cid, ids)
    assert outcome.failed == 5 and outcome.error is not None and "SendGrid 400" in outcome.error
    with db.session() as session:
        errors = set(session.scalars(select(Delivery.error).where(Delivery.campaign_id == cid)))
    assert errors == {"SendGrid 400: injected 400"}
    assert campaign_send.finish_if_done(db, cid)  # failed rows are settled


def test_consecutive_failed_batches_pause_the_campaign(
    db: Database, site: SiteConfig, fake: FakeSendGrid, sender: SendGridSender
) -> None:
    seed_subscribers(db, 6)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    fake.set_faults(sequence=[403, 403])
    send(db, site, sender, cid, ids[:2], pause_after_failures=2)
    assert campaign(db, cid).status is CampaignStatus.sending
    send(db, site, sender, cid, ids[2:4], pause_after_failures=2)
    paused = campaign(db, cid)
    assert paused.status is CampaignStatus.paused
    assert paused.status_reason is not None and "2 failed batches" in paused.status_reason
    assert "SendGrid 403" in paused.status_reason
    assert statuses(db, cid) == {"failed": 4, "queued": 2}


def test_a_successful_batch_resets_the_failure_count(
    db: Database, site: SiteConfig, fake: FakeSendGrid, sender: SendGridSender
) -> None:
    seed_subscribers(db, 6)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    fake.set_faults(sequence=[403])
    send(db, site, sender, cid, ids[:2], pause_after_failures=2)
    send(db, site, sender, cid, ids[2:4], pause_after_failures=2)
    assert campaign(db, cid).consecutive_failures == 0


def test_a_transient_error_puts_rows_back_in_the_queue(
    db: Database, site: SiteConfig, fake: FakeSendGrid, sender: SendGridSender
) -> None:
    seed_subscribers(db, 5)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    fake.set_faults(sequence=[429], reset_after=3)
    with pytest.raises(TransientSendError) as caught:
        send(db, site, sender, cid, ids)
    assert caught.value.retry_after is not None
    assert statuses(db, cid) == {"queued": 5}
    assert send(db, site, sender, cid, ids).sent == 5
    assert len(fake.recipients()) == 5


def test_a_timeout_marks_the_batch_uncertain_and_it_is_not_resent(
    db: Database, site: SiteConfig, fake: FakeSendGrid
) -> None:
    import httpx

    seed_subscribers(db, 3)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    fake.set_faults(sequence=["timeout"], hang_seconds=1.0)
    impatient = SendGridSender(KEY, fake.url, timeout=httpx.Timeout(0.3, connect=0.3))
    assert send(db, site, impatient, cid, ids).uncertain == 3  # type: ignore[arg-type]
    assert send(db, site, impatient, cid, ids).sent == 0  # type: ignore[arg-type]
    assert statuses(db, cid) == {"uncertain": 3}


def test_throttle_is_asked_for_the_batch_size_before_the_claim(
    db: Database, site: SiteConfig, sender: SendGridSender
) -> None:
    seed_subscribers(db, 4)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    asked: list[tuple[int, dict[str, int]]] = []
    send(db, site, sender, cid, ids, throttle=lambda n: asked.append((n, statuses(db, cid))))
    assert asked == [(4, {"queued": 4})]


def test_local_send_time_holds_rows_until_their_moment(
    db: Database, site: SiteConfig, fake: FakeSendGrid, sender: SendGridSender
) -> None:
    # 10:00 UTC on 1 December: 09:00 has passed in London (-> tomorrow), is 6 hours away
    # in Denver. Next year's December, so that the fan-out (which reads the real clock)
    # finds every moment still ahead, and both zones keep winter time.
    year = utcnow().year + 1
    start = dt.datetime(year, 12, 1, 10, 0, tzinfo=dt.UTC)
    seed_subscribers(db, 2, timezone="Europe/London")
    seed_subscribers(db, 3, start=10, timezone="America/Denver")
    cid = new_campaign(db, site)
    campaign_send.schedule(db, cid, send_at=start, local_time="9:00")
    campaign_send.start_campaign(db, site, cid)
    assert fan_out(db, site, cid) == []  # nobody is due yet
    with db.session() as session:
        waits = sorted(
            set(session.scalars(select(Delivery.not_before).where(Delivery.campaign_id == cid)))
        )
    assert waits == [
        dt.datetime(year, 12, 1, 16, 0, tzinfo=dt.UTC),  # 09:00 in Denver (UTC-7)
        dt.datetime(year, 12, 2, 9, 0, tzinfo=dt.UTC),  # 09:00 tomorrow in London
    ]
    early = campaign_send.sweep(db, now=dt.datetime(year, 12, 1, 15, 59, tzinfo=dt.UTC))
    assert early.due == []
    due = campaign_send.sweep(db, now=dt.datetime(year, 12, 1, 16, 0, tzinfo=dt.UTC))
    [(due_campaign, ids)] = due.due
    assert due_campaign == cid and len(ids) == 3
    send(db, site, sender, cid, ids)
    assert sorted(fake.recipients()) == [f"reader{n}@example.org" for n in (10, 11, 12)]
    assert campaign_send.progress(db, cid).waiting == 2


def test_a_scheduled_campaign_starts_when_due(db: Database, site: SiteConfig) -> None:
    at = utcnow() + dt.timedelta(hours=2)
    cid = new_campaign(db, site)
    campaign_send.schedule(db, cid, send_at=at, local_time=None)
    assert campaign(db, cid).status is CampaignStatus.scheduled
    assert campaign_send.sweep(db, now=at - dt.timedelta(minutes=1)).start == []
    assert campaign_send.sweep(db, now=at).start == [cid]


def test_the_sweeper_rescues_rows_whose_fan_out_never_enqueued_them(
    db: Database, site: SiteConfig
) -> None:
    seed_subscribers(db, 5)
    cid = started(db, site)
    fan_out(db, site, cid)  # rows committed; the tasks were never enqueued (a crash)
    assert campaign_send.sweep(db).rescue == []  # recent activity: not stalled yet
    later = utcnow() + campaign_send.STALLED_AFTER + dt.timedelta(minutes=1)
    assert campaign_send.sweep(db, now=later).rescue == [cid]
    assert [len(b) for b in campaign_send.queued_batches(db, cid)] == [5]


def test_rows_stuck_in_sending_become_uncertain(db: Database, site: SiteConfig) -> None:
    seed_subscribers(db, 3)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    with db.session() as session:
        ledger.claim(session, ids, "lost-worker")
    later = utcnow() + campaign_send.LOST_AFTER + dt.timedelta(minutes=1)
    assert campaign_send.sweep(db, now=later).lost == 3
    assert statuses(db, cid) == {"uncertain": 3}


def test_only_a_sending_campaign_can_pause(db: Database, site: SiteConfig) -> None:
    cid = new_campaign(db, site)
    with pytest.raises(CampaignError, match="only a sending campaign can pause"):
        campaign_send.pause(db, cid)


def test_next_local_time_is_today_or_tomorrow_in_the_zone() -> None:
    from zoneinfo import ZoneInfo

    start = dt.datetime(2026, 3, 8, 8, 0, tzinfo=dt.UTC)  # the US spring-forward day
    denver = ZoneInfo("America/Denver")
    assert ledger.next_local_time("09:00", denver, start) == dt.datetime(
        2026, 3, 8, 15, 0, tzinfo=dt.UTC
    )
    tokyo = ZoneInfo("Asia/Tokyo")
    assert ledger.next_local_time("09:00", tokyo, start) == dt.datetime(
        2026, 3, 9, 0, 0, tzinfo=dt.UTC
    )
    assert ledger.parse_local_time("9:05") == "09:05"
    with pytest.raises(ValueError, match="HH:MM"):
        ledger.parse_local_time("25:00")


def test_an_smtp_refusal_fails_one_row_and_the_rest_are_sent(
    db: Database, site: SiteConfig
) -> None:
    from delivery.smtp import SmtpSender
    from tests.support.smtp_server import SmtpServer

    seed_subscribers(db, 3)
    server = SmtpServer().start()
    server.recorder.refuse.add("reader1@example.org")
    try:
        cid = started(db, site)
        [ids] = fan_out(db, site, cid)
        outcome = send(db, site, SmtpSender(server.url()), cid, ids)  # type: ignore[arg-type]
    finally:
        server.stop()
    assert (outcome.sent, outcome.failed) == (2, 1)
    assert statuses(db, cid) == {"sent": 2, "failed": 1}
    with db.session() as session:
        [error] = session.scalars(
            select(Delivery.error).where(Delivery.status == DeliveryStatus.failed)
        )
    assert error is not None and "550" in error


def _errors(db: Database, cid: int) -> dict[str, tuple[str, str | None]]:
    with db.session() as session:
        rows = session.execute(
            select(Subscriber.email, Delivery.status, Delivery.error)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.campaign_id == cid)
        ).all()
    return {email: (status.value, error) for email, status, error in rows}


def test_an_address_the_backend_cannot_take_fails_alone_and_the_rest_are_sent_once(
    db: Database, site: SiteConfig, fake: FakeSendGrid, sender: SendGridSender
) -> None:
    seed_subscribers(db, 40)
    seed_addresses(db, [("josé@example.org", None), ("plain@example.org", "Line\nBreak")])
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    outcome = send(db, site, sender, cid, ids)
    assert (outcome.sent, outcome.failed) == (41, 1)
    rows = _errors(db, cid)
    assert rows["josé@example.org"][0] == "failed"
    assert "non-ASCII" in (rows["josé@example.org"][1] or "")
    assert statuses(db, cid) == {"sent": 41, "failed": 1}  # none left in `sending`
    assert sorted(fake.recipients()) == sorted(e for e, (s, _) in rows.items() if s == "sent")


def test_an_smtp_batch_with_an_unwritable_copy_records_every_row(
    db: Database, site: SiteConfig
) -> None:
    from delivery.smtp import SmtpSender
    from tests.support.smtp_server import SmtpServer

    seed_subscribers(db, 20)
    seed_addresses(db, [("josé@example.org", None), ("plain@example.org", "Line\nBreak")])
    server = SmtpServer().start()  # no SMTPUTF8
    try:
        cid = started(db, site)
        [ids] = fan_out(db, site, cid)
        send(db, site, SmtpSender(server.url()), cid, ids)  # type: ignore[arg-type]
    finally:
        server.stop()
    rows = _errors(db, cid)
    assert statuses(db, cid) == {"sent": 20, "failed": 2}
    assert "SMTPUTF8" in (rows["josé@example.org"][1] or "")
    assert "CR or LF" in (rows["plain@example.org"][1] or "")
    assert sorted(r[0] for _, r in server.recorder.envelopes) == sorted(
        e for e, (s, _) in rows.items() if s == "sent"
    )
    assert campaign_send.finish_if_done(db, cid)


class _BrokenSender:
    """A backend with a bug: it raises something that is not a SendError."""

    name = "broken"

    def send_batch(self, envelope: Envelope, recipients: Sequence[Recipient]) -> BatchReceipt:
        raise RuntimeError("a bug in the backend")

    def close(self) -> None:
        pass


def test_a_sender_that_raises_leaves_its_rows_uncertain_with_the_reason_not_sending(
    db: Database, site: SiteConfig
) -> None:
    seed_subscribers(db, 3)
    cid = started(db, site)
    [ids] = fan_out(db, site, cid)
    outcome = send(db, site, _BrokenSender(), cid, ids)  # type: ignore[arg-type]
    assert outcome.uncertain == 3
    assert statuses(db, cid) == {"uncertain": 3}
    assert {e for _, e in _errors(db, cid).values()} == {
        "sender raised RuntimeError: a bug in the backend"
    }
