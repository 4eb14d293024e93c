"""The connection pool on PostgreSQL: a connection idle for a while is checked before use (a
database restart meanwhile costs the caller nothing); one used a moment ago is not (the check was
three round trips at every checkout, about 5% of the app's CPU a message)."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.exc import DBAPIError

from app import db as app_db
from tests import support
from tests.support import IN_CI, postgres_available

pytestmark = pytest.mark.skipif(not (postgres_available() or IN_CI), reason="needs PostgreSQL")

IDLE_S = 0.3


@pytest.fixture
def pg_url(tmp_path):
    database = support.TestDatabase("postgres", tmp_path).create()
    yield database.url
    database.drop()


@pytest.fixture
async def engine(pg_url, monkeypatch):
    monkeypatch.setattr(app_db, "PING_IDLE_S", IDLE_S)
    engine = app_db.make_engine(pg_url, pool_size=1, max_overflow=0)
    yield engine
    await engine.dispose()


@pytest.fixture
def pings(monkeypatch) -> list[int]:
    seen: list[int] = []
    real = AsyncAdapt_asyncpg_connection.ping

    def counting(self):
        seen.append(1)
        return real(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counting)
    return seen


async def backend_pid(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def terminate(engine, pid: int) -> None:
    """What a PostgreSQL restart does to a pooled connection, from a connection of its own."""
    other = app_db.make_engine(engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    try:
        async with other.connect() as conn:
            assert (await conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})).scalar_one()
    finally:
        await other.dispose()


async def test_a_connection_used_a_moment_ago_is_not_pinged(engine, pings):
    first = await backend_pid(engine)
    for _ in range(5):
        assert await backend_pid(engine) == first  # the same pooled connection each time
    assert pings == []


async def test_an_idle_connection_is_pinged_and_a_dead_one_replaced(engine, pings):
    first = await backend_pid(engine)
    await asyncio.sleep(IDLE_S * 1.5)
    assert await backend_pid(engine) == first  # alive: pinged, kept
    assert len(pings) == 1
    await terminate(engine, first)
    await asyncio.sleep(IDLE_S * 1.5)
    # The caller never sees the dead connection: the ping fails, the pool connects afresh.
    assert await backend_pid(engine) != first
    assert len(pings) == 2


async def test_a_connection_killed_while_busy_fails_once_then_the_pool_reconnects(engine, pings):
    first = await backend_pid(engine)
    await terminate(engine, first)
    # Not idle long enough to be checked: the first statement meets the dead connection ...
    with pytest.raises(DBAPIError) as failed:
        await backend_pid(engine)
    assert failed.value.connection_invalidated
    # ... and retires it: the next caller gets a new one, with no ping needed.
    assert await backend_pid(engine) != first
    assert pings == []
