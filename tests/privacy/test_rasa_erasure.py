"""Erasure reaches Rasa's tracker store: a visitor chats through the app with the real Rasa server
(started once per test session, tests/conftest.py), their words (name and e-mail among them) are in
Rasa's `events` table under the conversation's id; after the admin's erasure none of it is, and
other conversations' events are untouched."""
import sqlite3
from urllib.parse import urlsplit

import httpx
import yaml

from accounts.service import create_user
from accounts.web import COOKIE
from app.main import create_app
from app.settings import RUN_DIR, Settings
from tests.chat.visitor_client import Visitor

PW = "correct horse battery"
BASE = "http://127.0.0.1:8000"
WORDS = "hi, I'm Maria Rasaki, maria.rasaki@example.com, where is my parcel?"


def tracker_store_of(rasa_url: str) -> str:
    """The tracker store the session's Rasa was started with (bot/server.py writes endpoints-<port>.yml)."""
    endpoints = yaml.safe_load((RUN_DIR / f"endpoints-{urlsplit(rasa_url).port}.yml").read_text())
    return endpoints["tracker_store"]["url"]


def events(url: str) -> list[tuple[str, str]]:
    conn = sqlite3.connect(url[len("sqlite:///"):])
    try:
        return conn.execute("SELECT sender_id, data FROM events ORDER BY id").fetchall()
    finally:
        conn.close()


async def visitor_says(app_url: str, text: str) -> str:
    v = Visitor(app_url)
    await v.connect()
    await v.say(text, client_id="c1")
    await v.wait_for("bot_uttered", timeout=30)
    await v.close()
    return v.conversation_id


async def test_erasure_deletes_the_conversation_from_rasas_tracker_store(rasa_app, rasa_url, rasa_app_db):
    store = tracker_store_of(rasa_url)
    mine = await visitor_says(rasa_app.url, WORDS)
    other = await visitor_says(rasa_app.url, "do you ship to Crete?")
    before = events(store)
    assert any(sender == mine and "maria.rasaki@example.com" in data for sender, data in before)
    others_before = [e for e in before if e[0] != mine]
    assert any(sender == other for sender, _ in others_before)

    app = create_app(Settings(database_url=rasa_app_db, rasa_url=rasa_url, rasa_tracker_store_url=store))
    async with app.ctx.sessionmaker() as db:
        await create_user(db, email="dpo@rasa-erasure.test", display_name="Dora", role="admin", password=PW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        r = await c.post("/login", data={"email": "dpo@rasa-erasure.test", "password": PW}, headers={"Origin": BASE})
        c.cookies.set(COOKIE, r.cookies[COOKIE])
        export = (await c.post("/api/privacy/export", json={"conversation_id": mine},
                               headers={"X-Requested-With": "shopchat"})).json()
        assert any(e["event"].get("text") == WORDS for e in export["rasa_tracker_events"])
        r = await c.post("/api/privacy/erase", json={"conversation_id": mine}, headers={"X-Requested-With": "shopchat"})
        assert r.status_code == 200 and r.json()["erased"]["tracker_events"] == sum(1 for e in before if e[0] == mine)
    await app.ctx.engine.dispose()

    after = events(store)
    assert not [e for e in after if e[0] == mine]
    assert not [e for e in after if "Rasaki" in (e[1] or "") or "maria.rasaki" in (e[1] or "")]
    assert [e for e in after if e[0] != mine][:len(others_before)] == others_before  # others untouched
