"""Database engine, sessions and the declarative base shared by every feature's models."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        from app.sqlite_driver import DRIVER

        parsed = make_url(url)
        if parsed.drivername == "sqlite+aiosqlite":  # the same driver, fewer thread hops (app/sqlite_driver.py)
            parsed = parsed.set(drivername=f"sqlite+{DRIVER}")
        engine = create_async_engine(parsed, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL: readers never block the writer
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def all_models() -> None:
    """Import every feature's models so Base.metadata knows all tables (Alembic, tests)."""
    import accounts.models  # noqa: F401
    import chat.models  # noqa: F401
    import handoff.models  # noqa: F401
    import knowledge_base.models  # noqa: F401
