"""CSV import: streamed in chunks, bad rows reported and skipped, idempotent, fast.

Columns (a header row is required; names are case-insensitive, order free):

- `email` (required)
- `name`
- `lists`: slugs separated by `;`, `|` or spaces, added to the `--list` options;
  when both are empty the site's default lists are used
- `country`: two letters, e.g. `GB`
- `timezone`: an IANA name, e.g. `Europe/Lisbon`

Other columns are ignored. Each chunk is one transaction of bulk inserts with
ON CONFLICT DO NOTHING, so a file never sits in memory, importing it twice
changes nothing, and an existing subscriber's details are never overwritten
(only lists they are not on yet are added). A suppressed address is reported
and never added back.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from config.site import SiteConfig
from db.engine import Database
from db.models import Consent, Subscriber, SubscriberStatus, Subscription, Suppression, utcnow
from delivery.placeholders import strip_placeholders
from subscribers.addresses import InvalidEmail, email_hash, normalize_email
from subscribers.preferences import NAME_MAX
from subscribers.signup import UnknownList

CHUNK_ROWS = 2000
COLUMNS = ("email", "name", "lists", "country", "timezone")
_LIST_SEPARATORS = re.compile(r"[;|\s]+")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (no header, no email column)."""


@dataclass(frozen=True)
class Rejection:
    line: int
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    existing: int = 0
    suppressed: int = 0
    rejected: int = 0
    # The first rejections, for callers that return them whole (the admin API).
    rejections: list[Rejection] = field(default_factory=list)

    KEEP_REJECTIONS = 1000

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "added": self.added,
            "existing": self.existing,
            "suppressed": self.suppressed,
            "rejected": self.rejected,
            "rejections": [{"line": r.line, "reason": r.reason} for r in self.rejections],
        }


@dataclass
class _Row:
    line: int
    email: str
    name: str | None
    lists: list[str]
    country: str | None
    timezone: str | None


def import_csv(
    db: Database,
    site: SiteConfig,
    stream: TextIO,
    *,
    lists: Sequence[str] = (),
    confirmed: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    on_reject: Callable[[Rejection], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import `stream` (an open text file); returns counts, reports each bad row."""
    known = set(site.list_slugs())
    extra = [slug for slug in dict.fromkeys(lists) if slug]
    unknown = sorted(set(extra) - known)
    if unknown:
        raise UnknownList(f"unknown list(s): {', '.join(unknown)}")
    report = ImportReport()
    text_version = site.newsletter.consent_text_version

    def reject(line: int, reason: str) -> None:
        report.rejected += 1
        rejection = Rejection(line, reason)
        if len(report.rejections) < ImportReport.KEEP_REJECTIONS:
            report.rejections.append(rejection)
        if on_reject is not None:
            on_reject(rejection)

    rows = _parse(stream, site, extra, known, reject, report)
    for chunk in _chunks(rows, chunk_rows):
        with db.engine.begin() as conn:
            _store_chunk(conn, chunk, confirmed, text_version, report, reject)
        if on_progress is not None:
            on_progress(report.rows)
    return report


def _parse(
    stream: TextIO,
    site: SiteConfig,
    extra: list[str],
    known: set[str],
    reject: Callable[[int, str], None],
    report: ImportReport,
) -> Iterator[_Row]:
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError("the file is empty: expected a header row with an email column")
    except csv.Error as exc:
        raise ImportFileError(f"line 1: {exc}") from None
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    if "email" not in names:
        raise ImportFileError("the header row has no 'email' column")
    at = {name: names.index(name) for name in COLUMNS if name in names}
    defaults = site.default_lists()
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            report.rows += 1
            reject(reader.line_num, f"unreadable CSV: {exc}")
            continue
        if not any(v.strip() for v in values):
            continue  # blank lines are not rows
        report.rows += 1
        row = _row(reader.line_num, values, at, extra, known, defaults)
        if isinstance(row, str):
            reject(reader.line_num, row)
        else:
            yield row


def _row(
    line: int,
    values: list[str],
    at: dict[str, int],
    extra: list[str],
    known: set[str],
    defaults: list[str],
) -> _Row | str:
    """A clean row, or the reason it is rejected."""

    def get(column: str) -> str:
        i = at.get(column)
        return values[i].strip() if i is not None and i < len(values) else ""

    raw_email = get("email")
    if not raw_email:
        return "email is empty"
    try:
        email = normalize_email(raw_email)
    except InvalidEmail as exc:
        return f"invalid email: {exc}"
    slugs = [s for s in _LIST_SEPARATORS.split(get("lists")) if s]
    unknown = sorted(set(slugs) - known)
    if unknown:
        return f"unknown list(s): {', '.join(unknown)}"
    country = get("country").upper() or None
    if country is not None and not (len(country) == 2 and country.isascii() and country.isalpha()):
        return f"country {country!r} is not a two-letter code"
    zone = get("timezone") or None
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return f"unknown time zone {zone!r}"
    name = " ".join(get("name").split()) or None
    if name is not None and len(name) > NAME_MAX:
        return f"name is longer than {NAME_MAX} characters"
    return _Row(
        line=line,
        email=email,
        name=strip_placeholders(name) if name else None,
        lists=list(dict.fromkeys([*extra, *slugs])) or defaults,
        country=country,
        timezone=zone,
    )


def _chunks(rows: Iterable[_Row], size: int) -> Iterator[list[_Row]]:
    chunk: list[_Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _store_chunk(
    conn: Connection,
    chunk: list[_Row],
    confirmed: bool,
    text_version: str,
    report: ImportReport,
    reject: Callable[[int, str], None],
) -> None:
    # The same address twice in a file is one person on the union of the lists.
    by_email: dict[str, _Row] = {}
    for row in chunk:
        first = by_email.get(row.email)
        if first is None:
            by_email[row.email] = row
        else:
            first.lists = list(dict.fromkeys([*first.lists, *row.lists]))
    hashes = {email_hash(e): e for e in by_email}
    for ehash, reason in conn.execute(
        select(Suppression.email_hash, Suppression.reason).where(
            Suppression.email_hash.in_(list(hashes))
        )
    ):
        row = by_email.pop(hashes[ehash])
        report.suppressed += 1
        reject(row.line, f"address is suppressed ({reason}) and is never added back")
    if not by_email:
        return
    emails = list(by_email)
    existing = dict(
        conn.execute(select(Subscriber.email, Subscriber.id).where(Subscriber.email.in_(emails)))
        .tuples()
        .all()
    )
    now = utcnow()
    status = SubscriberStatus.confirmed if confirmed else SubscriberStatus.pending
    new_rows = [
        {
            "email": row.email,
            "email_hash": email_hash(row.email),
            "name": row.name,
            "status": status,
            "cadence": "instant",
            "timezone": row.timezone,
            "country": row.country,
            "created_at": now,
            "confirmed_at": now if confirmed else None,
            "soft_bounces": 0,
        }
        for email, row in by_email.items()
        if email not in existing
    ]
    added: dict[str, int] = {}
    if new_rows:
        returned = conn.execute(
            _insert_ignoring_conflicts(conn, Subscriber).returning(Subscriber.email, Subscriber.id),
            new_rows,
        )
        added = dict(returned.tuples().all())
        if len(added) < len(new_rows):
            # Someone else inserted some of them meanwhile: they are existing now.
            missing = [r["email"] for r in new_rows if r["email"] not in added]
            existing.update(
                conn.execute(
                    select(Subscriber.email, Subscriber.id).where(Subscriber.email.in_(missing))
                )
                .tuples()
                .all()
            )
    report.added += len(added)
    report.existing += len(by_email) - len(added)
    if added:
        conn.execute(
            insert(Consent),
            [
                {
                    "subscriber_id": sid,
                    "created_at": now,
                    "source": "import",
                    "ip": None,
                    "user_agent": None,
                    "consent_text_version": text_version,
                    "lists": by_email[email].lists,
                    "confirmed_at": now if confirmed else None,
                }
                for email, sid in added.items()
            ],
        )
    if confirmed and existing:
        conn.execute(
            update(Subscriber)
            .where(
                Subscriber.id.in_(list(existing.values())),
                Subscriber.status == SubscriberStatus.pending,
            )
            .values(status=SubscriberStatus.confirmed, confirmed_at=now)
        )
    ids = {**existing, **added}
    memberships = [
        {"subscriber_id": ids[email], "list_slug": slug, "created_at": now}
        for email, row in by_email.items()
        for slug in row.lists
    ]
    conn.execute(_insert_ignoring_conflicts(conn, Subscription), memberships)


def _insert_ignoring_conflicts(conn: Connection, model: type[Any]) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(model).on_conflict_do_nothing()
    return insert(model)
