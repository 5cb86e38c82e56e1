from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from db.engine import Database
from db.migrate import alembic_config, upgrade
from db.models import Base
from subscribers.addresses import email_hash

UNICODE_DOMAIN = "ana@b\u00fccher.example"


def test_migrations_create_every_table(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables


def test_models_and_migrations_agree(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_0012_keeps_every_membership_and_consent_and_never_reuses_an_id(tmp_path: Path) -> None:
    """SQLite's rebuild for AUTOINCREMENT drops the table: with foreign keys on, that
    DROP would cascade to subscriptions and consents."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    database = Database.from_url(url)
    cfg = alembic_config(url)
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0009_ledger_write_path")
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subscribers (id, email, email_hash, status, cadence, created_at,"
                " soft_bounces, confirmation_sent_at) VALUES"
                " (1, 'a@example.org', 'h1', 'confirmed', 'instant', '2026-01-01', 0,"
                "  '2026-01-01'),"
                " (2, 'b@example.org', 'h2', 'pending', 'instant', '2026-01-01', 0, NULL)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO subscribers (id, email, email_hash, status, cadence, created_at,"
                " soft_bounces) VALUES (3, :email, :hash, 'unsubscribed', 'instant',"
                " '2026-01-01', 0)"
            ),
            {"email": UNICODE_DOMAIN, "hash": email_hash(UNICODE_DOMAIN)},
        )
        conn.execute(
            text("INSERT INTO suppressions VALUES (:hash, 'unsubscribed', '2026-01-01')"),
            {"hash": email_hash(UNICODE_DOMAIN)},
        )
        conn.execute(text("INSERT INTO subscriptions VALUES (1, 'videos', '2026-01-01')"))
        conn.execute(
            text(
                "INSERT INTO consents (subscriber_id, created_at, source, consent_text_version,"
                " lists) VALUES (1, '2026-01-01', 'form', '1', '[]')"
            )
        )
    upgrade(database.engine)
    with database.engine.begin() as conn:
        assert conn.execute(text("SELECT subscriber_id FROM subscriptions")).all() == [(1,)]
        assert conn.execute(text("SELECT subscriber_id FROM consents")).all() == [(1,)]
        # Asked-for confirmations count as mailed: upgrading sends nothing.
        mailed = conn.execute(
            text("SELECT id, confirmation_mailed_at IS NOT NULL FROM subscribers ORDER BY id")
        ).all()
        assert mailed == [(1, True), (2, False), (3, False)]
        # A Unicode domain is rewritten to IDNA, and its suppression follows it.
        assert conn.execute(text("SELECT email FROM subscribers WHERE id = 3")).scalar() == (
            "ana@xn--bcher-kva.example"
        )
        suppressed = set(conn.execute(text("SELECT email_hash FROM suppressions")).scalars())
        assert email_hash("ana@xn--bcher-kva.example") in suppressed
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        conn.execute(text("DELETE FROM subscribers WHERE id = 2"))
        conn.execute(
            text(
                "INSERT INTO subscribers (email, email_hash, status, cadence, created_at,"
                " soft_bounces) VALUES ('c@example.org', 'h3', 'pending', 'instant',"
                " '2026-01-02', 0)"
            )
        )
        conn.execute(text("DELETE FROM subscribers WHERE id = 4"))
        conn.execute(
            text(
                "INSERT INTO subscribers (email, email_hash, status, cadence, created_at,"
                " soft_bounces) VALUES ('d@example.org', 'h4', 'pending', 'instant',"
                " '2026-01-02', 0)"
            )
        )
        assert conn.execute(text("SELECT max(id) FROM subscribers")).scalar() == 5
    database.engine.dispose()


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
