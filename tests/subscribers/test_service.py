from __future__ import annotations

import pytest

from db.engine import Database
from db.models import Subscriber, SubscriberStatus, Subscription
from subscribers.addresses import InvalidEmail, email_hash
from subscribers.service import ConsentInfo, Suppressed, add_subscriber, suppress

CONSENT = ConsentInfo(source="api", text_version="1")


def test_addresses_are_normalised_so_one_person_is_one_row(db: Database) -> None:
    with db.session() as session:
        first = add_subscriber(session, " Ada@Example.ORG ", ["videos"], CONSENT)
        second = add_subscriber(session, "ada@example.org", ["weekly"], CONSENT)
        assert first.id == second.id
        assert first.email == "ada@example.org"
        slugs = {s.list_slug for s in session.query(Subscription).filter_by(subscriber_id=first.id)}
        assert slugs == {"videos", "weekly"}


def test_an_invalid_address_is_refused_with_a_reason(db: Database) -> None:
    with db.session() as session, pytest.raises(InvalidEmail, match="@"):
        add_subscriber(session, "not-an-address", ["videos"], CONSENT)


def test_a_suppressed_address_is_never_added_back(db: Database) -> None:
    with db.session() as session:
        person = add_subscriber(session, "gone@example.org", ["videos"], CONSENT, confirmed=True)
        suppress(session, person.email_hash, "unsubscribed")
        assert person.status is SubscriberStatus.unsubscribed
    with db.session() as session, pytest.raises(Suppressed):
        add_subscriber(session, "GONE@example.org", ["videos"], CONSENT, confirmed=True)
    with db.session() as session:
        row = session.query(Subscriber).filter_by(email_hash=email_hash("gone@example.org")).one()
        assert row.status is SubscriberStatus.unsubscribed
