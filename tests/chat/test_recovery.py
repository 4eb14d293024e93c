"""Issue 17: a question acknowledged before a crash is still answered after the restart, exactly once
and in order, also when the client retries it meanwhile. Real processes: the app killed with SIGKILL
while a slow Rasa stand-in holds its bot turns open, then restarted on the same database
(bench/recovery.py is the same scenario, larger, with the timings)."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, update

from app.db import make_engine, make_sessionmaker
from bench.recovery import APOLOGY_START, crash_and_recover, unanswered
from chat.models import Conversation, Message
from tests.chat.slow_rasa import ANSWER_PREFIX, SlowRasa
from tests.chat.visitor_client import Visitor
from tests.support import LiveApp, free_port


@pytest.fixture(scope="module")
def slow_rasa():
    rasa = SlowRasa(free_port(), 0.4)
    yield rasa
    rasa.stop()


async def test_questions_owed_at_a_crash_are_answered_once_in_order_after_the_restart(db_url, slow_rasa):
    out = await crash_and_recover(db_url, slow_rasa.url, visitors=4, questions=4)
    print(f"\nrecovery: {out}")
    assert out.problems == []
    assert out.owed_at_kill > 0, "the kill must find turns in flight"
    assert out.retry_duplicate is True
    assert out.apologies == 0  # answered within SHOPCHAT_LATE_ANSWER_AFTER_S


async def test_a_late_answer_comes_with_an_apology(sqlite_url, slow_rasa):
    """Past SHOPCHAT_LATE_ANSWER_AFTER_S (0 here) the recovered answer is preceded by an apology
    that quotes the question, so the shopper knows what the late answer is about."""
    app = LiveApp(sqlite_url, rasa_url=slow_rasa.url).start()
    v = Visitor(app.url)
    try:
        assert (await v.connect())["ok"]
        session = v.session_id
        assert (await v.say("wait=1 where is my parcel", client_id="c1"))["ok"]
        app.kill()
        await v.close()
        app = LiveApp(sqlite_url, port=app.port, rasa_url=slow_rasa.url,
                      env={"SHOPCHAT_LATE_ANSWER_AFTER_S": "0"}).start()
        for _ in range(150):
            if not await unanswered(sqlite_url):
                break
            await asyncio.sleep(0.1)
        v = Visitor(app.url)
        assert (await v.connect(session_id=session))["ok"]
        got = await v.resync(0)
        assert [(m["seq"], m["sender"]) for m in got["messages"]] == [(1, "visitor"), (2, "bot"), (3, "bot")]
        apology, answer = got["messages"][1]["text"], got["messages"][2]["text"]
        assert apology.startswith(APOLOGY_START) and '"wait=1 where is my parcel"' in apology
        assert answer == ANSWER_PREFIX + "wait=1 where is my parcel"
    finally:
        await v.close()
        app.stop()


async def test_a_person_taking_the_chat_while_rasa_thinks_silences_the_bot(sqlite_url, slow_rasa):
    """The bot's answer is dropped, and the question ends as answered, when the chat became an
    agent's during the Rasa call (the bot asked for an e-mail in an agent's chat before)."""
    app = LiveApp(sqlite_url, rasa_url=slow_rasa.url).start()
    engine = make_engine(sqlite_url)
    v = Visitor(app.url)
    try:
        assert (await v.connect())["ok"]
        assert (await v.say("wait=1.5 maria@example.com", client_id="c1"))["ok"]
        await asyncio.sleep(0.5)  # Rasa is thinking: an agent takes the chat
        async with make_sessionmaker(engine)() as db:
            await db.execute(update(Conversation).where(Conversation.id == v.conversation_id)
                             .values(state="assigned"))
            await db.commit()
        for _ in range(50):
            async with make_sessionmaker(engine)() as db:
                rows = (await db.execute(select(Message.sender, Message.answered)
                                         .where(Message.conversation_id == v.conversation_id))).all()
            if rows[0].answered:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        assert [(r.sender, r.answered) for r in rows] == [("visitor", True)]
        assert not v.of("bot_uttered")
        assert slow_rasa.calls().get("wait=1.5 maria@example.com") == 1
    finally:
        await v.close()
        await engine.dispose()
        app.stop()
