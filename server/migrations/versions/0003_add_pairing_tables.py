"""add pairing offers and replaced join tokens

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pairing_offers",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("link_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_pairing_offers_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairing_offers")),
        sa.UniqueConstraint("code", name=op.f("uq_pairing_offers_code")),
        sa.UniqueConstraint("link_token", name=op.f("uq_pairing_offers_link_token")),
    )
    with op.batch_alter_table("pairing_offers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pairing_offers_device_id", ["device_id"], unique=False
        )

    op.create_table(
        "replaced_join_tokens",
        sa.Column("join_token", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=32), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_replaced_join_tokens_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("join_token", name=op.f("pk_replaced_join_tokens")),
    )


def downgrade() -> None:
    op.drop_table("replaced_join_tokens")
    with op.batch_alter_table("pairing_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_pairing_offers_device_id")

    op.drop_table("pairing_offers")
