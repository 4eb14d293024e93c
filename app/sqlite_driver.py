"""SQLAlchemy's aiosqlite dialect with one thread hop per statement instead of four.

aiosqlite runs every call on its connection's own thread, and SQLAlchemy's adapter makes four such
calls per statement (cursor, execute, fetchall, close), each a queue put, a thread wake-up and a
wake-up of the event loop. Here a statement is one call that does all four on the thread, and a
rollback with no transaction open (every read-only session, when the pool takes its connection
back) is no call at all. Measured on the visitor-message path: 6.5 -> 4.5 ms of CPU a message
(docs/benchmarks.md). SQLite itself still runs off the event loop, so a slow query or a database
locked by another process never stalls the chats.

`make_engine` uses it for `sqlite+aiosqlite://` URLs; the driver name is `sqlite+aiosqlite_onehop`."""
from __future__ import annotations

from collections import deque
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection, AsyncAdapt_aiosqlite_cursor, AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

DRIVER = "aiosqlite_onehop"


def _run(conn, operation: str, parameters) -> tuple:
    """On the connection's thread: the whole statement, its rows read at once."""
    cursor = conn.cursor()
    try:
        if parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        if cursor.description:
            return cursor.description, -1, -1, cursor.fetchall()
        return None, cursor.lastrowid, cursor.rowcount, None
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            # aiosqlite's own queue, as SQLAlchemy's adapter does for isolation_level.
            result = self.await_(self._connection._execute(_run, self._connection._conn, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self.description, self.lastrowid, self.rowcount, rows = result
        if rows is not None:
            self._rows = deque(rows)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        return super().cursor(server_side) if server_side else OneHopCursor(self)

    def rollback(self) -> None:
        # A read-only session never opened a transaction (sqlite3 begins one before a write).
        if self._connection._conn.in_transaction:
            super().rollback()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        return OneHopConnection(self, super().connect(*arg, **kw)._connection)


class OneHopDialect(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> OneHopDBAPI:
        return OneHopDBAPI(__import__("aiosqlite"), __import__("sqlite3"))


registry.register(f"sqlite.{DRIVER}", __name__, "OneHopDialect")
