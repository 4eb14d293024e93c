"""A long conversation with the real Rasa (its SQL tracker store) and the real app: Rasa's current
session, which it loads, featurizes and POSTs to the app's custom action every turn, stays short
(bot/actions.py roll_session), while what the bot remembers survives the new sessions: the name and
e-mail the handoff form collected, the order number, and the last answered article."""
import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from bot.actions import SESSION_MAX_EVENTS
from knowledge_base.models import KbQuestion
from tests.chat.visitor_client import Visitor
from tests.conftest import RASA_AUTH_TOKEN
from tests.integration.test_bot_with_rasa import RasaChat, ask

QUESTIONS = ["do you take paypal", "what does standard shipping cost for my order",
             "what are the steps to send an item back", "how long does delivery take",
             "can I pay with klarna", "how do I track my parcel"]
# One turn adds 4-6 events (user, action, bot, action_listen, sometimes slots).
ONE_TURN = 12


async def rasa_events(rasa_url: str, sender: str) -> list[dict]:
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.get(f"{rasa_url}/conversations/{sender}/tracker", params={"token": RASA_AUTH_TOKEN})
    r.raise_for_status()
    return r.json()["events"]


def current_session(events: list[dict]) -> list[dict]:
    starts = [i for i, e in enumerate(events) if e["event"] == "session_started"]
    return events[starts[-1]:] if starts else events


async def test_the_session_stays_short_and_the_form_and_order_number_survive(rasa_app, rasa_url):
    assert SESSION_MAX_EVENTS == 40  # the app under test runs with the default
    chat = RasaChat(rasa_url)
    await chat.say("hi, my order #10234 never arrived, where is it?")
    first = await chat.say("can I talk to a real person")
    assert first[0]["handoff"] == "requested"
    await chat.say("Maria")
    done = await chat.say("maria@example.com")
    assert done[0]["handoff"] == "queue"
    assert done[0]["visitor"] == {"name": "Maria", "email": "maria@example.com", "order_number": "10234"}

    sizes = []
    for i in range(16):
        answer = await chat.say(QUESTIONS[i % len(QUESTIONS)])
        assert answer and answer[-1].get("text"), answer
        sizes.append(len(current_session(await rasa_events(rasa_url, chat.sender))))
    events = await rasa_events(rasa_url, chat.sender)
    assert sum(e["event"] == "session_started" for e in events) >= 2, "no new session in 20 turns"
    assert max(sizes) <= SESSION_MAX_EVENTS + ONE_TURN, sizes

    # The form's answers and the order number (typed three sessions ago) are still known: the form
    # asks nothing, and the queue message carries them.
    later = await chat.say("I want to speak to a human")
    assert [m.get("handoff") for m in later] == ["requested", "queue"], later
    assert later[1]["visitor"] == {"name": "Maria", "email": "maria@example.com", "order_number": "10234"}


async def test_through_the_app_the_last_answered_article_still_takes_the_feedback(rasa_app, rasa_url, rasa_app_db):
    visitor = Visitor(rasa_app.url)
    await visitor.connect()
    try:
        for i in range(14):
            answer = await ask(visitor, QUESTIONS[i % len(QUESTIONS)])
        assert answer.get("kb"), answer
        events = await rasa_events(rasa_url, visitor.conversation_id)
        assert sum(e["event"] == "session_started" for e in events) >= 2
        assert len(current_session(events)) <= SESSION_MAX_EVENTS + ONE_TURN
        # "Yes, thanks" on the answer given just after (or before) a new session began.
        yes = next(q for q in answer["quick_replies"] if q["payload"] == "/affirm")
        thanks = await ask(visitor, yes["payload"], display=yes["title"])
        assert "glad" in thanks["text"].lower()
    finally:
        await visitor.close()
    engine = create_async_engine(rasa_app_db)
    try:
        async with engine.connect() as db:
            last = (await db.execute(select(KbQuestion.article_id, KbQuestion.feedback)
                                     .where(KbQuestion.conversation_id == visitor.conversation_id)
                                     .order_by(KbQuestion.seq.desc()).limit(1))).one()
    finally:
        await engine.dispose()
    assert last.article_id == answer["kb"]["article_id"] and last.feedback == "helpful"


async def test_a_short_conversation_keeps_one_session(rasa_app, rasa_url):
    chat = RasaChat(rasa_url)
    for i in range(3):
        await chat.say(QUESTIONS[i])
    events = await rasa_events(rasa_url, chat.sender)
    assert sum(e["event"] == "session_started" for e in events) == 1
