"""A booked, approved slot on a real database: the steps a creator and a sponsor take."""

from __future__ import annotations

import datetime as dt

from accounts.audit import Actor
from config.site import SiteConfig
from db.engine import Database
from sponsorship import creative, inventory
from sponsorship.creative import CreativeInput
from sponsorship.source import import_site_sponsors

CREATOR = Actor("creator@example.org")
SPONSOR = Actor("sponsor")
COPY = CreativeInput(
    headline="Maps that fold back",
    text="Ordnance-grade paper maps for walkers.",
    url="https://foldmaps.example/walk?ref=news",
    cta="See the maps",
    image_url="https://foldmaps.example/logo.png",
)


def approved_slot(
    db: Database,
    site: SiteConfig,
    day: dt.date,
    list_slug: str = "videos",
    copy: CreativeInput = COPY,
) -> tuple[int, int]:
    """(slot id, booking id) of an approved booking of `Foldmaps` on `day`."""
    with db.session() as session:
        import_site_sponsors(session, site, "site.toml")
        sponsor = inventory.add_sponsor(session, "Foldmaps", CREATOR)
        placement = inventory.add_placement(session, "top", "Top", "after_first", CREATOR)
        slot = inventory.add_slot(session, placement.id, day, list_slug, CREATOR)
        booking = inventory.book_slot(session, sponsor.id, slot.id, CREATOR)
        inventory.move(session, booking, inventory.S.awaiting_creative, CREATOR)
        creative.submit(session, booking.id, copy, SPONSOR)
        creative.approve(session, booking.id, CREATOR)
        return slot.id, booking.id
