"""add content column to posts table

Revision ID: b81e6d0c2f47
Revises: 7f3c2a91d4e5
Create Date: 2021-11-20 18:19:40.512907

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b81e6d0c2f47'
down_revision = '7f3c2a91d4e5'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('posts', sa.Column('content', sa.String(), nullable=False))
    pass


def downgrade():
    op.drop_column('posts', 'content')
    pass
