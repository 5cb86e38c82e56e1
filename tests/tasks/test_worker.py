"""A campaign sent through a real Celery worker on the real Redis server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaigns.compose import create_campaign
from config.runtime import Runtime
from config.settings import Settings
from db.models import CampaignStatus, Delivery, DeliveryStatus
from subscribers.service import ConsentInfo, add_subscriber
from tasks.app import make_celery
from tests.support.processes import settings_env, start_worker, stop, wait_for


@pytest.fixture
def worker(settings: Settings, redis_url: str, tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "worker.log"
    process = start_worker(settings_env(settings, redis_url), log)
    yield log
    stop(process)


def test_a_real_worker_sends_each_confirmed_subscriber_one_email(
    runtime: Runtime, settings: Settings, redis_url: str, worker: Path
) -> None:
    consent = ConsentInfo(source="api", text_version="1")
    with runtime.db.session() as session:
        for n in range(25):
            add_subscriber(session, f"reader{n}@example.org", ["videos"], consent, confirmed=True)
        add_subscriber(session, "pending@example.org", ["videos"], consent)
        campaign = create_campaign(
            session,
            runtime.site,
            lists=["videos"],
            subject="Hello",
            intro="A note from the editor.",
        )
        campaign_id = campaign.id

    broker = make_celery(settings.model_copy(update={"redis_url": redis_url}))
    broker.send_task("tasks.sending.send_campaign", args=[campaign_id])

    def sent() -> bool:
        with runtime.db.session() as session:
            return (
                session.scalar(
                    select(func.count()).where(
                        Delivery.campaign_id == campaign_id,
                        Delivery.status == DeliveryStatus.sent,
                    )
                )
                == 25
            )

    try:
        wait_for(sent, timeout=60, what="25 sent deliveries")
    except AssertionError:
        raise AssertionError(worker.read_text()[-3000:]) from None
    wait_for(lambda: _status(runtime, campaign_id) is CampaignStatus.sent, 30, "campaign sent")
    emails = sorted(p.name for p in settings.outbox_dir.glob("*.eml"))
    assert len(emails) == 25
    assert not any("pending" in name for name in emails)


def _status(runtime: Runtime, campaign_id: int) -> CampaignStatus:
    from db.models import Campaign

    with runtime.db.session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign.status


def test_a_real_worker_imports_an_uploaded_file_and_ends_its_job(
    runtime: Runtime, settings: Settings, redis_url: str, worker: Path
) -> None:
    """The web process only saves the file and queues the job; the worker imports it."""
    from db.models import ImportJob, ImportJobStatus, Subscriber
    from subscribers.import_jobs import create_job, upload_path

    with runtime.db.session() as session:
        job = create_job(
            session, actor="owner@example.org", filename="people.csv", size_bytes=0,
            lists=["videos"], confirmed=True,
        )  # fmt: skip
        job_id = job.id
    settings.imports_dir.mkdir(parents=True)
    rows = "".join(f"w{n}@example.org\n" for n in range(3000))
    upload_path(settings.imports_dir, job_id).write_text("email\n" + rows + "broken\n")

    broker = make_celery(settings.model_copy(update={"redis_url": redis_url}))
    broker.send_task("tasks.subscribers.import_file", args=[job_id])

    def finished() -> ImportJob | None:
        with runtime.db.session() as session:
            found = session.get(ImportJob, job_id)
            return found if found and found.status is ImportJobStatus.done else None

    try:
        wait_for(finished, timeout=60, what="the import job done")
    except AssertionError:
        raise AssertionError(worker.read_text()[-3000:]) from None
    done = finished()
    assert done is not None and (done.rows, done.added, done.rejected) == (3001, 3000, 1)
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Subscriber)) == 3000
