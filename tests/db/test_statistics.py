"""Bulk writes leave PostgreSQL's statistics current: an import, a campaign's fan-out."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from campaigns.compose import create_campaign
from config.resources import SITE_EXAMPLE
from config.site import load_site
from db.engine import Database
from db.statistics import ANALYZE_AFTER_ROWS, refresh_statistics
from delivery import campaign_send
from subscribers.importing import import_csv
from tests.conftest import throwaway_postgres
from tests.support.cli import cli_env, run_cli


@pytest.fixture
def fresh() -> Iterator[Database]:
    """A PostgreSQL database of its own, so that no other test has analysed its tables."""
    with throwaway_postgres("broadsheet_stats") as url:
        db = Database.from_url(url)
        yield db
        db.engine.dispose()


def analysed(db: Database, table: str) -> bool:
    with db.engine.connect() as conn:
        return bool(
            conn.scalar(
                text("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = :t"),
                {"t": table},
            )
        )


def csv_of(count: int, start: int = 0) -> io.StringIO:
    lines = ["email"] + [f"reader{n}@example.org" for n in range(start, start + count)]
    return io.StringIO("\n".join(lines) + "\n")


def test_a_large_import_analyses_the_tables_it_wrote(fresh: Database) -> None:
    site = load_site(SITE_EXAMPLE)
    import_csv(fresh, site, csv_of(ANALYZE_AFTER_ROWS - 1), lists=["videos"], confirmed=True)
    assert not analysed(fresh, "subscribers"), "a small import costs no ANALYZE"
    import_csv(fresh, site, csv_of(ANALYZE_AFTER_ROWS, start=10**6), lists=["videos"])
    assert all(analysed(fresh, t) for t in ("subscribers", "subscriptions", "consents"))
    with fresh.engine.connect() as conn:
        estimate = conn.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'subscribers'"))
    assert estimate == 2 * ANALYZE_AFTER_ROWS - 1


def test_the_import_command_leaves_the_planner_its_statistics(
    fresh: Database, tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(csv_of(3000).getvalue())
    env = cli_env(tmp_path, DATABASE_URL=fresh.engine.url.render_as_string(hide_password=False))
    result = run_cli(["subscribers", "import", str(source), "--confirmed"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert analysed(fresh, "subscribers") and analysed(fresh, "subscriptions")
    with fresh.engine.connect() as conn:
        estimate = conn.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'subscribers'"))
    assert estimate == 3000


def test_a_fan_out_analyses_the_ledger_when_it_ends(fresh: Database) -> None:
    site = load_site(SITE_EXAMPLE)
    import_csv(fresh, site, csv_of(1500), lists=["videos"], confirmed=True)
    with fresh.session() as session:
        cid = create_campaign(session, site, lists=["videos"], subject="Hi", intro="A note.").id
    campaign_send.start_campaign(fresh, site, cid)
    batches = campaign_send.fan_out(fresh, site, cid)
    next(batches)
    assert not analysed(fresh, "deliveries"), "not while the fan-out is still writing"
    assert sum(len(b) for b in batches) == 500
    assert analysed(fresh, "deliveries")


def test_statistics_are_left_alone_on_sqlite(tmp_path: object) -> None:
    db = Database.from_url(f"sqlite:///{tmp_path}/b.db")
    assert refresh_statistics(db, ["subscribers"], rows_written=10**6) is False
    with pytest.raises(ValueError, match="not a table"):
        refresh_statistics(db, ["subscribers; DROP TABLE x"], rows_written=10**6)
