"""Editions end to end on a real database: store the sample posts and people, send through
the real campaign_send steps into an outbox, read back what happened.
"""

from __future__ import annotations

import datetime as dt
import email
import re
from collections.abc import Sequence
from email.policy import default
from html.parser import HTMLParser
from pathlib import Path

from sqlalchemy import select

from campaigns.compose import create_campaign
from config.site import SiteConfig
from db.engine import Database
from db.models import Campaign, CampaignStatus, Delivery, DeliveryStatus, Feed, Subscriber
from delivery import campaign_send
from delivery.outbox import OutboxSender
from delivery.personalize import LinkMaker
from subscribers.service import ConsentInfo, add_subscriber
from tests.campaigns import sample_edition

LINKS = LinkMaker(base_url="http://testserver", secret_key="test-secret-key-0123456789abcdef")


def store_posts(db: Database) -> list[int]:
    with db.session() as session:
        feed = Feed(name="channel", url="https://video.example/feed", kind="youtube")
        session.add(feed)
        session.flush()
        posts = sample_edition.posts()
        for post in posts:
            post.feed_id = feed.id
            session.add(post)
        return [p.id for p in posts]


def add_people(db: Database, people: Sequence[tuple[str, Sequence[str], str | None]]) -> list[int]:
    """(email, lists, country) -> confirmed subscriber ids."""
    consent = ConsentInfo(source="import", text_version="1")
    with db.session() as session:
        ids = []
        for email, lists, country in people:
            person = add_subscriber(session, email, lists, consent, confirmed=True)
            person.country = country
            ids.append(person.id)
        return ids


def new_campaign(
    db: Database, site: SiteConfig, lists: Sequence[str] = ("videos", "weekly")
) -> int:
    with db.session() as session:
        campaign = create_campaign(
            session, site, lists=lists, post_ids=[101, 102, 103], subject="{{ lead.title }}"
        )
        return campaign.id


def send(db: Database, site: SiteConfig, campaign_id: int, outbox: Path) -> None:
    """The same steps the Celery tasks run, inline."""
    sender = OutboxSender(outbox)
    campaign_send.send_inline(db, site, sender, LINKS, campaign_id)
    assert campaign_send.finish_if_done(db, campaign_id)


def deliveries(db: Database, campaign_id: int) -> dict[str, Delivery]:
    """The campaign's ledger rows by subscriber address."""
    with db.session() as session:
        rows = session.execute(
            select(Subscriber.email, Delivery)
            .join(Delivery, Delivery.subscriber_id == Subscriber.id)
            .where(Delivery.campaign_id == campaign_id)
        ).all()
        return {email: delivery for email, delivery in rows}


def seen_before(
    db: Database, subscriber_id: int, sponsor: str, days_ago: float, status: DeliveryStatus
) -> None:
    """History: a delivery of an earlier campaign that showed `sponsor`."""
    with db.session() as session:
        earlier = Campaign(
            subject="earlier",
            subject_template="earlier",
            status=CampaignStatus.sent,
            list_slugs=["videos"],
        )
        session.add(earlier)
        session.flush()
        when = dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)
        session.add(
            Delivery(
                campaign_id=earlier.id,
                subscriber_id=subscriber_id,
                email_hash=f"h{subscriber_id}-{earlier.id}",
                status=status,
                sponsor_name=sponsor,
                queued_at=when,
                sent_at=when if status is DeliveryStatus.sent else None,
            )
        )


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.chunks.append(" ".join(data.split()))


def edition_content(html: str) -> str:
    """The words a reader sees above the footer: what every view of an edition shares."""
    parser = _VisibleText()
    parser.feed(html)
    words = " ".join(parser.chunks)
    return re.split(r"You are getting this because|This is the web copy", words)[0]


def mail_parts(outbox: Path, address: str) -> str:
    """The decoded text and HTML parts of the one email sent to `address`."""
    (path,) = outbox.glob(f"*{address}.eml")
    message = email.message_from_bytes(path.read_bytes(), policy=default)
    parts = [message.get_body((kind,)) for kind in ("plain", "html")]
    return "\n".join(part.get_content() for part in parts if part is not None)
