"""The agent namespace `/agent` and the console's HTTP API against the real app process, with real
python-socketio clients for agents and visitors (SQLite and, when reachable, PostgreSQL). Rasa is not
running: the visitor's "talk to a person" goes through the bot's knowledge-base-only path."""
from __future__ import annotations

import asyncio

import httpx
import pytest
import socketio

from accounts import service as accounts
from accounts.models import User
from app.db import make_engine, make_sessionmaker, utcnow
from handoff import routing
from tests.attachments import files
from tests.chat.visitor_client import Recorder, Visitor

COOKIE = "shopchat_session"
CSRF = {"X-Requested-With": "shopchat"}
HOSTILE = "<img src=x onerror=alert(1)>"


class Agent(Recorder):
    """A console: a real Socket.IO client on /agent that records every event it receives."""

    EVENTS = ("offer", "offer_withdrawn", "transfer_failed", "chat_assigned", "chat_released", "chat_state",
              "queue", "message", "visitor_typing", "error", "tickets_changed", "rated")

    def __init__(self, url: str, token: str | None, headers: dict | None = None):
        super().__init__(self.EVENTS, namespace="/agent")
        self.url, self.token = url, token
        self.headers = dict(headers or {})
        if token:
            self.headers["Cookie"] = f"{COOKIE}={token}"

    async def connect(self, **kw) -> "Agent":
        await self.sio.connect(self.url, headers=self.headers, namespaces=["/agent"], transports=["websocket"],
                               wait_timeout=10, **kw)
        return self

    async def call(self, event: str, payload: object = None) -> dict:
        return await self.sio.call(event, {} if payload is None else payload, namespace="/agent", timeout=10)

    async def online(self) -> "Agent":
        ack = await self.call("heartbeat", {"status": "online"})
        assert ack["ok"], ack
        return self


class Staff:
    """Users and login sessions written straight into the app's database."""

    def __init__(self, db_url: str):
        self.engine = make_engine(db_url)
        self.sm = make_sessionmaker(self.engine)

    async def user(self, name: str, role: str = "agent", **fields) -> tuple[int, str]:
        """A user and a login session for them: (user id, session token)."""
        async with self.sm() as db:
            user = User(email=f"{name.lower()}@staff.test", display_name=name, role=role, password_hash="x", **fields)
            db.add(user)
            await db.commit()
            token = await accounts.create_session(db, user.id, now=utcnow())
            return user.id, token

    async def settings(self, **values) -> None:
        async with self.sm() as db:
            await routing.update_settings(db, values, now=utcnow())

    async def close(self) -> None:
        await self.engine.dispose()


@pytest.fixture
def app(demo_app_each_db):
    return demo_app_each_db


@pytest.fixture
async def staff(app):
    s = Staff(app.env["SHOPCHAT_DATABASE_URL"])
    yield s
    await s.close()


@pytest.fixture
async def clients():
    made: list = []
    yield made
    for c in made:
        await c.close()


async def agent(app, staff, clients, name: str, role: str = "agent", online: bool = True, **fields) -> Agent:
    user_id, token = await staff.user(name, role, **fields)
    a = Agent(app.url, token)
    a.user_id = user_id
    clients.append(a)
    await a.connect()
    if online:
        await a.online()
    return a


async def visitor(app, clients, **extra) -> Visitor:
    v = Visitor(app.url)
    clients.append(v)
    assert (await v.connect(**extra))["ok"]
    return v


async def ask_for_person(v: Visitor) -> None:
    ack = await v.say("can i talk to a real person", client_id="ask-person")
    assert ack["ok"], ack


async def assigned_chat(app, clients, owner: Agent) -> tuple[Visitor, str]:
    """A visitor asks for a person; `owner` gets the offer and accepts it."""
    v = await visitor(app, clients)
    await ask_for_person(v)
    offer = (await owner.wait_for("offer", pred=lambda o: o["conversation_id"] == v.conversation_id))[0]
    ack = await owner.call("accept", {"offer_id": offer["offer_id"]})
    assert ack == {"ok": True, "conversation_id": v.conversation_id}
    await v.wait_for("handoff", pred=lambda h: h["state"] == "assigned")
    return v, v.conversation_id


# ---- connecting ---------------------------------------------------------------------------------

async def test_connection_is_refused_without_a_login_with_a_visitor_token_and_for_an_editor(app, staff, clients):
    async def refused(token=None, headers=None, **kw):
        a = Agent(app.url, token, headers)
        clients.append(a)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await a.connect(**kw)
        assert not a.sio.connected

    await refused()  # no cookie
    await refused("made-up-token")
    v = await visitor(app, clients)
    await refused(v.session_id)  # a visitor's session id as the cookie
    await refused(None, auth={"session_id": v.session_id})  # or as Socket.IO auth
    _, editor_token = await staff.user("Erin", "editor")
    await refused(editor_token)
    _, agent_token = await staff.user("Alex")
    await refused(agent_token, {"Origin": "https://evil.example"})  # a foreign page with the agent's cookie

    a = Agent(app.url, agent_token, {"Origin": app.url})
    clients.append(a)
    await a.connect()
    hello = await a.call("hello")
    assert hello["ok"] and hello["me"]["name"] == "Alex" and hello["me"]["role"] == "agent"
    assert hello["chats"] == [] and hello["offers"] == [] and hello["settings"]["strategy"]


async def test_a_logged_out_session_can_do_nothing_more(app, staff, clients):
    a = await agent(app, staff, clients, "Alex")
    async with staff.sm() as db:
        await accounts.end_session(db, a.token)
    ack = await a.call("hello")
    assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"
    for _ in range(50):  # and the socket is dropped: no more offers or messages reach it
        if not a.sio.connected:
            break
        await asyncio.sleep(0.05)
    assert not a.sio.connected


BAD_INPUT = [
    ("accept", {"offer_id": "1"}, "bad_payload"),
    ("accept", {}, "bad_payload"),
    ("heartbeat", {"status": "busy"}, "bad_payload"),
    ("open_chat", {"conversation_id": "../../etc"}, "bad_payload"),
    ("open_chat", {"conversation_id": "a" * 33}, "bad_payload"),
    ("send", "not an object", "bad_payload"),
    ("send", {"conversation_id": "abc", "text": "x" * 2001}, "message_too_long"),
    ("send", {"conversation_id": "abc", "text": "   "}, "empty_message"),
    ("typing", {"conversation_id": "abc", "typing": "yes"}, "bad_payload"),
    ("transfer", {"conversation_id": "abc", "to_agent_id": True}, "bad_payload"),
    ("open_chat", {"conversation_id": "abc"}, "not_found"),
    ("decline", {"offer_id": 999}, "not_your_offer"),
]


async def test_bad_input_gets_a_clear_error_and_the_connection_keeps_working(app, staff, clients):
    a = await agent(app, staff, clients, "Alex")
    for i, (event, payload, code) in enumerate(BAD_INPUT):
        ack = await a.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == code and ack["error"]["message"], (event, ack)
        err = (await a.wait_for("error", count=i + 1))[i]
        assert err["code"] == code and err["event"] == event
    assert (await a.call("hello"))["ok"]


# ---- a chat, end to end ---------------------------------------------------------------------------

async def test_offer_accept_then_messages_flow_both_ways_and_notes_stay_with_agents(app, staff, clients):
    alex = await agent(app, staff, clients, "Alex")
    v = await visitor(app, clients)
    await ask_for_person(v)

    offer = (await alex.wait_for("offer"))[0]
    assert offer["conversation_id"] == v.conversation_id and offer["kind"] == "route" and offer["ring_s"] == 30
    assert offer["reason"] and "visitor" in offer
    assert (await alex.call("hello"))["offers"][0]["offer_id"] == offer["offer_id"]
    ack = await alex.call("accept", {"offer_id": offer["offer_id"]})
    assert ack == {"ok": True, "conversation_id": v.conversation_id}
    assigned = (await alex.wait_for("chat_assigned"))[0]
    assert assigned == {"conversation_id": v.conversation_id, "agent_id": alex.user_id, "previous_agent_id": None}
    handoff = (await v.wait_for("handoff", pred=lambda h: h["state"] == "assigned"))[0]
    assert handoff["agent"]["name"] == "Alex"
    again = await alex.call("accept", {"offer_id": offer["offer_id"]})  # a retry: answered, nothing changes
    assert again == {**ack, "already_accepted": True}

    # the whole transcript, the bot's part included, with the handoff reason
    opened = await alex.call("open_chat", {"conversation_id": v.conversation_id, "after_seq": 0})
    assert opened["ok"] and opened["chat"]["state"] == "assigned" and opened["chat"]["can_write"] is True
    assert opened["chat"]["handoff_reason"]
    senders = [m["sender"] for m in opened["messages"]]
    assert senders[0] == "visitor" and "bot" in senders
    assert opened["messages"][0]["text"] == "can i talk to a real person"
    snapshot = await alex.call("hello")
    assert [c["conversation_id"] for c in snapshot["chats"]] == [v.conversation_id]

    # agent -> visitor, stored before the ack, idempotent by client_id
    sent = await alex.call("send", {"conversation_id": v.conversation_id, "text": "Hi, I'm Alex. How can I help?",
                                    "client_id": "a-1"})
    assert sent["ok"] and sent["duplicate"] is False and sent["message"]["sender"] == "agent"
    got = (await v.wait_for("bot_uttered", pred=lambda m: m["sender"] == "agent"))[0]
    assert got["text"] == "Hi, I'm Alex. How can I help?" and got["agent_name"] == "Alex"
    assert got["seq"] == sent["message"]["seq"]
    dup = await alex.call("send", {"conversation_id": v.conversation_id, "text": "Hi, I'm Alex. How can I help?",
                                   "client_id": "a-1"})
    assert dup["duplicate"] is True and dup["message"]["seq"] == sent["message"]["seq"]
    mine = (await alex.wait_for("message", pred=lambda m: m["sender"] == "agent"))[0]
    assert mine["conversation_id"] == v.conversation_id

    # visitor -> agent; the bot stays silent while a person owns the chat
    bot_before = len([m for m in v.of("bot_uttered") if m["sender"] == "bot"])
    await v.say("My parcel PC-1234 has not arrived", client_id="v-2")
    heard = (await alex.wait_for("message", pred=lambda m: m["sender"] == "visitor"))[0]
    assert heard["text"] == "My parcel PC-1234 has not arrived" and heard["conversation_id"] == v.conversation_id

    # an internal note: agents see it, the visitor never does (live or on resync). Looked for by its
    # whole text and by its id and seq: a bare "VIP" also turns up, about once in 6,400 chats, in the
    # visitor's random session id (43 URL-safe characters, in session_confirm and session_state),
    # which once failed this check with no leak at all.
    note_text = "Customer sounds upset; VIP"
    note = await alex.call("note", {"conversation_id": v.conversation_id, "text": note_text})
    assert note["ok"] and note["message"]["sender"] == "note" and note["message"]["agent_name"] == "Alex"
    await alex.wait_for("message", pred=lambda m: m["sender"] == "note")
    await asyncio.sleep(0.5)
    assert len([m for m in v.of("bot_uttered") if m["sender"] == "bot"]) == bot_before

    def leaks(data) -> bool:
        """The note, whole or as a message: its text anywhere, or its sender, id or seq on a message."""
        if note_text in str(data) or "sounds upset" in str(data):
            return True
        return isinstance(data, dict) and (data.get("sender") == "note" or data.get("id") == note["message"]["id"]
                                           or data.get("seq") == note["message"]["seq"])

    assert not any(leaks(data) for _, data in v.events), [e for e in v.events if leaks(e[1])]
    resync = await v.resync(0)
    assert resync["ok"] and not any(leaks(m) for m in resync["messages"])
    later = Visitor(app.url)  # a new tab of the visitor
    clients.append(later)
    await later.connect(v.session_id)
    assert not any(leaks(m) for m in (await later.resync(0))["messages"])
    reread = await alex.call("open_chat", {"conversation_id": v.conversation_id, "after_seq": 0})
    assert [m["text"] for m in reread["messages"] if m["sender"] == "note"] == [note_text]
    assert [m["seq"] for m in reread["messages"]] == sorted(m["seq"] for m in reread["messages"])

    # close: the visitor is asked for a rating, the agent's slot frees
    assert (await alex.call("close", {"conversation_id": v.conversation_id}))["ok"]
    await v.wait_for("handoff", pred=lambda h: h["state"] == "closed")
    released = (await alex.wait_for("chat_released"))[0]
    assert released == {"conversation_id": v.conversation_id, "why": "closed"}
    assert (await alex.call("hello"))["chats"] == []


async def test_a_client_id_reused_by_another_writer_is_refused_and_reveals_nothing(app, staff, clients):
    """client_ids are unique per conversation whoever wrote, and a retry is answered with the message
    stored the first time: a visitor's message or file under the client_id of an agent's note (or of
    an agent's message) is refused, never answered with that message (the note's text, id or seq)."""
    alex = await agent(app, staff, clients, "Alex")
    v, cid = await assigned_chat(app, clients, alex)
    secret = "internal: refund approved by the shift lead"
    note = await alex.call("note", {"conversation_id": cid, "text": secret, "client_id": "n-1"})
    assert note["ok"] and note["duplicate"] is False
    sent = await alex.call("send", {"conversation_id": cid, "text": "Hello from Alex", "client_id": "a-1"})
    assert sent["ok"]

    for client_id in ("n-1", "a-1"):
        ack = await v.say("is anyone there?", client_id=client_id)
        assert ack["ok"] is False and ack["error"]["code"] == "bad_payload", ack
        assert secret not in str(ack) and note["message"]["seq"] != ack.get("seq")
        async with httpx.AsyncClient(base_url=app.url) as c:
            r = await c.post("/api/attachments", content=files.png(40, 30), headers={
                "X-Session-Id": v.session_id, "X-File-Name": "photo.png", "X-Client-Id": client_id})
        assert r.status_code == 409 and r.json()["error"]["code"] == "bad_payload", r.text
        assert secret not in r.text
    # the visitor's own retries are still answered with the first message
    first = await v.say("my own question", client_id="v-1")
    again = await v.say("my own question", client_id="v-1")
    assert first["ok"] and again["ok"] and again["duplicate"] is True and again["seq"] == first["seq"]
    # the same rule for agents (one place, chat.service.add_message): the visitor's client_id, or
    # a note's for a message, is refused in a message, a note and a file; nothing is stored
    before = len((await alex.call("open_chat", {"conversation_id": cid, "after_seq": 0}))["messages"])
    for event, client_id in (("send", "v-1"), ("note", "v-1"), ("send", "n-1"), ("note", "a-1")):
        ack = await alex.call(event, {"conversation_id": cid, "text": "hello", "client_id": client_id})
        assert ack["ok"] is False and ack["error"]["code"] == "bad_payload", (event, client_id, ack)
    async with httpx.AsyncClient(base_url=app.url, cookies={COOKIE: alex.token}) as http:
        r = await http.post(f"/api/console/conversations/{cid}/attachments", content=files.png(40, 30), headers={
            "X-Requested-With": "shopchat", "X-File-Name": "label.png", "X-Client-Id": "v-1"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "bad_payload", r.text
    assert len((await alex.call("open_chat", {"conversation_id": cid, "after_seq": 0}))["messages"]) == before
    assert (await alex.call("note", {"conversation_id": cid, "text": secret, "client_id": "n-1"}))["duplicate"] is True
    resync = await v.resync(0)
    assert all(m["sender"] != "note" and secret not in m["text"] for m in resync["messages"])


async def test_typing_is_relayed_both_ways(app, staff, clients):
    alex = await agent(app, staff, clients, "Alex")
    v, cid = await assigned_chat(app, clients, alex)
    assert (await alex.call("typing", {"conversation_id": cid, "typing": True}))["ok"]
    typing = (await v.wait_for("agent_typing"))[0]
    assert typing["typing"] is True and typing["agent_name"] == "Alex"
    await alex.call("typing", {"conversation_id": cid, "typing": False})
    await v.wait_for("agent_typing", pred=lambda t: t["typing"] is False)

    ack = await v.call("typing", {"session_id": v.session_id, "draft": "Where is my ord"})
    assert ack["ok"], ack
    draft = (await alex.wait_for("visitor_typing"))[0]
    assert draft == {"conversation_id": cid, "draft": "Where is my ord"}


async def test_an_agent_cannot_act_on_a_chat_they_do_not_own_but_an_admin_can(app, staff, clients):
    alex = await agent(app, staff, clients, "Alex")
    v, cid = await assigned_chat(app, clients, alex)
    sam = await agent(app, staff, clients, "Sam")
    for event, payload in [
        ("send", {"text": "let me steal this", "client_id": "s-1"}),
        ("note", {"text": "a note"}),
        ("typing", {"typing": True}),
        ("close", {}),
        ("transfer", {"to_agent_id": None}),
        ("transfer", {"to_agent_id": sam.user_id}),
        ("return_to_bot", {}),
        ("open_chat", {"after_seq": 0}),
        ("watch", {}),
        ("take_over", {}),
    ]:
        ack = await sam.call(event, {"conversation_id": cid, **payload})
        assert ack["ok"] is False, (event, ack)
        assert ack["error"]["code"] in ("not_owner", "not_available"), (event, ack)
    async with httpx.AsyncClient(base_url=app.url, cookies={COOKIE: sam.token}) as http:
        r = await http.get(f"/api/console/conversations/{cid}")
        assert r.status_code == 403 and r.json()["error"]["code"] == "not_owner"
        r = await http.get(f"/api/console/conversations/{cid}/history")
        assert r.status_code == 403
    await v.say("only Alex should read this", client_id="v-private")
    await alex.wait_for("message", pred=lambda m: m["text"] == "only Alex should read this")
    await asyncio.sleep(0.3)
    assert all("only Alex" not in str(d) and "steal" not in str(d) for _, d in sam.events)
    assert all("steal" not in str(d) for _, d in v.events)
    opened = await alex.call("open_chat", {"conversation_id": cid, "after_seq": 0})
    assert all("steal" not in m["text"] for m in opened["messages"])

    boss = await agent(app, staff, clients, "Boss", role="admin", online=False)
    opened = await boss.call("open_chat", {"conversation_id": cid, "after_seq": 0})
    assert opened["ok"] and opened["chat"]["can_write"] is True
    sent = await boss.call("send", {"conversation_id": cid, "text": "An admin here.", "client_id": "b-1"})
    assert sent["ok"]
    await v.wait_for("bot_uttered", pred=lambda m: m.get("agent_name") == "Boss")
    assert (await boss.call("transfer", {"conversation_id": cid, "to_agent_id": None}))["ok"]
    await alex.wait_for("chat_released", pred=lambda r: r["why"] == "transferred to queue")
    # requeued at the head and offered again: both are free, Sam was assigned least recently
    await sam.wait_for("offer", pred=lambda o: o["conversation_id"] == cid)
    assert (await boss.call("close", {"conversation_id": cid}))["ok"]
    await sam.wait_for("offer_withdrawn", pred=lambda w: w["conversation_id"] == cid)
    await v.wait_for("handoff", pred=lambda h: h["state"] == "closed")


async def test_two_agents_accepting_the_same_ring_to_all_offer_exactly_one_wins(app, staff, clients):
    await staff.settings(strategy="ring_to_all")
    alex = await agent(app, staff, clients, "Alex")
    sam = await agent(app, staff, clients, "Sam")
    v = await visitor(app, clients)
    await ask_for_person(v)
    offers = [(await a.wait_for("offer"))[0] for a in (alex, sam)]
    assert {o["conversation_id"] for o in offers} == {v.conversation_id}
    assert all(o["kind"] == "ring" for o in offers)
    acks = await asyncio.gather(*(a.call("accept", {"offer_id": o["offer_id"]}) for a, o in zip((alex, sam), offers)))
    assert sorted(a["ok"] for a in acks) == [False, True]
    loser_ack = next(a for a in acks if not a["ok"])
    assert loser_ack["error"]["code"] == "offer_gone"
    winner, loser = (alex, sam) if acks[0]["ok"] else (sam, alex)
    await winner.wait_for("chat_assigned")
    withdrawn = (await loser.wait_for("offer_withdrawn"))[0]
    assert withdrawn["conversation_id"] == v.conversation_id
    assert loser.of("chat_assigned") == []
    handoffs = [h for h in v.of("handoff") if h["state"] == "assigned"]
    assert len(handoffs) == 1
    # the loser cannot write in it
    ack = await loser.call("send", {"conversation_id": v.conversation_id, "text": "me too"})
    assert ack["error"]["code"] == "not_owner"


async def test_transfer_to_an_agent_rings_and_moves_the_chat_on_accept(app, staff, clients):
    alex = await agent(app, staff, clients, "Alex")
    v, cid = await assigned_chat(app, clients, alex)
    sam = await agent(app, staff, clients, "Sam")
    ack = await alex.call("transfer", {"conversation_id": cid, "to_agent_id": sam.user_id})
    assert ack == {"ok": True, "pending": True}
    offer = (await sam.wait_for("offer", pred=lambda o: o["kind"] == "transfer"))[0]
    assert offer["from_agent"] == "Alex" and offer["conversation_id"] == cid
    assert (await sam.call("accept", {"offer_id": offer["offer_id"]}))["ok"]
    moved = (await alex.wait_for("chat_assigned", pred=lambda a: a["agent_id"] == sam.user_id))[0]
    assert moved["previous_agent_id"] == alex.user_id
    await v.wait_for("handoff", pred=lambda h: h["state"] == "assigned" and h["agent"]["name"] == "Sam")
    # Sam's console now follows the chat; Alex's no longer may write in it
    await v.say("thanks Sam", client_id="v-sam")
    await sam.wait_for("message", pred=lambda m: m["text"] == "thanks Sam")
    assert (await alex.call("send", {"conversation_id": cid, "text": "still here"}))["error"]["code"] == "not_owner"
    assert (await sam.call("return_to_bot", {"conversation_id": cid}))["ok"]
    await v.wait_for("handoff", pred=lambda h: h["state"] == "bot")


async def test_take_over_a_chat_still_with_the_bot_from_the_overview(app, staff, clients):
    alex = await agent(app, staff, clients, "Alex")
    v = await visitor(app, clients, page={"url": "https://shop.test/boots", "title": HOSTILE, "referrer": "https://search.test/"})
    await v.say("do you ship to belgium?", client_id="q1")
    await v.wait_for("bot_uttered")
    async with httpx.AsyncClient(base_url=app.url, cookies={COOKIE: alex.token}) as http:
        overview = (await http.get("/api/console/overview")).json()
        row = next(r for r in overview["visitors"] if r["conversation_id"] == v.conversation_id)
        assert row["state"] == "bot" and row["can_take_over"] and row["visitor"]["page_title"] == HOSTILE
        assert row["referrer"] == "https://search.test/"
    peek = await alex.call("open_chat", {"conversation_id": v.conversation_id, "after_seq": 0})
    assert peek["ok"] and peek["chat"]["can_write"] is False  # read-only while with the bot
    assert (await alex.call("send", {"conversation_id": v.conversation_id, "text": "hi"}))["error"]["code"] == "not_owner"
    assert (await alex.call("take_over", {"conversation_id": v.conversation_id}))["ok"]
    await v.wait_for("handoff", pred=lambda h: h["state"] == "assigned")
    assert (await alex.call("send", {"conversation_id": v.conversation_id, "text": "Hi, can I help?"}))["ok"]
    await v.wait_for("bot_uttered", pred=lambda m: m["sender"] == "agent")


# ---- the console's HTTP API -------------------------------------------------------------------------

async def test_console_api_history_search_canned_and_admin_only_settings(app, staff, clients):
    alex = await agent(app, staff, clients, "Alex")
    v, cid = await assigned_chat(app, clients, alex)
    await v.say("my order PC-9876 arrived broken", client_id="v-broken")
    await alex.wait_for("message", pred=lambda m: "broken" in m["text"])
    await alex.call("close", {"conversation_id": cid})
    later = await visitor(app, clients)  # the same browser comes back another day
    async with staff.sm() as db:
        from chat.models import Conversation

        for conv_id in (cid, later.conversation_id):
            conv = await db.get(Conversation, conv_id)
            conv.visitor_id = "browser-1"
        await db.commit()
    await ask_for_person(later)
    offer = (await alex.wait_for("offer", pred=lambda o: o["conversation_id"] == later.conversation_id))[0]
    assert offer["kind"] == "sticky"  # the agent who served this visitor before
    await alex.call("accept", {"offer_id": offer["offer_id"]})

    async with httpx.AsyncClient(base_url=app.url, cookies={COOKIE: alex.token}) as http:
        history = (await http.get(f"/api/console/conversations/{later.conversation_id}/history")).json()
        assert [c["conversation_id"] for c in history["conversations"]] == [cid]
        assert history["conversations"][0]["agents"] == ["Alex"]
        found = (await http.get("/api/console/search", params={"q": "pc-9876"})).json()
        assert [c["conversation_id"] for c in found["conversations"]] == [cid]
        assert "PC-9876" in found["conversations"][0]["match"]
        assert (await http.get("/api/console/search", params={"q": "100%_"})).json()["conversations"] == []
        assert (await http.get("/api/console/search", params={"q": "x"})).status_code == 422
        past = (await http.get(f"/api/console/conversations/{cid}")).json()
        assert past["chat"]["state"] == "closed" and past["chat"]["can_write"] is False
        assert [t["to"] for t in past["transitions"]][-2:] == ["assigned", "closed"]
        canned = (await http.get("/api/console/canned")).json()["canned"]
        assert any(c["shortcut"] == "hello" and "{visitor_name}" in c["text"] for c in canned)
        assert (await http.get("/api/console/settings")).json()["settings"]["strategy"] == "average_utilization"
        r = await http.put("/api/console/settings", json={"strategy": "random"}, headers=CSRF)
        assert r.status_code == 403
        assert (await http.get("/api/console/ranking")).status_code == 403
        mine = (await http.get("/api/console/ratings/mine")).json()
        assert mine["summary"]["ratings"] == 0
    async with httpx.AsyncClient(base_url=app.url) as http:
        assert (await http.get("/api/console/overview")).status_code == 401
    _, boss_token = await staff.user("Boss", "admin")
    async with httpx.AsyncClient(base_url=app.url, cookies={COOKIE: boss_token}) as http:
        r = await http.put("/api/console/settings", json={"strategy": "random"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
        r = await http.put("/api/console/settings", json={"routing_time_s": 2}, headers=CSRF)
        assert r.status_code == 422 and r.json()["error"]["field"] == "routing_time_s"
        r = await http.put("/api/console/settings", json={"strategy": "ring_to_all", "routing_time_s": 20}, headers=CSRF)
        assert r.status_code == 200 and r.json()["settings"]["strategy"] == "ring_to_all"
        hello = await alex.call("hello")
        assert hello["settings"]["strategy"] == "ring_to_all" and hello["settings"]["routing_time_s"] == 20
        ranking = (await http.get("/api/console/ranking")).json()
        alex_row = next(a for a in ranking["agents"] if a["name"] == "Alex")
        assert alex_row["chats"] == 2
    _, editor_token = await staff.user("Erin", "editor")
    async with httpx.AsyncClient(base_url=app.url, cookies={COOKIE: editor_token}) as http:
        assert (await http.get("/api/console/overview")).status_code == 403


async def test_consoles_hear_of_new_offline_messages_and_ratings_at_once(app, staff, clients):
    away = await agent(app, staff, clients, "Away", online=False)  # nobody online: the offline form
    v = await visitor(app, clients)
    await ask_for_person(v)
    await v.wait_for("handoff", pred=lambda h: h["state"] == "offline")
    ack = await v.call("offline_message", {"email": "maria@example.com", "message": "Please call me back"})
    assert ack["ok"], ack
    [changed] = await away.wait_for("tickets_changed")
    assert changed == {"ticket_id": ack["ticket_id"]}
    # a rating reaches the consoles too (the agent whose chat it was, and the admins' ranking)
    alex = await agent(app, staff, clients, "Alex")
    v2, cid = await assigned_chat(app, clients, alex)
    assert (await alex.call("close", {"conversation_id": cid}))["ok"]
    await v2.wait_for("handoff", pred=lambda h: h["state"] == "closed")
    assert (await v2.call("rate", {"stars": 5}))["ok"]
    [rated] = await alex.wait_for("rated")
    assert rated == {"conversation_id": cid, "stars": 5, "agent_id": alex.user_id}
    assert (await away.wait_for("rated"))[0]["conversation_id"] == cid


async def test_an_accept_retried_after_a_lost_ack_is_ok_while_the_chat_is_still_its(app, staff, clients):
    """Accepting again an offer this agent accepted answers ok with the chat, and changes nothing;
    once the chat has left the agent (closed), the same retry is offer_gone."""
    alex = await agent(app, staff, clients, "Alex")
    v, cid = await assigned_chat(app, clients, alex)
    offer_id = alex.of("offer")[-1]["offer_id"]
    again = await alex.call("accept", {"offer_id": offer_id})
    assert again == {"ok": True, "conversation_id": cid, "already_accepted": True}
    assert [c["conversation_id"] for c in (await alex.call("hello"))["chats"]] == [cid]
    assert await alex.call("close", {"conversation_id": cid}) == {"ok": True}
    late = await alex.call("accept", {"offer_id": offer_id})
    assert late["ok"] is False and late["error"]["code"] == "offer_gone"


async def test_a_close_retried_after_a_lost_ack_is_ok_for_its_closer_only(app, staff, clients):
    """The console retries a close whose ack never came (a slow answer, a reconnect to another
    process): the chat is closed already, and the agent who closed it hears ok, not not_owner. Another
    agent closing that chat is still refused, and the retry changes nothing (no second release)."""
    alex = await agent(app, staff, clients, "Alex")
    bea = await agent(app, staff, clients, "Bea")
    v, cid = await assigned_chat(app, clients, alex)
    assert await alex.call("close", {"conversation_id": cid}) == {"ok": True}
    await alex.wait_for("chat_released")
    assert await alex.call("close", {"conversation_id": cid}) == {"ok": True, "already_closed": True}
    refused = await bea.call("close", {"conversation_id": cid})
    assert refused["ok"] is False and refused["error"]["code"] == "not_owner"
    assert (await v.call("rate", {"stars": 4}))["ok"]
    assert await alex.call("close", {"conversation_id": cid}) == {"ok": True, "already_closed": True}
    await asyncio.sleep(0.3)
    assert len(alex.of("chat_released")) == 1


async def test_console_page_is_served_and_never_framed(app):
    async with httpx.AsyncClient(base_url=app.url) as http:
        r = await http.get("/console/")
        assert r.status_code == 200 and "console.js?v=" in r.text
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY" and r.headers["cache-control"] == "no-store"
        assert (await http.get("/console", follow_redirects=False)).status_code in (301, 302, 307, 308)
        assert (await http.get("/widget/console/index.html")).status_code == 404
