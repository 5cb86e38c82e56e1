"""sponsor desk: sponsors, placements, slots, bookings and creative versions in the database

The site file's `[[sponsors]]` become an import format (`sponsor_imports`
records that the import ran; from then on these tables are the source).
`uq_bookings_live_slot` is a partial unique index: a slot has at most one
booking that is not cancelled, so two bookings cannot take one slot even when
they arrive at the same moment. `editions.booking_id`/`creative_id` say which
booking and creative version a variant carries; `sponsor_clicks.booking_id`
counts clicks per booking.

Revision ID: 0020_sponsor_desk
Revises: 0015_admin_accounts
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_sponsor_desk"
down_revision = "0015_admin_accounts"
branch_labels = None
depends_on = None

LIVE = "state <> 'cancelled' AND slot_id IS NOT NULL"


def _id() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False)


def _big() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _enum(name: str, *values: str, length: int = 16) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=length)


def _position() -> sa.Enum:
    return _enum("blockposition", "after_first", "end")


def upgrade() -> None:
    op.create_table(
        "sponsors",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("contact", sa.String(320), nullable=False),
        sa.Column("house", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sponsors")),
        sa.UniqueConstraint("name", name=op.f("uq_sponsors_name")),
    )
    op.create_table(
        "placements",
        _id(),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("position", _position(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placements")),
        sa.UniqueConstraint("slug", name=op.f("uq_placements_slug")),
    )
    op.create_table(
        "sponsor_slots",
        _id(),
        sa.Column("placement_id", _big(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("list_slug", sa.String(64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placements.id"],
            name=op.f("fk_sponsor_slots_placement_id_placements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sponsor_slots")),
        sa.UniqueConstraint("placement_id", "day", "list_slug", name="uq_sponsor_slots_day"),
    )
    op.create_index("ix_sponsor_slots_day", "sponsor_slots", ["day"])
    op.create_table(
        "bookings",
        _id(),
        sa.Column("sponsor_id", _big(), nullable=False),
        sa.Column("slot_id", _big(), nullable=True),
        sa.Column("position", _position(), nullable=False),
        sa.Column("starts", sa.Date(), nullable=False),
        sa.Column("ends", sa.Date(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("cap_days", sa.Integer(), nullable=False),
        sa.Column("lists", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            _enum(
                "bookingstate",
                "proposed",
                "awaiting_creative",
                "in_review",
                "approved",
                "running",
                "delivered",
                "cancelled",
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("approved_creative_id", sa.BigInteger(), nullable=True),
        sa.Column("price_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("invoice_ref", sa.String(64), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sponsor_id"], ["sponsors.id"], name=op.f("fk_bookings_sponsor_id_sponsors")
        ),
        sa.ForeignKeyConstraint(
            ["slot_id"], ["sponsor_slots.id"], name=op.f("fk_bookings_slot_id_sponsor_slots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
    )
    op.create_index("ix_bookings_sponsor_id", "bookings", ["sponsor_id"])
    op.create_index("ix_bookings_state", "bookings", ["state"])
    op.create_index(
        "uq_bookings_live_slot",
        "bookings",
        ["slot_id"],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )
    op.create_table(
        "creatives",
        _id(),
        sa.Column("booking_id", _big(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("headline", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("cta", sa.String(60), nullable=False),
        sa.Column("image_url", sa.String(2000), nullable=True),
        sa.Column(
            "status", _enum("creativestatus", "submitted", "approved", "changes"), nullable=False
        ),
        sa.Column("review_comment", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.String(320), nullable=True),
        sa.Column("submitted_at", _utc(), nullable=False),
        sa.Column("reviewed_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_creatives_booking_id_bookings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_creatives")),
        sa.UniqueConstraint("booking_id", "version", name="uq_creatives_version"),
    )
    op.create_index("ix_creatives_booking_id", "creatives", ["booking_id"])
    op.create_table(
        "sponsor_imports",
        _id(),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sponsor_imports")),
    )
    with op.batch_alter_table("editions") as batch:
        batch.add_column(sa.Column("booking_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("creative_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_editions_booking_id", "editions", ["booking_id"])
    with op.batch_alter_table("sponsor_clicks") as batch:
        batch.add_column(sa.Column("booking_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_sponsor_clicks_booking_id", "sponsor_clicks", ["booking_id"])


def downgrade() -> None:
    op.drop_index("ix_sponsor_clicks_booking_id", table_name="sponsor_clicks")
    with op.batch_alter_table("sponsor_clicks") as batch:
        batch.drop_column("booking_id")
    op.drop_index("ix_editions_booking_id", table_name="editions")
    with op.batch_alter_table("editions") as batch:
        batch.drop_column("creative_id")
        batch.drop_column("booking_id")
    op.drop_table("sponsor_imports")
    op.drop_index("ix_creatives_booking_id", table_name="creatives")
    op.drop_table("creatives")
    op.drop_index("uq_bookings_live_slot", table_name="bookings")
    op.drop_index("ix_bookings_state", table_name="bookings")
    op.drop_index("ix_bookings_sponsor_id", table_name="bookings")
    op.drop_table("bookings")
    op.drop_index("ix_sponsor_slots_day", table_name="sponsor_slots")
    op.drop_table("sponsor_slots")
    op.drop_table("placements")
    op.drop_table("sponsors")
