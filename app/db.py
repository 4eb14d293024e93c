"""Database engine, sessions and the declarative base shared by every feature's models."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, exc, make_url, text
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


# A pooled connection idle longer than this is checked (a round trip) before it is handed out.
# SQLAlchemy's pool_pre_ping checks every checkout (BEGIN, `;`, ROLLBACK: three round trips, about
# 5% of the app's CPU a bot message, docs/benchmarks.md); a connection used within the last second
# is alive or the database just went away, and then the first statement's disconnect error makes
# SQLAlchemy retire every connection of the pool at once, as pre-ping would one by one.
PING_IDLE_S = 1.0


def ping_when_idle(pool, idle_s: float = PING_IDLE_S) -> None:
    """Check a connection at checkout only when it sat idle for `idle_s`: a dead one (the database
    restarted meanwhile) is replaced by a new one and the caller never sees it."""

    @event.listens_for(pool, "checkin")
    def _idle_since(_dbapi_conn, record):
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _check(dbapi_conn, record, _proxy):
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < idle_s:
            return  # new, or used a moment ago
        try:
            dbapi_conn.ping()
        except Exception as error:  # noqa: BLE001 - any failure: the pool connects afresh
            raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error


def make_engine(url: str, *, pool_size: int = 20, max_overflow: int = 10) -> AsyncEngine:
    """pool_size/max_overflow: connections this process may hold (PostgreSQL; SHOPCHAT_DB_POOL_SIZE,
    SHOPCHAT_DB_MAX_OVERFLOW). SQLite opens what it needs. Overflow connections are closed when
    they come back to a full pool, so a pool_size below the load's usual concurrency reconnects
    all the time (a new connection, its statements prepared again)."""
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
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    ping_when_idle(engine.sync_engine.pool, PING_IDLE_S)
    return engine


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
