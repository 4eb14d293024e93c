"""A file sent in a chat (image or PDF): where its bytes are stored and what they are. The message
that shows it in the transcript carries the same id in `extra.attachment`."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow


class Attachment(Base):
    __tablename__ = "attachments"

    # Random, unguessable; but guessing one is not enough: every fetch checks who asks (web.py).
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    sender: Mapped[str] = mapped_column(String(10))  # visitor | agent
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(10))  # image | pdf
    content_type: Mapped[str] = mapped_column(String(40))  # decided from the bytes, never the client's
    filename: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    # The store's keys of the file and of its thumbnail (images only).
    storage_key: Mapped[str] = mapped_column(String(80))
    thumb_key: Mapped[str | None] = mapped_column(String(80))
    thumb_type: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
