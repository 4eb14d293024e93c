"""live visitors, invitations, pre-chat form, appearance (issue 15)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 03:45:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "engage_visitors",
        sa.Column("visitor_id", sa.String(64), primary_key=True),
        sa.Column("ref", sa.String(16), nullable=False, unique=True),
        sa.Column("visit_no", sa.Integer, nullable=False, server_default="1"),
        sa.Column("visit_started_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("left_at", TS),
        sa.Column("page_url", sa.String(2000)),
        sa.Column("page_title", sa.String(500)),
        sa.Column("page_started_at", TS),
        sa.Column("referrer", sa.String(2000)),
        sa.Column("pages_seen", sa.Integer, nullable=False, server_default="0"),
        sa.Column("pages", sa.JSON, nullable=False),
        sa.Column("language", sa.String(16)),
        sa.Column("invite", sa.JSON),
    )
    op.create_index("ix_engage_visitors_last_seen_at", "engage_visitors", ["last_seen_at"])
    op.create_table(
        "engage_rules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("url_pattern", sa.String(500), nullable=False, server_default=""),
        sa.Column("min_time_on_page_s", sa.Integer, nullable=False, server_default="0"),
        sa.Column("min_pages_seen", sa.Integer, nullable=False, server_default="0"),
        sa.Column("visitor", sa.String(10), nullable=False, server_default="any"),
        sa.Column("referrer_contains", sa.String(200), nullable=False, server_default=""),
        sa.Column("when", sa.String(10), nullable=False, server_default="online"),
        sa.Column("messages", sa.JSON, nullable=False),
        sa.Column("cap_hours", sa.Integer, nullable=False, server_default="24"),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "engage_invitation_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("visitor_id", sa.String(64), nullable=False),
        sa.Column("source", sa.String(6), nullable=False),
        sa.Column("rule_id", sa.Integer, sa.ForeignKey("engage_rules.id", ondelete="SET NULL")),
        sa.Column("agent_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("at", TS, nullable=False),
        sa.UniqueConstraint("key", "kind", name="uq_engage_invitation_events_key_kind"),
    )
    op.create_index("ix_engage_invitation_events_visitor", "engage_invitation_events",
                    ["visitor_id", "kind", "at"])
    op.create_index("ix_engage_invitation_events_at", "engage_invitation_events", ["at"])
    op.create_table(
        "engage_settings",
        sa.Column("name", sa.String(20), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "engage_prechat",
        sa.Column("conversation_id", sa.String(32), sa.ForeignKey("conversations.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("values", sa.JSON, nullable=False),
        sa.Column("at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("engage_prechat")
    op.drop_table("engage_settings")
    op.drop_index("ix_engage_invitation_events_at", "engage_invitation_events")
    op.drop_index("ix_engage_invitation_events_visitor", "engage_invitation_events")
    op.drop_table("engage_invitation_events")
    op.drop_table("engage_rules")
    op.drop_index("ix_engage_visitors_last_seen_at", "engage_visitors")
    op.drop_table("engage_visitors")
