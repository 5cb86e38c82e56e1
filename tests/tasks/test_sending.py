"""Acceptance: campaigns sent by a real Celery worker on real Redis to the fake SendGrid.

Every confirmed subscriber on the audience gets exactly one message, the
suppressed and unconfirmed none; 429 and 5xx are retried without loss or
duplicates; a 400 fails its batch with SendGrid's message; pause, resume and
cancel behave while a worker is sending.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import Connection, create_engine, select, text

from campaigns.compose import create_campaign
from config.runtime import Runtime
from config.settings import Settings
from db.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, SubscriberStatus
from delivery import campaign_send
from subscribers.addresses import email_hash
from subscribers.service import suppress
from tasks.app import make_celery
from tests.support.fake_sendgrid import FakeSendGrid
from tests.support.processes import settings_env, start_worker, stop, wait_for
from tests.support.seed import seed_subscribers

KEY = "SG.worker-key"


@dataclass
class Rig:
    runtime: Runtime
    fake: FakeSendGrid
    broker: Celery
    log: Path

    def send(self, campaign_id: int) -> None:
        self.broker.send_task("tasks.sending.send_campaign", args=[campaign_id])

    def campaign(self, campaign_id: int) -> Campaign:
        with self.runtime.db.session() as session:
            found = session.get(Campaign, campaign_id)
            assert found is not None
            return found

    def started(self, campaign_id: int) -> bool:
        """The whole audience is in the ledger and at least one batch went out."""
        return self.campaign(campaign_id).fanout_done and self.counts(campaign_id)["sent"] > 0

    def counts(self, campaign_id: int) -> dict[str, int]:
        return campaign_send.progress(self.runtime.db, campaign_id).counts

    def wait(self, condition: object, timeout: float, what: str) -> None:
        try:
            wait_for(condition, timeout, what)  # type: ignore[arg-type]
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}\n--- worker log ---\n{self.log.read_text()[-4000:]}"
            ) from None


def _rig(
    runtime: Runtime, settings: Settings, redis_url: str, tmp_path: Path, concurrency: int
) -> Iterator[Rig]:
    fake = FakeSendGrid(api_key=KEY).start()
    worker_settings = settings.model_copy(
        update={"mail_backend": "sendgrid", "sendgrid_api_key": KEY, "sendgrid_api_host": fake.url}
    )
    env = settings_env(worker_settings, redis_url)
    env["PAUSE_AFTER_FAILURES"] = "0"
    log = tmp_path / "worker.log"
    process = start_worker(env, log, concurrency=concurrency)
    broker = make_celery(settings.model_copy(update={"redis_url": redis_url}))
    yield Rig(runtime, fake, broker, log)
    stop(process)
    fake.stop()


@pytest.fixture
def rig(runtime: Runtime, settings: Settings, redis_url: str, tmp_path: Path) -> Iterator[Rig]:
    yield from _rig(runtime, settings, redis_url, tmp_path, concurrency=2)


@pytest.fixture
def serial_rig(
    runtime: Runtime, settings: Settings, redis_url: str, tmp_path: Path
) -> Iterator[Rig]:
    """One worker process: the fan-out finishes before the first batch is sent, so
    pausing after the first batch always leaves queued rows behind (no timing luck)."""
    yield from _rig(runtime, settings, redis_url, tmp_path, concurrency=1)


def new_campaign(runtime: Runtime) -> int:
    with runtime.db.session() as session:
        return create_campaign(
            session,
            runtime.site,
            lists=["videos"],
            subject="Hello",
            intro="A note from the editor.",
        ).id


def test_every_confirmed_subscriber_gets_exactly_one_message_through_429_and_5xx(rig: Rig) -> None:
    db = rig.runtime.db
    seed_subscribers(db, 2500)
    seed_subscribers(db, 5, start=9000, status=SubscriberStatus.pending)
    with db.session() as session:
        suppress(session, email_hash("reader42@example.org"), "bounced")
    rig.fake.set_faults(sequence=[429, 503, 500, 429], reset_after=1)
    campaign_id = new_campaign(rig.runtime)
    rig.send(campaign_id)
    rig.wait(lambda: rig.campaign(campaign_id).status is CampaignStatus.sent, 90, "campaign sent")
    got = Counter(rig.fake.recipients())
    expected = {f"reader{n}@example.org" for n in range(2500)} - {"reader42@example.org"}
    assert set(got) == expected
    assert max(got.values()) == 1
    assert (rig.fake.counts["429"], rig.fake.counts["503"], rig.fake.counts["500"]) == (2, 1, 1)
    assert rig.counts(campaign_id)["sent"] == 2499


def test_a_400_fails_its_batch_with_the_providers_message(rig: Rig) -> None:
    db = rig.runtime.db
    seed_subscribers(db, 1500)
    rig.fake.set_faults(sequence=[400])
    campaign_id = new_campaign(rig.runtime)
    rig.send(campaign_id)
    rig.wait(
        lambda: rig.campaign(campaign_id).status is CampaignStatus.sent, 60, "campaign settled"
    )
    counts = rig.counts(campaign_id)
    assert counts["failed"] + counts["sent"] == 1500 and counts["failed"] in (1000, 500)
    with db.session() as session:
        errors = set(
            session.scalars(
                select(Delivery.error).where(
                    Delivery.campaign_id == campaign_id, Delivery.status == DeliveryStatus.failed
                )
            )
        )
    assert errors == {"SendGrid 400: injected 400"}
    assert len(rig.fake.recipients()) == counts["sent"] == len(set(rig.fake.recipients()))


def test_pause_stops_a_sending_campaign_and_resume_finishes_it_exactly_once(
    serial_rig: Rig,
) -> None:
    rig = serial_rig
    db = rig.runtime.db
    seed_subscribers(db, 6000)
    rig.fake.set_faults(latency=0.5)
    campaign_id = new_campaign(rig.runtime)
    rig.send(campaign_id)
    rig.wait(lambda: rig.started(campaign_id), 60, "fan-out done and a batch sent")
    campaign_send.pause(db, campaign_id)
    rig.wait(lambda: rig.counts(campaign_id)["sending"] == 0, 30, "in-flight batches done")
    paused = rig.counts(campaign_id)
    assert paused["queued"] > 0
    assert rig.campaign(campaign_id).status is CampaignStatus.paused
    assert len(rig.fake.recipients()) == paused["sent"]

    campaign_send.resume(db, campaign_id)
    rig.send(campaign_id)
    rig.wait(lambda: rig.campaign(campaign_id).status is CampaignStatus.sent, 90, "campaign sent")
    got = rig.fake.recipients()
    assert len(got) == len(set(got)) == 6000


def test_cancel_stops_for_good(serial_rig: Rig) -> None:
    rig = serial_rig
    db = rig.runtime.db
    seed_subscribers(db, 6000)
    rig.fake.set_faults(latency=0.5)
    campaign_id = new_campaign(rig.runtime)
    rig.send(campaign_id)
    rig.wait(lambda: rig.started(campaign_id), 60, "fan-out done and a batch sent")
    campaign_send.cancel(db, campaign_id)
    rig.wait(lambda: rig.counts(campaign_id)["sending"] == 0, 30, "in-flight batches done")
    counts = rig.counts(campaign_id)
    # Rows already queued are skipped; the fan-out stops, so later subscribers get no row.
    assert counts["skipped"] > 0 and counts["queued"] == 0, counts
    assert counts["sent"] + counts["skipped"] == sum(counts.values()) <= 6000
    time.sleep(1.5)  # longer than a batch takes: nothing more may go out
    assert len(rig.fake.recipients()) == rig.counts(campaign_id)["sent"] == counts["sent"] < 6000
    assert rig.campaign(campaign_id).status is CampaignStatus.cancelled


# -- a database connection lost mid-task ---------------------------------------------


@contextmanager
def held_lock(url: str, statement: str) -> Iterator[Connection]:
    """A transaction holding the lock `statement` takes, until the block ends."""
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text(statement))
        try:
            yield conn
        finally:
            conn.rollback()
    engine.dispose()


def terminate_waiting(url: str, query_start: str, timeout: float = 30) -> list[int]:
    """Wait for a backend blocked on a lock while running a statement that starts with
    `query_start`, then terminate every such backend, as an operator or a failover would."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    waiting = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE :q"
    )
    try:
        with engine.connect() as conn:
            try:
                wait_for(
                    lambda: bool(conn.execute(waiting, {"q": f"{query_start}%"}).all()),
                    timeout,
                    f"a backend waiting in {query_start}",
                )
            except AssertionError as exc:
                activity = conn.execute(
                    text(
                        "SELECT pid, state, wait_event_type, left(query, 80) "
                        "FROM pg_stat_activity WHERE datname = current_database()"
                    )
                ).all()
                raise AssertionError(f"{exc}; backends: {activity}") from None
            pids = list(conn.scalars(waiting, {"q": f"{query_start}%"}))
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            return pids
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_fan_out_is_retried_when_its_database_connection_is_terminated(rig: Rig) -> None:
    db = rig.runtime.db
    url = db.engine.url.render_as_string(hide_password=False)
    seed_subscribers(db, 3000)
    campaign_id = new_campaign(rig.runtime)
    with held_lock(url, "LOCK TABLE deliveries IN SHARE MODE"):
        rig.send(campaign_id)
        assert terminate_waiting(url, "INSERT INTO deliveries")
    # Retried after a back-off of seconds, not rescued by the sweeper fifteen minutes on.
    rig.wait(lambda: rig.campaign(campaign_id).status is CampaignStatus.sent, 60, "campaign sent")
    got = rig.fake.recipients()
    assert len(got) == len(set(got)) == 3000
    assert "OperationalError" in rig.log.read_text()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_batch_is_retried_when_its_database_connection_is_terminated(rig: Rig) -> None:
    db = rig.runtime.db
    url = db.engine.url.render_as_string(hide_password=False)
    seed_subscribers(db, 2000)
    campaign_id = new_campaign(rig.runtime)
    # The fan-out runs here; the worker only sends the batches.
    campaign_send.start_campaign(db, rig.runtime.site, campaign_id)
    batches = list(campaign_send.fan_out(db, rig.runtime.site, campaign_id))
    with held_lock(url, f"SELECT id FROM deliveries WHERE campaign_id = {campaign_id} FOR UPDATE"):
        for ids in batches:
            rig.broker.send_task("tasks.sending.send_batch", args=[campaign_id, ids])
        assert terminate_waiting(url, "UPDATE deliveries")
    rig.wait(lambda: rig.campaign(campaign_id).status is CampaignStatus.sent, 60, "campaign sent")
    got = rig.fake.recipients()
    assert len(got) == len(set(got)) == 2000
    assert rig.counts(campaign_id)["sent"] == 2000


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_an_outcome_whose_connection_is_terminated_is_written_again(rig: Rig) -> None:
    db = rig.runtime.db
    url = db.engine.url.render_as_string(hide_password=False)
    seed_subscribers(db, 500)
    campaign_id = new_campaign(rig.runtime)
    campaign_send.start_campaign(db, rig.runtime.site, campaign_id)
    [ids] = list(campaign_send.fan_out(db, rig.runtime.site, campaign_id))
    rig.fake.set_faults(latency=2)  # time to take the rows' locks while SendGrid answers
    rig.broker.send_task("tasks.sending.send_batch", args=[campaign_id, ids])
    rig.wait(lambda: rig.fake.in_flight() == 1, 30, "the batch at SendGrid")
    # The claim is committed; the worker's write of SendGrid's answer waits, then dies.
    with held_lock(url, f"SELECT id FROM deliveries WHERE campaign_id = {campaign_id} FOR UPDATE"):
        assert terminate_waiting(url, "UPDATE deliveries")
    rig.wait(lambda: rig.campaign(campaign_id).status is CampaignStatus.sent, 60, "campaign sent")
    assert rig.counts(campaign_id)["sent"] == 500
    got = rig.fake.recipients()
    assert len(got) == len(set(got)) == 500
