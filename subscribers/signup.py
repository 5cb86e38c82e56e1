"""Sign-up through the public form or JSON: double opt-in without revealing who is on the list.

Every request gets the same answer and runs the same statements: the state of
the address (new, pending, confirmed, suppressed) is only ever tested inside
the SQL, so neither the answer nor its timing tells the states apart. What
differs is only whether a confirmation email is due, and that email is sent
after the response (by the caller, as a task). Being due is recorded in
`confirmation_sent_at` in the same transaction, so a confirmation whose task
is lost is still found (subscribers/invitations.py).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, String, Text, TextClause, bindparam, or_, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from config.site import SiteConfig
from db.models import (
    Consent,
    Subscriber,
    SubscriberStatus,
    UTCDateTime,
    utcnow,
)
from subscribers.addresses import email_hash, normalize_email
from subscribers.preferences import clean_name
from subscribers.service import ConsentInfo, add_subscriber, is_suppressed

# A pending address gets at most one confirmation email per this many minutes,
# so the form cannot be used to flood someone's inbox.
RESEND_AFTER = dt.timedelta(minutes=10)


class UnknownList(ValueError):
    """A list slug that the site file does not define."""


@dataclass(frozen=True)
class SignupOutcome:
    """For the caller only: whom to send a confirmation to (never shown to the visitor)."""

    confirm_subscriber_id: int | None


def chosen_lists(site: SiteConfig, requested: Iterable[str]) -> list[str]:
    """The requested slugs in site order, or the site's defaults when none are given."""
    wanted = {slug.strip() for slug in requested if slug.strip()}
    unknown = sorted(wanted - set(site.list_slugs()))
    if unknown:
        raise UnknownList(f"unknown list(s): {', '.join(unknown)}")
    if not wanted:
        return site.default_lists()
    return [slug for slug in site.list_slugs() if slug in wanted]


@dataclass(frozen=True)
class SignupRequest:
    """A sign-up checked and ready to write: the statements' parameters, nothing else."""

    values: dict[str, Any]


def prepare_signup(
    site: SiteConfig,
    raw_email: str,
    lists: Iterable[str],
    consent: ConsentInfo,
    *,
    name: str | None = None,
    now: dt.datetime | None = None,
) -> SignupRequest:
    """Check the input (InvalidEmail/UnknownList) without touching the database, so a
    caller can do it before it queues for the writer (db/group_commit.py)."""
    email = normalize_email(raw_email)
    slugs = chosen_lists(site, lists)
    now = now or utcnow()
    return SignupRequest(
        {
            "email": email,
            "ehash": email_hash(email),
            "name": clean_name(name),
            "now": now,
            "cutoff": now - RESEND_AFTER,
            "slugs": slugs,
            "slugs_json": json.dumps(slugs),
            **_consent_values(consent, slugs),
        }
    )


def record_signup(session: Session, request: SignupRequest) -> SignupOutcome:
    """Record the wish to subscribe; the caller commits.

    The same statements run whatever the address's state (new, pending,
    confirmed, suppressed): every condition is in the SQL, so neither the
    answer nor its timing can tell the states apart (test_signup's statement
    listener checks it). On PostgreSQL that is one statement, on SQLite four.
    """
    values = request.values
    connection = session.connection()
    if session.get_bind().dialect.name == "postgresql":
        new_id, claimed_id, seen = connection.execute(_SIGNUP_ON_POSTGRES, values).one()
        if new_id is None and claimed_id is None and not seen:
            # Only when a concurrent request inserted this address after our snapshot
            # (ON CONFLICT waited for it): the same statement again sees that row.
            new_id, claimed_id, seen = connection.execute(_SIGNUP_ON_POSTGRES, values).one()
        return SignupOutcome(new_id if new_id is not None else claimed_id)
    for statement in _SIGNUP_ON_SQLITE[:-1]:
        connection.execute(statement, values)
    return SignupOutcome(connection.scalar(_SIGNUP_ON_SQLITE[-1], values))


def request_subscription(
    session: Session,
    site: SiteConfig,
    raw_email: str,
    lists: Iterable[str],
    consent: ConsentInfo,
    *,
    name: str | None = None,
    now: dt.datetime | None = None,
) -> SignupOutcome:
    """Check and record in one call (InvalidEmail/UnknownList for input errors only)."""
    request = prepare_signup(site, raw_email, lists, consent, name=name, now=now)
    return record_signup(session, request)


def _consent_values(consent: ConsentInfo, slugs: list[str]) -> dict[str, Any]:
    return {
        "source": consent.source,
        "ip": consent.ip,
        "user_agent": consent.user_agent,
        "consent_text_version": consent.text_version,
        "lists": slugs,
    }


_BINDS = (
    bindparam("now", type_=UTCDateTime()),
    bindparam("cutoff", type_=UTCDateTime()),
    bindparam("lists", type_=JSON()),
    bindparam("name", type_=String()),
    bindparam("ip", type_=String()),
    bindparam("user_agent", type_=Text()),
)


def _typed(statement: TextClause) -> TextClause:
    """Type the bind parameters this statement uses (text() refuses unknown names)."""
    used = [b for b in _BINDS if f":{b.key}" in statement.text]
    return statement.bindparams(*used)


# PostgreSQL runs data-modifying CTEs, so the whole sign-up is one statement:
# `new` inserts an unknown, unsuppressed address (already claimed: its
# confirmation is due); `old` is the address if it is pending; both get the
# lists and a consent row; `claim` takes the resend window of a pending
# address. A confirmed or suppressed address matches nothing and nothing is
# written. Sibling CTEs share one snapshot, so `old` never sees `new`'s row.
_SIGNUP_ON_POSTGRES = text(
    """
    WITH blocked AS (
        SELECT 1 FROM suppressions WHERE email_hash = :ehash
    ), new AS (
        INSERT INTO subscribers (email, email_hash, name, status, cadence, created_at,
                                 confirmation_sent_at, soft_bounces)
        SELECT :email, :ehash, :name, 'pending', 'instant', :now, :now, 0
        WHERE NOT EXISTS (SELECT 1 FROM blocked)
        ON CONFLICT DO NOTHING
        RETURNING id
    ), old AS (
        SELECT id, confirmation_sent_at FROM subscribers
        WHERE email = :email AND status = 'pending' AND NOT EXISTS (SELECT 1 FROM blocked)
    ), person AS (
        SELECT id FROM new UNION ALL SELECT id FROM old
    ), memberships AS (
        INSERT INTO subscriptions (subscriber_id, list_slug, created_at)
        SELECT person.id, slug, :now FROM person, unnest(:slugs) AS slug
        ON CONFLICT DO NOTHING
    ), consent AS (
        INSERT INTO consents (subscriber_id, created_at, source, ip, user_agent,
                              consent_text_version, lists)
        SELECT person.id, :now, :source, :ip, :user_agent, :consent_text_version, :lists
        FROM person
    ), claim AS (
        UPDATE subscribers SET confirmation_sent_at = :now
        FROM old
        WHERE subscribers.id = old.id
          AND (old.confirmation_sent_at IS NULL OR old.confirmation_sent_at <= :cutoff)
        RETURNING subscribers.id
    )
    SELECT (SELECT id FROM new), (SELECT id FROM claim),
           EXISTS (SELECT 1 FROM blocked) OR EXISTS (SELECT 1 FROM subscribers WHERE email = :email)
    """
).bindparams(bindparam("slugs", type_=postgresql.ARRAY(String(64))), *_BINDS)

# SQLite has no data-modifying CTEs: four statements, always all four, each
# with the state conditions in its WHERE clause. A new address is inserted
# unclaimed and the last statement claims it like any pending address.
_PENDING_ON_SQLITE = """
    WHERE s.email = :email AND s.status = 'pending'
      AND NOT EXISTS (SELECT 1 FROM suppressions WHERE email_hash = :ehash)
"""
_SIGNUP_ON_SQLITE = tuple(
    _typed(text(sql))
    for sql in (
        """
        INSERT INTO subscribers (email, email_hash, name, status, cadence, created_at,
                                 soft_bounces)
        SELECT :email, :ehash, :name, 'pending', 'instant', :now, 0
        WHERE NOT EXISTS (SELECT 1 FROM suppressions WHERE email_hash = :ehash)
        ON CONFLICT DO NOTHING
        """,
        f"""
        INSERT INTO subscriptions (subscriber_id, list_slug, created_at)
        SELECT s.id, slug.value, :now
        FROM subscribers s, json_each(:slugs_json) AS slug
        {_PENDING_ON_SQLITE}
        ON CONFLICT DO NOTHING
        """,
        f"""
        INSERT INTO consents (subscriber_id, created_at, source, ip, user_agent,
                              consent_text_version, lists)
        SELECT s.id, :now, :source, :ip, :user_agent, :consent_text_version, :lists
        FROM subscribers s
        {_PENDING_ON_SQLITE}
        """,
        """
        UPDATE subscribers SET confirmation_sent_at = :now
        WHERE email = :email AND status = 'pending'
          AND (confirmation_sent_at IS NULL OR confirmation_sent_at <= :cutoff)
          AND NOT EXISTS (SELECT 1 FROM suppressions WHERE email_hash = :ehash)
        RETURNING id
        """,
    )
)


def _claim_confirmation(session: Session, subscriber_id: int, now: dt.datetime) -> bool:
    """One UPDATE decides whether a confirmation is due, so concurrent requests send one."""
    result = session.execute(
        update(Subscriber)
        .where(
            Subscriber.id == subscriber_id,
            or_(
                Subscriber.confirmation_sent_at.is_(None),
                Subscriber.confirmation_sent_at <= now - RESEND_AFTER,
            ),
        )
        .values(confirmation_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ConfirmOutcome:
    state: str  # "confirmed", "already", "gone"
    subscriber_id: int | None = None


def confirm(session: Session, subscriber_id: int, hash_prefix: str) -> ConfirmOutcome:
    """Confirm the pending subscriber the link was made for; idempotent."""
    subscriber = session.get(Subscriber, subscriber_id)
    # The hash check makes a link for an erased person useless if the id is ever reused.
    if (
        subscriber is None
        or not hash_prefix
        or not subscriber.email_hash.startswith(hash_prefix)
        or is_suppressed(session, subscriber.email)
    ):
        return ConfirmOutcome("gone")
    if subscriber.status is SubscriberStatus.confirmed:
        return ConfirmOutcome("already", subscriber.id)
    if subscriber.status is not SubscriberStatus.pending:
        return ConfirmOutcome("gone")
    now = utcnow()
    subscriber.status = SubscriberStatus.confirmed
    subscriber.confirmed_at = now
    session.execute(
        update(Consent)
        .where(Consent.subscriber_id == subscriber.id, Consent.confirmed_at.is_(None))
        .values(confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return ConfirmOutcome("confirmed", subscriber.id)


def add_by_admin(
    session: Session,
    site: SiteConfig,
    raw_email: str,
    lists: Iterable[str],
    *,
    source: str,
    confirmed: bool = False,
    name: str | None = None,
) -> tuple[Subscriber, int | None]:
    """An admin adds someone (CLI or API): returns the subscriber and whom to send a
    confirmation to, if anyone. Suppressed addresses raise `Suppressed`.

    Without `confirmed` the person still has to confirm by email (double opt-in).
    """
    slugs = chosen_lists(site, lists)
    consent = ConsentInfo(source=source, text_version=site.newsletter.consent_text_version)
    subscriber = add_subscriber(
        session, raw_email, slugs, consent, confirmed=confirmed, name=clean_name(name)
    )
    if subscriber.status is not SubscriberStatus.pending:
        return subscriber, None
    due = _claim_confirmation(session, subscriber.id, utcnow())
    session.refresh(subscriber)
    return subscriber, subscriber.id if due else None
