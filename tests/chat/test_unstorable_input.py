"""Input no database can store, and failures no check foresaw, over a real Socket.IO connection to
the real app process: the visitor always hears back (a failed ack and an `error` event), nothing is
stored, and the connection keeps working."""
import sqlite3

import pytest

from tests.chat.visitor_client import Visitor


@pytest.fixture
async def visitor(demo_app_each_db):
    v = Visitor(demo_app_each_db.url)
    yield v
    await v.close()


async def refused(visitor: Visitor, event: str, payload: dict, code: str) -> None:
    before = len(visitor.of("error"))
    ack = await visitor.call(event, payload)
    assert ack["ok"] is False and ack["error"]["code"] == code, ack
    err = (await visitor.wait_for("error", count=before + 1))[-1]
    assert err["code"] == code and err["event"] == event and err["message"]


@pytest.mark.parametrize("event, payload, says", [
    ("user_uttered", {"message": "hi \ud800"}, "field 'message' contains a lone surrogate"),
    ("user_uttered", {"message": "hi", "display": "\udfff"}, "field 'display' contains a lone surrogate"),
    ("session_request", {"session_id": None, "page": {"url": "https://shop.test/\ud800"}}, "field 'url'"),
    ("offline_message", {"email": "maria@example.com", "message": "call me \ud800"}, "lone surrogate"),
    ("rate", {"stars": 4, "comment": "\ud800"}, "lone surrogate"),
    ("resync", {"after_seq": 2**70}, "field 'after_seq' must be a whole number from 0 to 2147483647"),
    ("resync", {"after_seq": 2**31}, "field 'after_seq' must be a whole number from 0 to 2147483647"),
])
async def test_unstorable_input_gets_its_error_and_changes_nothing(visitor, event, payload, says):
    await visitor.connect()
    ack = await visitor.call(event, payload)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_payload" and says in ack["error"]["message"], ack
    assert (await visitor.wait_for("error"))[0]["event"] == event
    assert (await visitor.resync(0))["messages"] == []
    ok = await visitor.say("payment methods")  # the connection still works
    assert ok["ok"] and ok["seq"] == 1


async def test_an_unexpected_failure_still_answers_internal_error(sqlite_url, demo_app):
    """The database loses a table under the running app (any bug or outage would do): the visitor
    gets an `internal_error` ack and event instead of silence, and is served again once it is back."""
    visitor = Visitor(demo_app.url)
    try:
        await visitor.connect()
        path = sqlite_url.split(":///", 1)[1]
        with sqlite3.connect(path) as db:
            db.execute("ALTER TABLE messages RENAME TO messages_away")
        await refused(visitor, "user_uttered", {"message": "payment methods", "session_id": visitor.session_id},
                      "internal_error")
        await refused(visitor, "resync", {"after_seq": 0, "session_id": visitor.session_id}, "internal_error")
        with sqlite3.connect(path) as db:
            db.execute("ALTER TABLE messages_away RENAME TO messages")
        ok = await visitor.say("payment methods")
        assert ok["ok"] and ok["seq"] == 1  # nothing was stored by the failed attempt
    finally:
        await visitor.close()
