"""Conversations, their messages (with a per-conversation sequence) and state transitions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

# The state machine of docs/architecture.md; the database is its only source of truth.
STATES = ("bot", "queued", "assigned", "offline_form", "closed", "rated")
# The bot keeps answering while the visitor waits for a person; it is silent once one took over.
BOT_ANSWERS_IN = ("bot", "queued", "offline_form")


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # SHA-256 of the visitor's secret session id; the secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="bot", index=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Bot answers in a row that fell back; the handoff issue escalates on two.
    bot_failures: Mapped[int] = mapped_column(Integer, default=0)
    # The bot's turn (chat/turns.py): visitor questions stored and not answered yet, and the lease of
    # the one claim answering them, in order (its token and until when, by the database's clock).
    bot_pending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    bot_turn_owner: Mapped[str | None] = mapped_column(String(64))
    bot_turn_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    language: Mapped[str | None] = mapped_column(String(16))
    # The browser's long-lived visitor id (customer history, sticky routing) and what the bot
    # collected before a handoff.
    visitor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    visitor_name: Mapped[str | None] = mapped_column(String(100))
    visitor_email: Mapped[str | None] = mapped_column(String(254), index=True)
    order_number: Mapped[str | None] = mapped_column(String(64))
    handoff_reason: Mapped[str | None] = mapped_column(String(60))
    # The agent who owns the chat now (state assigned), kept in step with the open Assignment.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # [{"url", "title", "at"}], newest last, capped; for the agents' chat overview.
    pages: Mapped[list] = mapped_column(JSON, default=list)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    page_url: Mapped[str | None] = mapped_column(String(2000))
    page_title: Mapped[str | None] = mapped_column(String(500))
    referrer: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        UniqueConstraint("conversation_id", "client_id", name="uq_messages_conversation_client_id"),
        # Small (only questions waiting for the bot): recovery's sweep and the turn's next question.
        Index("ix_messages_unanswered", "conversation_id", "seq",
              postgresql_where=text("NOT answered"), sqlite_where=text("answered = 0")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(10))  # visitor | bot | agent | system | note
    # The agent who wrote an agent message or an internal note (notes are never sent to visitors).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)
    # What a button sent (e.g. "/affirm") when `text` shows its title.
    payload: Mapped[str | None] = mapped_column(Text)
    # Extras shown with the message: quick_replies, kb, fallback.
    extra: Mapped[dict] = mapped_column(JSON, default=dict)
    client_id: Mapped[str | None] = mapped_column(String(64))
    # Visitor messages: set once the bot has answered, so a retried message whose answer was lost
    # in a crash is answered then, and never twice.
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Transition(Base):
    __tablename__ = "conversation_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(64))  # visitor | bot | system | agent:<id>
    reason: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
