"""attachments and agent notification preferences (issue 15)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 03:45:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
