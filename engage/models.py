"""Tables of engage/: who is on the shop now (page views from the loader), invitation rules and
what became of each invitation, the pre-chat form's answers, and the widget's settings."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

EVENT_KINDS = ("shown", "accepted", "dismissed", "chat_started")


class LiveVisitor(Base):
    """One browser on the shop (the loader's random id). Kept while seen; purged a day after it
    left (engage/service.py), so "returning" comes from the browser's own visit counter."""

    __tablename__ = "engage_visitors"

    visitor_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # What the console calls this visitor (the browser's id stays on the server, like the chat's).
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    # The browser's visit number (a visit ends after 30 min without a page view); 1 = new visitor.
    visit_no: Mapped[int] = mapped_column(Integer, default=1)
    visit_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # Set by the pagehide beacon: gone now, not a minute later.
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    page_url: Mapped[str | None] = mapped_column(String(2000))
    page_title: Mapped[str | None] = mapped_column(String(500))
    page_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where this visit came from (the first page's referrer).
    referrer: Mapped[str | None] = mapped_column(String(2000))
    pages_seen: Mapped[int] = mapped_column(Integer, default=0)
    # The visit's last pages [{"u", "t", "at"}], newest last, capped.
    pages: Mapped[list] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(16))
    # An agent's invitation waiting for the next beat: {"key", "message", "agent"}.
    invite: Mapped[dict | None] = mapped_column(JSON)


class InvitationRule(Base):
    __tablename__ = "engage_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The rule's conditions and message (engage/rules.py check_rule says what each means).
    url_pattern: Mapped[str] = mapped_column(String(500), default="")
    min_time_on_page_s: Mapped[int] = mapped_column(Integer, default=0)
    min_pages_seen: Mapped[int] = mapped_column(Integer, default=0)
    visitor: Mapped[str] = mapped_column(String(10), default="any")  # any | returning | new
    referrer_contains: Mapped[str] = mapped_column(String(200), default="")
    when: Mapped[str] = mapped_column(String(10), default="online")  # online | always
    messages: Mapped[dict] = mapped_column(JSON, default=dict)  # {"en": "...", "el": "..."}
    cap_hours: Mapped[int] = mapped_column(Integer, default=24)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class InvitationEvent(Base):
    """What happened to one invitation (`key`): shown, accepted, dismissed, chat_started, each once,
    with its time. Reports count these; the frequency cap reads the visitor's `shown` ones."""

    __tablename__ = "engage_invitation_events"
    __table_args__ = (
        UniqueConstraint("key", "kind", name="uq_engage_invitation_events_key_kind"),
        Index("ix_engage_invitation_events_visitor", "visitor_id", "kind", "at"),
        Index("ix_engage_invitation_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(12))
    visitor_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(6))  # rule | agent
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("engage_rules.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WidgetSetting(Base):
    """The admin's widget settings, one row per part: "prechat", "appearance"."""

    __tablename__ = "engage_settings"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class PrechatAnswers(Base):
    """The pre-chat form as the visitor filled it in (name, e-mail and order number also go onto the
    conversation's own columns, where the handoff and the console read them)."""

    __tablename__ = "engage_prechat"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"),
                                                 primary_key=True)
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
