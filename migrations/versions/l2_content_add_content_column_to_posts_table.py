"""add content column to posts table

Revision ID: l2_content
Revises: l1_posts
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "l2_content"
down_revision: str | Sequence[str] | None = "l1_posts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch_alter_table is plain ALTER TABLE on PostgreSQL; on SQLite, which cannot add a
    # NOT NULL column in place, it rebuilds the table.
    with op.batch_alter_table("posts") as batch_op:
        batch_op.add_column(sa.Column("content", sa.String(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch_op:
        batch_op.drop_column("content")
