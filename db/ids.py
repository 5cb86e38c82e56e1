"""`column IN (a batch of ids)`, cheap on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, ColumnElement, any_, bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import InstrumentedAttribute, Session


def among(
    session: Session,
    column: InstrumentedAttribute[int] | InstrumentedAttribute[int | None],
    ids: Sequence[int],
) -> ColumnElement[bool]:
    """`column IN ids`, for the thousand ids of a sending batch.

    On PostgreSQL the ids travel as one array parameter (`= ANY(%s)`): an IN
    list of a thousand parameters makes a statement that SQLAlchemy expands
    and psycopg re-parses on every call (too long for its cache), which cost
    more than the query itself. Other databases get a plain IN.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(ids), type_=postgresql.ARRAY(BigInteger)))
    return column.in_(list(ids))
