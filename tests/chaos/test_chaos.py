"""Chaos: the whole pipeline (PostgreSQL, Redis, Celery workers and beat, the fake SendGrid)
keeps its promise while we kill and restart its parts: every recipient gets one message,
and a message that may have gone twice is one the ledger accounted as uncertain.

`make chaos` runs these alone and prints one line per scenario.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from campaigns.compose import create_campaign
from config.resources import SITE_EXAMPLE
from config.site import load_site
from db.models import Campaign, Feed, Post, PostKind, ScheduleRun, utcnow
from tests.chaos.harness import Deployment, settled_rows
from tests.support.seed import seed_subscribers

pytestmark = pytest.mark.chaos

SEND = "tasks.sending.send_campaign"


def _campaign(deployment: Deployment, recipients: int, lists: tuple[str, ...] = ("videos",)) -> int:
    seed_subscribers(deployment.db, recipients, lists)
    site = load_site(deployment.site_config)
    with deployment.db.session() as session:
        return create_campaign(
            session, site, lists=list(lists), subject="Chaos", intro="A note from the editor."
        ).id


def test_a_worker_killed_five_times_mid_campaign_loses_and_doubles_nothing(
    deployment: Deployment, report: list[str]
) -> None:
    recipients = 20_000
    campaign_id = _campaign(deployment, recipients)
    # Each request takes a moment at the provider, so kills land with calls in flight.
    deployment.fake.set_faults(latency=0.4)
    # Replay a run with CHAOS_SEED=<the seed its line printed>.
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(1_000_000))
    rng = random.Random(seed)
    # Five moments spread over the campaign, as counts of rows already sent.
    moments = sorted(rng.sample(range(recipients // 20, recipients * 4 // 5), 5))
    deployment.start_worker()
    deployment.enqueue(SEND, campaign_id)
    kills_at: dict[str, int] = {}
    for moment in moments:
        before = settled_rows(deployment.counts(campaign_id))
        # Some progress since the restart, but never waiting for the very end: a
        # quarter of the list left is more than a fast worker sends in the pause.
        target = min(max(moment, before + 1), recipients * 3 // 4)
        deployment.progress_to(campaign_id, target)
        time.sleep(rng.uniform(0, 0.2))
        kills_at = deployment.counts(campaign_id)  # the moment of the kill, not after it
        for process in deployment.running("worker"):
            process.kill()
        deployment.start_worker()
    settled = deployment.settle(campaign_id)
    tally = deployment.tally(campaign_id)
    report.append(
        tally.line(
            "1 worker SIGKILLed x5",
            f"swept_lost={settled.lost} rescued={settled.rescued} seed={seed}",
        )
    )
    tally.assert_invariants()
    assert kills_at["sent"] < recipients, "every kill came after the campaign was over"


def test_a_redis_restart_mid_campaign_loses_and_doubles_nothing(
    deployment: Deployment, report: list[str]
) -> None:
    recipients = 10_000
    campaign_id = _campaign(deployment, recipients)
    deployment.fake.set_faults(latency=0.5)
    deployment.start_worker()
    deployment.enqueue(SEND, campaign_id)
    deployment.wait(lambda: deployment.counts(campaign_id)["sent"] >= 1000, 120, "a batch sent")
    before = deployment.counts(campaign_id)
    deployment.redis.restart()
    assert before["sent"] < recipients, "the campaign was over before the restart"
    settled = deployment.settle(campaign_id)
    tally = deployment.tally(campaign_id)
    report.append(
        tally.line("2 Redis restarted", f"swept_lost={settled.lost} rescued={settled.rescued}")
    )
    tally.assert_invariants()
    assert tally.duplicates == 0


def test_provider_errors_and_timeouts_lose_nothing_and_double_only_the_uncertain(
    deployment: Deployment, report: list[str]
) -> None:
    recipients = 10_000
    campaign_id = _campaign(deployment, recipients)
    # The scripted start makes sure each kind happens at least once; the rates do the rest.
    # A "timeout" hangs past the sender's 30 s read timeout, then accepts the batch.
    deployment.fake.set_faults(
        sequence=[429, 500, "timeout"],
        rate_429=0.20,
        rate_5xx=0.05,
        rate_timeout=0.02,
        hang_seconds=32,
        latency=0.05,
    )
    deployment.start_worker()
    deployment.enqueue(SEND, campaign_id)
    settled = deployment.settle(campaign_id, timeout=240)
    tally = deployment.tally(campaign_id)
    counts = deployment.fake.counts
    report.append(
        tally.line(
            "3 SendGrid 20% 429 / 5% 5xx / 2% timeouts",
            f"answered 429={counts['429']} 5xx={counts['500'] + counts['503']} "
            f"timeouts={counts['timeout']} swept_lost={settled.lost}",
        )
    )
    tally.assert_invariants()
    assert counts["timeout"] >= 1 and counts["429"] >= 1
    # Every timed-out batch was accepted by the fake, so its event confirms it: no re-send.
    assert tally.uncertain >= 1 and tally.confirmed == tally.uncertain and tally.resent == 0
    assert tally.duplicates == 0


def _digest_site(directory: Path, due: dt.datetime) -> Path:
    """The example site with one digest due at `due` (a cron for that very minute)."""
    site = load_site(SITE_EXAMPLE)
    local = due.astimezone(site.newsletter.tz)
    text = (SITE_EXAMPLE).read_text()
    text = text.replace('cron = "0 9 * * MON"', f'cron = "{local.minute} {local.hour} * * *"')
    text = text.replace("grace_minutes = 360", "grace_minutes = 30")
    # Only the digest: the instant schedule would mail the same posts as videos.
    text = re.sub(r'\[\[schedules\]\]\nname = "new-video".*?\n\n', "", text, flags=re.S)
    path = directory / "site.toml"
    path.write_text(text)
    assert [s.name for s in load_site(path).schedules] == ["weekly-digest"]
    return path


def test_beat_and_two_workers_restarted_during_a_digest_send_it_once(
    chaos_database: str, tmp_path: Path, report: list[str]
) -> None:
    recipients = 5_000
    due = utcnow().replace(second=0, microsecond=0)
    deployment = Deployment(tmp_path, chaos_database, site_config=_digest_site(tmp_path, due))
    try:
        seed_subscribers(deployment.db, recipients, ("weekly",))
        _posts(deployment)
        deployment.fake.set_faults(latency=0.5)
        deployment.start_worker("worker")
        deployment.start_worker("worker")
        deployment.start_beat()

        def fired() -> int | None:
            with deployment.db.session() as session:
                return session.scalar(select(ScheduleRun.campaign_id))

        deployment.wait(lambda: fired() is not None, 120, "the digest to fire")
        campaign_id = fired()
        assert campaign_id is not None
        started = deployment.counts(campaign_id)

        def sending() -> bool:
            counts = deployment.counts(campaign_id)
            return counts["sending"] + counts["sent"] > started["sent"]

        # Mid-send: beat and both workers die at once, come back, and die again.
        for _ in range(2):
            deployment.wait(sending, 60, "the digest to be sending")
            for process in deployment.running():
                process.kill()
            deployment.start_beat()
            deployment.start_worker("worker")
            deployment.start_worker("worker")
            time.sleep(3)  # beat ticks every two seconds: it fires the schedule again, in vain
        settled = deployment.settle(campaign_id)
        tally = deployment.tally(campaign_id)
        with deployment.db.session() as session:
            runs = list(session.scalars(select(ScheduleRun)))
            campaigns = list(session.scalars(select(Campaign.id)))
        report.append(
            tally.line(
                "4 beat + 2 workers restarted during a digest",
                f"schedule_runs={len(runs)} campaigns={len(campaigns)} "
                f"swept_lost={settled.lost} rescued={settled.rescued}",
            )
        )
        assert [(r.schedule_name, r.outcome) for r in runs] == [("weekly-digest", "created")]
        assert campaigns == [campaign_id]
        tally.assert_invariants()
    finally:
        deployment.close()


def _posts(deployment: Deployment) -> None:
    """Two articles that arrived before the digest is due."""
    now = utcnow()
    with deployment.db.session() as session:
        feed = Feed(name="blog", url="https://example.com/blog.xml", kind="blog")
        session.add(feed)
        session.flush()
        for n in (1, 2):
            session.add(
                Post(
                    feed_id=feed.id,
                    guid=f"chaos-{n}",
                    kind=PostKind.article,
                    title=f"A quiet morning, part {n}",
                    link=f"https://example.com/quiet-{n}",
                    tags=[],
                    content_hash=f"chaos-{n}",
                    published_at=now - dt.timedelta(hours=n),
                    available_at=now - dt.timedelta(hours=n),
                    first_seen_at=now - dt.timedelta(hours=n),
                )
            )


def test_database_connections_terminated_mid_campaign_lose_and_double_nothing(
    deployment: Deployment, report: list[str]
) -> None:
    recipients = 20_000
    campaign_id = _campaign(deployment, recipients)
    deployment.fake.set_faults(latency=0.3)
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(1_000_000))
    rng = random.Random(seed)
    deployment.start_worker()
    deployment.enqueue(SEND, campaign_id)
    # The first cut lands while the fan-out is writing the ledger; four more while
    # batches are being claimed, sent and recorded.
    deployment.wait(lambda: sum(deployment.counts(campaign_id).values()) > 0, 60, "fan-out")
    terminated = deployment.terminate_database_connections()
    for moment in sorted(rng.sample(range(recipients // 10, recipients * 4 // 5), 4)):
        deployment.wait(
            lambda m=moment: settled_rows(deployment.counts(campaign_id)) >= m,
            120,
            f"{moment} rows settled",
        )
        time.sleep(rng.uniform(0, 0.3))
        terminated += deployment.terminate_database_connections()
    # No sweeper: the fan-out and every batch recover on their own, in seconds
    # rather than at the sweeper's fifteen-minute rescue.
    deployment.wait(lambda: deployment.finished(campaign_id), 180, "the campaign to finish")
    before_settle = deployment.counts(campaign_id)
    settled = deployment.settle(campaign_id)
    tally = deployment.tally(campaign_id)
    retries = deployment.log_text("worker").count("retry: Retry in")
    report.append(
        tally.line(
            "6 PostgreSQL connections terminated x5",
            f"terminated={terminated} task_retries={retries} seed={seed}",
        )
    )
    tally.assert_invariants()
    assert tally.duplicates == 0
    assert before_settle["sent"] == recipients, before_settle
    assert settled.rescued == 0 and settled.lost == 0
    assert terminated >= 5
