from __future__ import annotations

import datetime as dt

from sqlalchemy import select, text

from config.site import SiteConfig
from db.engine import Database
from db.models import (
    Base,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Event,
    Subscriber,
    Suppression,
)
from subscribers.addresses import email_hash
from subscribers.erasure import erase
from subscribers.service import ConsentInfo, suppress
from subscribers.signup import confirm, request_subscription

EMAIL = "zora.personal@example.org"
NAME = "Zora Quillfeather"
IP = "198.51.100.77"
AGENT = "ZoraBrowser/9.1"


def _everything(db: Database) -> str:
    """Every value of every row of every table, as one string."""
    dump = []
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(text(f'SELECT * FROM "{table.name}"')):
                dump.append(repr(tuple(row)))
    return "\n".join(dump)


def _seed(db: Database, site: SiteConfig) -> int:
    consent = ConsentInfo(source="form", text_version="1", ip=IP, user_agent=AGENT)
    with db.session() as session:
        outcome = request_subscription(session, site, EMAIL, ["videos"], consent, name=NAME)
        sid = outcome.confirm_subscriber_id
        assert sid is not None
        confirm(session, sid, email_hash(EMAIL))
        campaign = Campaign(
            subject="Hello",
            subject_template="Hello",
            status=CampaignStatus.sent,
            list_slugs=["videos"],
        )
        session.add(campaign)
        session.flush()
        session.add(
            Delivery(
                campaign_id=campaign.id,
                subscriber_id=sid,
                email_hash=email_hash(EMAIL),
                status=DeliveryStatus.sent,
            )
        )
        session.add(
            Event(
                provider_event_id="evt-1",
                type="open",
                email_hash=email_hash(EMAIL),
                campaign_id=campaign.id,
                payload={"email": EMAIL, "ip": IP, "useragent": AGENT, "event": "open"},
                occurred_at=dt.datetime.now(dt.UTC),
            )
        )
    return sid


def test_an_erased_person_leaves_no_personal_data(db: Database, site: SiteConfig) -> None:
    _seed(db, site)
    assert EMAIL in _everything(db), "the check must be able to see the address"
    with db.session() as session:
        result = erase(session, EMAIL.upper())
    assert result.found and result.suppression_reason == "erased"
    dump = _everything(db)
    for personal in (EMAIL, NAME, IP, AGENT):
        assert personal not in dump
    with db.session() as session:
        delivery = session.scalars(select(Delivery)).one()
        assert delivery.subscriber_id is None
        assert delivery.email_hash == email_hash(EMAIL)
        event = session.scalars(select(Event)).one()
        assert event.payload == {"event": "open"}
        assert session.get(Suppression, email_hash(EMAIL)) is not None


def test_erasure_keeps_the_earlier_suppression_reason(db: Database, site: SiteConfig) -> None:
    _seed(db, site)
    with db.session() as session:
        suppress(session, email_hash(EMAIL), "complained")
    with db.session() as session:
        assert erase(session, EMAIL).suppression_reason == "complained"


def test_an_erased_address_cannot_sign_up_again(db: Database, site: SiteConfig) -> None:
    with db.session() as session:
        result = erase(session, "never-subscribed@example.org")
    assert not result.found
    with db.session() as session:
        outcome = request_subscription(
            session, site, "never-subscribed@example.org", [], ConsentInfo("form", "1")
        )
        assert outcome.confirm_subscriber_id is None
        assert session.scalars(select(Subscriber)).first() is None
