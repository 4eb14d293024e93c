"""kb_articles.change_seq: which kb_version last changed each article (incremental search index)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 23:35:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_kb_articles_change_seq'), ['change_seq'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_articles_change_seq'))
        batch_op.drop_column('change_seq')
