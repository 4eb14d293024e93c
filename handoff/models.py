"""The handoff queue, offers, assignments, routing settings, ratings and offline tickets.
Every routing decision reads and writes these rows under one database lock (handoff/routing.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

STRATEGIES = ("random", "average_utilization", "max_utilization", "ring_to_all", "priorities")
OFFER_STATUSES = ("pending", "accepted", "missed", "declined", "withdrawn")


class RoutingSettings(Base):
    """One row (id 1). Its UPDATE is also the lock that serialises routing decisions across
    processes (PostgreSQL row lock; SQLite's single writer)."""

    __tablename__ = "routing_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    strategy: Mapped[str] = mapped_column(String(30), default="average_utilization")
    routing_time_s: Mapped[int] = mapped_column(Integer, default=30)
    inactivity_s: Mapped[int] = mapped_column(Integer, default=600)
    breathing_s: Mapped[int] = mapped_column(Integer, default=0)
    presence_timeout_s: Mapped[int] = mapped_column(Integer, default=30)
    grace_s: Mapped[int] = mapped_column(Integer, default=60)
    max_queue_wait_s: Mapped[int] = mapped_column(Integer, default=300)
    decisions: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QueueEntry(Base):
    """A chat waiting for a person. Ordered by priority (higher first), then sort_at (oldest first);
    a chat requeued "at the head" gets a sort_at before every normal entry."""

    __tablename__ = "queue_entries"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sort_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(60))
    # Agents who missed or declined the chat are skipped until the round changes.
    round: Mapped[int] = mapped_column(Integer, default=1)
    # When an agent last declined it (a new round starts a routing time later, no instant re-ring).
    last_decline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Set when the chat is transferred to one agent in particular.
    target_agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Offer(Base):
    """A chat ringing in one agent's console."""

    __tablename__ = "offers"
    __table_args__ = (
        Index("ix_offers_status_expires", "status", "expires_at"),
        Index("ix_offers_agent_status", "agent_id", "status"),
        Index("ix_offers_conversation_round", "conversation_id", "round"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10), default="route")  # route | ring | sticky | transfer
    from_agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Assignment(Base):
    """An agent owning a chat, from accept (or takeover) until close, transfer, return or release."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_agent_open", "agent_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(40))
    last_activity_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # No message either way for the inactivity time: the slot is free for routing.
    inactive: Mapped[bool] = mapped_column(Boolean, default=False)
    first_response_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Rating(Base):
    __tablename__ = "ratings"

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Ticket(Base):
    """An offline message left through the contact form, linked to the chat's transcript."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | closed
    handled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
