"""SendGrid events in: parse the batch, validate each event alone, store each once.

A batch is a JSON array. Each element is checked on its own, so one bad event
is reported and skipped while the good ones around it are stored. Storing is
one bulk INSERT ... ON CONFLICT DO NOTHING on `sg_event_id`: SendGrid retries a
batch for up to a day, and a retried event must change nothing.

Personal data stays out of the events table: the address is kept only as its
hash, the payload keeps a whitelist of technical fields, and addresses quoted
in bounce reasons are masked.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Connection, Table, insert, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from db.models import MAX_ID, Event, PendingEvent, utcnow
from subscribers.addresses import InvalidEmail, email_hash, normalize_email

log = logging.getLogger(__name__)

EVENTS = cast(Table, Event.__table__)
PENDING = cast(Table, PendingEvent.__table__)

# SendGrid's Event Webhook types (delivery and engagement events).
KNOWN_TYPES = frozenset(
    {
        "processed",
        "dropped",
        "deferred",
        "delivered",
        "bounce",
        "open",
        "click",
        "spamreport",
        "unsubscribe",
        "group_unsubscribe",
        "group_resubscribe",
    }
)
# Technical fields worth keeping for reports and audits; nothing that names a person.
PAYLOAD_FIELDS = (
    "sg_message_id",
    "type",
    "bounce_classification",
    "status",
    "attempt",
    "sg_machine_open",
    "asm_group_id",
)
MAX_REASON = 2000
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_ADDRESS = re.compile(r"[^\s<>\"'@]+@[^\s<>\"'@]+")
# Unix times SendGrid could plausibly send: 2009 (SendGrid's webhook exists) to 2100.
_MIN_TIME, _MAX_TIME = 1_230_768_000, 4_102_444_800


class BadBatch(ValueError):
    """The body as a whole is unusable (not JSON, not a list); the message says why."""


class BadEvent(ValueError):
    """One event is unusable; the message says why."""


@dataclass(frozen=True)
class Rejected:
    index: int
    reason: str


@dataclass
class ParsedBatch:
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def parse_body(body: bytes) -> list[Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than the parser's stack; never what SendGrid sends.
        raise BadBatch("body is not JSON") from None
    if not isinstance(data, list):
        raise BadBatch("body is not a JSON array of events")
    return data


def parse_events(items: Sequence[Any], received_at: dt.datetime | None = None) -> ParsedBatch:
    """Validate each event alone; duplicates within the batch are kept once."""
    received = received_at or utcnow()
    batch = ParsedBatch()
    seen: set[str] = set()
    for index, item in enumerate(items):
        try:
            row = event_row(item, received)
        except BadEvent as exc:
            batch.rejected.append(Rejected(index, str(exc)))
            log.warning("sendgrid event %d skipped: %s", index, exc)
            continue
        if row["provider_event_id"] not in seen:
            seen.add(row["provider_event_id"])
            batch.rows.append(row)
    return batch


def event_row(item: Any, received_at: dt.datetime) -> dict[str, Any]:
    """The events-table row for one SendGrid event, or BadEvent."""
    if not isinstance(item, dict):
        raise BadEvent("event is not a JSON object")
    kind = item.get("event")
    if not isinstance(kind, str) or not kind:
        raise BadEvent("event has no 'event' type")
    if kind not in KNOWN_TYPES:
        raise BadEvent(f"unknown event type {kind[:40]!r}")
    event_id = item.get("sg_event_id")
    if (
        not isinstance(event_id, str)
        or not 0 < len(event_id) <= 128
        or _UNSTORABLE.search(event_id)
    ):
        raise BadEvent(f"{kind} event has no usable sg_event_id")
    email = item.get("email")
    ehash = _address_hash(email) if isinstance(email, str) else None
    if ehash is None:
        raise BadEvent(f"{kind} event {event_id} has no valid email")
    occurred = item.get("timestamp")
    if isinstance(occurred, bool) or not isinstance(occurred, int | float):
        raise BadEvent(f"{kind} event {event_id} has no numeric timestamp")
    if not _MIN_TIME <= occurred <= _MAX_TIME:
        raise BadEvent(f"{kind} event {event_id} has an implausible timestamp")
    url = item.get("url") if kind == "click" else None
    return {
        "provider_event_id": event_id,
        "type": kind,
        "email_hash": ehash,
        "campaign_id": _custom_id(item.get("campaign_id")),
        "delivery_id": _custom_id(item.get("delivery_id")),
        "url": _storable(url)[:4000] if isinstance(url, str) else None,
        "reason": _reason(item),
        "payload": _payload(item),
        "occurred_at": dt.datetime.fromtimestamp(occurred, dt.UTC),
        "received_at": received_at,
        "processed_at": None,
    }


@lru_cache(maxsize=65_536)
def _address_hash(raw: str) -> str | None:
    # Cached: one batch holds several events (delivered, open, click) per address.
    address = raw.strip()
    if _PLAIN_ADDRESS.fullmatch(address):
        # For a plain ASCII dot-atom address, email-validator's normal form is the
        # address lowercased (see subscribers.addresses); skipping it here is what
        # lets a batch of 1000 events be hashed in a millisecond or two.
        return email_hash(address.lower())
    try:
        return email_hash(normalize_email(address))
    except InvalidEmail:
        return None


def _payload(item: dict[str, Any]) -> dict[str, Any]:
    """The whitelisted fields, scalars only; the machine-open flag as a real boolean."""
    kept = {
        k: _storable(v) if isinstance(v, str) else v
        for k in PAYLOAD_FIELDS
        if k != "sg_machine_open" and _storable_scalar(v := item.get(k))
    }
    if "sg_machine_open" in item:
        kept["sg_machine_open"] = item["sg_machine_open"] is True
    return kept


def _storable_scalar(value: object) -> bool:
    """A JSON scalar every database's JSON column takes (no 2^70, no Infinity)."""
    if isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return -MAX_ID <= value <= MAX_ID
    return isinstance(value, float) and math.isfinite(value)


def _custom_id(value: object) -> int | None:
    """Our custom args (`campaign_id`, `delivery_id`) come back as strings."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # A bigint column holds at most 2^63 - 1: a larger id is nobody's, and storing it
        # would fail the whole batch.
        return value if 0 < value <= MAX_ID else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        return int(value) or None
    return None


# NUL (PostgreSQL text refuses it) and lone surrogates (not encodable) cannot be stored.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> str:
    return _UNSTORABLE.sub("", text)


def _reason(item: dict[str, Any]) -> str | None:
    text = item.get("reason") or item.get("response")
    if not isinstance(text, str) or not text:
        return None
    return _ADDRESS.sub("<address>", _storable(text))[:MAX_REASON]


@dataclass(frozen=True)
class Stored:
    new_ids: list[int]
    duplicates: int


def store_events(session: Session, rows: list[dict[str, Any]]) -> Stored:
    """Insert rows not seen before, each queued as pending; returns the ids of the new ones."""
    if not rows:
        return Stored([], 0)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        new_ids = _insert_postgresql(connection, rows)
    else:
        # Core executemany on the connection: compiled once and cached, sent as multi-row
        # INSERTs ("insertmanyvalues"); the ORM's bulk path costs more than the database here.
        statement = (
            sqlite.insert(EVENTS)
            .on_conflict_do_nothing(index_elements=[EVENTS.c.provider_event_id])
            .returning(EVENTS.c.id)
        )
        new_ids = list(connection.execute(statement, rows).scalars())
        if new_ids:
            connection.execute(insert(PENDING), [{"event_id": i} for i in new_ids])
    return Stored(sorted(new_ids), len(rows) - len(new_ids))


# PostgreSQL takes the batch as one array per column: ten parameters instead of ten
# thousand, so neither SQLAlchemy nor psycopg spends its time on placeholders.
_STORED_COLUMNS = (
    ("provider_event_id", "varchar"), ("type", "varchar"), ("email_hash", "varchar"),
    ("campaign_id", "bigint"), ("delivery_id", "bigint"), ("url", "text"), ("reason", "text"),
    ("payload", "json"), ("occurred_at", "timestamptz"), ("received_at", "timestamptz"),
)  # fmt: skip
# The new events are queued as pending in the same statement (one round trip).
_UNNEST_INSERT = text(
    f"WITH new AS (INSERT INTO events ({', '.join(name for name, _ in _STORED_COLUMNS)}) "
    f"SELECT * FROM unnest({', '.join(f'CAST(:{n} AS {t}[])' for n, t in _STORED_COLUMNS)}) "
    "ON CONFLICT (provider_event_id) DO NOTHING RETURNING id), "
    "queued AS (INSERT INTO pending_events (event_id) SELECT id FROM new) "
    "SELECT id FROM new"
)


def _insert_postgresql(connection: Connection, rows: list[dict[str, Any]]) -> list[int]:
    params = {name: [row[name] for row in rows] for name, _ in _STORED_COLUMNS}
    params["payload"] = [json.dumps(p) for p in params["payload"]]
    return list(connection.execute(_UNNEST_INSERT, params).scalars())
