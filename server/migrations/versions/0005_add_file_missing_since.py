"""add the time a sweep first found a file's bytes missing

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 22:30:00.000000

The missing-file sweep counts its grace period from this time, so a record
is failed only after its file has been missing for the whole period.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("missing_since", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("missing_since")
