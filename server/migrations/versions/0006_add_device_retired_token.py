"""keep the hash of each device's previous token

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 23:40:00.000000

A page that reconnects with the token its device just gave up, before the
browser stored the new one, must not be recorded as a new device.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retired_token_hash", sa.String(length=64), nullable=True)
        )
        batch_op.create_index(
            "ix_devices_retired_token_hash", ["retired_token_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index("ix_devices_retired_token_hash")
        batch_op.drop_column("retired_token_hash")
