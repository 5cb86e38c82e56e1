"""Where the variant engine's sponsors come from: the desk, once the site file's
`[[sponsors]]` were imported into it.

The engine (campaigns.sponsors / campaigns.variants) works on
`config.site.Sponsor` values. `sponsors_for` builds them from bookings whose
approved creative may be placed (`inventory.PLACED`) on a day, as
`BookedSponsor` (a Sponsor that also names its booking and creative version),
so rotation, caps, house ad fallback and rendering stay the engine's own.

Invariants: after `import_site_sponsors` has run once (recorded in
`sponsor_imports`; `broadsheet init` runs it, and the desk's first write) the
site file's sponsors are never read again; before it (a database upgraded
without `init`), the engine keeps reading the file, so no sponsor is lost in
between. One booking per sponsor name per day reaches the engine (the
earliest booked), because deliveries, caps and clicks name sponsors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.site import SiteConfig, Sponsor
from db.models import (
    BlockPosition,
    Booking,
    BookingState,
    Creative,
    CreativeStatus,
    Edition,
    SponsorAccount,
    SponsorImport,
)
from sponsorship.inventory import PLACED


class BookedSponsor(Sponsor):
    """A sponsor block from the desk: the approved creative of one booking."""

    booking_id: int
    creative_id: int
    slot_id: int | None = None  # a sold dated slot leads its edition (campaigns.sponsors)
    headline: str = ""


def imported(session: Session) -> bool:
    return session.scalar(select(SponsorImport.id).limit(1)) is not None


def import_site_sponsors(
    session: Session, site: SiteConfig, source: str, today: dt.date | None = None
) -> list[str]:
    """Bring the file's sponsors into the desk once; later calls do nothing.

    Each becomes a sponsor, a flight booking with the file's dates, weight,
    placement, cap and lists, and an approved first creative version.
    """
    if imported(session):
        return []
    today = today or dt.date.today()
    names: list[str] = []
    for s in site.sponsors:
        account = session.scalar(select(SponsorAccount).where(SponsorAccount.name == s.name))
        if account is None:
            account = SponsorAccount(name=s.name, house=s.house, source="site")
            session.add(account)
            session.flush()
        booking = Booking(
            sponsor_id=account.id,
            position=BlockPosition(s.placement),
            starts=s.starts,
            ends=s.ends,
            weight=s.weight,
            cap_days=s.cap_days,
            lists=list(s.lists),
            state=BookingState.approved if s.ends >= today else BookingState.delivered,
            note=f"imported from {source}",
        )
        session.add(booking)
        session.flush()
        creative = Creative(
            booking_id=booking.id,
            version=1,
            headline="",
            text=s.text,
            url=str(s.url),
            cta=s.cta,
            image_url=str(s.image_url) if s.image_url else None,
            status=CreativeStatus.approved,
            reviewed_by="site file",
        )
        session.add(creative)
        session.flush()
        booking.approved_creative_id = creative.id
        names.append(s.name)
    session.add(SponsorImport(source=source, names=names))
    session.flush()
    return names


def sponsors_for(session: Session, site: SiteConfig, day: dt.date) -> Sequence[Sponsor]:
    """Every sponsor the engine may place on `day` (rotation and audience are its job)."""
    if not imported(session):
        return site.sponsors
    rows = session.execute(
        select(Booking, SponsorAccount, Creative)
        .join(SponsorAccount, SponsorAccount.id == Booking.sponsor_id)
        .join(Creative, Creative.id == Booking.approved_creative_id)
        .where(Booking.state.in_(PLACED), Booking.starts <= day, Booking.ends >= day)
        .order_by(Booking.id)
    ).all()
    out: dict[str, Sponsor] = {}
    for booking, account, creative in rows:
        if account.name not in out:
            out[account.name] = booked_sponsor(booking, account, creative)
    return list(out.values())


def placed_sponsors(session: Session, site: SiteConfig) -> Sequence[Sponsor]:
    """Every booking whose approved creative may be placed, any day: the flights timeline."""
    if not imported(session):
        return site.sponsors
    rows = session.execute(
        select(Booking, SponsorAccount, Creative)
        .join(SponsorAccount, SponsorAccount.id == Booking.sponsor_id)
        .join(Creative, Creative.id == Booking.approved_creative_id)
        .where(Booking.state.in_(PLACED))
        .order_by(Booking.starts, Booking.id)
    ).all()
    return [booked_sponsor(*row) for row in rows]


def booked_sponsor(booking: Booking, account: SponsorAccount, creative: Creative) -> BookedSponsor:
    return BookedSponsor(
        name=account.name,
        text=creative.text,
        url=creative.url,  # type: ignore[arg-type]  # pydantic validates it
        cta=creative.cta,
        image_url=creative.image_url,  # type: ignore[arg-type]
        starts=booking.starts,
        ends=booking.ends,
        weight=booking.weight,
        placement=booking.position.value,
        cap_days=booking.cap_days,
        lists=tuple(booking.lists),
        house=account.house,
        booking_id=booking.id,
        creative_id=creative.id,
        slot_id=booking.slot_id,
        headline=creative.headline if creative.headline != account.name else "",
    )


def sponsor_in_campaign(
    session: Session, site: SiteConfig, campaign_id: int, name: str, day: dt.date
) -> Sponsor | None:
    """The sponsor a campaign's link names: the booking its edition carried, else by name."""
    edition = session.scalar(
        select(Edition)
        .where(
            Edition.campaign_id == campaign_id,
            Edition.sponsor_name == name,
            Edition.creative_id.is_not(None),
        )
        .limit(1)
    )
    if edition is not None and edition.creative_id is not None:
        found = session.execute(
            select(Booking, SponsorAccount, Creative)
            .join(SponsorAccount, SponsorAccount.id == Booking.sponsor_id)
            .join(Creative, Creative.booking_id == Booking.id)
            .where(Creative.id == edition.creative_id)
        ).first()
        if found is not None:
            return booked_sponsor(*found)
    return next((s for s in sponsors_for(session, site, day) if s.name == name), None)
