"""People who log in: admins, agents and editors, their login sessions and failed-login counters."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow

ROLES = ("admin", "agent", "editor")
# Roles that take chats; editors only maintain content.
CHAT_ROLES = ("admin", "agent")
PRESENCE = ("online", "away", "offline")
# Languages of the staff pages (the editor; the console later): docs/editor.md "Languages of the editor".
STAFF_LANGUAGES = ("en", "el")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(10), default="agent")
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Routing (docs/routing.md): load limit, priority 1 (highest) .. 100, accepting chats on/off.
    max_chats: Mapped[int] = mapped_column(Integer, default=3)
    priority: Mapped[int] = mapped_column(Integer, default=50)
    accepting_chats: Mapped[bool] = mapped_column(Boolean, default=True)
    # What the agent chose in the console; they only count as online while heartbeats are fresh.
    status: Mapped[str] = mapped_column(String(10), default="offline")
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The language the user chose for the staff pages (STAFF_LANGUAGES); None: never chosen, the pages
    # follow the browser's language (Greek for a Greek browser, else English).
    language: Mapped[str | None] = mapped_column(String(5), default=None)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuthSession(Base):
    """A login: the browser holds the secret, the database its SHA-256 (revoked by deleting the row)."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """Failed logins per key (an e-mail or a client address), kept in the database so the throttle
    holds across processes."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
