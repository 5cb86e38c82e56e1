"""CSV import: streamed in chunks, bad rows reported and skipped, idempotent, fast.

Columns (a header row is required; names are case-insensitive, order free):

- `email` (required)
- `name`
- `lists`: slugs separated by `;`, `|` or spaces, added to the `--list` options;
  when both are empty the site's default lists are used
- `country`: two letters, e.g. `GB`
- `timezone`: an IANA name, e.g. `Europe/Lisbon`

One physical line is one row: no column may hold a line break, so a quoted
field still open at the end of its line (an unclosed quote) rejects that line
alone instead of swallowing the lines after it into a mangled name. Cells an
export wrote with a leading `'` (formula neutralising, see exporting.py)
lose it again, so an export imports back unchanged.

With `invite`, pending people of the file who were never mailed a
confirmation are asked for one (subscribers/invitations.py); the caller gets
their ids after each chunk's commit and queues the emails.

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
from functools import lru_cache
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from config.site import SiteConfig
from db.engine import Database
from db.models import SubscriberStatus, utcnow
from db.statistics import refresh_statistics
from subscribers import bulk
from subscribers.addresses import InvalidEmail, email_hash, normalize_email
from subscribers.exporting import unneutralise
from subscribers.invitations import invite_imported
from subscribers.preferences import NAME_MAX, clean_name
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
    text: str = ""  # the line as it was in the file, without its line ending


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    existing: int = 0
    duplicates: int = 0  # the same address again in the file: merged into the first row
    suppressed: int = 0
    rejected: int = 0
    invited: int = 0  # asked for a confirmation (`invite`)
    # The first rejections, for callers that return them whole (the admin API).
    rejections: list[Rejection] = field(default_factory=list)

    KEEP_REJECTIONS = 1000

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "added": self.added,
            "existing": self.existing,
            "duplicates": self.duplicates,
            "suppressed": self.suppressed,
            "rejected": self.rejected,
            "invited": self.invited,
            "rejections": [{"line": r.line, "reason": r.reason} for r in self.rejections],
        }


@dataclass
class _Row:
    line: int
    email: str
    ehash: str
    name: str | None
    lists: tuple[str, ...]
    country: str | None
    timezone: str | None
    raw: str  # the line as read, for the file of rejected rows


def import_csv(
    db: Database,
    site: SiteConfig,
    stream: TextIO,
    *,
    lists: Sequence[str] = (),
    confirmed: bool = False,
    invite: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    on_reject: Callable[[Rejection], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_invite: Callable[[list[int]], None] | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Import `stream` (an open text file); returns counts, reports each bad row.

    Pass `report` to read the running counts from `on_progress` (a background job does)."""
    if confirmed and invite:
        raise ImportFileError("choose --confirmed or --invite, not both")
    extra = tuple(slug for slug in dict.fromkeys(lists) if slug)
    unknown = sorted(set(extra) - set(site.list_slugs()))
    if unknown:
        raise UnknownList(f"unknown list(s): {', '.join(unknown)}")
    report = report if report is not None else ImportReport()
    text_version = site.newsletter.consent_text_version

    def reject(line: int, reason: str, text: str) -> None:
        report.rejected += 1
        rejection = Rejection(line, reason, text.rstrip("\r\n"))
        if len(report.rejections) < ImportReport.KEEP_REJECTIONS:
            report.rejections.append(rejection)
        if on_reject is not None:
            on_reject(rejection)

    rows = _parse(stream, site, extra, reject, report)
    for chunk in _chunks(rows, chunk_rows):
        with db.engine.begin() as conn:
            _store_chunk(conn, chunk, confirmed, text_version, report, reject)
            invited = invite_imported(conn, [r.ehash for r in chunk], utcnow()) if invite else []
        report.invited += len(invited)
        if invited and on_invite is not None:
            on_invite(invited)
        if on_progress is not None:
            on_progress(report.rows)
    # A large import leaves the planner's statistics current for the send that follows.
    refresh_statistics(db, ("subscribers", "subscriptions", "consents"), report.added)
    return report


class _RowSpansLines(Exception):
    """The csv reader asked for a second line while reading one row."""


class _Lines:
    """Hands the csv reader one line per row and counts physical lines.

    csv.reader pulls another line only while a quoted field is still open; in
    our format that is always an error (an unclosed quote), so it is raised
    instead, and the reader starts afresh on the next line.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = iter(stream)
        self.number = 0
        self.text = ""  # the last line handed out
        self._fed = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self._fed:
            raise _RowSpansLines
        line = next(self._stream)
        self._fed = True
        self.number += 1
        self.text = line
        return line

    def next_row(self) -> None:
        self._fed = False


UNCLOSED_QUOTE = "unreadable CSV: a quote opened on this line is not closed on it"


def _parse(
    stream: TextIO,
    site: SiteConfig,
    extra: tuple[str, ...],
    reject: Callable[[int, str, str], None],
    report: ImportReport,
) -> Iterator[_Row]:
    lines = _Lines(stream)
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError(
            "the file is empty: expected a header row with an email column"
        ) from None
    except _RowSpansLines:
        raise ImportFileError(f"line 1: {UNCLOSED_QUOTE}") from None
    except csv.Error as exc:
        raise ImportFileError(f"line 1: {exc}") from None
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    if "email" not in names:
        raise ImportFileError("the header row has no 'email' column")
    at = {name: names.index(name) for name in COLUMNS if name in names}
    known = frozenset(site.list_slugs())
    defaults = tuple(site.default_lists())
    while True:
        lines.next_row()
        try:
            values = next(reader)
        except StopIteration:
            return
        except _RowSpansLines:
            report.rows += 1
            reject(lines.number, UNCLOSED_QUOTE, lines.text)
            continue
        except csv.Error as exc:
            report.rows += 1
            reject(lines.number, f"unreadable CSV: {exc}", lines.text)
            continue
        if not any(v.strip() for v in values):
            continue  # blank lines are not rows
        report.rows += 1
        row = _row(lines.number, lines.text, values, at, known, extra, defaults)
        if isinstance(row, str):
            reject(lines.number, row, lines.text)
        else:
            yield row


def _row(
    line: int,
    raw: str,
    values: list[str],
    at: dict[str, int],
    known: frozenset[str],
    extra: tuple[str, ...],
    defaults: tuple[str, ...],
) -> _Row | str:
    """A clean row, or the reason it is rejected."""
    size = len(values)
    cells = {c: values[i].strip() if i < size else "" for c, i in at.items()}
    for column, cell in cells.items():
        if cell.startswith("'"):  # rare: only an export's neutralised formula starts so
            cells[column] = unneutralise(cell)
    raw_email = cells["email"]
    if not raw_email:
        return "email is empty"
    try:
        email = normalize_email(raw_email)
    except InvalidEmail as exc:
        return f"invalid email: {exc}"
    # Lists, countries and zones repeat from row to row: each distinct value is checked once.
    lists = _lists(cells.get("lists", ""), known, extra, defaults)
    if isinstance(lists, str):
        return lists
    country = cells.get("country", "").upper() or None
    if country is not None and not _is_country(country):
        return f"country {country!r} is not a two-letter code"
    zone = cells.get("timezone") or None
    if zone is not None and not _is_zone(zone):
        return f"unknown time zone {zone!r}"
    name = " ".join(cells.get("name", "").split()) or None
    if name is not None and len(name) > NAME_MAX:
        return f"name is longer than {NAME_MAX} characters"
    return _Row(
        line=line,
        email=email,
        ehash=email_hash(email),
        name=clean_name(name),
        lists=lists,
        country=country,
        timezone=zone,
        raw=raw,
    )


@lru_cache(maxsize=256)
def _lists(
    raw: str, known: frozenset[str], extra: tuple[str, ...], defaults: tuple[str, ...]
) -> tuple[str, ...] | str:
    """The row's lists plus the command's, or the defaults; a string is a rejection reason."""
    slugs = [s for s in _LIST_SEPARATORS.split(raw) if s]
    unknown = sorted(set(slugs) - known)
    if unknown:
        return f"unknown list(s): {', '.join(unknown)}"
    return tuple(dict.fromkeys([*extra, *slugs])) or defaults


@lru_cache(maxsize=512)
def _is_country(code: str) -> bool:
    return len(code) == 2 and code.isascii() and code.isalpha()


@lru_cache(maxsize=1024)
def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


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
    reject: Callable[[int, str, str], None],
) -> None:
    # The same address twice in a file is one person on the union of the lists.
    by_hash: dict[str, _Row] = {}
    for row in chunk:
        first = by_hash.get(row.ehash)
        if first is None:
            by_hash[row.ehash] = row
            continue
        report.duplicates += 1
        if set(row.lists) - set(first.lists):
            first.lists = tuple(dict.fromkeys([*first.lists, *row.lists]))
    for ehash, reason in bulk.suppressed(conn, list(by_hash)).items():
        row = by_hash.pop(ehash)
        report.suppressed += 1
        reject(row.line, f"address is suppressed ({reason}) and is never added back", row.raw)
    if not by_hash:
        return
    now = utcnow()
    confirmed_at = now if confirmed else None
    # Existing addresses are skipped by the conflict clause: RETURNING names the new ones.
    added = bulk.insert_subscribers(
        conn,
        [(r.email, h, r.name, r.timezone, r.country) for h, r in by_hash.items()],
        status=(SubscriberStatus.confirmed if confirmed else SubscriberStatus.pending).value,
        now=now,
        confirmed_at=confirmed_at,
    )
    report.added += len(added)
    report.existing += len(by_hash) - len(added)
    if confirmed and len(added) < len(by_hash):
        bulk.confirm_pending(conn, [h for h in by_hash if h not in added], now=now)
    # New people's ids came back from the insert; only those already here are looked up by hash.
    bulk.add_memberships_by_id(
        conn, [(sid, slug) for h, sid in added.items() for slug in by_hash[h].lists], now=now
    )
    bulk.add_memberships(
        conn,
        [(h, slug) for h, row in by_hash.items() if h not in added for slug in row.lists],
        now=now,
    )
    bulk.add_consents(
        conn,
        [(sid, list(by_hash[h].lists)) for h, sid in added.items()],
        source="import",
        text_version=text_version,
        now=now,
        confirmed_at=confirmed_at,
    )
