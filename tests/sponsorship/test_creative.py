"""Creative intake: plain text within limits, https links only, every version kept,
only approved copy can be placed; the sponsor's links are signed, expiring, per purpose."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from config.site import SiteConfig
from db.engine import Database
from db.models import BookingState, CreativeStatus
from sponsorship import creative, inventory, links
from sponsorship.creative import CreativeInvalid, clean
from sponsorship.source import import_site_sponsors, sponsors_for
from subscribers.tokens import InvalidToken, Purpose
from tests.sponsorship.desk import COPY, CREATOR, SPONSOR

DAY = dt.date(2026, 12, 9)
SECRET = "test-secret-key-0123456789abcdef"


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("url", "http://foldmaps.example/", "must start with https://"),
        ("url", "javascript:alert(1)", "must start with https://"),
        ("url", "https://user:pw@foldmaps.example/", "user name or password"),
        ("url", "https://localhost/", "needs a host name"),
        ("url", "https://foldmaps.example/a b", "spaces"),
        ("image_url", "data:image/png;base64,AAAA", "must start with https://"),
        ("headline", "x" * 81, "the limit is 80"),
        ("text", "", "is required"),
        ("cta", "<b></b>", "is required"),
    ],
)
def test_bad_fields_are_refused_with_a_reason(field: str, value: str, problem: str) -> None:
    with pytest.raises(CreativeInvalid) as caught:
        clean(dataclasses.replace(COPY, **{field: value}))
    assert problem in caught.value.errors[field]


def test_markup_becomes_plain_text() -> None:
    cleaned = clean(
        dataclasses.replace(
            COPY,
            headline="<script>alert(1)</script>Maps",
            text="<p>Hello <b>walkers</b></p>{{ 7*7 }} [%unsubscribe_url%]",
        )
    )
    assert "<" not in cleaned.headline and cleaned.headline.endswith("Maps")
    assert "<" not in cleaned.text and "[%unsubscribe_url%]" not in cleaned.text


def _awaiting(db: Database, site: SiteConfig) -> int:
    with db.session() as session:
        import_site_sponsors(session, site, "site.toml", today=DAY)
        sponsor = inventory.add_sponsor(session, "Foldmaps", CREATOR)
        booking = inventory.book_flight(session, sponsor.id, DAY, DAY, CREATOR, lists=["videos"])
        inventory.move(session, booking, BookingState.awaiting_creative, CREATOR)
        return booking.id


def test_every_version_is_kept_and_only_approved_copy_is_placed(
    db: Database, site: SiteConfig
) -> None:
    booking_id = _awaiting(db, site)
    with db.session() as session:
        creative.submit(session, booking_id, COPY, SPONSOR)
        assert "Foldmaps" not in {s.name for s in sponsors_for(session, site, DAY)}
        creative.request_changes(session, booking_id, "Shorter, please.", CREATOR)
        with pytest.raises(inventory.DeskError, match="no creative waiting"):
            creative.approve(session, booking_id, CREATOR)
        creative.submit(session, booking_id, dataclasses.replace(COPY, text="Paper maps."), SPONSOR)
        creative.approve(session, booking_id, CREATOR)
    with db.session() as session:
        versions = creative.versions(session, booking_id)
        assert [(v.version, v.status, v.text) for v in versions] == [
            (2, CreativeStatus.approved, "Paper maps."),
            (1, CreativeStatus.changes, COPY.text),
        ]
        assert versions[1].review_comment == "Shorter, please."
        [placed] = [s for s in sponsors_for(session, site, DAY) if s.name == "Foldmaps"]
        assert placed.text == "Paper maps." and placed.headline == COPY.headline
        with pytest.raises(inventory.DeskError, match="not waiting for creative"):
            creative.submit(session, booking_id, COPY, SPONSOR)


def test_sponsor_links_are_signed_per_purpose_and_expire() -> None:
    intake = links.intake_token(SECRET, 5)
    report = links.report_token(SECRET, 5)
    assert links.read_intake_token(SECRET, intake) == 5
    assert links.read_report_token(SECRET, report) == 5
    with pytest.raises(InvalidToken):
        links.read_report_token(SECRET, intake)  # another purpose
    with pytest.raises(InvalidToken):
        links.read_intake_token(
            SECRET, intake[:-2] + ("A" if intake[-2] != "A" else "B") + intake[-1]
        )
    with pytest.raises(InvalidToken):
        links.read_intake_token("another-secret-0123456789abcdefgh", intake)
    assert links.read_report_token(SECRET, old_token(Purpose.sponsor_report, 5, 179)) == 5
    with pytest.raises(InvalidToken, match="expired"):
        links.read_report_token(SECRET, old_token(Purpose.sponsor_report, 5, 181))
    with pytest.raises(InvalidToken, match="expired"):
        links.read_intake_token(SECRET, old_token(Purpose.sponsor_intake, 5, 15))


def old_token(purpose: Purpose, booking_id: int, days: int, secret: str = SECRET) -> str:
    """A token signed `days` ago, as a link in an old email would be."""

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - days * 24 * 3600

    return URLSafeTimedSerializer(secret, salt=purpose.value, signer=Past).dumps([booking_id])
