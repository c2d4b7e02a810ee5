"""add plans

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GIB = 1024**3


def upgrade() -> None:
    plans = op.create_table(
        "plans",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("max_sessions", sa.Integer(), nullable=False),
        sa.Column("capacity_bytes", sa.BigInteger(), nullable=False),
        sa.Column("max_lifetime_s", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_plans")),
    )
    op.bulk_insert(
        plans,
        [
            {
                "name": "guest",
                "max_sessions": 3,
                "capacity_bytes": 2 * GIB,
                "max_lifetime_s": 3600,
            },
            {
                "name": "free",
                "max_sessions": 5,
                "capacity_bytes": 10 * GIB,
                "max_lifetime_s": 24 * 3600,
            },
            {
                "name": "pro",
                "max_sessions": 20,
                "capacity_bytes": 100 * GIB,
                "max_lifetime_s": 7 * 24 * 3600,
            },
        ],
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index("ix_accounts_expires_at", ["expires_at"], unique=False)
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index("ix_devices_account_id", ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_account_id")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index("ix_accounts_expires_at")
    op.drop_table("plans")
