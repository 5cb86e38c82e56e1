from __future__ import annotations

import pytest
from sqlalchemy import select

from config.site import SiteConfig
from db.engine import Database
from db.models import Subscriber
from subscribers import preferences as prefs
from subscribers.service import ConsentInfo, add_subscriber


def test_valid_preferences_are_cleaned(site: SiteConfig) -> None:
    chosen = prefs.validate(
        site,
        lists=["weekly", "videos"],
        cadence="weekly",
        timezone="Europe/Lisbon",
        country=" pt ",
        name="  Rui   [%unsubscribe_url%] ",
    )
    assert chosen.lists == ["videos", "weekly"]  # site order
    assert chosen.country == "PT"
    assert chosen.name is not None and "[%unsubscribe_url%]" not in chosen.name


def test_every_bad_field_is_reported_at_once(site: SiteConfig) -> None:
    with pytest.raises(prefs.PreferencesError) as caught:
        prefs.validate(
            site,
            lists=["podcasts"],
            cadence="hourly",
            timezone="Mars/Olympus",
            country="Portugal",
            name="x" * 201,
        )
    assert set(caught.value.errors) == {"lists", "cadence", "timezone", "country", "name"}


def test_saving_replaces_lists_and_details(db: Database, site: SiteConfig) -> None:
    with db.session() as session:
        person = add_subscriber(
            session, "p@example.org", ["videos", "articles"], ConsentInfo("api", "1")
        )
        chosen = prefs.validate(
            site, lists=["weekly"], cadence="weekly", timezone="", country="", name="Pat"
        )
        prefs.save(session, person, chosen)
    with db.session() as session:
        person = session.scalars(select(Subscriber)).one()
        assert prefs.current(session, person) == prefs.Preferences(
            lists=["weekly"], cadence="weekly", timezone=None, country=None, name="Pat"
        )
