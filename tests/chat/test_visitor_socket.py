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
def app(db_url):
    load_demo(db_url)
    live = LiveApp(db_url).start()
    yield live
    live.stop()


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
    assert health == {"status": "ok", "db": "up", "rasa": "down"}


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


async def test_handoff_request_without_rasa(app, visitor):
    await visitor.connect()
    await visitor.say("can i talk to a real person")
    handoffs = await visitor.wait_for("handoff", count=2)
    assert [h["state"] for h in handoffs] == ["requested", "queued"]
    assert handoffs[0]["reason"] == "visitor_request"
    assert (await visitor.resync(0))["state"] == "queued"
    # a second tab of the same visitor sees the state on connect
    tab = Visitor(app.url)
    assert (await tab.connect(visitor.session_id))["state"] == "queued"
    await tab.close()


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


async def test_unknown_session_is_refused(app, visitor):
    ack = await visitor.connect(session_id="not-a-session-anybody-has")
    assert ack["ok"] is False and ack["error"]["code"] == "unknown_session"
    await visitor.wait_for("error", pred=lambda e: e["code"] == "unknown_session")
    assert visitor.of("session_confirm") == []


async def test_nothing_works_before_a_session(app):
    v = Visitor(app.url)
    await v.sio.connect(app.url, transports=["websocket"])
    ack = await v.sio.call("user_uttered", {"message": "hi"}, timeout=5)
    assert ack["error"]["code"] == "no_session"
    ack = await v.sio.call("user_uttered", {"message": "hi", "session_id": "guess"}, timeout=5)
    assert ack["error"]["code"] == "unknown_session"
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
