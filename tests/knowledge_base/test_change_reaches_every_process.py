"""An editor's change reaches the bot in every app process without a restart or retraining: two
app processes on one database; the editor publishes on one, a visitor on the other is answered
from the new article (and no longer once it is unpublished). How fast is a benchmark's business
(bench/search.py, "found after commit"), not this test's."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from accounts.service import create_user
from app.db import make_engine, make_sessionmaker
from tests.chat.visitor_client import Visitor
from tests.conftest import load_demo
from tests.support import LiveApp

PW = "two process password"
ARTICLE = {"title": "Loyalty programme", "category": "Orders", "tags": ["loyalty"], "language": "en",
           "status": "published", "questions": ["do you have a loyalty programme"],
           "body": "Pinecone Club members collect 1 point per euro; 100 points are a EUR 5 voucher."}
QUESTION = "is there a loyalty scheme"


@pytest.fixture
def apps(sqlite_url):
    load_demo(sqlite_url)
    a, b = LiveApp(sqlite_url).start(), LiveApp(sqlite_url).start()
    yield a, b
    a.stop()
    b.stop()


async def answer_title(app: LiveApp, question: str) -> str | None:
    v = Visitor(app.url)
    try:
        assert (await v.connect())["ok"]
        assert (await v.say(question, client_id="q1"))["ok"]
        [reply] = await v.wait_for("bot_uttered", timeout=20)
        return (reply.get("kb") or {}).get("title")
    finally:
        await v.close()


async def eventually(app: LiveApp, question: str, expected: str | None, timeout_s: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while (got := await answer_title(app, question)) != expected:
        assert asyncio.get_running_loop().time() < deadline, f"still answered with {got!r}"
        await asyncio.sleep(0.2)


async def test_a_published_article_is_answered_by_the_other_process(apps):
    a, b = apps
    engine = make_engine(a.env["SHOPCHAT_DATABASE_URL"])
    async with make_sessionmaker(engine)() as db:
        await create_user(db, email="erin@two.test", display_name="Erin", role="editor", password=PW)
    await engine.dispose()
    assert await answer_title(b, QUESTION) != "Loyalty programme"
    async with httpx.AsyncClient(base_url=a.url, headers={"X-Requested-With": "shopchat"}) as c:
        r = await c.post("/login", data={"email": "erin@two.test", "password": PW}, headers={"Origin": a.url})
        assert r.status_code == 303
        r = await c.post("/api/kb/articles", json=ARTICLE)
        assert r.status_code == 201
        article = r.json()["article"]
        # the editor's own process has it the moment the API answers
        assert await answer_title(a, QUESTION) == "Loyalty programme"
        await eventually(b, QUESTION, "Loyalty programme")
        r = await c.put(f"/api/kb/articles/{article['id']}", json={**ARTICLE, "status": "draft",
                                                                   "base_revision": article["revision"]})
        assert r.status_code == 200
        await eventually(b, QUESTION, None)
