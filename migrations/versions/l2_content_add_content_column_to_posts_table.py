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
    # One ALTER TABLE on both databases. NOT NULL without a server_default
    # only works because posts is still empty here: existing rows would have
    # no value for the new column.
    op.add_column("posts", sa.Column("content", sa.String(), nullable=False))


def downgrade() -> None:
    op.drop_column("posts", "content")  # SQLite 3.35+ drops a column in place
