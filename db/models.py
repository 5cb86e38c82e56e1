"""SQLAlchemy 2 models: one metadata for every domain, so one migration history.

Columns that identify a person (email, name, IP, user agent) live only on
`subscribers` and `consents`, so erasing a person is a delete of those rows.
Everything else refers to people by id or by `email_hash`.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names keep migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The largest id either database can store; HTTP routes bound id parameters by it.
MAX_ID = 2**63 - 1

# BIGINT on PostgreSQL, but INTEGER on SQLite so that ids stay rowid aliases.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class PostKind(enum.StrEnum):
    article = "article"
    video = "video"


class SubscriberStatus(enum.StrEnum):
    pending = "pending"
    confirmed = "confirmed"
    unsubscribed = "unsubscribed"
    bounced = "bounced"
    complained = "complained"


class CampaignStatus(enum.StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    sending = "sending"
    paused = "paused"
    sent = "sent"
    cancelled = "cancelled"
    failed = "failed"


class DeliveryStatus(enum.StrEnum):
    queued = "queued"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    uncertain = "uncertain"
    skipped = "skipped"


def _enum(cls: type[enum.StrEnum], length: int = 16) -> Enum:
    # Stored as plain strings (no native enum type) so adding a state is a code change only.
    return Enum(cls, native_enum=False, length=length, validate_strings=True)


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    next_poll_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the last successful poll skipped or adjusted, one line each (capped).
    poll_notes: Mapped[list[str] | None] = mapped_column(JSON)


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("feed_id", "guid", name="uq_posts_feed_guid"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    guid: Mapped[str] = mapped_column(String(512))
    kind: Mapped[PostKind] = mapped_column(_enum(PostKind))
    title: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    summary_html: Mapped[str] = mapped_column(Text, default="")
    summary_text: Mapped[str] = mapped_column(Text, default="")
    thumbnail_url: Mapped[str | None] = mapped_column(Text)
    video_id: Mapped[str | None] = mapped_column(String(32))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    # A video's description lines as the feed gave them (plain text); the
    # summary is this minus the feed's recurring boilerplate.
    description: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # first_seen_at + the feed's hold window: a post is not mailed before this.
    available_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Listed by the feed's first poll (already published when Broadsheet started
    # watching): schedules and automatic selections never mail it.
    backlog: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Subscriber(Base):
    __tablename__ = "subscribers"
    # Ids are never handed out twice (SQLite would reuse an erased newest id):
    # links in old emails name a subscriber by id (migration 0012_subscriber_links).
    __table_args__ = (
        # The admin's search by the start of an address or a name (migration
        # 0015_admin_accounts). text_pattern_ops lets PostgreSQL answer `LIKE 'x%'`
        # from the index whatever the collation (addresses are stored lowercased, so
        # lower(email) is email); SQLite searches addresses by range on the unique
        # index instead and needs no second index on email.
        Index(
            "ix_subscribers_email_prefix",
            text("lower(email)"),
            postgresql_ops={"lower(email)": "text_pattern_ops"},
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_subscribers_name_prefix",
            text("lower(name)"),
            postgresql_ops={"lower(name)": "text_pattern_ops"},
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[SubscriberStatus] = mapped_column(_enum(SubscriberStatus), index=True)
    cadence: Mapped[str] = mapped_column(String(16), default="instant")
    timezone: Mapped[str | None] = mapped_column(String(64))
    country: Mapped[str | None] = mapped_column(String(2))
    # Indexed for the admin dashboard's sign-ups per day.
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When a confirmation was last asked for (claims the resend window) ...
    confirmation_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # ... and when one last left for the mail backend; asked for but not mailed is swept.
    confirmation_mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    soft_bounces: Mapped[int] = mapped_column(Integer, default=0)


class Subscription(Base):
    """Membership of a subscriber in a list (lists are defined in the site file)."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_list_subscriber", "list_slug", "subscriber_id"),)

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    list_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Consent(Base):
    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(16))  # form, import, api, demo
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    consent_text_version: Mapped[str] = mapped_column(String(32))
    lists: Mapped[list[str]] = mapped_column(JSON, default=list)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Suppression(Base):
    """Addresses never to be mailed again, kept as a hash so erasure can keep them."""

    __tablename__ = "suppressions"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32))  # unsubscribed, bounced, complained, erased
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Campaign(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The subject as people see it (rendered when the campaign is made, replaced by
    # the sent edition's subject when sending starts); lists and reports show this.
    subject: Mapped[str] = mapped_column(Text)
    # The subject as written (sandboxed Jinja, e.g. "New: {{ lead.title }}").
    subject_template: Mapped[str] = mapped_column(Text)
    intro: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[CampaignStatus] = mapped_column(_enum(CampaignStatus), index=True)
    template: Mapped[str] = mapped_column(String(64), default="edition")
    list_slugs: Mapped[list[str]] = mapped_column(JSON, default=list)
    post_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    schedule_name: Mapped[str | None] = mapped_column(String(64), index=True)
    send_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    local_send_time: Mapped[str | None] = mapped_column(String(5))  # HH:MM per subscriber
    # Keyset cursor of the fan-out: the highest subscriber id already queued.
    fanout_cursor: Mapped[int] = mapped_column(BigInteger, default=0)
    fanout_done: Mapped[bool] = mapped_column(Boolean, default=False)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When retention replaced the campaign's ledger rows by `delivery_rollups` counts.
    ledger_rolled_up_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Edition(Base):
    """A campaign rendered once per variant (e.g. per sponsor); placeholders stay unfilled."""

    __tablename__ = "editions"
    __table_args__ = (UniqueConstraint("campaign_id", "variant", name="uq_editions_variant"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    variant: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    sponsor_name: Mapped[str | None] = mapped_column(String(200))
    # The sponsor desk's booking and creative version this variant carries (none for a
    # variant without a sponsor); impressions and clicks are counted per booking by it.
    booking_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    creative_id: Mapped[int | None] = mapped_column(BigInteger)
    disclaimers: Mapped[list[str]] = mapped_column(JSON, default=list)  # "name@version"
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


UNFINISHED_CONDITION = "status IN ('queued', 'sending')"
UNCERTAIN_CONDITION = "status = 'uncertain'"
SPONSOR_SHOWN_CONDITION = "status = 'sent' AND sponsor_name IS NOT NULL"


class Delivery(Base):
    """The ledger: one row per (campaign, subscriber), claimed before the provider call."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "subscriber_id", name="uq_deliveries_campaign_subscriber"),
        # Partial indexes: a row is written three times on its way to `sent`, and an
        # index whose condition the new version fails costs that write nothing.
        # Unfinished rows by campaign (fan-out, "is the campaign done?", the sweeper).
        # Not on `status` too: with it the planner sometimes served a batch's claim
        # (`id = ANY(...) AND status = 'queued'`) by reading every queued row
        # instead of a thousand primary-key lookups.
        Index(
            "ix_deliveries_unfinished",
            "campaign_id",
            postgresql_where=text(UNFINISHED_CONDITION),
            sqlite_where=text(UNFINISHED_CONDITION),
        ),
        # Sponsors already shown (frequency caps); only sent rows with a sponsor, so a
        # batch's cap lookup never wades through rows of the campaign being sent:
        Index(
            "ix_deliveries_sponsor_shown",
            "subscriber_id",
            "sponsor_name",
            postgresql_where=text(SPONSOR_SHOWN_CONDITION),
            sqlite_where=text(SPONSOR_SHOWN_CONDITION),
        ),
        # Rows waiting for reconciliation:
        Index(
            "ix_deliveries_uncertain",
            "reconciliation",
            postgresql_where=text(UNCERTAIN_CONDITION),
            sqlite_where=text(UNCERTAIN_CONDITION),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No foreign keys on the ledger's two ids: PostgreSQL checks one with a query per
    # inserted row, half the fan-out's cost. The fan-out writes rows for a campaign it
    # holds locked, from subscribers it selects in the same statement; erasure clears
    # subscriber_id itself. No index of subscriber_id alone either: erasure goes
    # through the unique index, one campaign at a time (migration 0009_ledger_write_path).
    campaign_id: Mapped[int] = mapped_column(BigId)
    subscriber_id: Mapped[int | None] = mapped_column(BigId)
    email_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus))
    edition_variant: Mapped[str | None] = mapped_column(String(128))
    sponsor_name: Mapped[str | None] = mapped_column(String(200))
    disclaimers: Mapped[list[str]] = mapped_column(JSON, default=list)
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    batch_key: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    queued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    opened: Mapped[bool] = mapped_column(Boolean, default=False)
    clicked: Mapped[bool] = mapped_column(Boolean, default=False)
    # What reconciliation did with an `uncertain` row: confirmed (an event proved it
    # sent), resent (queued again once), held (left for the admin).
    reconciliation: Mapped[str | None] = mapped_column(String(16))


class DeliveryRollup(Base):
    """What a campaign's ledger rows said, counted, once retention has deleted them.

    One row per (campaign, status, sponsor, edition variant, day sent,
    reconciliation) with the number of deliveries and of those delivered,
    opened and clicked: what the campaign's progress, its report, the sponsor
    report and a booking's report read
    (delivery/retention.py). No subscriber id, no address hash.
    """

    __tablename__ = "delivery_rollups"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(BigId, index=True)
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus))
    sponsor_name: Mapped[str | None] = mapped_column(String(200))
    # The copy's edition variant: a booking's report finds its editions by it.
    edition_variant: Mapped[str | None] = mapped_column(String(128))
    sent_day: Mapped[dt.date | None] = mapped_column(Date)
    reconciliation: Mapped[str | None] = mapped_column(String(16))
    deliveries: Mapped[int] = mapped_column(BigInteger)
    delivered: Mapped[int] = mapped_column(BigInteger)
    opened: Mapped[int] = mapped_column(BigInteger)
    clicked: Mapped[int] = mapped_column(BigInteger)


class Event(Base):
    """A provider event (SendGrid webhook), stored once per sg_event_id before processing."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    provider_event_id: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(32), index=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    campaign_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    delivery_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    url: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PendingEvent(Base):
    """A stored event not yet applied; the claim deletes its row.

    No index on events mentions `processed_at`, so the claim's UPDATE of that
    column can rewrite a row in place (a HOT update on PostgreSQL, with the free
    space the events table keeps per page) instead of adding an entry to each of
    its indexes; this small table is how pending events are found.
    """

    __tablename__ = "pending_events"

    event_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )


class SponsorClick(Base):
    """A click through the tracked redirect /r/{token}."""

    __tablename__ = "sponsor_clicks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sponsor_name: Mapped[str] = mapped_column(String(200), index=True)
    campaign_id: Mapped[int] = mapped_column(BigInteger, index=True)
    delivery_id: Mapped[int | None] = mapped_column(BigInteger)
    booking_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    clicked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduleRun(Base):
    """What a schedule did when it fired: made a campaign, or why it did not."""

    __tablename__ = "schedule_runs"
    __table_args__ = (UniqueConstraint("schedule_name", "due_at", name="uq_schedule_runs_due"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    schedule_name: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ran_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    campaign_id: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16))  # created, skipped, late
    reason: Mapped[str | None] = mapped_column(Text)


class AdminRole(enum.StrEnum):
    viewer = "viewer"
    editor = "editor"
    owner = "owner"


class AdminUser(Base):
    """A person who runs the newsletter in the web admin (not a subscriber).

    `session_epoch` is part of every session cookie: raising it (logout, removal,
    a new password) ends every session of that user at once.
    """

    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[AdminRole] = mapped_column(_enum(AdminRole))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)


class AdminAudit(Base):
    """One admin action: who, what, on what, when, from where.

    `actor` is the admin's address (or `cli`); `target` never holds a subscriber's
    address, only an id or email hash, so erasure leaves nothing personal here.
    """

    __tablename__ = "admin_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# The sponsor desk (sponsorship/): sponsors, inventory, bookings, creative versions.


class BookingState(enum.StrEnum):
    proposed = "proposed"
    awaiting_creative = "awaiting_creative"
    in_review = "in_review"
    approved = "approved"
    running = "running"
    delivered = "delivered"
    cancelled = "cancelled"


class CreativeStatus(enum.StrEnum):
    submitted = "submitted"
    approved = "approved"
    changes = "changes"  # the creator asked for changes


class BlockPosition(enum.StrEnum):
    after_first = "after_first"
    end = "end"


# A slot is sold at most once: one booking per slot that is not cancelled.
LIVE_BOOKING_CONDITION = "state <> 'cancelled' AND slot_id IS NOT NULL"


class SponsorAccount(Base):
    """A sponsor (company) in the desk; `name` is what every block shows under "Sponsored"."""

    __tablename__ = "sponsors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    contact: Mapped[str] = mapped_column(String(320), default="")
    house: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default="desk")  # desk | site
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Placement(Base):
    """Where a sponsor block goes in an edition, e.g. top of the weekly digest."""

    __tablename__ = "placements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[BlockPosition] = mapped_column(_enum(BlockPosition))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Slot(Base):
    """One placement on one day for one list: the unit a booking buys."""

    __tablename__ = "sponsor_slots"
    __table_args__ = (
        UniqueConstraint("placement_id", "day", "list_slug", name="uq_sponsor_slots_day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placements.id"))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    list_slug: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Booking(Base):
    """A sponsor's purchase: one slot, or a flight (date range, weight, cap, lists)."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index(
            "uq_bookings_live_slot",
            "slot_id",
            unique=True,
            sqlite_where=text(LIVE_BOOKING_CONDITION),
            postgresql_where=text(LIVE_BOOKING_CONDITION),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sponsor_id: Mapped[int] = mapped_column(ForeignKey("sponsors.id"), index=True)
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("sponsor_slots.id"))
    position: Mapped[BlockPosition] = mapped_column(_enum(BlockPosition))
    starts: Mapped[dt.date] = mapped_column(Date)
    ends: Mapped[dt.date] = mapped_column(Date)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    cap_days: Mapped[int] = mapped_column(Integer, default=0)
    lists: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every list
    state: Mapped[BookingState] = mapped_column(_enum(BookingState, 24), index=True)
    approved_creative_id: Mapped[int | None] = mapped_column(BigInteger)
    price_cents: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    invoice_ref: Mapped[str] = mapped_column(String(64), default="")
    paid: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Creative(Base):
    """One version of a booking's copy as the sponsor submitted it; never changed after."""

    __tablename__ = "creatives"
    __table_args__ = (UniqueConstraint("booking_id", "version", name="uq_creatives_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    headline: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(2000))
    cta: Mapped[str] = mapped_column(String(60))
    image_url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[CreativeStatus] = mapped_column(_enum(CreativeStatus))
    review_comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_by: Mapped[str | None] = mapped_column(String(320))
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SponsorImport(Base):
    """The site file's `[[sponsors]]` were imported; from then on the desk is the source."""

    __tablename__ = "sponsor_imports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    source: Mapped[str] = mapped_column(String(1000))
    names: Mapped[list[str]] = mapped_column(JSON, default=list)


class ImportJobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class ImportJob(Base):
    """A CSV upload imported in the background (subscribers/import_jobs.py).

    The file itself lives on disk under DATA_DIR/imports/ (`<id>.csv`, and the
    rejected rows in `<id>-rejected.csv`); this row holds what the progress page
    shows. `actor` is the admin who uploaded it (their address, as in the audit).
    """

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor: Mapped[str] = mapped_column(String(320))
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    list_slugs: Mapped[list[str]] = mapped_column(JSON, default=list)
    confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[ImportJobStatus] = mapped_column(
        _enum(ImportJobStatus), default=ImportJobStatus.queued
    )
    error: Mapped[str | None] = mapped_column(Text)
    expected_rows: Mapped[int | None] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    added: Mapped[int] = mapped_column(BigInteger, default=0)
    existing: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    suppressed: Mapped[int] = mapped_column(BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ImportRejection(Base):
    """One rejected row of an import job (the first few thousand; the file has them all)."""

    __tablename__ = "import_rejections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("import_jobs.id", ondelete="CASCADE"), index=True
    )
    line: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)


class AdminFigure(Base):
    """A slow figure of the web admin (a finished campaign's counts, a report) as last
    computed, so pages read it instead of counting a large ledger on every view
    (web/dashboard/figures.py). Never read by anything that decides a send."""

    __tablename__ = "admin_figures"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    data: Mapped[Any] = mapped_column(JSON)
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class AdminApiToken(Base):
    """An admin's own bearer token for /api (accounts/api_tokens.py): only its SHA-256
    is stored; it acts with its user's role and dies with the user or when revoked."""

    __tablename__ = "admin_api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("admin_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise it
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
