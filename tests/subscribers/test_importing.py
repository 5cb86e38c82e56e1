from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from config.site import SiteConfig
from db.engine import Database
from db.models import Consent, Subscriber, SubscriberStatus, Subscription
from subscribers.addresses import email_hash
from subscribers.importing import ImportFileError, Rejection, import_csv
from subscribers.service import suppress

MIXED = """email,name,lists,country,timezone
ada@example.org,Ada,videos;weekly,gb,Europe/London
not-an-address,Bad,,,
ben@example.org,Ben,,,
,Nobody,,,
cy@example.org,Cy,podcasts,,
dee@example.org,Dee,,USA,
eve@example.org,Eve,,,Mars/Olympus
"fay@example.org","Fay, with a comma",articles,,
"""


def _counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        return (
            session.scalar(select(func.count()).select_from(Subscriber)) or 0,
            session.scalar(select(func.count()).select_from(Subscription)) or 0,
            session.scalar(select(func.count()).select_from(Consent)) or 0,
        )


def test_bad_rows_are_reported_by_line_and_the_good_ones_kept(
    db: Database, site: SiteConfig
) -> None:
    seen: list[Rejection] = []
    report = import_csv(db, site, io.StringIO(MIXED), on_reject=seen.append)
    assert (report.rows, report.added, report.rejected) == (8, 3, 5)
    assert [(r.line, r.reason.split(":")[0].split(" ")[0]) for r in seen] == [
        (3, "invalid"),
        (5, "email"),
        (6, "unknown"),
        (7, "country"),
        (8, "unknown"),
    ]
    with db.session() as session:
        people = {p.email: p for p in session.scalars(select(Subscriber))}
        assert set(people) == {"ada@example.org", "ben@example.org", "fay@example.org"}
        ada = people["ada@example.org"]
        assert (ada.name, ada.country, ada.timezone) == ("Ada", "GB", "Europe/London")
        assert ada.status is SubscriberStatus.pending
        assert people["fay@example.org"].name == "Fay, with a comma"
        lists = session.scalars(
            select(Subscription.list_slug).where(Subscription.subscriber_id == ada.id)
        ).all()
        assert sorted(lists) == ["videos", "weekly"]
        ben_lists = session.scalars(
            select(Subscription.list_slug).where(
                Subscription.subscriber_id == people["ben@example.org"].id
            )
        ).all()
        assert ben_lists == site.default_lists()
        consent = session.scalars(select(Consent).where(Consent.subscriber_id == ada.id)).one()
        assert consent.source == "import"
        assert consent.consent_text_version == site.newsletter.consent_text_version
        assert sorted(consent.lists) == ["videos", "weekly"]


def test_importing_twice_changes_nothing(db: Database, site: SiteConfig) -> None:
    import_csv(db, site, io.StringIO(MIXED), chunk_rows=2)
    before = _counts(db)
    again = import_csv(db, site, io.StringIO(MIXED), chunk_rows=3)
    assert (again.added, again.existing) == (0, 3)
    assert _counts(db) == before


def test_a_suppressed_address_is_never_added_back(db: Database, site: SiteConfig) -> None:
    with db.session() as session:
        suppress(session, email_hash("ben@example.org"), "unsubscribed")
    report = import_csv(db, site, io.StringIO(MIXED), confirmed=True)
    assert report.suppressed == 1
    assert any(r.line == 4 and "suppressed" in r.reason for r in report.rejections)
    with db.session() as session:
        assert (
            session.scalar(select(Subscriber).where(Subscriber.email == "ben@example.org")) is None
        )


def test_confirmed_imports_confirm_and_lists_add_to_every_row(
    db: Database, site: SiteConfig
) -> None:
    text = "Email\numa@example.org\nUMA@example.org\nvic@example.org\n"
    report = import_csv(db, site, io.StringIO(text), lists=["articles"], confirmed=True)
    assert (report.rows, report.added, report.existing, report.duplicates) == (3, 2, 0, 1)
    with db.session() as session:
        statuses = set(session.scalars(select(Subscriber.status)))
        slugs = set(session.scalars(select(Subscription.list_slug)))
        confirmed = session.scalars(select(Consent.confirmed_at)).all()
    assert statuses == {SubscriberStatus.confirmed}
    assert slugs == {"articles"}
    assert all(c is not None for c in confirmed)


def test_a_pending_subscriber_is_confirmed_by_a_confirmed_import(
    db: Database, site: SiteConfig
) -> None:
    import_csv(db, site, io.StringIO("email\nwyn@example.org\n"))
    import_csv(db, site, io.StringIO("email\nwyn@example.org\n"), confirmed=True)
    with db.session() as session:
        assert session.scalars(select(Subscriber.status)).one() is SubscriberStatus.confirmed


@pytest.mark.parametrize(
    ("text", "message"), [("", "empty"), ("name,lists\nAda,videos\n", "no 'email' column")]
)
def test_a_file_without_an_email_header_is_refused_whole(
    db: Database, site: SiteConfig, text: str, message: str
) -> None:
    with pytest.raises(ImportFileError, match=message):
        import_csv(db, site, io.StringIO(text))


class _Lines(io.TextIOBase):
    """A file that is generated as it is read and remembers how far it got."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.read_rows = 0
        self._lines: Iterator[str] = self._make()

    def _make(self) -> Iterator[str]:
        yield "email\n"
        for n in range(self.rows):
            self.read_rows = n + 1
            yield f"reader{n}@example.org\n"

    def readable(self) -> bool:
        return True

    def __next__(self) -> str:
        return next(self._lines)

    def __iter__(self) -> Iterator[str]:
        return self


def test_the_file_is_streamed_in_chunks_not_read_whole(db: Database, site: SiteConfig) -> None:
    source = _Lines(1000)
    progress: list[tuple[int, int]] = []
    report = import_csv(
        db,
        site,
        source,  # type: ignore[arg-type]
        chunk_rows=100,
        on_progress=lambda rows: progress.append((rows, source.read_rows)),
    )
    assert report.added == 1000
    # After the first chunk was stored, only about one chunk had been read.
    assert progress[0][0] == 100 and progress[0][1] <= 101
    assert len(progress) == 10


def test_an_import_rejects_a_non_ascii_mailbox_name_with_the_reason(
    db: Database, site: SiteConfig
) -> None:
    source = "email\njos\u00e9@example.org\nana@b\u00fccher.example\n"
    report = import_csv(db, site, io.StringIO(source))
    assert report.added == 1
    [rejection] = report.rejections
    assert rejection.line == 2 and "plain ASCII" in rejection.reason
    with db.session() as session:
        assert session.scalars(select(Subscriber.email)).all() == ["ana@xn--bcher-kva.example"]
