"""Rasa's tracker and lock stores (bot/server.py): a Rasa restarted, or another Rasa sharing the
stores, continues the name/e-mail form where it was. Real Rasa servers, the real app, a real
Socket.IO visitor, PostgreSQL and Redis. Rasa starts cost ~30 s of CPU each: three servers are
started together once for the module, and one of them restarted."""
from __future__ import annotations

import asyncio
import stat
import uuid
from pathlib import Path

import pytest
import yaml

from app.settings import RUN_DIR
from bot import server
from bot.rasa_client import RasaClient
from tests.chat.visitor_client import Visitor
from tests.handoff.test_agent_socket import Agent, Staff
from tests.conftest import load_demo, rasa_model
from tests import support
from tests.support import PG_ADMIN_DSN, IN_CI, LiveApp, _pg_admin, free_port, postgres_available

ACTION_TOKEN, AUTH_TOKEN = "stores-action-token", "stores-auth-token"
LOCK_STORE = "redis://127.0.0.1:6379/1"


# ---- the endpoints file: checks only ---------------------------------------------------------

def test_endpoints_name_the_stores_owner_only(tmp_path):
    path = server.write_endpoints(tmp_path / "endpoints.yml", "http://127.0.0.1:8000/bot/actions", "t0k",
                                  tracker_store_url="postgresql://rasa:s3cret@10.0.0.5:5432/shopchat_rasa",
                                  lock_store_url="redis://:pw@10.0.0.6:6380/2")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert yaml.safe_load(path.read_text()) == {
        "action_endpoint": {"url": "http://127.0.0.1:8000/bot/actions", "token": "t0k"},
        "lock_store": {"type": "redis", "url": "10.0.0.6", "port": 6380, "db": 2, "use_ssl": False, "password": "pw"},
        "tracker_store": {"type": "SQL", "url": "postgresql://rasa:s3cret@10.0.0.5:5432/shopchat_rasa"},
    }
    default = yaml.safe_load(server.write_endpoints(tmp_path / "e2.yml", "http://a/b", "t",
                                                    tracker_store_url=server.default_tracker_store_url(5005)).read_text())
    assert default["tracker_store"] == {"type": "SQL", "url": f"sqlite:///{RUN_DIR / 'rasa-trackers-5005.db'}"}
    assert default["lock_store"] == {"type": "in_memory"}


@pytest.mark.parametrize("tracker, lock, error", [
    ("postgres://u@h/db", "", "tracker store URL 'postgres://u@h/db' not understood"),
    ("mysql://u:pw@h/db", "", "tracker store URL 'mysql://u:***@h/db' not understood"),  # no password in errors
    ("sqlite://relative.db", "", "not understood"),
    ("postgresql://h:5432", "", "not understood"),  # no database
    ("sqlite:////tmp/x.db", "redis://h:6379/one", "lock store URL 'redis://h:6379/one' not understood"),
    ("sqlite:////tmp/x.db", "memcached://h", "lock store URL"),
])
def test_a_bad_store_url_is_refused_and_writes_nothing(tmp_path, tracker, lock, error):
    with pytest.raises(server.RasaStartError, match=error.replace("*", r"\*").replace("(", r"\(")):
        server.write_endpoints(tmp_path / "endpoints.yml", "http://a/b", "t", tracker_store_url=tracker,
                               lock_store_url=lock)
    assert not (tmp_path / "endpoints.yml").exists()


# ---- real Rasa servers -------------------------------------------------------------------------

class Rasa:
    def __init__(self, name: str, tmp: Path, action_url: str, tracker_store_url: str, lock_store_url: str = ""):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"{name}.log"
        self.args = dict(port=self.port, action_url=action_url, action_token=ACTION_TOKEN, auth_token=AUTH_TOKEN,
                         tracker_store_url=tracker_store_url, lock_store_url=lock_store_url, log_path=self.log,
                         die_with_parent=True)
        self.proc = None

    def start(self) -> "Rasa":
        self.proc = server.start_rasa(rasa_model(), **self.args)
        return self

    def wait(self) -> None:
        if not server.wait_until_up(self.url, timeout_s=300, proc=self.proc):
            pytest.fail(f"Rasa did not start; see {self.log}")

    def kill(self) -> None:
        """kill -9: no goodbye, nothing flushed."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None:
            server.stop(self.proc)
        (RUN_DIR / f"endpoints-{self.port}.yml").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def rasa_db():
    """Rasa's own PostgreSQL database (its table is called `events`)."""
    if not postgres_available():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable")
        pytest.skip("PostgreSQL is not reachable")
    name = f"shopchat_rasa_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield f"{PG_ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def stacks(tmp_path_factory, rasa_db):
    """Two set-ups, their Rasa servers started together:
    `alone`: one Rasa on the default kind of store (a SQLite file) behind its own app;
    `pair`: two Rasa servers sharing a PostgreSQL tracker store and a Redis lock store, one app
    talking to both."""
    if not server.RASA_BIN.exists():
        if IN_CI:
            pytest.fail("the Rasa venv is missing")
        pytest.skip("the Rasa venv is missing: run scripts/setup_rasa.sh")
    tmp = tmp_path_factory.mktemp("rasa-stores")
    alone_port, pair_port = free_port(), free_port()
    alone = Rasa("alone", tmp, f"http://127.0.0.1:{alone_port}/bot/actions", f"sqlite:///{tmp / 'trackers.db'}")
    pair = [Rasa(f"pair{i}", tmp, f"http://127.0.0.1:{pair_port}/bot/actions", rasa_db, LOCK_STORE) for i in (1, 2)]
    rasas = [alone, *pair]
    apps = []
    try:
        for r in rasas:
            r.start()
        for port, urls in ((alone_port, alone.url), (pair_port, f"{pair[0].url},{pair[1].url}")):
            db = support.TestDatabase("sqlite", tmp_path_factory.mktemp("app")).create()
            load_demo(db.url)
            apps.append(LiveApp(db.url, port=port, rasa_url=urls, action_token=ACTION_TOKEN,
                                env={"SHOPCHAT_RASA_AUTH_TOKEN": AUTH_TOKEN}).start(timeout_s=300))
        for r in rasas:
            r.wait()
        yield {"alone": (apps[0], alone), "pair": (apps[1], pair)}
    finally:
        for app in apps:
            app.stop()
        for r in rasas:
            r.stop()


async def ask(visitor: Visitor, text: str) -> str:
    before = len(visitor.of("bot_uttered"))
    await visitor.say(text)
    return (await visitor.wait_for("bot_uttered", count=before + 1, timeout=30))[before]["text"]


async def start_the_form(app: LiveApp) -> Visitor:
    # Someone online: with nobody, asking for a person offers the offline form at once, without the
    # name and e-mail questions (chat/offline_first.py).
    staff = Staff(app.env["SHOPCHAT_DATABASE_URL"])
    _, token = await staff.user(f"Ola{uuid.uuid4().hex[:8]}")
    agent = await (await Agent(app.url, token).connect()).online()
    visitor = Visitor(app.url)
    visitor.staff = (staff, agent)  # closed by finish_the_form
    await visitor.connect()
    assert "name" in await ask(visitor, "can I talk to a real person")
    return visitor


async def finish_the_form(visitor: Visitor) -> None:
    # the form goes on where it was: the e-mail next, not the name again
    assert "e-mail" in await ask(visitor, "Maria")
    assert "Thanks, Maria!" in await ask(visitor, "maria@example.com")
    handoff = await visitor.wait_for("handoff", pred=lambda d: d.get("state") != "requested")
    assert handoff
    await visitor.close()
    staff, agent = visitor.staff
    await agent.close()
    await staff.close()


async def test_a_rasa_restart_in_the_middle_of_the_form_continues_it(stacks):
    app, rasa = stacks["alone"]
    visitor = await start_the_form(app)
    await asyncio.to_thread(rasa.kill)
    rasa.start()  # the same port and SQLite tracker store; from this thread (die_with_parent follows the thread)
    await asyncio.to_thread(rasa.wait)
    await finish_the_form(visitor)


async def test_the_form_continues_on_the_other_rasa_when_one_dies(stacks, rasa_db):
    app, pair = stacks["pair"]
    visitor = await start_the_form(app)
    # the server the app chose for this conversation (as the app's own client orders them)
    first = RasaClient(f"{pair[0].url},{pair[1].url}").servers_for(visitor.conversation_id)[0]
    victim = next(r for r in pair if r.url == first)
    await asyncio.to_thread(victim.kill)
    await finish_the_form(visitor)
    # both servers wrote to the one shared store
    import asyncpg

    conn = await asyncpg.connect(rasa_db)
    try:
        events = await conn.fetchval("SELECT count(*) FROM events WHERE sender_id = $1", visitor.conversation_id)
    finally:
        await conn.close()
    assert events > 0
