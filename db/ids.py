"""`column IN (a batch of ids)`, cheap on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, ColumnElement, Text, any_, bindparam, cast
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
    more than the query itself. The array is sent as its text form and cast by
    the server: psycopg adapts a Python list element by element, which took
    twice as long as the query. Other databases get a plain IN.
    """
    if session.get_bind().dialect.name == "postgresql":
        literal = "{" + ",".join(str(int(i)) for i in ids) + "}"
        return column == any_(cast(bindparam(None, literal, type_=Text), _BIGINT_ARRAY))
    return column.in_(list(ids))


_BIGINT_ARRAY = postgresql.ARRAY(BigInteger)
