"""The bot's turn across processes: conversations.bot_pending / bot_turn_owner / bot_turn_until and a
partial index of unanswered messages (chat/turns.py, docs/architecture.md "The bot's turn")

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 22:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bot_pending', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('bot_turn_owner', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('bot_turn_until', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_messages_unanswered', 'messages', ['conversation_id', 'seq'], unique=False,
                    postgresql_where=sa.text('NOT answered'), sqlite_where=sa.text('answered = 0'))
    # A left offline-form message (a ticket's line in the transcript) was never a question for the bot.
    op.execute("UPDATE messages SET answered = true WHERE sender = 'visitor' AND NOT answered "
               "AND CAST(extra AS TEXT) LIKE '%\"ticket\"%'")
    # Questions left unanswered before this version (a crash) are owed an answer: recovery finds them.
    op.execute("UPDATE conversations SET bot_pending = (SELECT count(*) FROM messages m "
               "WHERE m.conversation_id = conversations.id AND m.sender = 'visitor' AND NOT m.answered)")


def downgrade() -> None:
    op.drop_index('ix_messages_unanswered', table_name='messages')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('bot_turn_until')
        batch_op.drop_column('bot_turn_owner')
        batch_op.drop_column('bot_pending')
