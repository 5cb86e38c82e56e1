from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from db.engine import Database
from db.migrate import alembic_config
from db.models import Base


def test_migrations_create_every_table(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_migration_0011_keeps_the_sent_subject_and_moves_the_template_aside(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = alembic_config(str(engine.url))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0009_ledger_write_path")
        connection.execute(
            text(
                "INSERT INTO campaigns (id, subject, intro, status, template, list_slugs,"
                " post_ids, fanout_cursor, fanout_done, consecutive_failures, created_at)"
                " VALUES (:id, :subject, '', :status, 'edition', '[]', '[]', 0, 0, 0,"
                " CURRENT_TIMESTAMP)"
            ),
            [
                {"id": 1, "subject": "{{ lead.title }}", "status": "sent"},
                {"id": 2, "subject": "Draft: {{ lead.title }}", "status": "draft"},
            ],
        )
        connection.execute(
            text(
                "INSERT INTO editions (campaign_id, variant, subject, html, text, disclaimers,"
                " created_at) VALUES"
                " (1, 'default', 'Tide Breathing', '', '', '[]', CURRENT_TIMESTAMP),"
                " (1, 'house', 'Tide Breathing (house)', '', '', '[]', CURRENT_TIMESTAMP)"
            )
        )
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
        rows = connection.execute(
            text("SELECT id, subject, subject_template FROM campaigns ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [
        (1, "Tide Breathing", "{{ lead.title }}"),
        (2, "Draft: {{ lead.title }}", "Draft: {{ lead.title }}"),
    ]
    engine.dispose()
