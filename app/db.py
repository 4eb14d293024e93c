"""Database engine, sessions and the declarative base shared by every feature's models."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


# How far the database server's clock is ahead of this host's, measured by every routing tick
# (sync_clock). Timers are timestamps compared across processes: every `now` follows the database's
# clock, so app hosts whose clocks disagree still ring, expire and time out at the same moments.
_clock_offset = timedelta(0)


def host_now() -> datetime:
    """This host's clock (tests skew it)."""
    return datetime.now(timezone.utc)


def utcnow() -> datetime:
    """The database's time, as of the last sync_clock(); this host's time until then."""
    return host_now() + _clock_offset


async def sync_clock(engine: AsyncEngine) -> datetime:
    """Read the database's clock once and remember its offset from this host's; returns it. SQLite
    lives on this host, so its time is the host's (no read)."""
    global _clock_offset
    if engine.dialect.name == "sqlite":
        return utcnow()
    before, started = host_now(), time.monotonic()
    async with engine.connect() as conn:
        db_now = (await conn.execute(text("SELECT clock_timestamp()"))).scalar_one()
    # The read happened somewhere in the round trip: assume its middle.
    _clock_offset = db_now - (before + timedelta(seconds=(time.monotonic() - started) / 2))
    return db_now


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20) -> AsyncEngine:
    """pool_size/max_overflow: connections this process may hold (PostgreSQL; SHOPCHAT_DB_POOL_SIZE,
    SHOPCHAT_DB_MAX_OVERFLOW). SQLite opens what it needs."""
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
    return create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def all_models() -> None:
    """Import every feature's models so Base.metadata knows all tables (Alembic, tests)."""
    import accounts.models  # noqa: F401
    import attachments.models  # noqa: F401
    import chat.models  # noqa: F401
    import engage.models  # noqa: F401
    import handoff.models  # noqa: F401
    import handoff.preferences  # noqa: F401
    import insights.conversions  # noqa: F401
    import knowledge_base.models  # noqa: F401
    import privacy.models  # noqa: F401
