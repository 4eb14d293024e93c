"""Clients written for Rasa's socket.io channel (rasa-webchat and the like) against the real app
process, with real python-socketio clients that talk exactly as such a client does: no
`extensions` flag, no ack callbacks, `customData` with every message. They must get only what
Rasa's channel sends (chat/visitor_events.py); the product's widget asks for the extensions and
gets everything. Rasa is down here: the bot answers from the knowledge base."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from chat import visitor_events
from chat.models import Conversation
from tests.chat.visitor_client import Visitor
from tests.handoff.test_agent_socket import Agent, Staff

RASA_EVENTS = {"session_confirm", "bot_uttered"}
RASA_QUICK_REPLY_KEYS = {"content_type", "title", "payload"}


@pytest.fixture
async def staff(demo_app):
    s = Staff(demo_app.env["SHOPCHAT_DATABASE_URL"])
    yield s
    await s.close()


@pytest.fixture
async def clients():
    made: list = []
    yield made
    for c in made:
        await c.close()


class RasaClient(Visitor):
    """Talks like rasa-webchat 1.0.1: session_request {session_id}, then user_uttered {message,
    customData, session_id}, both without an ack; switches to the id session_confirm names."""

    async def start(self, session_id: str | None = None) -> str:
        if not self.sio.connected:
            await self.sio.connect(self.url, transports=["websocket"])
        before = len(self.of("session_confirm"))
        await self.sio.emit("session_request", {"session_id": session_id})
        self.session_id = (await self.wait_for("session_confirm", count=before + 1))[-1]
        return self.session_id

    async def utter(self, message: str, custom_data: object = None) -> None:
        payload = {"message": message, "session_id": self.session_id}
        if custom_data is not None:
            payload["customData"] = custom_data
        await self.sio.emit("user_uttered", payload)


async def rasa_client(app, clients, session_id: str | None = None) -> RasaClient:
    c = RasaClient(app.url)
    clients.append(c)
    await c.start(session_id)
    return c


async def widget(app, clients, session_id: str) -> Visitor:
    v = Visitor(app.url)
    clients.append(v)
    assert (await v.connect(session_id))["ok"]  # extensions: true, as widget/src/chat.js asks
    return v


def texts(c: Visitor) -> list[str]:
    return [m["text"] for m in c.of("bot_uttered")]


async def conversation(app, session_id: str) -> Conversation:
    from app.db import make_engine, make_sessionmaker
    from chat import service

    engine = make_engine(app.env["SHOPCHAT_DATABASE_URL"])
    try:
        async with make_sessionmaker(engine)() as db:
            return await service.find_by_token(db, session_id)
    finally:
        await engine.dispose()


async def test_a_rasa_client_gets_exactly_what_rasas_channel_sends(demo_app, clients):
    plain = await rasa_client(demo_app, clients)
    tab = await widget(demo_app, clients, plain.session_id)  # the same conversation in the widget
    assert isinstance(plain.session_id, str) and plain.of("session_state") == []

    await plain.utter("Which payment methods do you accept?", {"language": "en"})
    answer = (await plain.wait_for("bot_uttered"))[0]
    # a text with buttons, as Rasa's send_text_with_buttons: these two keys and no other
    assert set(answer) == {"text", "quick_replies"}
    assert all(set(q) == RASA_QUICK_REPLY_KEYS for q in answer["quick_replies"])
    assert "Talk to a person" in [q["title"] for q in answer["quick_replies"]]
    # the widget gets the same message with every extension
    full = (await tab.wait_for("bot_uttered"))[0]
    assert full["text"] == answer["text"] and full["quick_replies"] == answer["quick_replies"]
    assert full["seq"] == 2 and full["sender"] == "bot" and full["kb"]["title"] and full["id"] and full["created_at"]
    assert (await tab.wait_for("visitor_uttered"))[0]["text"] == "Which payment methods do you accept?"
    await tab.wait_for("bot_typing", pred=lambda t: t["typing"] is False)
    await asyncio.sleep(0.2)
    assert {name for name, _ in plain.events} == RASA_EVENTS  # no typing, echo or state events

    # a button click sends its payload as the message, as rasa-webchat does
    yes = next(q for q in answer["quick_replies"] if q["payload"] == "/affirm")
    await plain.utter(yes["payload"], {"language": "en"})
    reply = (await plain.wait_for("bot_uttered", count=2))[1]
    assert set(reply) <= {"text", "quick_replies"} and reply["text"]


async def test_handoff_reaches_a_rasa_client_as_text_and_the_agent_writes_in_it(demo_app, staff, clients):
    user_id, token = await staff.user("Alex")
    alex = Agent(demo_app.url, token)
    clients.append(alex)
    await alex.connect()
    await alex.online()
    plain = await rasa_client(demo_app, clients)

    await plain.utter("can i talk to a real person")
    await plain.wait_for("bot_uttered", pred=lambda m: m["text"] == "You're number 1 in line.")
    offer = (await alex.wait_for("offer"))[0]
    assert (await alex.call("accept", {"offer_id": offer["offer_id"]}))["ok"]
    await plain.wait_for("bot_uttered", pred=lambda m: m["text"] == "Alex joined the chat.")

    cid = offer["conversation_id"]
    assert (await alex.call("typing", {"conversation_id": cid, "typing": True}))["ok"]
    assert (await alex.call("send", {"conversation_id": cid, "text": "Hi, I'm **Alex**. How can I help?"}))["ok"]
    said = (await plain.wait_for("bot_uttered", pred=lambda m: m["text"].startswith("Alex:")))[0]
    assert said == {"text": "Alex: Hi, I'm **Alex**. How can I help?"}  # a plain text message

    await plain.utter("my parcel never arrived")  # the agent reads it like any visitor's message
    await alex.wait_for("message", pred=lambda m: m["text"] == "my parcel never arrived")
    assert (await alex.call("close", {"conversation_id": cid}))["ok"]
    await plain.wait_for("bot_uttered", pred=lambda m: m["text"] == "This chat has ended. Thank you!")
    assert {name for name, _ in plain.events} == RASA_EVENTS
    assert all(set(m) <= {"text", "quick_replies"} for m in plain.of("bot_uttered"))
    # each handoff state said once, in order
    assert [t for t in texts(plain) if t in ("You're number 1 in line.", "Alex joined the chat.",
                                             "This chat has ended. Thank you!")] == [
        "You're number 1 in line.", "Alex joined the chat.", "This chat has ended. Thank you!"]


async def test_custom_data_language_is_the_visitors_language_and_the_rest_is_ignored(demo_app, clients):
    plain = await rasa_client(demo_app, clients)
    await plain.utter("hello", {"language": "el", "userId": "whatever the shop adds"})
    await plain.wait_for("bot_uttered")
    assert (await conversation(demo_app, plain.session_id)).language == "el"

    # malformed customData is ignored, as Rasa ignores it: the message is answered, nothing changes
    for i, custom in enumerate([{"language": "<script>"}, {"language": 7}, "not an object", ["el"]]):
        await plain.utter(f"payment methods {i}", custom)
        await plain.wait_for("bot_uttered", count=i + 2)
    assert (await conversation(demo_app, plain.session_id)).language == "el"
    assert plain.of("error") == []

    # what the product says about the handoff comes in that language (nobody is online here)
    await plain.utter("can i talk to a real person", {"language": "el"})
    await plain.wait_for("bot_uttered", pred=lambda m: m["text"] == visitor_events.TEXTS["el"]["offline"])


async def test_an_unknown_session_id_gets_a_new_conversation_and_its_id(demo_app, clients):
    alice = await rasa_client(demo_app, clients)
    await alice.utter("payment methods")
    await alice.wait_for("bot_uttered")

    stale = "an-id-kept-in-storage-from-an-old-server"
    first = await rasa_client(demo_app, clients, stale)
    second = await rasa_client(demo_app, clients, stale)
    assert len({first.session_id, second.session_id, alice.session_id, stale}) == 4  # always a new id
    for c in (first, second):
        assert (await conversation(demo_app, c.session_id)).last_seq == 0  # a new, empty conversation
        assert c.of("error") == [] and c.of("bot_uttered") == []
    assert await conversation(demo_app, stale) is None  # nothing was made under the client's id

    await first.utter("payment methods")  # the client switched to the confirmed id and works
    await first.wait_for("bot_uttered")
    again = await rasa_client(demo_app, clients, first.session_id)  # a known id resumes (a reload)
    assert again.session_id == first.session_id
    assert (await conversation(demo_app, alice.session_id)).last_seq == 2  # Alice's is untouched


async def test_a_message_sent_before_session_request_is_kept_and_answered(demo_app, clients):
    """socket.io-client flushes what was emitted while connecting before its `connect` handlers
    run: a shopper who types at once sends user_uttered (session_id null) before session_request."""
    plain = RasaClient(demo_app.url)
    clients.append(plain)
    await plain.sio.connect(demo_app.url, transports=["websocket"])
    await plain.sio.emit("user_uttered", {"message": "Which payment methods do you accept?", "session_id": None,
                                          "customData": {"language": "en"}})
    await plain.sio.emit("session_request", {"session_id": None})
    answer = (await plain.wait_for("bot_uttered"))[0]
    assert "PayPal" in answer["text"]
    confirmed = await plain.wait_for("session_confirm", count=2)
    assert confirmed[0] == confirmed[1]  # the request that followed was given the same conversation
    conv = await conversation(demo_app, confirmed[0])
    assert conv.last_seq == 2 and plain.of("error") == []

    # other events still need a session: nothing is started for them
    other = Visitor(demo_app.url)
    clients.append(other)
    await other.sio.connect(demo_app.url, transports=["websocket"])
    ack = await other.sio.call("resync", {"after_seq": 0}, timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "no_session"


async def test_the_extensions_flag_must_be_a_boolean(demo_app, clients):
    v = Visitor(demo_app.url)
    clients.append(v)
    await v.sio.connect(demo_app.url, transports=["websocket"])
    for flag in ("yes", 1, ["x"], {"a": 1}):
        ack = await v.sio.call("session_request", {"session_id": None, "extensions": flag}, timeout=10)
        assert ack["ok"] is False and ack["error"]["code"] == "bad_payload" and "extensions" in ack["error"]["message"]
    assert v.of("session_confirm") == []


class _Sio:
    def __init__(self):
        self.sent: list[tuple] = []

    async def emit(self, event, data, room=None, skip_sid=None):
        self.sent.append((event, data, room))


class _Ctx:
    """Just enough of AppContext for emit(): a recording sio and the real database."""

    def __init__(self, sessionmaker):
        self.sio, self.sessionmaker = _Sio(), sessionmaker


async def test_the_queue_refresh_is_said_to_a_plain_client_only_when_the_place_changes(sessionmaker):
    async with sessionmaker() as db:
        db.add(Conversation(id="c" * 32, token_hash="h" * 64, language="en"))
        await db.commit()
    ctx = _Ctx(sessionmaker)
    for position in (2, 2, 2, 1, 1):
        await visitor_events.emit(ctx, "c" * 32, "handoff", {"state": "queued", "position": position,
                                                              "estimated_wait_s": 30})
    plain = [(d, r) for e, d, r in ctx.sio.sent if r == visitor_events.plain_room("c" * 32)]
    assert plain == [({"text": "You're number 2 in line."}, "rasa:" + "c" * 32),
                     ({"text": "You're number 1 in line."}, "rasa:" + "c" * 32)]
    extended = [d for e, d, r in ctx.sio.sent if r == visitor_events.ext_room("c" * 32)]
    assert len(extended) == 5 and all(d["state"] == "queued" for d in extended)
