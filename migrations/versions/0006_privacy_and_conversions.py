"""visitors' data requests, retention and conversion tracking (issue 14): conversions,
conversion_api_keys (insights/conversions.py), privacy_settings, privacy_audit (privacy/models.py)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 03:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'conversion_api_keys',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False, unique=True),
        sa.Column('hint', sa.String(length=16), nullable=False),
        sa.Column('created_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'conversions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('order_id', sa.String(length=100), nullable=False, unique=True),
        sa.Column('value_cents', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('ordered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attribution', sa.String(length=10), nullable=False),
        sa.Column('conversation_id', sa.String(length=32),
                  sa.ForeignKey('conversations.id', ondelete='SET NULL'), nullable=True),
        sa.Column('agent_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('visitor_id', sa.String(length=64), nullable=True),
        sa.Column('email_hash', sa.String(length=64), nullable=True),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('api_key_id', sa.Integer(), sa.ForeignKey('conversion_api_keys.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_conversions_ordered_at', 'conversions', ['ordered_at'])
    op.create_index('ix_conversions_conversation_id', 'conversions', ['conversation_id'])
    op.create_index('ix_conversions_agent_id', 'conversions', ['agent_id'])
    op.create_index('ix_conversions_visitor_id', 'conversions', ['visitor_id'])
    op.create_index('ix_conversions_email_hash', 'conversions', ['email_hash'])
    op.create_table(
        'privacy_settings',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('retention_days', sa.Integer(), nullable=True),
        sa.Column('privacy_notice_url', sa.String(length=500), nullable=True),
        sa.Column('updated_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'privacy_audit',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('found_by', sa.String(length=20), nullable=False),
        sa.Column('conversations', sa.Integer(), nullable=False),
        sa.Column('conversions', sa.Integer(), nullable=False),
        sa.Column('tracker_events', sa.Integer(), nullable=False),
    )
    op.create_index('ix_privacy_audit_at', 'privacy_audit', ['at'])


def downgrade() -> None:
    op.drop_index('ix_privacy_audit_at', table_name='privacy_audit')
    op.drop_table('privacy_audit')
    op.drop_table('privacy_settings')
    for name in ('email_hash', 'visitor_id', 'agent_id', 'conversation_id', 'ordered_at'):
        op.drop_index(f'ix_conversions_{name}', table_name='conversions')
    op.drop_table('conversions')
    op.drop_table('conversion_api_keys')
