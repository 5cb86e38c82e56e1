"""`column IN (a batch of ids)`, cheap on PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.adapt import Dumper
from sqlalchemy import ColumnElement, and_, any_, bindparam
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import UserDefinedType


def among(
    session: Session,
    column: InstrumentedAttribute[int] | InstrumentedAttribute[int | None],
    ids: Sequence[int],
) -> ColumnElement[bool]:
    """`column IN ids`, for the thousand ids of a sending batch.

    On PostgreSQL the ids travel as one array parameter (`= ANY(%s)`): an IN
    list of a thousand parameters makes a statement that SQLAlchemy expands
    and psycopg re-parses on every call (too long for its cache), which cost
    more than the query itself. The array goes as `BigIntArray`, its text
    literal written with one join and typed `bigint[]` on the wire, exactly as
    psycopg's own list dumper would send it, which converts each element in
    Python and cost a send several percent of the worker's time. (Sent as
    untyped text with a cast in the SQL instead, the planner chose worse plans.)
    Other databases get a plain IN.

    On PostgreSQL the same ids also bound a range (`column BETWEEN min AND
    max`): a batch's ids are close together (the fan-out walks id ranges), and
    the range is what keeps the plan a walk of the index where the table has
    no statistics yet. Without them the planner took a thousand ids for a
    large share of a table it believed small, and joined the batch to the
    subscribers or the suppression list by reading the whole table
    (tests/delivery/test_send_plans.py); with the range it expects a few rows
    and looks each one up.
    """
    if session.get_bind().dialect.name == "postgresql":
        listed = column == any_(bindparam(None, BigIntArray.of(ids), type_=_BigIntArrayType()))
        if not ids:
            return listed
        return and_(listed, column.between(min(ids), max(ids)))
    return column.in_(list(ids))


class BigIntArray(str):
    """A PostgreSQL bigint[] literal (`{1,2,3}`) that psycopg sends as it is, typed int8[]."""

    @classmethod
    def of(cls, ids: Sequence[int]) -> BigIntArray:
        return cls("{" + ",".join([str(int(i)) for i in ids]) + "}")


class _BigIntArrayType(UserDefinedType[str]):
    """bigint[] with no bind processing (SQLAlchemy's ARRAY would re-split the literal)."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "BIGINT[]"


class _BigIntArrayDumper(Dumper):
    oid = psycopg.postgres.types["int8"].array_oid

    def dump(self, obj: BigIntArray) -> bytes:
        return obj.encode("ascii")


psycopg.adapters.register_dumper(BigIntArray, _BigIntArrayDumper)
