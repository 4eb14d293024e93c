"""Test helpers: fresh databases (SQLite and PostgreSQL), the app as a real server process."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx

from app.settings import ROOT

PG_ADMIN_DSN = os.environ.get("SHOPCHAT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI") == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class TestDatabase:
    """A database of its own for one test (or module), dropped afterwards."""

    __test__ = False  # a helper, not a test class (pytest would try to collect it)

    def __init__(self, kind: str, tmp_dir: Path):
        self.kind = kind
        if kind == "sqlite":
            self.url = f"sqlite+aiosqlite:///{tmp_dir / f'db-{uuid.uuid4().hex[:8]}.sqlite'}"
        else:
            self.name = f"shopchat_test_{uuid.uuid4().hex[:12]}"
            base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            self.url = f"{base}/{self.name}"

    def create(self) -> "TestDatabase":
        if self.kind == "postgres":
            asyncio.run(_pg_admin(f'CREATE DATABASE "{self.name}"'))
        from app.cli import migrate

        migrate(self.url)
        return self

    def drop(self) -> None:
        if self.kind == "postgres":
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))


class LiveApp:
    """The app as its own process (so a test can kill -9 it), on a fixed port."""

    def __init__(self, db_url: str, *, port: int | None = None, rasa_url: str | None = None,
                 action_token: str = "test-action-token", env: dict | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "SHOPCHAT_DATABASE_URL": db_url,
            "SHOPCHAT_RASA_URL": rasa_url or f"http://127.0.0.1:{free_port()}",  # nothing listens there
            "SHOPCHAT_ACTION_TOKEN": action_token,
            "SHOPCHAT_PORT": str(self.port),
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None

    def start(self, timeout_s: float = 60) -> "LiveApp":
        self.log = open(ROOT / ".run" / f"test-app-{self.port}.log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], cwd=ROOT, env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"app exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()  # never leave a slow starter running behind the test
        raise TimeoutError(f"app did not start within {timeout_s} s; see {self.log.name}")

    def kill(self) -> None:
        """kill -9: no shutdown hooks, no goodbye to clients."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def all_started(apps: list[LiveApp]):
    """Every app started (in order), and every one stopped at the end, also when a start fails."""
    try:
        for app in apps:
            app.start()
        yield apps
    finally:
        for app in apps:
            app.stop()
