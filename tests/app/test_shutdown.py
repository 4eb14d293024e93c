"""SIGTERM to `shopchat serve` (what systemd, Docker and Kubernetes send): the visitor's socket is
closed at once (the client reconnects to another process), the bot turn under way still finishes
and stores its answer, and the process exits within its grace. Rasa is a slow stand-in
(tests/chat/slow_rasa.py) so the turn is surely in flight when the signal comes."""
from __future__ import annotations

import asyncio
import signal
import time

from sqlalchemy import select

from app.db import make_engine, make_sessionmaker
from chat.models import Message
from tests.chat.slow_rasa import ANSWER_PREFIX, SlowRasa
from tests.chat.visitor_client import Visitor
from tests.support import LiveApp, free_port

RASA_DELAY_S = 2.0  # under the app's 3 s Rasa timeout: the answer is Rasa's, not the fallback


async def bot_texts(db_url: str, conversation_id: str) -> list[str]:
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            return list(await db.scalars(select(Message.text).where(
                Message.conversation_id == conversation_id, Message.sender == "bot").order_by(Message.seq)))
    finally:
        await engine.dispose()


async def test_sigterm_closes_sockets_at_once_and_lets_the_bot_turn_finish(sqlite_url):
    rasa = SlowRasa(free_port(), RASA_DELAY_S)
    try:
        app = LiveApp(sqlite_url, rasa_url=rasa.url, env={"SHOPCHAT_SHUTDOWN_GRACE_S": "8"}).start()
    except BaseException:
        rasa.stop()
        raise
    visitor = Visitor(app.url)
    closed_at: list[float] = []
    visitor.sio.on("disconnect", lambda *_: closed_at.append(time.monotonic()))
    try:
        assert (await visitor.connect())["ok"]
        before = await bot_texts(sqlite_url, visitor.conversation_id)
        assert (await visitor.say("where is my parcel?", client_id="q1"))["ok"]
        await asyncio.sleep(0.5)  # the turn is waiting for Rasa
        signalled = time.monotonic()
        app.proc.send_signal(signal.SIGTERM)
        while not closed_at and time.monotonic() - signalled < 5:
            await asyncio.sleep(0.02)
        assert closed_at and closed_at[0] - signalled < 1.5, "the socket was not closed at once"
        await asyncio.to_thread(app.proc.wait, 15)
        exited = time.monotonic() - signalled
        assert exited < 8 + 2, exited
        texts = await bot_texts(sqlite_url, visitor.conversation_id)
        assert texts[len(before):] == [ANSWER_PREFIX + "where is my parcel?"]
        assert rasa.calls() == {"where is my parcel?": 1}
    finally:
        await visitor.close()
        app.stop()
        rasa.stop()
