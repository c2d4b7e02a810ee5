"""add upload write claims

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 19:30:00.000000

A server process claims a file before it writes a chunk, so that two
processes sharing a data dir never write the same file at once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("write_claim", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("write_claim")
