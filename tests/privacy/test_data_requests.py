"""Visitors' data requests over HTTP (the app in-process, SQLite and PostgreSQL): find, export, erase,
audit, retention and who may do them. The visitor's data is made by the product's own service
functions (chat, handoff, tickets, ratings, knowledge gaps, conversions); the check is a scan of
every column of every table in the database and of the tracker store's `events` table."""
from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import inspect, select, text, update

from accounts.models import User
from accounts.service import create_user
from accounts.web import COOKIE
from app.db import utcnow
from app.main import create_app
from app.settings import Settings
from chat import service as chat
from chat.models import Conversation
from chat.visitor_ns import record_visit
from engage import prechat
from engage import service as engage
from engage.models import InvitationRule
from handoff import ratings, routing, tickets
from insights.conversions import Order, record as record_conversion
from knowledge_base import gaps
from privacy import retention

PW = "correct horse battery"
BASE = "http://127.0.0.1:8000"
CSRF = {"X-Requested-With": "shopchat"}

MARIA = {"name": "Maria Papadopoulou", "email": "maria.p@example.com", "vid": "maria-browser-0123456789",
         "phone": "+30 2810 555123", "key": "mariainvite01",
         "words": ["my parcel 4711-XQ never came to Heraklion", "the blue teapot arrived cracked",
                   "please refund the teapot to my card", "Maria left an offline note about the cracked lid"],
         "rating": "Nikolaos was kind, teapot story sorted"}
NIKOS = {"name": "Nikos Georgiou", "email": "nikos.g@example.org", "vid": "nikos-browser-0123456789",
         "phone": "+30 2410 555987", "key": "nikosinvite01",
         "words": ["do you ship candles to Larissa", "candles arrived fine, thanks"],
         "rating": "quick candle help"}


def tracker_db(path) -> str:
    """A tracker store with Rasa 3.6's `events` table (the real Rasa's is checked in test_rasa_erasure)."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, type_name "
                 "VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT)")
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def add_tracker_events(url: str, conversation_id: str, person: dict) -> None:
    conn = sqlite3.connect(url[len("sqlite:///"):])
    for word in person["words"][:2]:
        conn.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'user', 1.0, ?)",
                     (conversation_id, json.dumps({"event": "user", "text": word})))
    conn.execute("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (?, 'slot', 2.0, ?)",
                 (conversation_id, json.dumps({"event": "slot", "name": "visitor_email", "value": person["email"]})))
    conn.commit()
    conn.close()


@pytest.fixture
async def app(db_url, tmp_path):
    asgi = create_app(Settings(database_url=db_url, rasa_tracker_store_url=tracker_db(tmp_path / "trackers.db")))
    async with asgi.ctx.sessionmaker() as db:
        await create_user(db, email="boss@shop.example", display_name="Boss", role="admin", password=PW)
        await create_user(db, email="alex@shop.example", display_name="Nikolaos", role="agent", password=PW)
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


async def admin(app) -> httpx.AsyncClient:
    return client(app, await login(app, "boss@shop.example"))


async def visitor_history(app, person: dict, *, order_id: str) -> list[str]:
    """Two chats of one browser: one with the bot only (a logged question, pages seen), one handed to
    an agent (pre-chat answers, name and e-mail, transitions, assignment, a note), closed, rated; an
    offline message in a third chat; a conversion; the browser on the shop (engage/: its live-visitor
    row with the pages it saw, an invitation shown and accepted). Returns the conversation ids."""
    tracker_url = app.ctx.settings.rasa_tracker_store_url
    ids = []
    async with app.ctx.sessionmaker() as db:
        agent = await db.scalar(select(User).where(User.email == "alex@shop.example"))
        await routing.heartbeat(db, agent.id, status="online", now=utcnow())
        # 0. the browser on the shop, invited by a rule (engage/: live visitor, invitation events)
        rule = await db.scalar(select(InvitationRule).where(InvitationRule.name == "Teapot help"))
        if rule is None:
            rule = InvitationRule(name="Teapot help", messages={"en": "Questions about teapots?"})
            db.add(rule)
            await db.commit()
        first = person["name"].split()[0]
        await engage.beat(db, engage.check_beat({"v": person["vid"], "e": "pv", "l": "en",
                                                 "u": f"https://shop.example/account?hello={first}",
                                                 "t": f"{person['name']}'s account", "r": "https://mail.example/"}),
                          now=utcnow())
        for kind in ("shown", "accepted"):
            await engage.beat(db, engage.check_beat({"v": person["vid"], "e": kind, "k": person["key"],
                                                     "i": rule.id}), now=utcnow())
        # 1. the bot only
        conv, _ = await chat.create_conversation(db, page={"url": "https://shop.example/teapots", "title": "Teapots"})
        await record_visit(db, conv.id, visitor_id=person["vid"], page={"url": "https://shop.example/cart?who="
                                                                               + person["name"].split()[0]})
        stored = await chat.add_message(db, conversation_id=conv.id, sender="visitor", text=person["words"][0])
        gaps.record(db, conv.id, stored.message.seq, person["words"][0], article_id=None, score=0.1,
                    fallback=True, from_button=False)
        await db.commit()
        await chat.add_message(db, conversation_id=conv.id, sender="bot", text="I'm not sure about that.")
        ids.append(conv.id)
        add_tracker_events(tracker_url, conv.id, person)
        # 2. handed to a person, closed, rated
        conv, _ = await chat.create_conversation(db)
        await record_visit(db, conv.id, visitor_id=person["vid"], page=None)
        await prechat.save_answers(db, await db.get(Conversation, conv.id),
                                   {"name": person["name"], "email": person["email"], "phone": person["phone"]})
        await chat.add_message(db, conversation_id=conv.id, sender="visitor", text=person["words"][1])
        await chat.note_visitor(db, conv.id, {"name": person["name"], "email": person["email"]})
        await routing.enqueue(db, conv.id, reason="visitor_asked", actor="visitor", now=utcnow())
        await routing.take_over(db, conv.id, agent.id, now=utcnow())
        await chat.add_message(db, conversation_id=conv.id, sender="agent", agent_id=agent.id,
                               text=f"Hello {person['name'].split()[0]}, let me check")
        await chat.add_message(db, conversation_id=conv.id, sender="visitor", text=person["words"][2] if len(person["words"]) > 2 else "ok")
        await routing.close(db, conv.id, actor="visitor", now=utcnow())
        await ratings.rate(db, conv.id, stars=5, comment=person["rating"])
        ids.append(conv.id)
        add_tracker_events(tracker_url, conv.id, person)
        # 3. an offline message from another device (found by its e-mail only)
        conv, _ = await chat.create_conversation(db)
        await db.execute(update(Conversation).where(Conversation.id == conv.id).values(state="offline_form"))
        await db.commit()
        await tickets.create(db, conv.id, name=person["name"], email=person["email"].upper(),
                             message=person["words"][-1])
        ids.append(conv.id)
        await record_conversion(db, Order(order_id=order_id, value_cents=4990, currency="EUR", visitor_id=person["vid"]),
                                source="widget", window=timedelta(days=7))
    return ids


# ---- scanning everything -----------------------------------------------------------------------

async def every_row(app) -> dict[str, list[dict]]:
    """Every row of every table in the database (as the database holds it, not as the models say)."""
    def tables(sync_conn):
        return inspect(sync_conn).get_table_names()

    async with app.ctx.engine.connect() as conn:
        names = await conn.run_sync(tables)
        out = {}
        for name in names:
            rows = await conn.execute(text(f'SELECT * FROM "{name}"'))
            out[name] = [dict(r._mapping) for r in rows]
    return out


def tracker_rows(app) -> list[tuple]:
    conn = sqlite3.connect(app.ctx.settings.rasa_tracker_store_url[len("sqlite:///"):])
    try:
        return conn.execute("SELECT sender_id, type_name, data FROM events").fetchall()
    finally:
        conn.close()


def needles(person: dict) -> list[str]:
    return [person["email"], person["name"], person["name"].split()[0], person["vid"], person["rating"],
            person["phone"], person["key"], *person["words"]]


def hits(rows: dict[str, list[dict]], person: dict) -> list[tuple[str, str, object]]:
    """(table, column, value) of every cell holding one of the person's needles (case-insensitive)."""
    found = []
    for table, table_rows in rows.items():
        for row in table_rows:
            for column, value in row.items():
                cell = json.dumps(value, default=str, ensure_ascii=False) if not isinstance(value, str) else value
                if any(n.lower() in cell.lower() for n in needles(person)):
                    found.append((table, column, value))
    return found


def tracker_hits(app, person: dict) -> list[tuple]:
    return [r for r in tracker_rows(app) if any(n.lower() in (r[2] or "").lower() for n in needles(person))]


def _same(a, b) -> bool:
    if isinstance(a, str) and not isinstance(b, str):
        try:
            a = json.loads(a)  # a JSON column as SQLite returns it to a raw SELECT
        except ValueError:
            return False
    if hasattr(a, "isoformat"):
        return True  # times are not personal data; their presence is checked by the row
    return a == b


async def post(c, path: str, body: dict) -> httpx.Response:
    return await c.post(path, json=body, headers=CSRF)


# ---- the tests ---------------------------------------------------------------------------------

async def test_export_holds_everything_found_and_erasure_leaves_none_of_it_and_no_one_else_touched(app):
    maria_ids = await visitor_history(app, MARIA, order_id="1001")
    nikos_ids = await visitor_history(app, NIKOS, order_id="2002")
    before = await every_row(app)
    maria_before = hits(before, MARIA)
    tables_with_maria = {t for t, _, _ in maria_before}
    assert {"conversations", "messages", "tickets", "ratings", "kb_questions", "engage_prechat",
            "engage_visitors", "engage_invitation_events"} <= tables_with_maria
    assert len([h for h in maria_before if h[:2] == ("engage_invitation_events", "visitor_id")]) == 2
    assert len(tracker_hits(app, MARIA)) == 6

    async with await admin(app) as c:
        found = (await post(c, "/api/privacy/find", {"email": "MARIA.P@example.com"})).json()
        # by e-mail: the chat where she typed it and the offline message, not the bot-only chat
        assert sorted(x["conversation_id"] for x in found["conversations"]) == sorted(maria_ids[1:])
        found = (await post(c, "/api/privacy/find", {"visitor_id": MARIA["vid"]})).json()
        assert sorted(x["conversation_id"] for x in found["conversations"]) == sorted(maria_ids[:2])
        assert found["conversions"] == 1
        assert found["browser_rows"] == 3  # the live visitor, the invitation shown and accepted

        # the e-mail's export and the browser's export together hold every cell the scan found
        exports = []
        for subject in ({"email": MARIA["email"]}, {"visitor_id": MARIA["vid"]}):
            r = await post(c, "/api/privacy/export", subject)
            assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
            exports.append(r.json())
        for table, column, value in maria_before:
            rows = [row for e in exports for row in e.get(table, [])]
            assert any(column in row and _same(value, row[column]) for row in rows), (table, column, value)
        events = [e for x in exports for e in x["rasa_tracker_events"]]
        assert len({(e["conversation_id"], json.dumps(e["event"])) for e in events}) == 6
        assert {c_["order_id"] for e in exports for c_ in e["conversions"]} == {"1001"}
        # the browser's engage/ rows come with the browser id, not with a typed e-mail (unverified)
        assert exports[0]["engage_visitors"] == [] and exports[0]["engage_invitation_events"] == []
        assert [r["visitor_id"] for r in exports[1]["engage_visitors"]] == [MARIA["vid"]]
        assert [r["kind"] for r in exports[1]["engage_invitation_events"]] == ["shown", "accepted"]
        assert exports[0]["engage_prechat"][0]["values"]["phone"] == MARIA["phone"]
        assert not any(x["conversation_id"] in nikos_ids for e in exports for x in e.get("messages", []))
        exported = json.dumps(exports)
        assert "token_hash" not in exported and NIKOS["email"] not in exported

        # erase by both keys (the e-mail's chats, then the browser's)
        # (the conversion is attributed to the chat with the agent, which the e-mail finds)
        r = await post(c, "/api/privacy/erase", {"email": MARIA["email"]})
        assert r.status_code == 200
        assert r.json()["erased"] == {"conversations": 2, "conversions": 1, "tracker_events": 3, "browser_rows": 0}
        r = await post(c, "/api/privacy/erase", {"visitor_id": MARIA["vid"]})
        assert r.json()["erased"] == {"conversations": 1, "conversions": 0, "tracker_events": 3, "browser_rows": 3}
        again = await post(c, "/api/privacy/erase", {"visitor_id": MARIA["vid"]})
        assert again.json()["erased"] == {"conversations": 0, "conversions": 0, "tracker_events": 0, "browser_rows": 0}
        audit = (await c.get("/api/privacy/audit")).json()["entries"]
    assert [(a["action"], a["found_by"]) for a in audit][:3] == [("erase", "visitor_id")] * 2 + [("erase", "email")]

    after = await every_row(app)
    assert hits(after, MARIA) == [] and tracker_hits(app, MARIA) == []
    # everyone else's rows are exactly as they were (privacy_audit gained rows with no personal data)
    for table, rows in before.items():
        if table in ("privacy_audit", "auth_sessions", "login_failures"):  # the audit, the admin's login
            continue
        gone = [r for r in rows if r not in after[table]]
        assert all(r in rows for r in after[table]), table
        for r in gone:
            assert not (set(map(str, r.values())) & set(nikos_ids)), (table, r)
    assert hits(after, NIKOS) == hits(before, NIKOS)
    assert len(tracker_hits(app, NIKOS)) == 6


async def test_found_by_conversation_and_unknown_visitors_give_empty_results(app):
    ids = await visitor_history(app, MARIA, order_id="1001")
    async with await admin(app) as c:
        found = (await post(c, "/api/privacy/find", {"conversation_id": ids[0]})).json()
        assert [x["conversation_id"] for x in found["conversations"]] == [ids[0]]
        export = (await post(c, "/api/privacy/export", {"conversation_id": ids[0]})).json()
        assert [m["text"] for m in export["messages"]] == [MARIA["words"][0], "I'm not sure about that."]
        assert export["conversations"][0]["pages"][-1]["url"].startswith("https://shop.example/cart")
        assert [q["text"] for q in export["kb_questions"]] == [MARIA["words"][0]]
        # the conversation's browser: its live-visitor row and invitation events come along
        assert [v["visitor_id"] for v in export["engage_visitors"]] == [MARIA["vid"]]
        assert len(export["engage_invitation_events"]) == 2
        offline = (await post(c, "/api/privacy/export", {"conversation_id": ids[2]})).json()  # no browser id
        assert offline["engage_visitors"] == [] and offline["engage_invitation_events"] == []
        nobody = (await post(c, "/api/privacy/export", {"email": "nobody@example.com"})).json()
        assert nobody["conversations"] == [] and nobody["conversions"] == [] and nobody["rasa_tracker_events"] == []
        r = await post(c, "/api/privacy/erase", {"conversation_id": ids[0]})
        assert r.json()["erased"]["conversations"] == 1 and r.json()["erased"]["browser_rows"] == 3
        left = await every_row(app)
        assert left["engage_visitors"] == [] and left["engage_invitation_events"] == []


@pytest.mark.parametrize("body, field", [
    ({}, "body"), ({"email": "a@b.c", "visitor_id": "x" * 20}, "body"), ({"email": "not-an-address"}, "email"),
    ({"visitor_id": "short"}, "visitor_id"), ({"conversation_id": "../etc"}, "conversation_id"),
    ({"name": "Maria"}, "name"), ({"email": 5}, "email"),
])
async def test_bad_requests_are_refused_and_erase_nothing(app, body, field):
    await visitor_history(app, MARIA, order_id="1001")
    c = await admin(app)  # (its login writes rows)
    before = await every_row(app)
    async with c:
        for path in ("/api/privacy/find", "/api/privacy/export", "/api/privacy/erase"):
            r = await post(c, path, body)
            assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text
    assert await every_row(app) == before


async def test_only_admins_may_find_export_erase_or_change_settings(app):
    ids = await visitor_history(app, MARIA, order_id="1001")
    subject = {"conversation_id": ids[1]}
    for email in ("alex@shop.example", "erin@shop.example"):
        async with client(app, await login(app, email)) as c:
            for path in ("/api/privacy/find", "/api/privacy/export", "/api/privacy/erase"):
                assert (await post(c, path, subject)).status_code == 403
            assert (await c.get("/api/privacy/audit")).status_code == 403
            assert (await c.get("/api/privacy/settings")).status_code == 403
            assert (await c.put("/api/privacy/settings", json={"retention_days": 1}, headers=CSRF)).status_code == 403
    async with client(app) as c:
        assert (await post(c, "/api/privacy/export", subject)).status_code == 401
    async with await admin(app) as c:  # the admin too needs the CSRF header on a POST
        assert (await c.post("/api/privacy/erase", json=subject)).status_code == 403
    async with app.ctx.sessionmaker() as db:
        assert await db.get(Conversation, ids[1]) is not None


async def test_settings_and_the_public_notice_link(app):
    async with await admin(app) as c:
        assert (await c.get("/api/privacy/settings")).json() == {"retention_days": None, "privacy_notice_url": None}
        r = await c.put("/api/privacy/settings", json={"retention_days": 30, "privacy_notice_url": "https://shop.example/privacy"},
                        headers=CSRF)
        assert r.json() == {"retention_days": 30, "privacy_notice_url": "https://shop.example/privacy"}
        for bad in ({"retention_days": 0}, {"retention_days": "30"}, {"privacy_notice_url": "javascript:alert(1)"},
                    {"privacy_notice_url": "https://x.example/\"><script>"}, {"keep": True}):
            assert (await c.put("/api/privacy/settings", json=bad, headers=CSRF)).status_code == 422
        assert (await c.put("/api/privacy/settings", json={"retention_days": None}, headers=CSRF)).json()["retention_days"] is None
    async with client(app) as c:
        assert (await c.get("/api/privacy/notice")).json() == {"url": "https://shop.example/privacy"}


async def test_retention_erases_old_conversations_only_and_anonymises_old_conversions(app):
    old = await visitor_history(app, MARIA, order_id="1001")
    new = await visitor_history(app, NIKOS, order_id="2002")
    long_ago = utcnow() - timedelta(days=40)
    async with app.ctx.sessionmaker() as db:
        await db.execute(update(Conversation).where(Conversation.id.in_(old))
                         .values(created_at=long_ago, updated_at=long_ago))
        from insights.conversions import Conversion
        await db.execute(update(Conversion).where(Conversion.order_id == "1001").values(ordered_at=long_ago))
        from engage.models import InvitationEvent, LiveVisitor
        await db.execute(update(InvitationEvent).where(InvitationEvent.visitor_id == MARIA["vid"]).values(at=long_ago))
        await db.execute(update(LiveVisitor).where(LiveVisitor.visitor_id == MARIA["vid"]).values(last_seen_at=long_ago))
        await db.commit()
    urls = [app.ctx.settings.rasa_tracker_store_url]
    off = await retention.run_once(app.ctx.sessionmaker, tracker_urls=urls)  # off by default
    assert off.conversations == 0
    async with await admin(app) as c:
        await c.put("/api/privacy/settings", json={"retention_days": 30}, headers=CSRF)
    done = await retention.run_once(app.ctx.sessionmaker, tracker_urls=urls)
    assert (done.conversations, done.conversions, done.tracker_events, done.browser_rows) == (3, 1, 6, 3)
    rows = await every_row(app)
    assert hits(rows, MARIA) == [] and tracker_hits(app, MARIA) == []
    assert {r["id"] for r in rows["conversations"]} == set(new)
    assert {r["visitor_id"] for r in rows["engage_visitors"] + rows["engage_invitation_events"]} == {NIKOS["vid"]}
    kept = [r for r in rows["conversions"] if r["order_id"] == "1001"]
    assert kept and kept[0]["visitor_id"] is None and kept[0]["value_cents"] == 4990  # revenue stays, anonymous
    assert (await retention.run_once(app.ctx.sessionmaker, tracker_urls=urls)).conversations == 0
