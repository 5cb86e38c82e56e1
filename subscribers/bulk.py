"""Set-based writes for imports: each statement takes one JSON parameter, whatever the chunk size.

Binding thousands of values one by one (multi-row VALUES, long IN lists) costs
more in the driver and in SQLAlchemy than the database spends on the rows.
Passing a chunk as one JSON array, expanded by the database itself
(`json_each` on SQLite, `json_array_elements` on PostgreSQL), keeps an import
at database speed on both. Inserts use ON CONFLICT DO NOTHING, so re-running a
chunk changes nothing. Lookups by hash are correlated subqueries rather than
joins: PostgreSQL guesses 100 rows for a JSON function and, with a join, may
choose to scan the whole subscribers table for every chunk; a correlated
subquery is one index lookup per row whatever the table size.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, TextClause, bindparam, text

from db.models import UTCDateTime


@dataclass(frozen=True)
class _Dialect:
    rows: str  # a FROM item yielding one row per array element, as `j(value)`
    field: str  # the i-th item of `value` as text; `{i}` is replaced
    json_field: str  # the i-th item of `value` as JSON
    # PostgreSQL cannot infer the type of a bare parameter in a SELECT list.
    timestamp: str
    string: str


SQLITE = _Dialect(
    rows="json_each(:{name}) AS j",
    field="json_extract(j.value, '$[{i}]')",
    json_field="json_extract(j.value, '$[{i}]')",
    timestamp=":{p}",
    string=":{p}",
)
POSTGRES = _Dialect(
    rows="json_array_elements(CAST(:{name} AS json)) AS j(value)",
    field="(j.value ->> {i})",
    json_field="(j.value -> {i})",
    timestamp="CAST(:{p} AS timestamptz)",
    string="CAST(:{p} AS varchar)",
)


def _dialect(conn: Connection) -> _Dialect:
    name = conn.dialect.name
    if name == "sqlite":
        return SQLITE
    if name == "postgresql":
        return POSTGRES
    raise NotImplementedError(f"bulk import does not support {name}")


def _sql(conn: Connection, template: str, **times: None) -> TextClause:
    """Fill the dialect's pieces into `template`; `times` names UTC datetime parameters."""
    d = _dialect(conn)
    sql = template.replace("{rows}", d.rows.format(name="rows"))
    for i in range(8):
        sql = sql.replace(f"{{f{i}}}", d.field.format(i=i))
        sql = sql.replace(f"{{j{i}}}", d.json_field.format(i=i))
    sql = re.sub(r"\{ts:(\w+)\}", lambda m: d.timestamp.format(p=m.group(1)), sql)
    sql = re.sub(r"\{str:(\w+)\}", lambda m: d.string.format(p=m.group(1)), sql)
    return text(sql).bindparams(*(bindparam(t, type_=UTCDateTime()) for t in times))


def suppressed(conn: Connection, hashes: Sequence[str]) -> dict[str, str]:
    """email_hash -> reason for the hashes on the suppression list."""
    statement = _sql(
        conn,
        "SELECT x.h, x.r FROM (SELECT {f0} AS h, "
        "(SELECT s.reason FROM suppressions s WHERE s.email_hash = {f0}) AS r "
        "FROM {rows}) AS x WHERE x.r IS NOT NULL",
    )
    found = conn.execute(statement, {"rows": json.dumps([[h] for h in hashes])})
    return {ehash: reason for ehash, reason in found}


def insert_subscribers(
    conn: Connection,
    rows: Sequence[tuple[str, str, str | None, str | None, str | None]],
    *,
    status: str,
    now: dt.datetime,
    confirmed_at: dt.datetime | None,
) -> dict[str, int]:
    """Insert (email, hash, name, timezone, country) rows; hash -> id of those this call created.

    A row whose address exists already (a concurrent sign-up) is skipped by the
    conflict clause and is not in the result.
    """
    statement = _sql(
        conn,
        "INSERT INTO subscribers (email, email_hash, name, timezone, country, status, cadence,"
        " created_at, confirmed_at, soft_bounces) "
        "SELECT {f0}, {f1}, {f2}, {f3}, {f4}, {str:status}, 'instant', {ts:now},"
        " {ts:confirmed_at}, 0 "
        "FROM {rows} WHERE true "  # SQLite needs a WHERE before ON CONFLICT in INSERT ... SELECT
        "ON CONFLICT DO NOTHING RETURNING email_hash, id",
        now=None,
        confirmed_at=None,
    )
    created = conn.execute(
        statement,
        {"rows": json.dumps(rows), "status": status, "now": now, "confirmed_at": confirmed_at},
    )
    return {ehash: sid for ehash, sid in created}


def add_memberships(
    conn: Connection, pairs: Sequence[tuple[str, str]], *, now: dt.datetime
) -> None:
    """(email hash, list slug) pairs; memberships that exist already are left alone."""
    if not pairs:
        return
    statement = _sql(
        conn,
        "INSERT INTO subscriptions (subscriber_id, list_slug, created_at) "
        "SELECT m.sid, m.slug, {ts:now} FROM (SELECT {f1} AS slug, "
        "(SELECT s.id FROM subscribers s WHERE s.email_hash = {f0}) AS sid "
        "FROM {rows}) AS m WHERE m.sid IS NOT NULL ON CONFLICT DO NOTHING",
        now=None,
    )
    conn.execute(statement, {"rows": json.dumps(pairs), "now": now})


def add_memberships_by_id(
    conn: Connection, pairs: Sequence[tuple[int, str]], *, now: dt.datetime
) -> None:
    """(subscriber id, list slug) pairs, for people this import has just created.

    The ids come from the insert's RETURNING, so no row needs a lookup by hash
    (on PostgreSQL that lookup was most of an import's time).
    """
    if not pairs:
        return
    statement = _sql(
        conn,
        "INSERT INTO subscriptions (subscriber_id, list_slug, created_at) "
        "SELECT CAST({f0} AS BIGINT), {f1}, {ts:now} FROM {rows} WHERE true "
        "ON CONFLICT DO NOTHING",
        now=None,
    )
    conn.execute(statement, {"rows": json.dumps(pairs), "now": now})


def add_consents(
    conn: Connection,
    rows: Sequence[tuple[int, list[str]]],
    *,
    source: str,
    text_version: str,
    now: dt.datetime,
    confirmed_at: dt.datetime | None,
) -> None:
    """One consent record per (subscriber id, lists) row."""
    if not rows:
        return
    statement = _sql(
        conn,
        "INSERT INTO consents (subscriber_id, created_at, source, consent_text_version, lists,"
        " confirmed_at) "
        "SELECT CAST({f0} AS BIGINT), {ts:now}, {str:source}, {str:version}, {j1},"
        " {ts:confirmed_at} FROM {rows}",
        now=None,
        confirmed_at=None,
    )
    conn.execute(
        statement,
        {
            "rows": json.dumps(rows),
            "now": now,
            "source": source,
            "version": text_version,
            "confirmed_at": confirmed_at,
        },
    )


def confirm_pending(conn: Connection, hashes: Sequence[str], *, now: dt.datetime) -> None:
    """Mark pending subscribers among `hashes` confirmed (an import with --confirmed)."""
    if not hashes:
        return
    statement = _sql(
        conn,
        "UPDATE subscribers SET status = 'confirmed', confirmed_at = :now "
        "WHERE status = 'pending' AND id IN "
        "(SELECT (SELECT s.id FROM subscribers s WHERE s.email_hash = {f0}) FROM {rows})",
        now=None,
    )
    conn.execute(statement, {"rows": json.dumps([[h] for h in hashes]), "now": now})
