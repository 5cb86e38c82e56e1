"""Campaign and sponsor reports over real events, deliveries and redirect clicks."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from config.runtime import Runtime
from db.models import Delivery, SponsorClick, utcnow
from feedback.apply import Rules, apply_events
from feedback.events import parse_events, store_events
from feedback.plot import timeline_png
from feedback.reports import (
    LinkClicks,
    NotFound,
    campaign_report,
    campaign_timeline,
    sponsor_report,
)
from tests.support.sendgrid_events import add_people, deliveries_by_email, event, send_campaign

PEOPLE = [f"p{n}@example.org" for n in range(1, 6)]
LINK_A, LINK_B = "https://steady-ground.example/a", "https://steady-ground.example/b"


def ingest(rt: Runtime, events: list[dict[str, Any]]) -> None:
    with rt.db.session() as session:
        store_events(session, parse_events(events).rows)
    with rt.db.session() as session:
        apply_events(session, Rules())


@pytest.fixture
def campaign(rt: Runtime) -> tuple[int, dict[str, int]]:
    """A campaign to five people and what came back from SendGrid."""
    add_people(rt, PEOPLE)
    cid = send_campaign(rt)
    ids = deliveries_by_email(rt, cid)
    t0 = time.time() - 3600

    def ev(kind: str, n: int, at: float, **extra: Any) -> dict[str, Any]:
        who = f"p{n}@example.org"
        return event(kind, who, delivery_id=ids[who], campaign_id=cid, at=t0 + at, **extra)

    ingest(
        rt,
        [
            *(ev("delivered", n, 0) for n in (1, 2, 3, 4)),
            ev("open", 1, 3),  # seconds after delivery: a prefetching client
            ev("open", 2, 600, sg_machine_open=True),  # SendGrid says: machine
            ev("open", 3, 600),
            ev("open", 3, 900),
            ev("click", 3, 610, url=LINK_A),
            ev("click", 3, 620, url=LINK_A),
            ev("click", 4, 700, url=LINK_A),
            ev("click", 4, 710, url=LINK_B),
            ev("bounce", 5, 5, type="bounce"),
            ev("deferred", 4, 1),
            ev("spamreport", 4, 1200),
            ev("unsubscribe", 2, 1300),
        ],
    )
    return cid, ids


def test_the_campaign_report_counts_each_outcome(
    rt: Runtime, campaign: tuple[int, dict[str, int]]
) -> None:
    cid, _ = campaign
    with rt.db.session() as session:
        report = campaign_report(session, cid)
    assert (report.audience, report.sent, report.delivered) == (5, 5, 4)
    assert (report.bounced, report.soft_bounced, report.dropped) == (1, 1, 0)
    assert (report.complaints, report.unsubscribes) == (1, 1)
    assert (report.opens.unique, report.opens.human, report.opens.likely_machine) == (3, 1, 2)
    assert report.unique_clicks == 2
    assert report.clicks_per_link == [LinkClicks(LINK_A, 3, 2), LinkClicks(LINK_B, 1, 1)]
    assert (report.uncertain, report.confirmed, report.resent, report.held) == (0, 0, 0, 0)


def test_opens_are_flagged_unreliable_when_machine_opens_are_likely(
    rt: Runtime, campaign: tuple[int, dict[str, int]]
) -> None:
    cid, _ = campaign
    with rt.db.session() as session:
        opens = campaign_report(session, cid).opens
    assert opens.unreliable
    assert "sg_machine_open" in opens.rule


def test_human_opens_alone_are_not_flagged(rt: Runtime) -> None:
    add_people(rt, PEOPLE)
    cid = send_campaign(rt)
    ids = deliveries_by_email(rt, cid)
    t0 = time.time() - 3600
    ingest(
        rt,
        [event("delivered", p, delivery_id=ids[p], campaign_id=cid, at=t0) for p in PEOPLE]
        + [event("open", p, delivery_id=ids[p], campaign_id=cid, at=t0 + 300) for p in PEOPLE],
    )
    with rt.db.session() as session:
        opens = campaign_report(session, cid).opens
    assert (opens.unique, opens.human, opens.unreliable) == (5, 5, False)


def test_an_unknown_campaign_is_not_found(rt: Runtime) -> None:
    with rt.db.session() as session, pytest.raises(NotFound, match="no campaign with id 999"):
        campaign_report(session, 999)


def redirect_clicks(rt: Runtime, cid: int, ids: dict[str, int], who: list[str]) -> str:
    """Clicks as the tracked redirect records them; returns the sponsor's name."""
    with rt.db.session() as session:
        sponsor = session.scalar(select(Delivery.sponsor_name).where(Delivery.campaign_id == cid))
        assert sponsor, "the example site's videos list carries a sponsor"
        for email in who:
            session.add(SponsorClick(sponsor_name=sponsor, campaign_id=cid, delivery_id=ids[email]))
    return sponsor


def test_the_sponsor_report_counts_impressions_clicks_and_ctr(rt: Runtime) -> None:
    add_people(rt, PEOPLE)
    cid = send_campaign(rt)
    ids = deliveries_by_email(rt, cid)
    sponsor = redirect_clicks(rt, cid, ids, ["p1@example.org", "p1@example.org", "p2@example.org"])
    with rt.db.session() as session:
        (report,) = [r for r in sponsor_report(session) if r.sponsor == sponsor]
        impressions = session.scalar(
            select(func.count()).where(Delivery.sponsor_name == sponsor, Delivery.status == "sent")
        )
    assert report.impressions == impressions and impressions > 0
    assert (report.clicks, report.unique_clicks) == (3, 2)
    assert report.ctr == round(2 / impressions, 4)
    assert [c.campaign_id for c in report.campaigns] == [cid]
    assert report.as_dict()["ctr"] == report.ctr


def test_the_sponsor_report_selects_deliveries_by_send_day(rt: Runtime) -> None:
    add_people(rt, PEOPLE)
    cid = send_campaign(rt)
    redirect_clicks(rt, cid, deliveries_by_email(rt, cid), ["p3@example.org"])
    today = utcnow().date()
    with rt.db.session() as session:
        assert sponsor_report(session, today, today)
        assert sponsor_report(session, end=today)
        assert sponsor_report(session, start=today + dt.timedelta(days=1)) == []
        assert sponsor_report(session, end=today - dt.timedelta(days=1)) == []


def test_the_timeline_plot_is_a_png(rt: Runtime, campaign: tuple[int, dict[str, int]]) -> None:
    cid, _ = campaign
    with rt.db.session() as session:
        timeline = campaign_timeline(session, cid)
    assert (len(timeline.sent), len(timeline.delivered), len(timeline.clicks)) == (5, 4, 4)
    png = timeline_png(timeline, "test")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
