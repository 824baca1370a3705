"""add foreign-key to posts table

Revision ID: l4_owner_fk
Revises: l3_users
Create Date: 2026-01-01 00:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "l4_owner_fk"
down_revision: str | Sequence[str] | None = "l3_users"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # First the column, then the constraint that refers to it.
    with op.batch_alter_table("posts") as batch_op:
        batch_op.add_column(
            sa.Column("owner_id", sa.Integer(), nullable=False),
        )
        batch_op.create_foreign_key(
            "post_users_fk", "users", ["owner_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    # The reverse order: drop the constraint first, then the column it uses.
    # This loses who owns each post: upgrading again cannot bring it back.
    with op.batch_alter_table("posts") as batch_op:
        batch_op.drop_constraint("post_users_fk", type_="foreignkey")
        batch_op.drop_column("owner_id")
