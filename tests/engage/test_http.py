"""engage/'s HTTP routes against the real app process: the loader's beat (CORS, bad input), who may
read visitors and change rules, an agent's invitation, the pre-chat form's settings and a visitor's
answers for their own conversation only."""
from __future__ import annotations

import httpx
import pytest

from accounts.service import create_session, create_user
from app.db import make_engine, make_sessionmaker, utcnow
from chat.models import Conversation
from tests.chat.visitor_client import Visitor
from tests.support import LiveApp, TestDatabase

CSRF = {"X-Requested-With": "shopchat"}
VID = "http-visitor-0000000001"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    db = TestDatabase("sqlite", tmp_path_factory.mktemp("engage-http")).create()
    live = LiveApp(db.url).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
async def people(app):
    engine = make_engine(app.env["SHOPCHAT_DATABASE_URL"])
    sm = make_sessionmaker(engine)
    tokens = {}
    async with sm() as db:
        for name, role in (("Ada", "admin"), ("Bo", "agent"), ("Ed", "editor")):
            user = await create_user(db, email=f"{name.lower()}@http.test", display_name=name, role=role,
                                     password="engage http password")
            tokens[name] = await create_session(db, user.id, now=utcnow())
    yield tokens, sm
    await engine.dispose()


def client(app, token=None):
    return httpx.AsyncClient(base_url=app.url, headers=CSRF, cookies={"shopchat_session": token} if token else {})


async def test_the_beat_is_a_simple_cross_origin_request(app):
    async with client(app) as c:
        r = await c.post("/engage/beat", content='{"v": "%s", "e": "pv", "u": "https://shop.test/a", "n": 1}' % VID,
                         headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": "https://shop.test"})
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
        assert r.json() == {"hb": 20}
        for body, code in (("not json", "bad_json"), ('{"v": "x", "e": "pv"}', "bad_field"),
                           ('{"v": "%s", "e": "pv", "n": true}' % VID, "bad_field")):
            r = await c.post("/engage/beat", content=body)
            assert r.json()["error"]["code"] == code and r.headers["access-control-allow-origin"] == "*"
        assert (await c.post("/engage/beat", content="x" * 9000)).status_code == 413


async def test_visitors_and_invitations_by_role(app, people):
    tokens, _ = people
    async with client(app) as c:
        await c.post("/engage/beat", content='{"v": "%s", "e": "pv", "u": "https://shop.test/b", "t": "<b>B</b>", "n": 3}' % VID)
        assert (await c.get("/api/console/visitors")).status_code == 401
    async with client(app, tokens["Ed"]) as c:
        assert (await c.get("/api/console/visitors")).status_code == 403
    async with client(app, tokens["Bo"]) as c:
        rows = (await c.get("/api/console/visitors")).json()["visitors"]
        row = next(r for r in rows if r["page_url"] == "https://shop.test/b")
        assert row["page_title"] == "<b>B</b>" and row["returning"] and row["can_invite"] and VID not in str(row)
        r = await c.post(f"/api/console/visitors/{row['ref']}/invite", json={"message": "Hi there"})
        assert r.status_code == 200
        assert (await c.post("/api/console/visitors/0123456789abcdef/invite", json={"message": "Hi"})).status_code == 404
        assert (await c.post(f"/api/console/visitors/{row['ref']}/invite", json={"message": ""})).status_code == 422
        assert (await c.get("/api/engage/rules")).status_code == 403
        assert (await c.get("/api/engage/report")).status_code == 403
    async with client(app) as c:
        inv = (await c.post("/engage/beat", content='{"v": "%s", "e": "hb", "u": "https://shop.test/b"}' % VID)).json()["inv"]
        assert inv["m"] == "Hi there" and inv["n"] == "Bo"
    async with client(app, tokens["Ada"]) as c:
        r = await c.post("/api/engage/rules", json={"name": "All", "messages": {"en": "Hello"}, "when": "always"})
        rid = r.json()["id"]
        assert (await c.put(f"/api/engage/rules/{rid}", json={"name": "All", "messages": {"en": "Hey"}, "enabled": False})).json()["enabled"] is False
        assert [x["messages"] for x in (await c.get("/api/engage/rules")).json()["rules"]] == [{"en": "Hey"}]
        assert (await c.delete(f"/api/engage/rules/{rid}")).status_code == 200
        assert (await c.delete(f"/api/engage/rules/{rid}")).status_code == 404
        assert (await c.post("/api/engage/rules", json={"name": "x", "messages": {"en": "y"}},
                             headers={"X-Requested-With": ""})).status_code == 403  # CSRF


async def test_prechat_settings_and_answers(app, people):
    tokens, sm = people
    config = {"mode": "always", "fields": [{"kind": "name", "required": True}, {"kind": "email", "required": True}]}
    async with client(app, tokens["Bo"]) as c:
        assert (await c.put("/api/engage/prechat", json=config)).status_code == 403
    async with client(app, tokens["Ada"]) as c:
        assert (await c.put("/api/engage/prechat", json={"mode": "always", "fields": [{"kind": "age"}]})).status_code == 422
        assert (await c.put("/api/engage/prechat", json=config)).status_code == 200
    v = Visitor(app.url)
    await v.connect()
    try:
        async with client(app) as c:
            assert (await c.get("/engage/prechat")).json()["mode"] == "always"
            r = await c.post("/engage/prechat", json={"session_id": v.session_id, "answers": {"name": "Ada"}})
            assert r.status_code == 422 and r.json()["error"]["field"] == "email"
            r = await c.post("/engage/prechat", json={"session_id": "not-a-session", "answers": {"name": "A", "email": "a@example.com"}})
            assert r.status_code == 404
            r = await c.post("/engage/prechat", json={"session_id": v.session_id, "answers": {"name": "Ada", "email": "ada@example.com"}})
            assert r.status_code == 200
        async with sm() as db:
            conv = await db.get(Conversation, v.conversation_id)
            assert (conv.visitor_name, conv.visitor_email) == ("Ada", "ada@example.com")
    finally:
        await v.close()
        async with client(app, tokens["Ada"]) as c:
            await c.put("/api/engage/prechat", json={"mode": "off", "fields": []})
