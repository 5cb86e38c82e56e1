"""Sending a campaign, step by step; the Celery tasks are thin calls into these functions.

Each function opens and commits its own transaction so that a task may run it
again after a crash and find the ledger exactly as the last commit left it.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from campaigns.compose import CampaignError, require_content, store_edition
from campaigns.variants import assign_variants, render_variants
from config.site import SiteConfig
from db.engine import Database
from db.ids import among
from db.models import (
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    Edition,
    Subscriber,
    SubscriberStatus,
    Suppression,
    utcnow,
)
from db.statistics import refresh_statistics
from delivery import ledger
from delivery.message import (
    BatchReceipt,
    Envelope,
    PermanentSendError,
    Recipient,
    TransientSendError,
    UncertainSendError,
)
from delivery.personalize import LinkMaker, RecipientMaker, campaign_recipient, crisis_values
from delivery.sender import MAX_BATCH, MailSender

log = logging.getLogger(__name__)

SENDABLE = (CampaignStatus.draft, CampaignStatus.scheduled)
CANCELLABLE = (
    CampaignStatus.draft,
    CampaignStatus.scheduled,
    CampaignStatus.sending,
    CampaignStatus.paused,
)
# A campaign with queued rows and no row queued or claimed for this long has lost
# its tasks (a fan-out crashed between commit and enqueue): the sweeper re-enqueues.
# Longer than the longest retry back-off, so a campaign that is only waiting is left alone.
STALLED_AFTER = dt.timedelta(minutes=15)
# A row claimed this long ago whose worker never reported back: its call may have
# happened. Matches the broker's visibility timeout.
LOST_AFTER = dt.timedelta(hours=1)


@dataclass(frozen=True)
class BatchOutcome:
    sent: int = 0
    failed: int = 0
    uncertain: int = 0
    skipped: int = 0
    error: str | None = None

    def plus(self, other: BatchOutcome) -> BatchOutcome:
        return BatchOutcome(
            sent=self.sent + other.sent,
            failed=self.failed + other.failed,
            uncertain=self.uncertain + other.uncertain,
            skipped=self.skipped + other.skipped,
            error=other.error or self.error,
        )


def start_campaign(db: Database, site: SiteConfig, campaign_id: int) -> bool:
    """Render every edition variant once and move the campaign to `sending`.

    True when the campaign is sending; False when it was paused or cancelled
    before this (late) task ran, which then has nothing to do.
    """
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status is CampaignStatus.sending:
            return True  # a retried task, a resume or a rescue: already started
        if campaign.status in (CampaignStatus.paused, CampaignStatus.cancelled):
            return False
        if campaign.status not in SENDABLE:
            raise CampaignError(f"campaign {campaign_id} is {campaign.status.value}; cannot send")
        for variant, edition in render_variants(session, site, campaign).items():
            store_edition(session, campaign, variant, edition)
        campaign.status = CampaignStatus.sending
        campaign.started_at = utcnow()
        return True


def fan_out(db: Database, site: SiteConfig, campaign_id: int) -> Iterator[list[int]]:
    """The campaign's rows due now, in batches of up to 1000, written slice by slice.

    Slices double from one batch up to `ledger.FANOUT_SLICE`: the first batch
    can go out while the next slices are written, and a small campaign does
    not wait for one large statement before its second batch starts. Each
    slice is a range of subscriber ids (`ledger.queue_next_slice`).
    """
    size = MAX_BATCH
    written = 0
    while (batches := queue_slice(db, site, campaign_id, size)) is not None:
        written += sum(len(batch) for batch in batches)
        yield from batches
        size = min(2 * size, ledger.FANOUT_SLICE)
    # The ledger grew by a list's worth of rows: statistics for what runs next.
    refresh_statistics(db, ("deliveries",), written)


def queue_slice(
    db: Database, site: SiteConfig, campaign_id: int, size: int
) -> list[list[int]] | None:
    """Write the next `size` rows of the ledger and return those due now, in batches of up
    to 1000.

    None once the fan-out is over. An empty list is not the end: every row of
    the slice may be waiting for its local time.
    """
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status is not CampaignStatus.sending or campaign.fanout_done:
            return None
        ids = ledger.queue_next_slice(session, campaign, site.newsletter.tz, limit=size)
        if campaign.fanout_done:
            return None
        return [ids[i : i + MAX_BATCH] for i in range(0, len(ids), MAX_BATCH)]


def queued_batches(db: Database, campaign_id: int) -> Iterator[list[int]]:
    """Queued, due rows in slices of 1000: re-enqueued on resume and after a lost fan-out."""
    after = 0
    while True:
        with db.session() as session:
            ids = ledger.queued_ids_after(session, campaign_id, after)
        if not ids:
            return
        yield ids
        after = ids[-1]


@dataclass
class _Group:
    """The recipients of one batch who get the same edition variant."""

    edition: Edition
    delivery_ids: list[int]
    recipients: list[Recipient]

    @property
    def edition_columns(self) -> dict[str, object]:
        """What the ledger keeps about the copy sent (for reports), written with the outcome."""
        return {
            "edition_variant": self.edition.variant,
            "sponsor_name": self.edition.sponsor_name,
            "disclaimers": self.edition.disclaimers,
        }


def send_batch(
    db: Database,
    site: SiteConfig,
    sender: MailSender,
    links: LinkMaker,
    campaign_id: int,
    delivery_ids: Sequence[int],
    *,
    pause_after_failures: int = 0,
    throttle: Callable[[int], object] | None = None,
) -> BatchOutcome:
    """Claim the rows, fill placeholders, call the sender once per variant, record results.

    A paused or cancelled campaign claims nothing: its rows stay queued (paused,
    resumed later) or were already skipped (cancelled). `throttle` waits for
    the global send rate before the claim, so rows never sit claimed while waiting.
    """
    if throttle is not None:
        with db.session() as session:
            status = _campaign(session, campaign_id).status
        if status is not CampaignStatus.sending:
            return BatchOutcome(error=f"campaign is {status.value}")
        throttle(len(delivery_ids))
    with db.session() as session:
        campaign = _campaign(session, campaign_id)
        if campaign.status is not CampaignStatus.sending:
            return BatchOutcome(error=f"campaign is {campaign.status.value}")
        owned = ledger.claim(session, delivery_ids, uuid.uuid4().hex)
        if not owned:
            return BatchOutcome()
        groups, skipped = _prepare(session, site, links, campaign, owned)
        envelopes = {key: _envelope(site, campaign, g.edition) for key, g in groups.items()}
    # The provider call happens outside any transaction: the claim is committed,
    # so a crash from here on leaves rows in `sending` for reconciliation.
    outcome = BatchOutcome(skipped=len(skipped))
    for key, group in groups.items():
        outcome = outcome.plus(_deliver(db, sender, envelopes[key], group))
    _count_failures(db, campaign_id, outcome, pause_after_failures)
    return outcome


def _prepare(
    session: Session, site: SiteConfig, links: LinkMaker, campaign: Campaign, owned: list[int]
) -> tuple[dict[str, _Group], list[int]]:
    editions = {
        e.variant: e
        for e in session.scalars(select(Edition).where(Edition.campaign_id == campaign.id))
    }
    if not editions:
        raise CampaignError(f"campaign {campaign.id} has no edition")
    # Suppression and consent are checked again at send time: they may have
    # changed since the row was queued. The check is made in SQL, and the rows
    # are plain columns on the Core connection: converting each row's status
    # to the enum, or building ORM rows or entities, cost more than the query.
    sendable = case(
        (
            and_(
                Subscriber.id.is_not(None),
                Suppression.email_hash.is_(None),
                Subscriber.status == SubscriberStatus.confirmed,
            ),
            True,
        ),
        else_=False,
    )
    rows = (
        session.connection()
        .execute(
            select(
                Delivery.id,
                Subscriber.id,
                Subscriber.email,
                Subscriber.name,
                Subscriber.country,
                sendable,
            )
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id, isouter=True)
            .join(Suppression, Suppression.email_hash == Delivery.email_hash, isouter=True)
            .where(among(session, Delivery.id, owned))
        )
        .all()
    )
    live: list[tuple[int, int, str, str | None, str | None]] = []
    skipped: list[int] = []
    for delivery_id, subscriber_id, email, name, country, ok in rows:
        if ok:
            live.append((delivery_id, subscriber_id, email, name, country))
        else:
            skipped.append(delivery_id)
    ledger.mark(session, skipped, DeliveryStatus.skipped, error="suppressed or not confirmed")
    chosen = assign_variants(
        session, site, campaign, [row[1] for row in live], list(editions.values())
    )
    active = {f"{d.name}@{d.version}": d for d in site.disclaimers}
    groups: dict[str, _Group] = {}
    # Crisis lines depend only on (variant, country): looked up once per pair, not per person.
    crisis: dict[tuple[str, str | None], dict[str, str]] = {}
    makers: dict[str, RecipientMaker] = {}
    for delivery_id, subscriber_id, email, name, country in live:
        variant = chosen[subscriber_id]
        group = groups.get(variant)
        if group is None:
            group = groups[variant] = _Group(editions[variant], [], [])
            makers[variant] = RecipientMaker(links, campaign.id, group.edition.sponsor_name)
        key = (variant, country)
        if key not in crisis:
            shown = [active[x] for x in group.edition.disclaimers if x in active]
            crisis[key] = crisis_values(shown, country)
        group.delivery_ids.append(delivery_id)
        group.recipients.append(
            makers[variant].recipient(
                email=email,
                name=name,
                subscriber_id=subscriber_id,
                delivery_id=delivery_id,
                crisis=crisis[key],
            )
        )
    return groups, skipped


def _deliver(db: Database, sender: MailSender, envelope: Envelope, group: _Group) -> BatchOutcome:
    ids = group.delivery_ids
    extra = group.edition_columns
    try:
        receipt = sender.send_batch(envelope, group.recipients)
    except TransientSendError:
        record(db, lambda session: ledger.release(session, ids))
        raise
    except (PermanentSendError, UncertainSendError) as exc:
        status = (
            DeliveryStatus.failed
            if isinstance(exc, PermanentSendError)
            else DeliveryStatus.uncertain
        )
        error = str(exc)[:2000]
        record(db, lambda session: ledger.mark(session, ids, status, error=error, columns=extra))
        if status is DeliveryStatus.failed:
            return BatchOutcome(failed=len(ids), error=str(exc))
        return BatchOutcome(uncertain=len(ids), error=str(exc))
    except Exception as exc:
        # A sender fails recipients one by one in its receipt; anything it raises
        # besides a SendError is a bug, part way through the batch. Some copies may
        # have gone: the rows are uncertain now, with the reason, rather than left
        # in `sending` for the sweeper to find an hour later.
        log.exception("sender %s raised outside its error handling", sender.name)
        bug = f"sender raised {type(exc).__name__}: {exc}"[:2000]
        record(
            db,
            lambda session: ledger.mark(
                session, ids, DeliveryStatus.uncertain, error=bug, columns=extra
            ),
        )
        return BatchOutcome(uncertain=len(ids), error=bug)
    return _record_receipt(db, group, receipt)


# Attempts at writing a provider's answer into the ledger; see `record`.
RECORD_ATTEMPTS = 3


def record(db: Database, write: Callable[[Session], object]) -> None:
    """Write what the provider answered, in a transaction of its own.

    The answer exists only in this process's memory: if the database connection
    is lost while writing it, a retried task cannot learn it again (its rows are
    claimed) and they would wait an hour for the sweeper. So a write that failed
    because its connection died is tried again on a fresh connection (the pool's
    pre-ping replaces the dead one); any other error is raised at once.
    """
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            with db.session() as session:
                write(session)
            return
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == RECORD_ATTEMPTS:
                raise
            log.warning("ledger write lost its connection; writing again: %s", exc.orig)


def _record_receipt(db: Database, group: _Group, receipt: BatchReceipt) -> BatchOutcome:
    by_email = {r.email: d for r, d in zip(group.recipients, group.delivery_ids, strict=True)}
    exceptions = {*receipt.failed, *receipt.uncertain, *receipt.not_sent}
    sent = [d for email, d in by_email.items() if email not in exceptions]
    extra = group.edition_columns
    sent_at = utcnow()
    # Refusals usually share a reason: one statement per reason, not per person.
    failed = _by_reason(receipt.failed, by_email)
    uncertain = _by_reason(receipt.uncertain, by_email)

    def write(session: Session) -> None:
        ledger.mark(
            session,
            sent,
            DeliveryStatus.sent,
            message_id=receipt.message_id,
            sent_at=sent_at,
            columns=extra,
        )
        for error, ids in failed.items():
            ledger.mark(session, ids, DeliveryStatus.failed, error=error, columns=extra)
        for error, ids in uncertain.items():
            ledger.mark(session, ids, DeliveryStatus.uncertain, error=error, columns=extra)
        if receipt.not_sent:
            ledger.release(session, [by_email[e] for e in receipt.not_sent])
        if sent:  # a batch that sent anything ends a run of failed batches
            session.execute(
                update(Campaign)
                .where(Campaign.id == group.edition.campaign_id, Campaign.consecutive_failures != 0)
                .values(consecutive_failures=0)
            )

    record(db, write)
    outcome = BatchOutcome(
        sent=len(sent),
        failed=len(receipt.failed),
        uncertain=len(receipt.uncertain),
        error=next(iter(receipt.failed.values()), None),
    )
    if receipt.not_sent:
        # The rows are back in the queue; the task retries with back-off.
        raise TransientSendError(f"{len(receipt.not_sent)} message(s) not sent yet")
    return outcome


def _by_reason(errors: dict[str, str], by_email: dict[str, int]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for email, error in errors.items():
        grouped.setdefault(error[:2000], []).append(by_email[email])
    return grouped


def _count_failures(db: Database, campaign_id: int, outcome: BatchOutcome, limit: int) -> None:
    """A batch that failed and sent nothing counts (a sent batch reset the count as it recorded)."""
    if outcome.failed and not outcome.sent:
        record_failed_batch(db, campaign_id, outcome.error or "batch failed", limit)


def record_failed_batch(db: Database, campaign_id: int, error: str, limit: int) -> bool:
    """Count one failed batch; pause the campaign at `limit` in a row. True if it paused."""
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        campaign.consecutive_failures += 1
        if not (limit and campaign.consecutive_failures >= limit):
            return False
        if campaign.status is not CampaignStatus.sending:
            return False
        campaign.status = CampaignStatus.paused
        campaign.status_reason = (
            f"paused after {campaign.consecutive_failures} failed batches in a row; "
            f"last error: {error[:500]}"
        )
        return True


def give_up(
    db: Database, campaign_id: int, delivery_ids: Sequence[int], error: str, limit: int
) -> None:
    """Retries are exhausted: rows of this batch no worker holds fail, and the batch counts."""
    with db.session() as session:
        still_queued = list(
            session.scalars(
                select(Delivery.id).where(Delivery.id.in_(list(delivery_ids)), ledger.unclaimed())
            )
        )
        ledger.mark(session, still_queued, DeliveryStatus.failed, error=error[:2000])
    if still_queued:
        record_failed_batch(db, campaign_id, error, limit)


def send_inline(
    db: Database,
    site: SiteConfig,
    sender: MailSender,
    links: LinkMaker,
    campaign_id: int,
    on_batch: Callable[[BatchOutcome], object] | None = None,
) -> BatchOutcome:
    """Every step of a send in this process, as the tasks run them (demo, tests)."""
    start_campaign(db, site, campaign_id)
    total = BatchOutcome()
    for ids in fan_out(db, site, campaign_id):
        outcome = send_batch(db, site, sender, links, campaign_id, ids)
        total = total.plus(outcome)
        if on_batch is not None:
            on_batch(outcome)
    finish_if_done(db, campaign_id)
    return total


def finish_if_done(
    db: Database,
    campaign_id: int,
    on_first_finish: Callable[[Campaign, dict[str, int]], object] | None = None,
) -> bool:
    """Mark the campaign sent once every row has left `queued` and `sending`.

    `on_first_finish` runs after the commit, only the first time the campaign
    is finished (a reconciliation re-send reopens and finishes it again).
    """
    with db.session() as session:
        # Checked without a lock first: every batch calls this, and most find work left.
        campaign = _campaign(session, campaign_id)
        if campaign.status is not CampaignStatus.sending or not campaign.fanout_done:
            return campaign.status is CampaignStatus.sent
        if ledger.has_unfinished(session, campaign_id):
            return False
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status is not CampaignStatus.sending or ledger.has_unfinished(
            session, campaign_id
        ):
            return campaign.status is CampaignStatus.sent
        first = campaign.finished_at is None
        campaign.status = CampaignStatus.sent
        campaign.finished_at = utcnow()
        counts = ledger.counts_by_status(session, campaign_id)
    if first and on_first_finish is not None:
        on_first_finish(campaign, counts)
    return True


# -- life cycle: schedule, pause, resume, cancel ---------------------------------


class SendTimeInPast(CampaignError):
    """A send time that has already passed: sending "then" cannot happen."""


def schedule(
    db: Database,
    campaign_id: int,
    *,
    send_at: dt.datetime | None,
    local_time: str | None,
    now: dt.datetime | None = None,
) -> Campaign:
    """Set when the campaign goes out. With `send_at` it becomes `scheduled`;
    without, it stays a draft for the caller to start now. A `send_at` in the
    past is refused rather than sent at once by surprise."""
    now = now or utcnow()
    if send_at is not None and send_at < now:
        raise SendTimeInPast(
            f"send time {send_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC is in the past "
            f"(now {now.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC); leave the time out to send now"
        )
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status not in SENDABLE:
            raise CampaignError(f"campaign {campaign_id} is {campaign.status.value}; cannot send")
        require_content(campaign)
        campaign.local_send_time = ledger.parse_local_time(local_time) if local_time else None
        campaign.send_at = send_at
        campaign.status = CampaignStatus.scheduled if send_at else CampaignStatus.draft
        return campaign


def due_scheduled(db: Database, now: dt.datetime) -> list[int]:
    """Scheduled campaigns whose time has come."""
    with db.session() as session:
        return list(
            session.scalars(
                select(Campaign.id).where(
                    Campaign.status == CampaignStatus.scheduled, Campaign.send_at <= now
                )
            )
        )


def pause(db: Database, campaign_id: int, reason: str = "paused by an admin") -> Campaign:
    """Stop claiming: batches already at the provider finish, queued rows wait."""
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status is not CampaignStatus.sending:
            raise CampaignError(
                f"campaign {campaign_id} is {campaign.status.value}; "
                "only a sending campaign can pause"
            )
        campaign.status = CampaignStatus.paused
        campaign.status_reason = reason
        return campaign


def resume(db: Database, campaign_id: int) -> Campaign:
    """Back to `sending`; the caller re-runs the fan-out, which re-enqueues queued rows."""
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status is not CampaignStatus.paused:
            raise CampaignError(
                f"campaign {campaign_id} is {campaign.status.value}; "
                "only a paused campaign can resume"
            )
        campaign.status = CampaignStatus.sending
        campaign.status_reason = None
        campaign.consecutive_failures = 0
        return campaign


def cancel(db: Database, campaign_id: int, reason: str = "cancelled by an admin") -> int:
    """Stop for good: queued rows become `skipped` (error "campaign cancelled").
    Rows already at the provider keep their outcome. Returns how many rows were skipped."""
    with db.session() as session:
        campaign = _campaign(session, campaign_id, lock=True)
        if campaign.status not in CANCELLABLE:
            raise CampaignError(f"campaign {campaign_id} is {campaign.status.value}; cannot cancel")
        campaign.status = CampaignStatus.cancelled
        campaign.status_reason = reason
        campaign.finished_at = utcnow()
    # Committed first: from here no batch claims, so the queued rows only shrink.
    skipped, after = 0, 0
    while True:
        with db.session() as session:
            last, n = ledger.skip_queued(session, campaign_id, "campaign cancelled", after)
        if last is None:
            return skipped
        skipped, after = skipped + n, last


# -- the sweeper: what the per-minute task finds to do ------------------------------


@dataclass(frozen=True)
class SweepResult:
    start: list[int]  # scheduled campaigns now due: run their fan-out
    rescue: list[int]  # sending campaigns that stalled: re-run their fan-out
    due: list[tuple[int, list[int]]]  # (campaign, rows) whose local send time has come
    lost: int  # rows stuck in `sending`, now `uncertain`


def sweep(db: Database, now: dt.datetime | None = None) -> SweepResult:
    now = now or utcnow()
    start = due_scheduled(db, now)
    with db.session() as session:
        lost = ledger.mark_lost(session, now - LOST_AFTER)
        sending = list(
            session.scalars(select(Campaign.id).where(Campaign.status == CampaignStatus.sending))
        )
    rescue: list[int] = []
    due: list[tuple[int, list[int]]] = []
    for campaign_id in sending:
        with db.session() as session:
            while ids := ledger.dispatch_due(session, campaign_id, now):
                due.append((campaign_id, ids))
            last = ledger.last_activity(session, campaign_id)
            campaign = _campaign(session, campaign_id)
            unfinished = not campaign.fanout_done or ledger.has_unfinished(session, campaign_id)
            stalled = last is None or last < now - STALLED_AFTER
        if unfinished and stalled:
            rescue.append(campaign_id)
        else:
            finish_if_done(db, campaign_id)
    return SweepResult(start=start, rescue=rescue, due=due, lost=lost)


@dataclass(frozen=True)
class CampaignProgress:
    id: int
    status: str
    status_reason: str | None
    total: int
    done: int
    counts: dict[str, int]
    waiting: int  # queued rows waiting for their local send time

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "status": self.status,
            "status_reason": self.status_reason,
            "total": self.total,
            "done": self.done,
            "waiting": self.waiting,
            "deliveries": self.counts,
        }


def progress(db: Database, campaign_id: int) -> CampaignProgress:
    with db.session() as session:
        campaign = _campaign(session, campaign_id)
        counts = ledger.counts_by_status(session, campaign_id)
        waiting = ledger.waiting_count(session, campaign_id)
    total = sum(counts.values())
    return CampaignProgress(
        id=campaign_id,
        status=campaign.status.value,
        status_reason=campaign.status_reason,
        total=total,
        done=total - counts["queued"] - counts["sending"],
        counts=counts,
        waiting=waiting,
    )


def _envelope(site: SiteConfig, campaign: Campaign, edition: Edition) -> Envelope:
    n = site.newsletter
    return Envelope(
        subject=edition.subject,
        html=edition.html,
        text=edition.text,
        from_email=str(n.from_email),
        from_name=n.from_name or n.name,
        reply_to=str(n.reply_to) if n.reply_to else None,
        categories=("campaign", f"campaign-{campaign.id}"),
        custom_args={"campaign_id": str(campaign.id)},
    )


def _campaign(session: Session, campaign_id: int, *, lock: bool = False) -> Campaign:
    query = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        query = query.with_for_update()
    campaign = session.scalar(query)
    if campaign is None:
        raise CampaignError(f"no campaign with id {campaign_id}")
    return campaign


def send_test(
    db: Database, site: SiteConfig, sender: MailSender, links: LinkMaker, campaign_id: int, to: str
) -> BatchReceipt:
    """One copy of the campaign to `to`, rendered fresh and marked [TEST]; no ledger row.

    Links are signed for the subscriber with that address when there is one
    (so the admin can try them), else for nobody (id 0, which no page accepts).
    """
    with db.session() as session:
        campaign = _campaign(session, campaign_id)
        variants = render_variants(session, site, campaign)
        edition = next(iter(variants.values()))
        subscriber = session.scalar(select(Subscriber).where(Subscriber.email == to.lower()))
    active = {f"{d.name}@{d.version}": d for d in site.disclaimers}
    recipient = campaign_recipient(
        links,
        email=to,
        name=subscriber.name if subscriber else None,
        subscriber_id=subscriber.id if subscriber else 0,
        campaign_id=campaign_id,
        delivery_id=0,
        sponsor_name=edition.sponsor_name,
        crisis=crisis_values(
            [active[x] for x in edition.disclaimers if x in active],
            subscriber.country if subscriber else None,
        ),
    )
    n = site.newsletter
    envelope = Envelope(
        subject=f"[TEST] {edition.subject}",
        html=edition.html,
        text=edition.text,
        from_email=str(n.from_email),
        from_name=n.from_name or n.name,
        reply_to=str(n.reply_to) if n.reply_to else None,
        categories=("test",),
        custom_args={"campaign_id": str(campaign_id), "test": "1"},
    )
    return sender.send_batch(envelope, [recipient])
