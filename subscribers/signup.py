"""Sign-up through the public form or JSON: double opt-in without revealing who is on the list.

Every request gets the same answer. What differs between a new, a pending, a
confirmed and a suppressed address is only whether a confirmation email is
due, and that email is sent after the response (by the caller, as a task).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import JSON, String, Table, Text, bindparam, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from config.site import SiteConfig
from db.models import (
    Consent,
    Subscriber,
    SubscriberStatus,
    Subscription,
    Suppression,
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
    """Record the wish to subscribe; InvalidEmail/UnknownList for input errors only.

    Written with Core statements, not the ORM unit of work: this is the hot path
    of the public form (a new address costs four statements and a commit).
    """
    email = normalize_email(raw_email)
    slugs = chosen_lists(site, lists)
    now = now or utcnow()
    ehash = email_hash(email)
    dialect = session.get_bind().dialect.name
    statements = _statements(dialect)
    connection = session.connection()
    if dialect == "postgresql":
        # The common case, a new address, in one round trip instead of four.
        suppressed, new_id = connection.execute(
            _NEW_ON_POSTGRES,
            {
                "email": email,
                "ehash": ehash,
                "name": clean_name(name),
                "now": now,
                "slugs": slugs,
                **_consent_values(consent, slugs),
            },
        ).one()
        if suppressed:
            return SignupOutcome(None)
        if new_id is not None:
            return SignupOutcome(new_id)
    else:
        if connection.scalar(statements.suppressed, {"ehash": ehash}):
            # Unsubscribed, bounced, complained or erased: never mailed again.
            return SignupOutcome(None)
        new_id = connection.scalar(
            statements.new_subscriber,
            {"email": email, "ehash": ehash, "name": clean_name(name), "now": now},
        )
        if new_id is not None:
            _add_lists(session, new_id, slugs, now)
            _add_consent(session, new_id, slugs, consent, now)
            return SignupOutcome(new_id)
    subscriber_id, status = session.execute(
        select(Subscriber.id, Subscriber.status).where(Subscriber.email == email)
    ).one()
    if status is not SubscriberStatus.pending:
        # Already confirmed (or gone): nothing to do, and nothing that tells the visitor so.
        return SignupOutcome(None)
    have = set(
        session.scalars(
            select(Subscription.list_slug).where(Subscription.subscriber_id == subscriber_id)
        )
    )
    _add_lists(session, subscriber_id, [s for s in slugs if s not in have], now)
    _add_consent(session, subscriber_id, slugs, consent, now)
    due = _claim_confirmation(session, subscriber_id, now)
    return SignupOutcome(subscriber_id if due else None)


def _add_lists(session: Session, subscriber_id: int, slugs: list[str], now: dt.datetime) -> None:
    if slugs:
        # Core on the session's connection: the ORM's bulk-insert path costs more than the SQL.
        session.connection().execute(
            _statements(session.get_bind().dialect.name).new_subscriptions,
            [{"subscriber_id": subscriber_id, "list_slug": s, "created_at": now} for s in slugs],
        )


def _add_consent(
    session: Session,
    subscriber_id: int,
    slugs: list[str],
    consent: ConsentInfo,
    now: dt.datetime,
) -> None:
    session.connection().execute(
        _statements(session.get_bind().dialect.name).new_consent,
        {"subscriber_id": subscriber_id, "created_at": now, **_consent_values(consent, slugs)},
    )


def _consent_values(consent: ConsentInfo, slugs: list[str]) -> dict[str, Any]:
    return {
        "source": consent.source,
        "ip": consent.ip,
        "user_agent": consent.user_agent,
        "consent_text_version": consent.text_version,
        "lists": slugs,
    }


# PostgreSQL runs data-modifying CTEs: the suppression check, the new person,
# their lists and the consent record are one statement. Nothing is written for
# a suppressed address, and for one that exists already (`new` is empty; ON
# CONFLICT waited for a concurrent insert of the same address to commit) the
# caller takes the general path below.
_NEW_ON_POSTGRES = text(
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
    ), memberships AS (
        INSERT INTO subscriptions (subscriber_id, list_slug, created_at)
        SELECT new.id, slug, :now FROM new, unnest(:slugs) AS slug
        ON CONFLICT DO NOTHING
    ), consent AS (
        INSERT INTO consents (subscriber_id, created_at, source, ip, user_agent,
                              consent_text_version, lists)
        SELECT new.id, :now, :source, :ip, :user_agent, :consent_text_version, :lists
        FROM new
    )
    SELECT EXISTS (SELECT 1 FROM blocked), (SELECT id FROM new)
    """
).bindparams(
    bindparam("now", type_=UTCDateTime()),
    bindparam("slugs", type_=postgresql.ARRAY(String(64))),
    bindparam("lists", type_=JSON()),
    bindparam("name", type_=String()),
    bindparam("ip", type_=String()),
    bindparam("user_agent", type_=Text()),
)


def _insert_or_nothing(dialect: str, model: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING: two requests for one new address never collide."""
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    return sqlite.insert(model).on_conflict_do_nothing()


@dataclass(frozen=True)
class _Statements:
    suppressed: Any
    new_subscriber: Any
    new_subscriptions: Any
    new_consent: Any


@lru_cache(maxsize=4)
def _statements(dialect: str) -> _Statements:
    """Built once per dialect: constructing statements costs more than running them here."""
    # Core tables, run on the session's connection: the ORM adds bookkeeping, not meaning.
    suppressions, subscribers = Suppression.__table__.c, Subscriber.__table__
    return _Statements(
        suppressed=select(suppressions.reason).where(suppressions.email_hash == bindparam("ehash")),
        new_subscriber=_insert_or_nothing(dialect, subscribers)
        .values(
            email=bindparam("email"),
            email_hash=bindparam("ehash"),
            name=bindparam("name"),
            status=SubscriberStatus.pending,
            cadence="instant",
            created_at=bindparam("now", type_=UTCDateTime()),
            confirmation_sent_at=bindparam("now", type_=UTCDateTime()),
            soft_bounces=0,
        )
        .returning(subscribers.c.id),
        new_subscriptions=_insert_or_nothing(dialect, Subscription.__table__),
        new_consent=insert(cast(Table, Consent.__table__)),
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
