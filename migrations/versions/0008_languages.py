"""languages of articles and conversations, translations (issue 16)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 03:45:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Articles that translate each other share a translation group (knowledge_base/translations.py);
    # kb_articles.language exists since 0001.
    with op.batch_alter_table('kb_articles') as batch:
        batch.add_column(sa.Column('translation_group', sa.String(length=100), nullable=True))
        batch.create_index('ix_kb_articles_translation_group', ['translation_group'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kb_articles') as batch:
        batch.drop_index('ix_kb_articles_translation_group')
        batch.drop_column('translation_group')
