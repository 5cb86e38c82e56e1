"""CSV export, streamed: subscribers walked by id in batches, never all in memory.

The columns are a superset of the import columns, so an export imports back.

Cells are neutralised against formula injection (OWASP's advice): a
spreadsheet runs a cell starting with `=`, `+`, `-` or `@` (or a tab or
carriage return before one) as a formula, and names come from a public form.
Such a cell is written with a leading `'`, which spreadsheets show as text;
the import removes that quote again (`unneutralise`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TextIO

from sqlalchemy import select

from db.engine import Database
from db.models import Subscriber, Subscription

EXPORT_COLUMNS = (
    "email", "name", "lists", "country", "timezone",
    "status", "cadence", "created_at", "confirmed_at", "unsubscribed_at",
)  # fmt: skip
BATCH = 1000


def export_rows(db: Database, batch: int = BATCH) -> Iterator[list[str]]:
    """One list of cells per subscriber, in id order."""
    after = 0
    while True:
        with db.session() as session:
            people = session.scalars(
                select(Subscriber).where(Subscriber.id > after).order_by(Subscriber.id).limit(batch)
            ).all()
            if not people:
                return
            ids = [p.id for p in people]
            lists: dict[int, list[str]] = {}
            for sid, slug in session.execute(
                select(Subscription.subscriber_id, Subscription.list_slug)
                .where(Subscription.subscriber_id.in_(ids))
                .order_by(Subscription.subscriber_id, Subscription.list_slug)
            ):
                lists.setdefault(sid, []).append(slug)
        for p in people:
            yield [
                neutralise(p.email),
                neutralise(p.name or ""),
                ";".join(lists.get(p.id, [])),
                neutralise(p.country or ""),
                neutralise(p.timezone or ""),
                p.status.value,
                p.cadence,
                _iso(p.created_at),
                _iso(p.confirmed_at),
                _iso(p.unsubscribed_at),
            ]
        after = ids[-1]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, made plain text by a leading quote."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def unneutralise(cell: str) -> str:
    """The import's inverse of `neutralise`."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) else cell


def _iso(value: object) -> str:
    return value.isoformat() if value is not None else ""  # type: ignore[attr-defined]


def write_csv(db: Database, out: TextIO) -> int:
    """Write the header and every subscriber to `out`; returns the number of rows."""
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in export_rows(db):
        writer.writerow(row)
        count += 1
    return count


def csv_chunks(db: Database) -> Iterator[str]:
    """The same CSV as text chunks of about one batch each, for a streamed HTTP response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for n, row in enumerate(export_rows(db), start=1):
        writer.writerow(row)
        if n % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
