"""The app driven by real python-socketio clients against a real Rasa server (trained by
scripts/train_bot.sh, started once per test session)."""
import httpx
import pytest

from tests.chat.visitor_client import Visitor


@pytest.fixture
async def visitor(rasa_app):
    v = Visitor(rasa_app.url)
    await v.connect()
    yield v
    await v.close()


async def ask(visitor, text, **extra) -> dict:
    before = len(visitor.of("bot_uttered"))
    await visitor.say(text, **extra)
    return (await visitor.wait_for("bot_uttered", count=before + 1))[before]


async def test_health_reports_rasa_up(rasa_app):
    assert httpx.get(f"{rasa_app.url}/health").json() == {"status": "ok", "db": "up", "rasa": "up"}


@pytest.mark.parametrize("text", ["hello there", "hi!"])
async def test_greeting_gets_the_canned_answer_with_buttons(visitor, text):
    answer = await ask(visitor, text)
    assert "kb" not in answer and not answer.get("fallback")
    assert any(q["payload"] == "/human_handoff" for q in answer["quick_replies"])


@pytest.mark.parametrize(
    "text, expected",
    [("thanks a lot!", "welcome"), ("bye for now", "bye"), ("am i talking to a bot?", "bot, not a person")],
)
async def test_smalltalk_gets_canned_answers(visitor, text, expected):
    answer = await ask(visitor, text)
    assert expected in answer["text"].lower() and "kb" not in answer and not answer.get("fallback")


@pytest.mark.parametrize(
    "text, title",
    [
        ("what does standard shipping cost for my order", "Shipping costs and free delivery"),
        ("what are the steps to send an item back", "How to return an item"),
        ("do you take paypal", "Payment methods"),
    ],
)
async def test_questions_are_answered_from_the_knowledge_base_through_rasa(visitor, text, title):
    answer = await ask(visitor, text)
    assert answer["kb"]["title"] == title, answer
    assert answer["kb"]["score"] > 0


async def test_yes_no_buttons_after_an_answer(visitor):
    answer = await ask(visitor, "do you take paypal")
    yes = next(q for q in answer["quick_replies"] if q["payload"] == "/affirm")
    thanks = await ask(visitor, yes["payload"], display=yes["title"])
    assert "glad" in thanks["text"].lower()
    history = (await visitor.resync(0))["messages"]
    assert history[2]["text"] == "Yes, thanks"  # the transcript shows the button's title


@pytest.mark.parametrize("text", ["what's the weather in Paris", "asdfgh"])
async def test_out_of_scope_gets_an_honest_fallback_never_an_article(visitor, text):
    answer = await ask(visitor, text)
    assert answer.get("fallback") is True and "kb" not in answer
    assert "not sure" in answer["text"].lower()
    assert answer["quick_replies"][-1]["payload"] == "/human_handoff"


@pytest.mark.parametrize("text", ["can i talk to a real person", "agent please"])
async def test_asking_for_a_human_starts_the_handoff(visitor, text):
    await visitor.say(text)
    handoffs = await visitor.wait_for("handoff", count=2)
    assert [h["state"] for h in handoffs] == ["requested", "queued"]
    # `requested` reaches the visitor before the bot's words about it
    names = [n for n, _ in visitor.events if n in ("handoff", "bot_uttered")]
    assert names[:3] == ["handoff", "bot_uttered", "handoff"]
    assert (await visitor.resync(0))["state"] == "queued"


async def test_talk_to_a_person_button(visitor):
    await ask(visitor, "asdfgh")
    await visitor.say("/human_handoff", display="Talk to a person")
    assert (await visitor.wait_for("handoff"))[0]["state"] == "requested"


async def test_bot_typing_is_shown_while_it_thinks(visitor):
    await ask(visitor, "do you take paypal")
    await visitor.wait_for("bot_typing", pred=lambda d: d == {"typing": False})
    names = [(n, d) for n, d in visitor.events if n in ("bot_typing", "bot_uttered")]
    assert names[0] == ("bot_typing", {"typing": True}) and names[1][0] == "bot_uttered"
