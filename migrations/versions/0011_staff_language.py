"""the staff pages' language per user (issue 16)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # users.language: 'en' or 'el' as the user chose in the editor (later the console); NULL: never
    # chosen, the pages follow the browser's language (accounts/models.py STAFF_LANGUAGES).
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('language', sa.String(length=5), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('language')
