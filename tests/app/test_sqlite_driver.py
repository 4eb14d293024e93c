"""app/sqlite_driver.py: SQLAlchemy's aiosqlite dialect with one thread hop per statement. It must
behave as the stock dialect does (rows, rowcount, errors, transactions) with fewer calls to
aiosqlite's thread."""
from __future__ import annotations

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.db import make_engine
from app.sqlite_driver import DRIVER


@pytest.fixture
async def engine(tmp_path):
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE, n INTEGER)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def thread_calls(monkeypatch) -> list:
    """Every call queued to an aiosqlite connection's thread."""
    calls = []
    original = aiosqlite.Connection._execute

    async def counting(self, fn, *args, **kwargs):
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counting)
    return calls


async def test_sqlite_urls_get_the_one_hop_driver(engine):
    assert engine.dialect.driver == DRIVER


async def test_rows_rowcount_and_returning_as_the_stock_driver_gives_them(engine):
    async with engine.begin() as conn:
        inserted = await conn.execute(text("INSERT INTO t (name, n) VALUES ('a', 1), ('b', 2), ('c', 3)"))
        assert inserted.rowcount == 3
        updated = await conn.execute(text("UPDATE t SET n = n + 10 WHERE n >= 2"))
        assert updated.rowcount == 2
        returned = await conn.execute(text("UPDATE t SET n = n + 1 WHERE name = 'a' RETURNING n"))
        assert returned.scalar_one() == 2
        rows = (await conn.execute(text("SELECT name, n FROM t ORDER BY name"))).all()
    assert [tuple(r) for r in rows] == [("a", 2), ("b", 12), ("c", 13)]


async def test_one_thread_call_per_statement(engine, thread_calls):
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection is made (and pooled) here
        thread_calls.clear()
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0
    # one call for the statement; none for the rollback on check-in (no transaction was open)
    assert thread_calls == ["_run"]


async def test_errors_are_sqlalchemys_and_a_rollback_discards_the_write(engine):
    async with engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (name, n) VALUES ('a', 1)"))
        await conn.commit()
        with pytest.raises(IntegrityError):
            await conn.execute(text("INSERT INTO t (name, n) VALUES ('a', 2)"))
        await conn.rollback()
        await conn.execute(text("UPDATE t SET n = 99"))
        await conn.rollback()  # a write transaction is open: this rollback must reach SQLite
        assert (await conn.execute(text("SELECT n FROM t"))).scalar_one() == 1
