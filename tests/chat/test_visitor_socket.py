"""The visitor protocol against the real app process and real Socket.IO clients. Rasa is not
running here, so these also show the knowledge-base-only path (the Rasa tests live in
tests/integration)."""
import asyncio

import httpx
import pytest
import socketio

from tests.chat.visitor_client import Visitor
from tests.conftest import load_demo
from tests.support import LiveApp


@pytest.fixture
def app(demo_app_each_db):
    return demo_app_each_db


@pytest.fixture
async def visitor(app):
    v = Visitor(app.url)
    yield v
    await v.close()


async def test_new_session_is_a_secret_confirmed_the_rasa_way(app, visitor):
    ack = await visitor.connect()
    assert ack["ok"] and ack["state"] == "bot" and ack["last_seq"] == 0
    confirm = await visitor.wait_for("session_confirm")
    assert confirm[0] == ack["session_id"] and len(ack["session_id"]) >= 40  # a bare string, like Rasa
    state = (await visitor.wait_for("session_state"))[0]
    assert state["conversation_id"] == ack["conversation_id"]


async def test_message_is_stored_then_acked_and_answered_from_the_kb_without_rasa(app, visitor):
    await visitor.connect()
    ack = await visitor.say("Which payment methods do you accept?", client_id="c1")
    assert ack == {"ok": True, "id": ack["id"], "seq": 1, "client_id": "c1", "duplicate": False}
    answer = (await visitor.wait_for("bot_uttered"))[0]
    assert answer["seq"] == 2 and answer["sender"] == "bot"
    assert answer["kb"]["title"] == "Payment methods"
    assert any(q["payload"] == "/human_handoff" for q in answer["quick_replies"])
    health = httpx.get(f"{app.url}/health").json()
    assert health == {"status": "ok", "db": "up", "rasa": "down", "rasa_actions": "unknown"}


async def test_retried_client_id_is_stored_once_and_answered_once(app, visitor):
    await visitor.connect()
    first = await visitor.say("how do I return an item", client_id="same")
    await visitor.wait_for("bot_uttered")
    again = await visitor.say("how do I return an item", client_id="same")
    assert again["duplicate"] is True and again["id"] == first["id"] and again["seq"] == first["seq"]
    await asyncio.sleep(0.5)
    assert len(visitor.of("bot_uttered")) == 1
    history = await visitor.resync(0)
    assert [m["seq"] for m in history["messages"]] == [1, 2]


async def test_resync_returns_everything_after_a_sequence_in_order(app, visitor):
    await visitor.connect()
    for i, q in enumerate(["payment methods", "how long is delivery", "asdfgh"]):
        await visitor.say(q, client_id=f"m{i}")
        await visitor.wait_for("bot_uttered", count=i + 1)
    all_msgs = (await visitor.resync(0))["messages"]
    assert [m["seq"] for m in all_msgs] == [1, 2, 3, 4, 5, 6]
    assert [m["sender"] for m in all_msgs] == ["visitor", "bot"] * 3
    assert all_msgs[5].get("fallback") is True
    tail = await visitor.resync(4)
    assert [m["seq"] for m in tail["messages"]] == [5, 6] and tail["last_seq"] == 6


async def test_handoff_request_without_rasa(app, visitor, sessionmaker):
    # nobody online: the offline form is offered at once (no `requested`, no name questions), then
    # what the chat knows to prefill it (chat/offline_first.py)
    await visitor.connect()
    await visitor.say("can i talk to a real person")
    handoffs = await visitor.wait_for("handoff", count=2)
    assert [h["state"] for h in handoffs] == ["offline", "offline"]
    assert handoffs[0]["reason"]  # the bot's words for it belong to bot/ (visitor_asked today)
    assert handoffs[1]["visitor"] == {"name": "", "email": ""}
    assert (await visitor.resync(0))["state"] == "offline_form"
    # an agent online: queued, with the position
    await add_agent(sessionmaker)
    other = Visitor(app.url)
    await other.connect()
    await other.say("can i talk to a real person")
    handoffs = await other.wait_for("handoff", count=2)
    assert [h["state"] for h in handoffs[:2]] == ["requested", "queued"]
    assert handoffs[1]["position"] == 1
    assert (await other.resync(0))["state"] == "queued"
    # a second tab of the same visitor sees the state on connect
    tab = Visitor(app.url)
    assert (await tab.connect(other.session_id))["state"] == "queued"
    await tab.close()
    await other.close()


async def test_other_tabs_of_the_visitor_see_the_conversation(app, visitor):
    await visitor.connect()
    tab = Visitor(app.url)
    await tab.connect(visitor.session_id)
    await visitor.say("payment methods", client_id="x1")
    echoed = (await tab.wait_for("visitor_uttered"))[0]
    assert echoed["text"] == "payment methods" and echoed["seq"] == 1
    await tab.wait_for("bot_uttered")
    assert visitor.of("visitor_uttered") == []  # the sender is not echoed
    await tab.close()


@pytest.mark.parametrize(
    "event, payload, code",
    [
        ("user_uttered", {"session_id": None}, "bad_payload"),
        ("user_uttered", {"message": 12}, "bad_payload"),
        ("user_uttered", "just a string", "bad_payload"),
        ("user_uttered", {"message": "x" * 1_000_000}, "message_too_long"),
        ("user_uttered", {"message": ""}, "empty_message"),
        ("user_uttered", {"message": "hi\x00there"}, "bad_payload"),  # PostgreSQL cannot store a NUL
        ("session_request", {"session_id": None, "page": {"url": "https://shop.test/\x00"}}, "bad_payload"),
        ("resync", {"after_seq": "zero"}, "bad_payload"),
        ("session_request", {"session_id": 5}, "bad_payload"),
    ],
)
async def test_bad_input_gets_a_clear_error_and_changes_nothing(app, visitor, event, payload, code):
    await visitor.connect()
    ack = await visitor.sio.call(event, payload, timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == code
    err = (await visitor.wait_for("error"))[0]
    assert err["code"] == code and err["event"] == event and err["message"]
    assert (await visitor.resync(0))["messages"] == []
    ok = await visitor.say("payment methods")  # the connection still works
    assert ok["ok"] and ok["seq"] == 1


async def test_an_unknown_session_id_starts_a_new_conversation(app, visitor):
    # (tests/chat/test_plain_rasa_clients.py has the Rasa client's side of this)
    ack = await visitor.connect(session_id="not-a-session-anybody-has")
    assert ack["ok"] is True and ack["session_id"] != "not-a-session-anybody-has" and ack["last_seq"] == 0
    assert visitor.of("session_confirm") == [ack["session_id"]]
    assert visitor.of("error") == []


async def test_nothing_but_a_first_message_works_before_a_session(app):
    v = Visitor(app.url)
    await v.sio.connect(app.url, transports=["websocket"])
    ack = await v.sio.call("resync", {"after_seq": 0}, timeout=5)
    assert ack["error"]["code"] == "no_session"
    ack = await v.sio.call("user_uttered", {"message": "hi", "session_id": "guess"}, timeout=5)
    assert ack["error"]["code"] == "unknown_session"
    # a message with no id at all starts a conversation (a shopper typing while the client connects;
    # tests/chat/test_plain_rasa_clients.py), and the guess above made none
    ack = await v.sio.call("user_uttered", {"message": "hi"}, timeout=5)
    assert ack["ok"] and ack["seq"] == 1
    await v.close()


async def test_a_visitor_cannot_read_or_write_another_conversation(app):
    alice, mallory = Visitor(app.url), Visitor(app.url)
    await alice.connect()
    await alice.say("my order number is PC-1234, payment methods?")
    await alice.wait_for("bot_uttered")
    await mallory.connect()
    # naming Alice's conversation id (not her secret) gets nothing
    ack = await mallory.sio.call("user_uttered", {"message": "hi", "session_id": (await alice.resync(0))["messages"][0]["id"].__str__()}, timeout=5)
    assert ack["error"]["code"] == "session_mismatch"
    history = await mallory.resync(0)
    assert history["messages"] == []
    assert all("PC-1234" not in str(d) for _, d in mallory.events)
    assert [m["seq"] for m in (await alice.resync(0))["messages"]] == [1, 2]
    await alice.close()
    await mallory.close()


async def test_foreign_origin_is_refused(app):
    v = Visitor(app.url, headers={"Origin": "https://evil.example"})
    with pytest.raises(socketio.exceptions.ConnectionError):
        await v.sio.connect(app.url, headers=v.headers, transports=["websocket"])
    ok = Visitor(app.url, headers={"Origin": app.url})
    assert (await ok.connect())["ok"]
    await ok.close()


async def test_too_many_messages_are_rate_limited(app, visitor):
    await visitor.connect()
    acks = [await visitor.say(f"msg {i}") for i in range(25)]
    assert [a["ok"] for a in acks].count(True) == 20
    assert acks[-1]["error"]["code"] == "rate_limited"


async def test_kill_9_and_restart_lose_nothing_and_duplicate_nothing(app, visitor):
    await visitor.connect()
    await visitor.say("payment methods", client_id="before")
    await visitor.wait_for("bot_uttered")
    # the bot's turn is over (the message is marked answered) before the kill; killed in between,
    # the resend below would rightly be answered again
    await visitor.wait_for("bot_typing", pred=lambda t: t["typing"] is False)
    app.kill()
    app.start()
    again = Visitor(app.url)
    state = await again.connect(visitor.session_id)
    assert state["ok"] and state["last_seq"] == 2
    # the visitor's outbox resends a message whose ack was lost, then sends a new one
    assert (await again.say("payment methods", client_id="before"))["duplicate"] is True
    await again.say("how long does delivery take", client_id="after")
    await again.wait_for("bot_uttered")
    seqs = [m["seq"] for m in (await again.resync(0))["messages"]]
    assert seqs == [1, 2, 3, 4]
    await again.close()


async def test_a_hung_rasa_still_gets_the_visitor_an_answer(db_url):
    """Rasa accepts the connection but never answers: after the client timeout the knowledge base
    answers alone."""
    import socket

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)  # the kernel completes handshakes; nobody ever reads
    await asyncio.to_thread(load_demo, db_url)
    live = await asyncio.to_thread(LiveApp(db_url, rasa_url=f"http://127.0.0.1:{hung.getsockname()[1]}",
                                           env={"SHOPCHAT_RASA_TIMEOUT_S": "1"}).start)
    v = Visitor(live.url)
    try:
        await v.connect()
        await v.say("Which payment methods do you accept?")
        answer = (await v.wait_for("bot_uttered", timeout=10))[0]
        assert answer["kb"]["title"] == "Payment methods"
    finally:
        await v.close()
        live.stop()
        hung.close()


# ---- handoff from the visitor's side: visit tracking, queue, end, rating, offline form ----------
# The conversation is moved through the real routing engine (handoff/routing.py) against the app's
# database; the visitor speaks to the real app process.

from datetime import timedelta  # noqa: E402

from sqlalchemy import func, select  # noqa: E402

from accounts.models import User  # noqa: E402
from app.db import utcnow  # noqa: E402
from chat import service  # noqa: E402
from chat.models import Conversation, Message, Transition  # noqa: E402
from handoff import routing  # noqa: E402
from handoff.models import Offer, QueueEntry, Rating, Ticket  # noqa: E402
from tests.chat.visitor_client import SmtpSink, body  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"


async def add_agent(sm, name: str = "Alex") -> int:
    async with sm() as db:
        user = User(email=f"{name.lower()}@agents.test", display_name=name, role="agent", password_hash="x",
                    status="online", last_heartbeat_at=utcnow())
        db.add(user)
        await db.commit()
        return user.id


async def enqueue(sm, cid: str) -> routing.Effects:
    async with sm() as db:
        return await routing.enqueue(db, cid, reason="visitor_asked", actor="visitor", now=utcnow())


async def accept(sm, cid: str, agent_id: int) -> None:
    async with sm() as db:
        offer = await db.scalar(select(Offer).where(Offer.conversation_id == cid, Offer.status == "pending"))
        await routing.accept(db, offer.id, agent_id, now=utcnow())


async def conversation(sm, cid: str) -> Conversation:
    async with sm() as db:
        return await db.get(Conversation, cid)


async def count(sm, model, **where) -> int:
    async with sm() as db:
        q = select(func.count()).select_from(model)
        for key, value in where.items():
            q = q.where(getattr(model, key) == value)
        return await db.scalar(q)


async def test_visitor_id_and_pages_are_recorded(app, sessionmaker):
    vid = "v_" + "a1B2-c3" * 4
    v = Visitor(app.url)
    page1 = {"url": "https://shop.test/", "title": "Home", "referrer": "https://search.test/?q=pine"}
    ack = await v.connect(visitor_id=vid, page=page1)
    assert ack["ok"] and ack["handoff"] == {"state": "bot"}
    for page in ({"url": "https://shop.test/", "title": "Home"},  # a reload: not repeated
                 {"url": "https://shop.test/p/1", "title": "Pine cone lamp"}):
        tab = Visitor(app.url)
        assert (await tab.connect(v.session_id, visitor_id=vid, page=page))["ok"]
        await tab.close()
    conv = await conversation(sessionmaker, ack["conversation_id"])
    assert conv.visitor_id == vid
    assert [(p["url"], p["title"]) for p in conv.pages] == [("https://shop.test/", "Home"),
                                                           ("https://shop.test/p/1", "Pine cone lamp")]
    assert all(p["at"].endswith("Z") for p in conv.pages)
    seen = routing.aware(conv.last_seen_at)
    assert utcnow() - seen < timedelta(seconds=30)
    assert conv.page_url == "https://shop.test/p/1"

    # at most the last 50 pages are kept
    for i in range(55):
        assert (await v.call("session_request", {"session_id": v.session_id,
                                                 "page": {"url": f"https://shop.test/{i}"}}))["ok"]
    conv = await conversation(sessionmaker, ack["conversation_id"])
    assert len(conv.pages) == 50
    assert conv.pages[0]["url"] == "https://shop.test/5" and conv.pages[-1]["url"] == "https://shop.test/54"
    await v.close()

    # a bad visitor id is refused and starts nothing
    for bad in ["short", "x" * 65, "has space in it!!", 12345678901234567, "ü" * 20]:
        other = Visitor(app.url)
        refused = await other.connect(visitor_id=bad)
        assert refused["ok"] is False and refused["error"]["code"] == "bad_payload", bad
        assert other.of("session_confirm") == []
        await other.close()
    assert await count(sessionmaker, Conversation) == 1


async def test_session_state_carries_the_handoff_snapshot(app, visitor, sessionmaker):
    await visitor.connect()
    cid = visitor.conversation_id
    alex = await add_agent(sessionmaker, "Alex")
    await enqueue(sessionmaker, cid)
    tab = Visitor(app.url)
    state = await tab.connect(visitor.session_id)
    assert state["state"] == "queued"
    assert state["handoff"] == {"state": "queued", "position": 1, "estimated_wait_s": None}
    assert (await tab.wait_for("session_state"))[0]["handoff"] == state["handoff"]
    await tab.close()
    await accept(sessionmaker, cid, alex)
    async with sessionmaker() as db:  # an agent's message as the agent namespace stores it
        await service.add_message(db, conversation_id=cid, sender="agent", agent_id=alex, text="Hi, Alex here")
    tab = Visitor(app.url)
    state = await tab.connect(visitor.session_id)
    assert state["state"] == "assigned"
    assert state["handoff"] == {"state": "assigned", "agent": {"name": "Alex"}}
    history = await tab.resync(0)
    assert history["handoff"] == state["handoff"]
    assert [(m["sender"], m["text"], m["agent_name"]) for m in history["messages"]] == [
        ("agent", "Hi, Alex here", "Alex")]
    await tab.close()


async def test_leave_queue_returns_the_chat_to_the_bot(app, visitor, sessionmaker):
    await visitor.connect()
    cid = visitor.conversation_id
    await add_agent(sessionmaker)
    await enqueue(sessionmaker, cid)
    assert await count(sessionmaker, Offer, conversation_id=cid, status="pending") == 1
    ack = await visitor.call("leave_queue")
    assert ack == {"ok": True, "state": "bot"}
    assert (await visitor.wait_for("handoff", pred=lambda h: h["state"] == "bot"))[0]["reason"] == "left the queue"
    assert (await conversation(sessionmaker, cid)).state == "bot"
    assert await count(sessionmaker, QueueEntry, conversation_id=cid) == 0
    assert await count(sessionmaker, Offer, conversation_id=cid, status="pending") == 0
    assert await count(sessionmaker, Transition, conversation_id=cid, to_state="bot", actor="visitor") == 1
    # and the bot answers again
    await visitor.say("Which payment methods do you accept?")
    assert (await visitor.wait_for("bot_uttered"))[0]["kb"]["title"] == "Payment methods"
    # leaving again is an error that changes nothing
    again = await visitor.call("leave_queue")
    assert again["ok"] is False and again["error"]["code"] == "not_queued"


async def test_end_chat_closes_it(app, visitor, sessionmaker):
    await visitor.connect()
    cid = visitor.conversation_id
    agent = await add_agent(sessionmaker)
    await enqueue(sessionmaker, cid)
    await accept(sessionmaker, cid, agent)
    ack = await visitor.call("end_chat")
    assert ack == {"ok": True, "state": "closed"}
    closed = (await visitor.wait_for("handoff", pred=lambda h: h["state"] == "closed"))[0]
    assert closed["rating_requested"] is True
    conv = await conversation(sessionmaker, cid)
    assert conv.state == "closed" and conv.closed_at is not None and conv.agent_id is None
    async with sessionmaker() as db:
        t = await db.scalar(select(Transition).where(Transition.conversation_id == cid,
                                                     Transition.to_state == "closed"))
    assert (t.from_state, t.actor, t.reason) == ("assigned", "visitor", "visitor ended the chat")
    again = await visitor.call("end_chat")
    assert again["ok"] is False and again["error"]["code"] == "not_open"
    tab = Visitor(app.url)
    state = await tab.connect(visitor.session_id)
    assert state["handoff"] == {"state": "closed", "rating_requested": True, "rated": False}
    await tab.close()


async def test_rating_once_after_the_end(app, visitor, sessionmaker):
    await visitor.connect()
    cid = visitor.conversation_id
    agent = await add_agent(sessionmaker)
    await enqueue(sessionmaker, cid)
    await accept(sessionmaker, cid, agent)
    early = await visitor.call("rate", {"stars": 5})
    assert early["ok"] is False and early["error"]["code"] == "not_closed"
    await visitor.call("end_chat")
    tab = Visitor(app.url)
    await tab.connect(visitor.session_id)
    ack = await visitor.call("rate", {"stars": 4, "comment": f"  quick and kind {HOSTILE} "})
    assert ack == {"ok": True, "state": "rated"}
    # the visitor's other tab stops asking
    await tab.wait_for("handoff", pred=lambda h: h.get("rated") is True)
    async with sessionmaker() as db:
        rating = await db.get(Rating, cid)
        t = await db.scalar(select(Transition).where(Transition.conversation_id == cid,
                                                     Transition.to_state == "rated"))
    assert (rating.stars, rating.comment, rating.agent_id) == (4, f"quick and kind {HOSTILE}", agent)
    assert (t.from_state, t.actor) == ("closed", "visitor")
    assert (await conversation(sessionmaker, cid)).state == "rated"
    second = await visitor.call("rate", {"stars": 1})
    assert second["ok"] is False and second["error"]["code"] == "already_rated"
    assert (await visitor.wait_for("error", pred=lambda e: e["code"] == "already_rated"))[0]["event"] == "rate"
    async with sessionmaker() as db:
        assert (await db.get(Rating, cid)).stars == 4
    assert (await tab.resync(0))["handoff"] == {"state": "closed", "rating_requested": False, "rated": True}
    await tab.close()


BAD_RATINGS = [{"stars": 0}, {"stars": 6}, {"stars": "5"}, {"stars": 4.5}, {"stars": True}, {},
               {"stars": 3, "comment": "x" * 1001}, {"stars": 3, "comment": 7}, {"stars": 3, "comment": "a\x00"}, "5"]


async def test_a_bot_only_chat_is_rated_after_end_chat_and_bad_ratings_store_nothing(app, visitor, sessionmaker):
    await visitor.connect()
    await visitor.say("Which payment methods do you accept?")
    await visitor.wait_for("bot_uttered")
    assert (await visitor.call("end_chat"))["ok"]
    for payload in BAD_RATINGS:
        ack = await visitor.call("rate", payload)
        assert ack["ok"] is False and ack["error"]["code"] == "bad_payload", payload
    assert await count(sessionmaker, Rating) == 0
    assert (await conversation(sessionmaker, visitor.conversation_id)).state == "closed"
    assert (await visitor.call("rate", {"stars": 2, "comment": "   "}))["ok"]
    async with sessionmaker() as db:
        rating = await db.get(Rating, visitor.conversation_id)
    assert (rating.stars, rating.comment, rating.agent_id) == (2, None, None)


async def test_offline_message_creates_a_ticket_in_the_transcript(app, visitor, sessionmaker):
    await visitor.connect()
    cid = visitor.conversation_id
    await enqueue(sessionmaker, cid)  # nobody online: the offline form
    tab = Visitor(app.url)
    state = await tab.connect(visitor.session_id)
    assert state["state"] == "offline_form"
    assert state["handoff"] == {"state": "offline", "message_left": False}
    ack = await visitor.call("offline_message", {"name": f"  Maria   {HOSTILE} ", "email": " maria@example.com ",
                                                 "message": "  Where is my order PC-1234?\nThanks  "})
    assert ack["ok"] and ack["email_confirmation"] is False and ack["seq"] == 1
    async with sessionmaker() as db:
        ticket = await db.get(Ticket, ack["ticket_id"])
        msg = await db.get(Message, ack["id"])
    assert (ticket.conversation_id, ticket.name, ticket.email, ticket.message, ticket.status) == (
        cid, f"Maria {HOSTILE}", "maria@example.com", "Where is my order PC-1234?\nThanks", "open")
    assert msg.sender == "visitor" and "Where is my order PC-1234?" in msg.text and f"#{ticket.id}" in msg.text
    conv = await conversation(sessionmaker, cid)
    assert (conv.visitor_name, conv.visitor_email) == (f"Maria {HOSTILE}", "maria@example.com")
    # the visitor's tabs see it in the transcript, and learn that the message was left
    shown = (await tab.wait_for("visitor_uttered"))[0]
    assert shown["seq"] == 1 and shown["ticket"]["id"] == ticket.id
    await tab.wait_for("handoff", pred=lambda h: h == {"state": "offline", "message_left": True})
    assert (await tab.resync(0))["handoff"] == {"state": "offline", "message_left": True}
    await tab.close()


BAD_OFFLINE = [
    ({"email": "maria@example", "message": "hi"}, "bad_email"),
    ({"email": "maria example.com", "message": "hi"}, "bad_email"),
    ({"email": "maria@example.com\r\nBcc: all@example.com", "message": "hi"}, "bad_email"),
    ({"email": "a..b@example.com", "message": "hi"}, "bad_email"),
    ({"email": "m" * 250 + "@example.com", "message": "hi"}, "bad_payload"),
    ({"message": "hi"}, "bad_payload"),
    ({"email": "maria@example.com"}, "bad_payload"),
    ({"email": "maria@example.com", "message": ["hi"]}, "bad_payload"),
    ({"email": "maria@example.com", "message": "   "}, "empty_message"),
    ({"email": "maria@example.com", "message": "x" * 4001}, "message_too_long"),
    ({"email": "maria@example.com", "message": "hi", "name": "n" * 101}, "bad_payload"),
    ({"email": "maria@example.com", "message": "hi\x00there"}, "bad_payload"),  # PostgreSQL refuses NUL
]


async def test_bad_offline_message_is_refused_and_stores_nothing(app, visitor, sessionmaker):
    await visitor.connect()
    await enqueue(sessionmaker, visitor.conversation_id)
    for payload, code in BAD_OFFLINE:
        ack = await visitor.call("offline_message", payload)
        assert ack["ok"] is False and ack["error"]["code"] == code, payload
    errors = await visitor.wait_for("error", count=len(BAD_OFFLINE))
    assert {e["event"] for e in errors} == {"offline_message"}
    assert await count(sessionmaker, Ticket) == 0
    assert (await visitor.resync(0))["messages"] == []
    conv = await conversation(sessionmaker, visitor.conversation_id)
    assert (conv.visitor_email, conv.visitor_name) == (None, None)


async def test_offline_message_only_when_nobody_can_chat_and_rate_limited(app, visitor, sessionmaker):
    await visitor.connect()
    form = {"email": "maria@example.com", "message": "please call me"}
    refused = await visitor.call("offline_message", form)  # still with the bot
    assert refused["ok"] is False and refused["error"]["code"] == "not_offline"
    await enqueue(sessionmaker, visitor.conversation_id)
    for i in range(3):
        assert (await visitor.call("offline_message", {**form, "message": f"message {i}"}))["ok"]
    limited = await visitor.call("offline_message", {**form, "message": "message 3"})
    assert limited["ok"] is False and limited["error"]["code"] == "rate_limited"
    assert "3 messages an hour" in limited["error"]["message"]
    assert await count(sessionmaker, Ticket) == 3
    assert [m["seq"] for m in (await visitor.resync(0))["messages"]] == [1, 2, 3]


async def test_typing_is_relayed_only_while_queued_or_assigned_and_throttled(app, visitor, sessionmaker):
    await visitor.connect()
    assert (await visitor.call("typing", {"draft": "hel"})) == {"ok": True, "relayed": False}  # the bot
    await add_agent(sessionmaker)
    await enqueue(sessionmaker, visitor.conversation_id)
    await asyncio.sleep(1.1)  # a fresh throttle window
    acks = [await visitor.call("typing", {"draft": "hello" + "!" * i}) for i in range(8)]
    assert [a["relayed"] for a in acks] == [True] * 5 + [False] * 3
    await asyncio.sleep(1.1)
    assert (await visitor.call("typing", {"draft": ""}))["relayed"] is True
    too_long = await visitor.call("typing", {"draft": "x" * 2001})
    assert too_long["ok"] is False and too_long["error"]["code"] == "bad_payload"
    missing = await visitor.call("typing", {})
    assert missing["ok"] is False and missing["error"]["code"] == "bad_payload"
    assert (await visitor.resync(0))["messages"] == []  # drafts are never stored


async def test_typing_reaches_the_agents_watching_the_chat():
    """The relay itself, in-process: the event, its payload, the agents' room and namespace."""
    from types import SimpleNamespace

    from chat.visitor_ns import VisitorNamespace
    from handoff import notify

    emitted = []

    class Sio:
        async def emit(self, event, data, **kw):
            emitted.append((event, data, kw))

    class Session:
        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc):
            return False

        async def scalar(self, _q):
            return "assigned"

    ctx = SimpleNamespace(sio=Sio(), sessionmaker=Session, settings=SimpleNamespace(max_message_chars=2000))
    ns = VisitorNamespace(ctx)

    async def get_session(sid):
        return {"conversation_id": "c0ffee", "token": "t"}

    ns.get_session = get_session
    assert await ns.on_typing("sid1", {"draft": HOSTILE}) == {"ok": True, "relayed": True}
    assert emitted == [("visitor_typing", {"conversation_id": "c0ffee", "draft": HOSTILE},
                        {"room": notify.chat_room("c0ffee"), "namespace": notify.AGENT_NS})]


@pytest.fixture
def smtp(tmp_path):
    sink = SmtpSink(tmp_path / "mail").start()
    yield sink
    sink.stop()


async def test_offline_message_and_agent_reply_are_emailed(db_url, sessionmaker, smtp):
    """With a real SMTP server: the visitor's confirmation, then an agent's reply (handoff.tickets)."""
    from app.settings import Settings
    from handoff import tickets

    await asyncio.to_thread(load_demo, db_url)
    live = await asyncio.to_thread(LiveApp(db_url, env=smtp.env()).start)
    v = Visitor(live.url)
    try:
        await v.connect(language="en")
        await enqueue(sessionmaker, v.conversation_id)
        ack = await v.call("offline_message", {"name": "Maria", "email": "maria@example.com",
                                               "message": f"Where is my order PC-1234? {HOSTILE}"})
        assert ack["ok"] and ack["email_confirmation"] is True
        confirmation = (await smtp.wait_for(1))[0]
        assert confirmation["To"] == "maria@example.com" and confirmation["X-RcptTo"] == "maria@example.com"
        assert confirmation["From"] == "help@pinecone.test"
        assert f"#{ack['ticket_id']}" in confirmation["Subject"]
        text = body(confirmation)
        assert "we will reply to this address" in text and f"#{ack['ticket_id']}" in text
        assert "PC-1234" not in text  # nothing the visitor typed goes to an address they typed

        agent = await add_agent(sessionmaker, "Alex")
        settings = Settings(**{k.removeprefix("SHOPCHAT_").lower(): v for k, v in smtp.env().items()})
        async with sessionmaker() as db:
            replied = await tickets.reply(db, ack["ticket_id"], agent, "Your parcel left today: PC-1234.", settings)
        assert replied.emailed is True
        mails = await smtp.wait_for(2)
        reply = next(m for m in mails if m["Subject"].startswith("Re:"))
        assert reply["X-RcptTo"] == "maria@example.com" and reply["To"] == "maria@example.com"
        assert "Your parcel left today: PC-1234." in body(reply) and "Alex" in body(reply)
        # the reply is in the transcript as the agent's message
        history = (await v.resync(0))["messages"]
        assert [(m["sender"], m.get("agent_name")) for m in history] == [("visitor", None), ("agent", "Alex")]
        assert history[1]["text"] == "Your parcel left today: PC-1234."
    finally:
        await v.close()
        await asyncio.to_thread(live.stop)


async def test_a_mail_server_that_is_down_loses_no_ticket(db_url, sessionmaker, tmp_path):
    await asyncio.to_thread(load_demo, db_url)
    dead = SmtpSink(tmp_path / "none")  # a free port nobody listens on
    live = await asyncio.to_thread(LiveApp(db_url, env=dead.env()).start)
    v = Visitor(live.url)
    try:
        await v.connect()
        await enqueue(sessionmaker, v.conversation_id)
        ack = await v.call("offline_message", {"email": "maria@example.com", "message": "hello?"})
        assert ack["ok"] and ack["email_confirmation"] is True
        await asyncio.sleep(1)
        assert await count(sessionmaker, Ticket, status="open") == 1
        with open(live.log.name, encoding="utf-8", errors="replace") as f:
            assert "could not send e-mail" in f.read()
    finally:
        await v.close()
        await asyncio.to_thread(live.stop)
