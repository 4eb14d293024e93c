"""Knowledge-base tables: articles and their revisions, the change counter search indexes watch,
canned responses, the editors' audit log, and the log of visitor questions (knowledge gaps,
article usefulness)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

STATUSES = ("draft", "published")


class Article(Base):
    __tablename__ = "kb_articles"
    __table_args__ = (UniqueConstraint("title", "language", name="uq_kb_articles_title_language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(100))
    # Alternative phrasings: how visitors ask for this article.
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(16), default="en")
    # Articles that translate each other share this (any text; NULL: linked to none). Not content:
    # no revision is kept of it (knowledge_base.translations links and unlinks).
    translation_group: Mapped[str | None] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(16), default="published", index=True)
    # Bumped by every change: an editor saves against the revision they started from, and a save
    # from an older one is refused (docs/editor.md, conflicts).
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The kb_version of the article's last change: a search index built at version V catches up by
    # reading the articles whose change_seq is above V (knowledge_base.service.LiveIndex).
    change_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)
    # In the trash since then (the bot ignores it); purged 30 days later.
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ArticleRevision(Base):
    """The article as it was after each change, with who made it."""

    __tablename__ = "kb_article_revisions"
    __table_args__ = (UniqueConstraint("article_id", "number", name="uq_kb_article_revisions_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(30))
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(100))
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """Who changed which content, when, and what (articles, canned responses, imports, gaps)."""

    __tablename__ = "kb_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(500))


class KbQuestion(Base):
    """A visitor question the bot answered from the knowledge base or fell back on, and what came
    of it: the raw material of knowledge gaps and article usefulness."""

    __tablename__ = "kb_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    # The visitor message's seq (the agent's later reply is found after it).
    seq: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(String(2000))
    # A "related article" button rather than typed words: counts as served, never as a gap.
    from_button: Mapped[bool] = mapped_column(Boolean, default=False)
    # The article served (answered) or the best one tried (fallback), and its score.
    article_id: Mapped[int | None] = mapped_column(ForeignKey("kb_articles.id", ondelete="SET NULL"), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(20))  # answered | low_confidence | fallback
    feedback: Mapped[str | None] = mapped_column(String(20))  # helpful | not_helpful
    handoff_after: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set by an editor's action on its gap group: resolved | dismissed.
    gap_status: Mapped[str | None] = mapped_column(String(20))
    resolved_article_id: Mapped[int | None] = mapped_column(ForeignKey("kb_articles.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class KbVersion(Base):
    """One row; bumped in the same transaction as any article change so every process's search
    index notices (cheap poll) without a restart."""

    __tablename__ = "kb_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class CannedResponse(Base):
    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), default="General")
    text: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
