"""add last few columns to posts table

Revision ID: l5_published
Revises: l4_owner_fk
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "l5_published"
down_revision: str | Sequence[str] | None = "l4_owner_fk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # posts holds rows: each NOT NULL column needs a server default, which the
    # existing rows get. Batch mode, because SQLite's ALTER TABLE cannot add a
    # column whose default is a function (CURRENT_TIMESTAMP); on SQLite it
    # copies the table, on PostgreSQL it is a plain ALTER.
    with op.batch_alter_table("posts") as batch_op:
        batch_op.add_column(
            sa.Column(
                "published",
                sa.Boolean(),
                nullable=False,
                server_default=sa.true(),
            )
        )
        batch_op.add_column(
            sa.Column(
                "created_at",
                sa.TIMESTAMP(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )


def downgrade() -> None:
    # Loses whether each post was published and when it was written.
    with op.batch_alter_table("posts") as batch_op:
        batch_op.drop_column("created_at")
        batch_op.drop_column("published")
