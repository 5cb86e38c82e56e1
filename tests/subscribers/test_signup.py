from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from config.site import SiteConfig
from db.engine import Database
from db.models import Consent, Subscriber, SubscriberStatus, Subscription, utcnow
from subscribers.addresses import email_hash
from subscribers.service import ConsentInfo, suppress
from subscribers.signup import (
    RESEND_AFTER,
    UnknownList,
    confirm,
    request_subscription,
)

FORM = ConsentInfo(source="form", text_version="2026-11", ip="203.0.113.9", user_agent="Firefox")


def test_a_new_address_is_pending_and_gets_a_confirmation(db: Database, site: SiteConfig) -> None:
    with db.session() as session:
        outcome = request_subscription(session, site, "Nia@Example.org", ["weekly"], FORM)
        person = session.scalars(select(Subscriber)).one()
        assert outcome.confirm_subscriber_id == person.id
        assert person.status is SubscriberStatus.pending
        assert person.confirmation_sent_at is not None
        consent = session.scalars(select(Consent)).one()
        assert (consent.source, consent.ip, consent.user_agent) == (
            "form",
            "203.0.113.9",
            "Firefox",
        )
        assert consent.consent_text_version == "2026-11"
        assert consent.lists == ["weekly"]
        assert consent.confirmed_at is None


def test_no_lists_chosen_means_the_default_lists(db: Database, site: SiteConfig) -> None:
    with db.session() as session:
        request_subscription(session, site, "d@example.org", [], FORM)
        slugs = session.scalars(select(Subscription.list_slug)).all()
    assert slugs == site.default_lists()


def test_an_unknown_list_is_refused(db: Database, site: SiteConfig) -> None:
    with db.session() as session, pytest.raises(UnknownList, match="podcasts"):
        request_subscription(session, site, "d@example.org", ["podcasts"], FORM)


def test_a_pending_address_is_sent_at_most_one_confirmation_per_window(
    db: Database, site: SiteConfig
) -> None:
    start = utcnow()
    with db.session() as session:
        first = request_subscription(session, site, "p@example.org", ["videos"], FORM, now=start)
    with db.session() as session:
        soon = start + dt.timedelta(minutes=1)
        again = request_subscription(session, site, "p@example.org", ["videos"], FORM, now=soon)
    with db.session() as session:
        later = start + RESEND_AFTER + dt.timedelta(seconds=1)
        after = request_subscription(session, site, "p@example.org", ["videos"], FORM, now=later)
    assert first.confirm_subscriber_id is not None
    assert again.confirm_subscriber_id is None
    assert after.confirm_subscriber_id == first.confirm_subscriber_id


def test_a_confirmed_or_suppressed_address_gets_nothing(db: Database, site: SiteConfig) -> None:
    with db.session() as session:
        outcome = request_subscription(session, site, "c@example.org", ["videos"], FORM)
        person = session.get(Subscriber, outcome.confirm_subscriber_id)
        assert person is not None
        confirm(session, person.id, person.email_hash)
        suppress(session, email_hash("gone@example.org"), "complained")
    with db.session() as session:
        again = request_subscription(session, site, "c@example.org", ["articles"], FORM)
        gone = request_subscription(session, site, "gone@example.org", ["videos"], FORM)
        assert again.confirm_subscriber_id is None
        assert gone.confirm_subscriber_id is None
        # Nothing about a confirmed person changes through the public form.
        assert session.scalars(select(Subscription.list_slug)).all() == ["videos"]
        assert (
            session.scalar(select(Subscriber).where(Subscriber.email == "gone@example.org")) is None
        )


def test_confirming_records_the_time_on_the_person_and_the_consent(
    db: Database, site: SiteConfig
) -> None:
    with db.session() as session:
        outcome = request_subscription(session, site, "k@example.org", ["videos"], FORM)
        sid = outcome.confirm_subscriber_id
        assert sid is not None
        ehash = email_hash("k@example.org")
        assert confirm(session, sid, ehash[:16]).state == "confirmed"
        assert confirm(session, sid, ehash[:16]).state == "already"
        person = session.get(Subscriber, sid)
        assert person is not None and person.status is SubscriberStatus.confirmed
        consent = session.scalars(select(Consent)).one()
        assert consent.confirmed_at == person.confirmed_at


def test_a_confirmation_for_another_address_does_nothing(db: Database, site: SiteConfig) -> None:
    with db.session() as session:
        outcome = request_subscription(session, site, "m@example.org", ["videos"], FORM)
        assert outcome.confirm_subscriber_id is not None
        state = confirm(session, outcome.confirm_subscriber_id, email_hash("other@example.org"))
        assert state.state == "gone"
        person = session.get(Subscriber, outcome.confirm_subscriber_id)
        assert person is not None and person.status is SubscriberStatus.pending


def test_a_name_cannot_smuggle_a_placeholder_into_emails(db: Database, site: SiteConfig) -> None:
    with db.session() as session:
        request_subscription(
            session, site, "n@example.org", [], FORM, name="  Eve   [%unsubscribe_url%] "
        )
        name = session.scalars(select(Subscriber.name)).one()
    assert name is not None and name.startswith("Eve [% ")
    assert "[%unsubscribe_url%]" not in name


def test_concurrent_requests_for_one_new_address_make_one_person_and_one_confirmation(
    db: Database, site: SiteConfig
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def attempt(_: int) -> int | None:
        with db.session() as session:
            outcome = request_subscription(session, site, "race@example.org", ["videos"], FORM)
            return outcome.confirm_subscriber_id

    with ThreadPoolExecutor(6) as pool:
        due = [sid for sid in pool.map(attempt, range(12)) if sid is not None]
    assert len(due) == 1
    with db.session() as session:
        assert len(session.scalars(select(Subscriber)).all()) == 1
        assert len(session.scalars(select(Consent)).all()) == 12


def test_sign_up_issues_the_same_statements_whatever_the_state_of_the_address(
    db: Database, site: SiteConfig
) -> None:
    """Timing cannot tell states apart when the work is the same: same SQL for every state."""
    from sqlalchemy import event

    with db.session() as session:
        request_subscription(session, site, "pending@example.org", ["videos"], FORM)
        confirmed = request_subscription(session, site, "confirmed@example.org", ["videos"], FORM)
        assert confirmed.confirm_subscriber_id is not None
        confirm(session, confirmed.confirm_subscriber_id, email_hash("confirmed@example.org"))
        suppress(session, email_hash("suppressed@example.org"), "unsubscribed")

    def statements_for(address: str) -> list[str]:
        seen: list[str] = []

        def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            with db.session() as session:
                request_subscription(session, site, address, ["weekly"], FORM)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return seen

    by_state = {
        state: statements_for(f"{state}@example.org")
        for state in ("new", "pending", "confirmed", "suppressed")
    }
    assert by_state["new"], "no statement was seen"
    for state in ("pending", "confirmed", "suppressed"):
        assert by_state[state] == by_state["new"], state
