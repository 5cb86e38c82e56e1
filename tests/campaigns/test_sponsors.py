"""Sponsor selection: flight dates, audience lists, weighted rotation, the house ad."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from campaigns.sponsors import eligible_sponsors, house_ad, reaches, rotate, sponsor_order
from config.site import Sponsor


def sponsor(name: str, **fields: object) -> Sponsor:
    values: dict[str, object] = {
        "name": name,
        "text": f"{name} makes fictional things.",
        "url": f"https://{name.lower()}.example/",
        "starts": dt.date(2026, 11, 1),
        "ends": dt.date(2026, 11, 30),
        **fields,
    }
    return Sponsor.model_validate(values)


def test_rotation_leads_in_proportion_to_weight_over_many_campaigns() -> None:
    pool = [sponsor("Alder", weight=1), sponsor("Birch", weight=2), sponsor("Cedar", weight=5)]
    leads = Counter(rotate(pool, seed=str(campaign_id))[0].name for campaign_id in range(8000))
    share = {name: leads[name] / 8000 for name in ("Alder", "Birch", "Cedar")}
    assert abs(share["Alder"] - 1 / 8) < 0.02
    assert abs(share["Birch"] - 2 / 8) < 0.02
    assert abs(share["Cedar"] - 5 / 8) < 0.02


def test_rotation_is_stable_for_one_campaign_and_varies_across_campaigns() -> None:
    pool = [sponsor("Alder"), sponsor("Birch"), sponsor("Cedar")]
    assert rotate(pool, "17") == rotate(list(reversed(pool)), "17")
    orders = {tuple(s.name for s in rotate(pool, str(seed))) for seed in range(50)}
    assert len(orders) == 6  # every order of three shows up


def test_flight_dates_are_inclusive_at_both_ends() -> None:
    pool = [sponsor("Alder", starts=dt.date(2026, 11, 10), ends=dt.date(2026, 11, 12))]
    flying = [
        day.day
        for day in (dt.date(2026, 11, d) for d in range(8, 15))
        if eligible_sponsors(pool, ["videos"], day)
    ]
    assert flying == [10, 11, 12]


def test_audience_lists_must_overlap_the_campaign() -> None:
    pool = [sponsor("Alder", lists=("weekly",)), sponsor("Birch")]
    day = dt.date(2026, 11, 15)
    assert [s.name for s in eligible_sponsors(pool, ["videos"], day)] == ["Birch"]
    assert [s.name for s in eligible_sponsors(pool, ["weekly"], day)] == ["Alder", "Birch"]


def test_a_listed_sponsor_reaches_only_members_of_its_lists() -> None:
    alder = sponsor("Alder", lists=("weekly",))
    assert reaches(alder, {"weekly", "videos"}, ["videos", "weekly"])
    assert not reaches(alder, {"videos"}, ["videos", "weekly"])
    assert not reaches(alder, {"weekly"}, ["videos"])  # not a list this campaign goes to
    assert reaches(sponsor("Birch"), set(), ["videos"])


def test_house_ad_comes_after_paid_sponsors_and_only_in_flight() -> None:
    house = sponsor("Home", house=True, ends=dt.date(2026, 11, 20))
    pool = [house, sponsor("Alder")]
    assert [s.name for s in sponsor_order(pool, ["videos"], "1", dt.date(2026, 11, 15))] == [
        "Alder",
        "Home",
    ]
    assert house_ad(pool, dt.date(2026, 11, 21)) is None
    assert sponsor_order(pool, ["videos"], "1", dt.date(2026, 12, 1)) == []
