"""report rollups and indexes (issue 14): conversations by start time, the one range every report
reads (insights/reports.py, docs/reports.md "Speed")

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 03:45:00
"""
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_conversations_created_at', 'conversations', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_conversations_created_at', table_name='conversations')
