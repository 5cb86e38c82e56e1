"""Which pending people are owed a confirmation email, and claiming one so it goes once.

Two times on the subscriber make this durable across process deaths:
`confirmation_sent_at` is when a confirmation was last asked for (a sign-up,
an admin add, an invitation) and `confirmation_mailed_at` when the
confirmation task last handed one to the mail backend. Asked for after the
last mailing means owed.

Invariants:
- a confirmation is mailed only after `claim_mailing` moved
  `confirmation_mailed_at` past `confirmation_sent_at` in one UPDATE, so the
  publisher's task, the sweep and an invitation racing for one person send one
  email between them;
- nothing here mails anyone: callers (tasks, CLI) queue
  `tasks.subscribers.send_confirmation` after their commit;
- imported people (never asked for, `confirmation_sent_at` NULL) are owed
  nothing until someone invites them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, case, exists, or_, select, update
from sqlalchemy.orm import Session

from db.engine import Database
from db.models import Subscriber, SubscriberStatus, Subscription, Suppression, utcnow

# The sweep leaves a request this long to the task the sign-up queued ...
SWEEP_AFTER = dt.timedelta(minutes=1)
# ... and gives up on requests older than this: a week-old sign-up should not get mail now.
SWEEP_WINDOW = dt.timedelta(days=2)
SWEEP_LIMIT = 1000
INVITE_CHUNK = 1000


def _not_suppressed() -> ColumnElement[bool]:
    return ~exists().where(Suppression.email_hash == Subscriber.email_hash)


def _owed() -> ColumnElement[bool]:
    return and_(
        Subscriber.status == SubscriberStatus.pending,
        Subscriber.confirmation_sent_at.is_not(None),
        or_(
            Subscriber.confirmation_mailed_at.is_(None),
            Subscriber.confirmation_mailed_at < Subscriber.confirmation_sent_at,
        ),
        _not_suppressed(),
    )


@dataclass(frozen=True)
class Claimed:
    """The person whose confirmation this caller may now mail."""

    subscriber_id: int
    email: str
    name: str | None
    email_hash: str


def claim_mailing(session: Session, subscriber_id: int, now: dt.datetime) -> Claimed | None:
    """Take the right to mail this person's owed confirmation; None when nothing is owed."""
    row = session.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id, _owed())
        # Never before the request it answers, even if another host's clock runs ahead.
        .values(
            confirmation_mailed_at=case(
                (Subscriber.confirmation_sent_at > now, Subscriber.confirmation_sent_at),
                else_=now,
            )
        )
        .returning(Subscriber.id, Subscriber.email, Subscriber.name, Subscriber.email_hash)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return Claimed(*row) if row is not None else None


def release_mailing(session: Session, subscriber_id: int) -> None:
    """The mailing failed before anything left (a retry will claim it again)."""
    session.execute(
        update(Subscriber)
        .where(Subscriber.id == subscriber_id)
        .values(confirmation_mailed_at=None)
        .execution_options(synchronize_session=False)
    )


def owed_unmailed(session: Session, now: dt.datetime | None = None) -> list[int]:
    """People asked for a confirmation that never left (their web process died first)."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(Subscriber.id)
            .where(
                _owed(),
                Subscriber.confirmation_sent_at <= now - SWEEP_AFTER,
                Subscriber.confirmation_sent_at > now - SWEEP_WINDOW,
            )
            .order_by(Subscriber.id)
            .limit(SWEEP_LIMIT)
        )
    )


def invite(
    db: Database,
    *,
    older_than: dt.timedelta,
    list_slug: str | None = None,
    limit: int | None = None,
    now: dt.datetime | None = None,
) -> Iterator[list[int]]:
    """Ask for a confirmation for pending people never mailed one, or last mailed before
    `older_than` ago; yields the ids of each committed chunk for the caller to queue."""
    now = now or utcnow()
    after, left = 0, limit
    while left is None or left > 0:
        size = INVITE_CHUNK if left is None else min(INVITE_CHUNK, left)
        query = select(Subscriber.id).where(
            Subscriber.id > after,
            Subscriber.status == SubscriberStatus.pending,
            or_(
                Subscriber.confirmation_mailed_at.is_(None),
                Subscriber.confirmation_mailed_at <= now - older_than,
            ),
            _not_suppressed(),
        )
        if list_slug is not None:
            query = query.where(
                exists().where(
                    Subscription.subscriber_id == Subscriber.id,
                    Subscription.list_slug == list_slug,
                )
            )
        with db.session() as session:
            ids = list(session.scalars(query.order_by(Subscriber.id).limit(size)))
            if not ids:
                return
            _ask(session, ids, now)
        yield ids
        after = ids[-1]
        if left is not None:
            left -= len(ids)


def invite_imported(conn: Connection, hashes: Sequence[str], now: dt.datetime) -> list[int]:
    """`import --invite`: the file's pending people never mailed a confirmation."""
    return list(
        conn.scalars(
            update(Subscriber)
            .where(
                Subscriber.email_hash.in_(hashes),
                Subscriber.status == SubscriberStatus.pending,
                Subscriber.confirmation_mailed_at.is_(None),
                _not_suppressed(),
            )
            .values(confirmation_sent_at=now)
            .returning(Subscriber.id)
            .execution_options(synchronize_session=False)
        )
    )


def _ask(session: Session, ids: list[int], now: dt.datetime) -> None:
    session.execute(
        update(Subscriber)
        .where(Subscriber.id.in_(ids))
        .values(confirmation_sent_at=now)
        .execution_options(synchronize_session=False)
    )
