"""Shared fixtures. Persistence tests run on SQLite and, when it is reachable (always in CI), on
PostgreSQL: each test gets a database of its own that is dropped afterwards."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from app.private import private_dir
from app.settings import ROOT
from tests.support import IN_CI, LiveApp, TestDatabase, free_port, postgres_available

private_dir(ROOT / ".run")


def _db_kinds() -> list:
    kinds = ["sqlite"]
    if postgres_available() or IN_CI:  # in CI a missing PostgreSQL must fail, not skip
        kinds.append("postgres")
    return kinds


@pytest.fixture(params=_db_kinds())
def db_url(request, tmp_path) -> str:
    db = TestDatabase(request.param, tmp_path).create()
    yield db.url
    db.drop()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return TestDatabase("sqlite", tmp_path).create().url


@pytest.fixture
async def sessionmaker(db_url):
    from app.db import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


def load_demo(url: str) -> None:
    from app.cli import load_demo as _load

    _load(url)


def _live_demo(url: str):
    load_demo(url)
    live = LiveApp(url).start()
    yield live
    live.stop()


@pytest.fixture
def demo_app(sqlite_url):
    """The app as its own process on a fresh SQLite database with the demo content; Rasa is down
    (nothing listens at its URL), so the bot answers from the knowledge base itself."""
    yield from _live_demo(sqlite_url)


@pytest.fixture
def demo_app_each_db(db_url):
    """demo_app on SQLite and on PostgreSQL."""
    yield from _live_demo(db_url)


# ---- the real Rasa server, once per test session ------------------------------------------

RASA_APP_PORT = free_port()
ACTION_TOKEN = "test-action-token"
RASA_AUTH_TOKEN = "test-rasa-auth-token"


def rasa_model() -> Path:
    path = os.environ.get("SHOPCHAT_RASA_MODEL")
    if not path:  # outside scripts/test.sh: train (a no-op when up to date)
        out = subprocess.run(["bash", str(ROOT / "scripts" / "train_bot.sh")], check=True,
                             capture_output=True, text=True).stdout
        path = out.strip().splitlines()[-1]
    return Path(path)


@pytest.fixture(scope="session")
def rasa_url(tmp_path_factory):
    from bot import server

    if not server.RASA_BIN.exists():
        if IN_CI:
            pytest.fail("the Rasa venv is missing")
        pytest.skip("the Rasa venv is missing: run scripts/setup_rasa.sh")
    port = free_port()
    proc = server.start_rasa(rasa_model(), port=port, action_url=f"http://127.0.0.1:{RASA_APP_PORT}/bot/actions",
                             action_token=ACTION_TOKEN, auth_token=RASA_AUTH_TOKEN, die_with_parent=True,
                             tracker_store_url=f"sqlite:///{tmp_path_factory.mktemp('rasa') / 'trackers.db'}")
    url = f"http://127.0.0.1:{port}"
    if not server.wait_until_up(url, timeout_s=180, proc=proc):
        server.stop(proc)
        pytest.fail(f"Rasa did not start; see .run/rasa-{port}.log")
    yield url
    server.stop(proc)


@pytest.fixture(scope="session")
def rasa_app_db(tmp_path_factory) -> str:
    db = TestDatabase("sqlite", tmp_path_factory.mktemp("rasa-app")).create()
    load_demo(db.url)
    return db.url


@pytest.fixture(scope="session")
def rasa_app(rasa_url, rasa_app_db):
    """The app wired to the real Rasa (Rasa calls its custom actions on RASA_APP_PORT)."""
    app = LiveApp(rasa_app_db, port=RASA_APP_PORT, rasa_url=rasa_url, action_token=ACTION_TOKEN,
                  env={"SHOPCHAT_RASA_AUTH_TOKEN": RASA_AUTH_TOKEN}).start()
    yield app
    app.stop()


@pytest.fixture
def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        if IN_CI:
            pytest.fail("Chromium is missing (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium is missing: apt-get install chromium")
    return path
