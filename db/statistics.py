"""Keeping the planner's statistics current after a bulk write.

PostgreSQL plans from statistics that ANALYZE gathers. Autovacuum's analyze
runs a while after a bulk load (up to a minute on a default server), and not
at all where autovacuum is off; a creator who has just imported a list and
presses send would meet a planner that believes the tables are small. So
the code that writes many rows at once (a CSV import, a campaign's fan-out)
analyses the tables it wrote when it is done.

The cost is bounded whatever the table's size: ANALYZE reads a fixed sample
(300 x `default_statistics_target` rows, 30,000 by default) per table. It
takes a light lock (SHARE UPDATE EXCLUSIVE) that blocks no read or write.
On SQLite this does nothing: its planner works from the indexes it finds,
and its ANALYZE would read whole indexes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import text

from db.engine import Database

log = logging.getLogger(__name__)

# The tables this module may analyse: names go into SQL text, so only these.
KNOWN_TABLES = frozenset({"subscribers", "subscriptions", "consents", "deliveries"})
# Fewer rows written than this change no plan worth a pass over the sample.
ANALYZE_AFTER_ROWS = 1000


def refresh_statistics(db: Database, tables: Iterable[str], rows_written: int) -> bool:
    """ANALYZE `tables` on PostgreSQL after `rows_written` rows went into them, in a
    transaction of its own; True when it ran. No-op on SQLite and for small writes.

    Never raises: statistics are an optimisation, and the bulk write they
    follow has committed already.
    """
    names = list(dict.fromkeys(tables))
    unknown = set(names) - KNOWN_TABLES
    if unknown:
        raise ValueError(f"not a table to analyse: {', '.join(sorted(unknown))}")
    if db.engine.dialect.name != "postgresql" or not names or rows_written < ANALYZE_AFTER_ROWS:
        return False
    try:
        with db.engine.begin() as conn:
            conn.execute(text(f"ANALYZE {', '.join(names)}"))
    except Exception:  # statistics are a nicety; the write itself succeeded
        log.warning("ANALYZE %s failed", ", ".join(names), exc_info=True)
        return False
    return True
