"""report rollups and indexes (issue 14): report_conversations, one row of figures per
conversation; report_questions, the served and unanswered questions of those; report_facts, their
timed facts (waits, responses, handling, ratings, offline messages); report_state, how far the
rollup has read (insights/rollups.py); conversations by updated_at, what its refresh reads
(docs/reports.md "Speed")

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 03:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'report_conversations',
        sa.Column('conversation_id', sa.String(length=32),
                  sa.ForeignKey('conversations.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('bucket', sa.BigInteger(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=True),
        sa.Column('handoff_reason', sa.String(length=60), nullable=True),
        sa.Column('start_page', sa.String(length=2000), nullable=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in (
            'handed', 'contained', 'questions', 'answered', 'not_sure', 'helped_yes', 'helped_no', 'queued',
            'abandoned', 'timed_out')),
    )
    op.create_index('ix_report_conversations_created_at', 'report_conversations', ['created_at'], unique=False)
    op.create_table(
        'report_questions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('conversation_id', sa.String(length=32), sa.ForeignKey('conversations.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('article_id', sa.Integer(), nullable=True),
        sa.Column('helped_yes', sa.Integer(), nullable=False),
        sa.Column('helped_no', sa.Integer(), nullable=False),
        sa.Column('gap', sa.Integer(), nullable=False),
        sa.Column('question_key', sa.String(length=200), nullable=True),
        sa.Column('question', sa.String(length=200), nullable=True),
    )
    op.create_index('ix_report_questions_conversation_id', 'report_questions', ['conversation_id'], unique=False)
    op.create_index('ix_report_questions_served', 'report_questions',
                    ['created_at', 'article_id', 'helped_yes', 'helped_no'], unique=False)
    op.create_index('ix_report_questions_gaps', 'report_questions',
                    ['gap', 'created_at', 'question_key', 'question'], unique=False)
    op.create_table(
        'report_facts',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('conversation_id', sa.String(length=32), sa.ForeignKey('conversations.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('bucket', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=True),
        sa.Column('value', sa.Float(), nullable=True),
    )
    op.create_index('ix_report_facts_conversation_id', 'report_facts', ['conversation_id'], unique=False)
    op.create_index('ix_report_facts_period', 'report_facts',
                    ['created_at', 'kind', 'agent_id', 'value', 'bucket', 'conversation_id'], unique=False)
    state = op.create_table(
        'report_state',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('refreshed_to', sa.DateTime(timezone=True), nullable=True),
    )
    # Nothing read yet: the first report (or `shopchat` at start) fills the rollup from every conversation.
    op.bulk_insert(state, [{'id': 1, 'refreshed_to': None}])
    op.create_index('ix_conversations_updated_at', 'conversations', ['updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_conversations_updated_at', table_name='conversations')
    op.drop_table('report_state')
    op.drop_table('report_questions')
    op.drop_table('report_facts')
    op.drop_index('ix_report_conversations_created_at', table_name='report_conversations')
    op.drop_table('report_conversations')
