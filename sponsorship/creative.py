"""Creative intake and review: what a sponsor submits, checked where it enters.

Invariants: every field is plain text (tags stripped by content.sanitize, so
the email's template escapes it and nothing a sponsor writes is markup or
template source), within its length limit; links and image URLs are absolute
https URLs without credentials. Every submission is a new version; nothing is
ever overwritten. Only an approved version reaches an edition.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accounts.audit import Actor
from content.sanitize import to_text
from db.models import Booking, BookingState, Creative, CreativeStatus, utcnow
from sponsorship.inventory import DeskError, get_booking, move

LIMITS = {"headline": 80, "text": 500, "cta": 40, "url": 2000, "image_url": 2000}


class CreativeInvalid(DeskError):
    """Per-field problems, for the form to show next to each field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class CreativeInput:
    headline: str
    text: str
    url: str
    cta: str
    image_url: str = ""


def https_url(value: str) -> str:
    """The URL if it is an absolute https URL with a host and no credentials, else ValueError."""
    value = value.strip()
    if any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("is not a valid URL") from None
    if parts.scheme.lower() != "https":
        raise ValueError("must start with https://")
    if not parts.hostname or "." not in parts.hostname:
        raise ValueError("needs a host name such as example.com")
    if parts.username or parts.password:
        raise ValueError("must not contain a user name or password")
    return value


def clean(raw: CreativeInput) -> CreativeInput:
    """Plain, bounded, checked fields; CreativeInvalid names every problem."""
    errors: dict[str, str] = {}
    out: dict[str, str] = {}
    for name in ("headline", "text", "cta"):
        value = to_text(getattr(raw, name))
        if name != "text":
            value = " ".join(value.split())
        if not value:
            errors[name] = "is required"
        elif len(value) > LIMITS[name]:
            errors[name] = f"is {len(value)} characters; the limit is {LIMITS[name]}"
        out[name] = value
    for name in ("url", "image_url"):
        value = getattr(raw, name).strip()
        if not value and name == "image_url":
            out[name] = ""
            continue
        if len(value) > LIMITS[name]:
            errors[name] = f"is longer than {LIMITS[name]} characters"
            continue
        try:
            out[name] = https_url(value)
        except ValueError as exc:
            errors[name] = str(exc) if value else "is required"
    if errors:
        raise CreativeInvalid(errors)
    return CreativeInput(**out)


def versions(session: Session, booking_id: int) -> list[Creative]:
    """Every version, newest first."""
    return list(
        session.scalars(
            select(Creative)
            .where(Creative.booking_id == booking_id)
            .order_by(Creative.version.desc())
        )
    )


def latest(session: Session, booking_id: int) -> Creative | None:
    found = versions(session, booking_id)
    return found[0] if found else None


def submit(session: Session, booking_id: int, raw: CreativeInput, actor: Actor) -> Creative:
    """A new version from the sponsor; the booking goes to review."""
    booking = get_booking(session, booking_id)
    if booking.state is not BookingState.awaiting_creative:
        raise DeskError("this booking is not waiting for creative")
    fields = clean(raw)
    number = (
        session.scalar(select(func.max(Creative.version)).where(Creative.booking_id == booking_id))
        or 0
    ) + 1
    creative = Creative(
        booking_id=booking_id,
        version=number,
        headline=fields.headline,
        text=fields.text,
        url=fields.url,
        cta=fields.cta,
        image_url=fields.image_url or None,
        status=CreativeStatus.submitted,
    )
    session.add(creative)
    session.flush()
    move(session, booking, BookingState.in_review, actor)
    return creative


def approve(session: Session, booking_id: int, actor: Actor) -> Creative:
    booking, creative = _in_review(session, booking_id)
    creative.status = CreativeStatus.approved
    creative.reviewed_by, creative.reviewed_at = actor.name, utcnow()
    booking.approved_creative_id = creative.id
    move(session, booking, BookingState.approved, actor)
    return creative


def request_changes(session: Session, booking_id: int, comment: str, actor: Actor) -> Creative:
    comment = to_text(comment)[:2000]
    if not comment:
        raise DeskError("say what should change")
    booking, creative = _in_review(session, booking_id)
    creative.status = CreativeStatus.changes
    creative.review_comment = comment
    creative.reviewed_by, creative.reviewed_at = actor.name, utcnow()
    move(session, booking, BookingState.awaiting_creative, actor)
    return creative


def _in_review(session: Session, booking_id: int) -> tuple[Booking, Creative]:
    booking = get_booking(session, booking_id)
    creative = latest(session, booking_id)
    if booking.state is not BookingState.in_review or creative is None:
        raise DeskError(f"booking {booking_id} has no creative waiting for review")
    return booking, creative
