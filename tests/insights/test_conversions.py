"""Conversion tracking over HTTP (the app in-process, SQLite and PostgreSQL): the widget's and the
shop server's reports, attribution within the window, idempotency, API keys, bad payloads."""
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from accounts.models import User
from accounts.service import create_user
from accounts.web import COOKIE
from app.db import utcnow
from app.main import create_app
from app.settings import Settings
from chat import service as chat
from chat.models import Conversation
from handoff import routing
from insights.conversions import Conversion, ConversionApiKey

PW = "correct horse battery"
BASE = "http://127.0.0.1:8000"
CSRF = {"X-Requested-With": "shopchat"}
VID = "visitor-0123456789abcdef"


@pytest.fixture
async def app(db_url):
    asgi = create_app(Settings(database_url=db_url, conversion_window_days=7))
    async with asgi.ctx.sessionmaker() as db:
        await create_user(db, email="boss@shop.example", display_name="Boss", role="admin", password=PW)
        await create_user(db, email="alex@shop.example", display_name="Alex", role="agent", password=PW)
        await create_user(db, email="erin@shop.example", display_name="Erin", role="editor", password=PW)
    yield asgi
    await asgi.ctx.engine.dispose()


def client(app, token: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)), base_url=BASE,
                             cookies={COOKIE: token} if token else None)


async def login(app, email: str) -> str:
    async with client(app) as c:
        r = await c.post("/login", data={"email": email, "password": PW}, headers={"Origin": BASE})
        assert r.status_code == 303, r.text
        return r.cookies[COOKIE]


async def new_key(app, name: str = "shop backend") -> dict:
    async with client(app, await login(app, "boss@shop.example")) as c:
        r = await c.post("/api/conversions/keys", json={"name": name}, headers=CSRF)
    assert r.status_code == 201, r.text
    return r.json()


async def chat_of(app, *, visitor_id: str | None = VID, email: str | None = None, days_ago: float = 0,
                  agent_email: str | None = None, wrote: bool = True) -> str:
    """A conversation through the chat service (and a person taking it over, if agent_email)."""
    async with app.ctx.sessionmaker() as db:
        conv, _ = await chat.create_conversation(db)
        values = {"visitor_id": visitor_id, "visitor_email": email,
                  "created_at": utcnow() - timedelta(days=days_ago)}
        await db.execute(update(Conversation).where(Conversation.id == conv.id).values(**values))
        await db.commit()
        if wrote:
            await chat.add_message(db, conversation_id=conv.id, sender="visitor", text="do you ship to Crete?")
        if agent_email:
            agent = await db.scalar(select(User).where(User.email == agent_email))
            await routing.take_over(db, conv.id, agent.id, now=utcnow())
    return conv.id


async def widget_report(app, **body) -> httpx.Response:
    async with client(app) as c:
        return await c.post("/api/conversions/widget", json=body)


async def count(app) -> int:
    async with app.ctx.sessionmaker() as db:
        return await db.scalar(select(func.count()).select_from(Conversion))


# ---- attribution -------------------------------------------------------------------------------

async def test_bot_only_chat_within_the_window_is_attributed_to_the_bot(app):
    cid = await chat_of(app, days_ago=2)
    r = await widget_report(app, order_id="1001", value=49.9, currency="eur", visitor_id=VID)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["duplicate"] is False
    assert body["conversion"] | {"ordered_at": None} == {
        "order_id": "1001", "value": "49.90", "currency": "EUR", "ordered_at": None, "attribution": "bot",
        "conversation_id": cid, "agent_id": None, "source": "widget"}


async def test_a_chat_a_person_served_wins_over_a_later_bot_chat(app):
    served = await chat_of(app, days_ago=3, agent_email="alex@shop.example")
    await chat_of(app, days_ago=1)
    r = await widget_report(app, order_id="A-7", value="120", currency="EUR", visitor_id=VID)
    conv = r.json()["conversion"]
    async with app.ctx.sessionmaker() as db:
        alex = await db.scalar(select(User.id).where(User.email == "alex@shop.example"))
    assert (conv["attribution"], conv["conversation_id"], conv["agent_id"]) == ("agent", served, alex)


async def test_chats_outside_the_window_or_without_a_word_or_of_others_do_not_count(app):
    await chat_of(app, days_ago=7.1)  # just outside 7 days
    await chat_of(app, days_ago=1, wrote=False)  # opened the widget, wrote nothing
    await chat_of(app, visitor_id="someone-else-0123456789", days_ago=1)
    r = await widget_report(app, order_id="1002", value=10, currency="EUR", visitor_id=VID)
    assert r.json()["conversion"]["attribution"] == "none"
    r = await widget_report(app, order_id="1003", value=10, currency="EUR")  # no browser id at all
    assert r.json()["conversion"]["attribution"] == "none"


async def test_window_edge_inside(app):
    cid = await chat_of(app, days_ago=6.9)
    r = await widget_report(app, order_id="1004", value=10, currency="EUR", visitor_id=VID)
    assert r.json()["conversion"]["conversation_id"] == cid


async def test_server_report_attributes_by_email_and_by_its_order_time(app):
    key = (await new_key(app))["key"]
    cid = await chat_of(app, visitor_id=None, email="Maria@Example.com", days_ago=9)
    # Ordered 5 days ago (reported late): the chat 9 days ago is 4 days before the order.
    ordered = (utcnow() - timedelta(days=5)).isoformat()
    async with client(app) as c:
        r = await c.post("/api/conversions", headers={"Authorization": f"Bearer {key}"},
                         json={"order_id": "S-1", "value": "15.00", "currency": "USD", "email": "maria@example.com",
                               "ordered_at": ordered})
    assert r.status_code == 201, r.text
    assert r.json()["conversion"]["conversation_id"] == cid
    async with app.ctx.sessionmaker() as db:
        row = await db.scalar(select(Conversion))
    assert "maria" not in (row.email_hash or "") and len(row.email_hash) == 64  # the address is not kept


# ---- idempotency -------------------------------------------------------------------------------

async def test_the_same_order_twice_counts_once(app):
    await chat_of(app)
    first = await widget_report(app, order_id="1005", value=30, currency="EUR", visitor_id=VID)
    again = await widget_report(app, order_id="1005", value=999, currency="USD", visitor_id=VID)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["duplicate"] is True and again.json()["conversion"]["value"] == "30.00"
    assert await count(app) == 1


async def test_a_server_report_corrects_the_widgets_value_but_counts_once(app):
    key = (await new_key(app))["key"]
    cid = await chat_of(app)
    await widget_report(app, order_id="1006", value=1, currency="EUR", visitor_id=VID)
    async with client(app) as c:
        r = await c.post("/api/conversions", headers={"Authorization": f"Bearer {key}"},
                         json={"order_id": "1006", "value": "59.00", "currency": "EUR"})
        again = await c.post("/api/conversions", headers={"Authorization": f"Bearer {key}"},
                             json={"order_id": "1006", "value": "1.00", "currency": "EUR"})
    assert r.status_code == 200 and r.json()["duplicate"] is True
    conv = again.json()["conversion"]
    assert (conv["value"], conv["source"], conv["conversation_id"]) == ("59.00", "api", cid)
    assert await count(app) == 1


async def test_concurrent_reports_of_one_order_store_one_row(app):
    import asyncio

    results = await asyncio.gather(*(widget_report(app, order_id="1007", value=5, currency="EUR")
                                     for _ in range(8)))
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    assert await count(app) == 1


# ---- API keys ----------------------------------------------------------------------------------

async def test_keys_are_stored_hashed_and_a_revoked_key_is_refused(app):
    made = await new_key(app)
    key = made["key"]
    assert key.startswith("sck_") and len(key) > 40
    async with app.ctx.sessionmaker() as db:
        stored = await db.get(ConversionApiKey, made["id"])
    assert key not in (stored.key_hash, stored.hint) and stored.hint == key[:8]
    order = {"order_id": "K-1", "value": 1, "currency": "EUR"}
    async with client(app) as c:
        assert (await c.post("/api/conversions", json=order, headers={"Authorization": f"Bearer {key}"})).status_code == 201
    async with client(app, await login(app, "boss@shop.example")) as c:
        listed = (await c.get("/api/conversions/keys")).json()["keys"]
        assert [k["id"] for k in listed] == [made["id"]] and "key" not in listed[0]
        assert listed[0]["last_used_at"] is not None
        r = await c.post(f"/api/conversions/keys/{made['id']}/revoke", headers=CSRF)
        assert r.status_code == 200 and r.json()["revoked_at"]
    async with client(app) as c:
        r = await c.post("/api/conversions", json={**order, "order_id": "K-2"},
                         headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "bad_api_key"
        for headers in ({}, {"Authorization": "Bearer sck_not-a-key"}, {"Authorization": key}):
            r = await c.post("/api/conversions", json={**order, "order_id": "K-3"}, headers=headers)
            assert r.status_code == 401
    assert await count(app) == 1


async def test_only_admins_manage_keys(app):
    for email in ("alex@shop.example", "erin@shop.example"):
        async with client(app, await login(app, email)) as c:
            assert (await c.get("/api/conversions/keys")).status_code == 403
            assert (await c.post("/api/conversions/keys", json={"name": "x"}, headers=CSRF)).status_code == 403
            assert (await c.get("/api/conversions")).status_code == 403
    async with client(app) as c:
        assert (await c.get("/api/conversions/keys")).status_code == 401
    async with client(app, await login(app, "boss@shop.example")) as c:
        assert (await c.post("/api/conversions/keys/999/revoke", headers=CSRF)).status_code == 404
        assert (await c.post("/api/conversions/keys", json={"name": ""}, headers=CSRF)).status_code == 422


# ---- bad payloads ------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field", [
    ({"value": 1, "currency": "EUR"}, "order_id"),
    ({"order_id": "", "value": 1, "currency": "EUR"}, "order_id"),
    ({"order_id": "x" * 101, "value": 1, "currency": "EUR"}, "order_id"),
    ({"order_id": "a\nb", "value": 1, "currency": "EUR"}, "order_id"),
    ({"order_id": True, "value": 1, "currency": "EUR"}, "order_id"),
    ({"order_id": "1", "currency": "EUR"}, "value"),
    ({"order_id": "1", "value": -1, "currency": "EUR"}, "value"),
    ({"order_id": "1", "value": "12,50", "currency": "EUR"}, "value"),
    ({"order_id": "1", "value": 1.001, "currency": "EUR"}, "value"),
    ({"order_id": "1", "value": "NaN", "currency": "EUR"}, "value"),
    ({"order_id": "1", "value": 1e12, "currency": "EUR"}, "value"),
    ({"order_id": "1", "value": 1}, "currency"),
    ({"order_id": "1", "value": 1, "currency": "EURO"}, "currency"),
    ({"order_id": "1", "value": 1, "currency": "EUR", "visitor_id": "short"}, "visitor_id"),
    ({"order_id": "1", "value": 1, "currency": "EUR", "coupon": "X"}, "coupon"),
    ({"order_id": "1", "value": 1, "currency": "EUR", "email": "x@y"}, "email"),  # widget: no e-mail
])
async def test_bad_widget_payloads_are_refused_with_the_field_and_store_nothing(app, body, field):
    r = await widget_report(app, **body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field and field in r.json()["error"]["message"]
    assert await count(app) == 0


@pytest.mark.parametrize("body, field", [
    ({"order_id": "1", "value": 1, "currency": "EUR", "email": "not an address"}, "email"),
    ({"order_id": "1", "value": 1, "currency": "EUR", "ordered_at": "yesterday"}, "ordered_at"),
    ({"order_id": "1", "value": 1, "currency": "EUR", "ordered_at": "2026-12-01T10:00:00"}, "ordered_at"),
    ({"order_id": "1", "value": 1, "currency": "EUR", "ordered_at": "2099-01-01T00:00:00Z"}, "ordered_at"),
])
async def test_bad_server_payloads_are_refused(app, body, field):
    key = (await new_key(app))["key"]
    async with client(app) as c:
        r = await c.post("/api/conversions", json=body, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text
        for raw in (b"not json", b"[1, 2]"):
            r = await c.post("/api/conversions", content=raw, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 422 and r.json()["error"]["code"] == "bad_json"
        r = await c.post("/api/conversions", content=b"{" + b'"a":"' + b"x" * 5000 + b'"}',
                         headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 413
    assert await count(app) == 0
