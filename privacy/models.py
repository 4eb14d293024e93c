"""The admins' privacy settings (one row) and the audit log of data requests, which names what was
done and how much, never whom: it holds no personal data of the visitor."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class PrivacySettings(Base):
    """One row (id 1), edited by admins in the console's "Visitors' data" view."""

    __tablename__ = "privacy_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Conversations created more than this many days ago are erased automatically; NULL: kept.
    retention_days: Mapped[int | None] = mapped_column(Integer)
    # Shown as a link in the chat widget when set (an https URL of the shop's privacy notice).
    privacy_notice_url: Mapped[str | None] = mapped_column(String(500))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PrivacyAudit(Base):
    """A data request or a retention run: who (the admin), what, how it was found and how much."""

    __tablename__ = "privacy_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(20))  # export | erase | retention
    found_by: Mapped[str] = mapped_column(String(20))  # email | visitor_id | conversation | age
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    conversions: Mapped[int] = mapped_column(Integer, default=0)
    tracker_events: Mapped[int] = mapped_column(Integer, default=0)
