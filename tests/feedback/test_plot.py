"""The report's timeline plot: its time axis fits the data."""

from __future__ import annotations

import datetime as dt

from matplotlib import dates as mdates

from feedback.plot import timeline_figure, timeline_png
from feedback.reports import Timeline

START = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def _span(timeline: Timeline) -> dt.timedelta:
    left, right = timeline_figure(timeline, "t").axes[0].get_xlim()
    return mdates.num2date(right) - mdates.num2date(left)


def test_a_send_that_took_seconds_is_drawn_over_minutes_not_days() -> None:
    sent = [START + dt.timedelta(seconds=s) for s in range(5)]
    delivered = [t + dt.timedelta(seconds=3) for t in sent]
    span = _span(Timeline(sent, delivered, [], [], "one quick send"))
    assert dt.timedelta(minutes=2) <= span <= dt.timedelta(minutes=3)


def test_a_single_delivery_still_has_an_axis_around_it() -> None:
    span = _span(Timeline([START], [], [], [], "one"))
    assert span == dt.timedelta(minutes=2)


def test_a_long_campaign_keeps_its_whole_span_with_a_small_margin() -> None:
    sent = [START, START + dt.timedelta(hours=10)]
    clicks = [START + dt.timedelta(days=2)]
    span = _span(Timeline(sent, [], clicks, [], "long"))
    assert dt.timedelta(days=2) < span <= dt.timedelta(days=2) * 1.11


def test_an_empty_timeline_still_draws() -> None:
    assert timeline_png(Timeline([], [], [], [], "nothing")).startswith(b"\x89PNG")
