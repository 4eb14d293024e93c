"""The app driven by real python-socketio clients against a real Rasa server (trained by
scripts/train_bot.sh, started once per test session)."""
import uuid

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
    assert httpx.get(f"{rasa_app.url}/health").json() == {"status": "ok", "db": "up", "rasa": "up", "rasa_actions": "up"}


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


@pytest.mark.parametrize("text, reason", [("can i talk to a real person", "visitor_asked"), ("agent please", "visitor_asked")])
async def test_asking_for_a_human_starts_the_handoff(visitor, text, reason):
    await visitor.say(text)
    handoff = (await visitor.wait_for("handoff"))[0]
    # nobody is online here: the offline form at once, without the form's questions
    # (chat/offline_first.py; with an agent online: `requested`, then the name question)
    assert handoff["state"] == "offline" and handoff["reason"].startswith(reason)
    names = [n for n, _ in visitor.events if n in ("handoff", "bot_uttered")]
    assert names[0] == "handoff"


async def test_talk_to_a_person_button(visitor):
    await ask(visitor, "asdfgh")
    await visitor.say("/human_handoff", display="Talk to a person")
    handoff = (await visitor.wait_for("handoff"))[0]
    assert handoff["state"] == "offline" and handoff["reason"].startswith("button")
    # Rasa's form was ended: the next question is answered, not taken for a name
    answer = await ask(visitor, "do you take paypal")
    assert "kb" in answer, answer


# ---- the handoff form, at Rasa's REST channel (the real Rasa calling the real app's actions) ----

class RasaChat:
    """One Rasa conversation through the REST webhook, as the app talks to Rasa."""

    def __init__(self, rasa_url: str):
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.sender = f"form-{uuid.uuid4().hex[:12]}"

    async def say(self, text: str) -> list[dict]:
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(self.url, json={"sender": self.sender, "message": text})
        r.raise_for_status()
        return [m["custom"]["shopchat"] if "custom" in m else m for m in r.json()]


@pytest.fixture
def chat(rasa_app, rasa_url):
    return RasaChat(rasa_url)


def is_question(msg: dict, about: str) -> bool:
    skip = [q for q in msg.get("quick_replies") or [] if q["title"] == "Skip"]
    return about in msg.get("text", "") and bool(skip) and "handoff" not in msg


async def test_handoff_form_asks_name_and_email_then_queues(chat):
    first = await chat.say("can I talk to a real person")
    assert first[0] == {"handoff": "requested", "handoff_reason": "visitor_asked"}
    assert len(first) == 2 and is_question(first[1], "name")
    second = await chat.say("Maria")
    assert len(second) == 1 and is_question(second[0], "e-mail")
    again = await chat.say("not-an-email")
    assert len(again) == 1 and is_question(again[0], "That doesn't look like an e-mail address")
    done = await chat.say("maria@example.com")
    assert done == [{
        "text": "Thanks, Maria! I'm finding a person for you...",
        "handoff": "queue", "handoff_reason": "visitor_asked",
        "visitor": {"name": "Maria", "email": "maria@example.com", "order_number": None},
    }]
    # a second request in the same conversation asks nothing again
    later = await chat.say("I want to speak to a human")
    assert [m.get("handoff") for m in later] == ["requested", "queue"]
    assert later[1]["visitor"] == {"name": "Maria", "email": "maria@example.com", "order_number": None}


async def test_both_questions_skipped(chat):
    first = await chat.say("/human_handoff")
    assert first[0] == {"handoff": "requested", "handoff_reason": "button"}
    skip = next(q for q in first[1]["quick_replies"] if q["title"] == "Skip")
    assert is_question((await chat.say(skip["payload"]))[0], "e-mail")
    done = await chat.say("I'd rather not")
    assert done == [{"text": "Thanks! I'm finding a person for you...", "handoff": "queue", "handoff_reason": "button",
                     "visitor": {"name": None, "email": None, "order_number": None}}]


async def test_a_question_instead_of_a_name_is_not_taken_for_one(chat):
    await chat.say("talk to an agent")
    reask = await chat.say("where is my parcel?")
    assert len(reask) == 1 and is_question(reask[0], "name")
    assert is_question((await chat.say("what about my refund?"))[0], "e-mail")  # second miss: name skipped
    done = await chat.say("no thanks")
    assert done[0]["visitor"] == {"name": None, "email": None, "order_number": None}


async def test_bot_failed_reason_injected_by_the_app(chat):
    first = await chat.say('/human_handoff{"handoff_reason":"bot_failed"}')
    assert first[0] == {"handoff": "requested", "handoff_reason": "bot_failed"}
    await chat.say("skip")
    done = await chat.say("skip")
    assert done[0]["handoff"] == "queue" and done[0]["handoff_reason"] == "bot_failed"


@pytest.mark.parametrize("text", ["escalate", "I have a complaint"])
async def test_a_request_rasas_classifier_lets_slip_takes_the_same_path(chat, text):
    # Rasa reads these as out_of_scope / nlu_fallback; action_answer_question recognises the
    # request and has Rasa run action_handoff_start next (a followup event), then the form.
    first = await chat.say(text)
    assert first[0] == {"handoff": "requested", "handoff_reason": "visitor_asked"}
    assert len(first) == 2 and is_question(first[1], "name")
    await chat.say("Maria")
    done = await chat.say("skip")
    assert done[0]["handoff"] == "queue" and done[0]["visitor"]["name"] == "Maria"


async def test_the_last_order_number_mentioned_is_reported(chat):
    answer = await chat.say("my order #10234 has not arrived yet")
    assert "handoff" not in answer[-1]
    await chat.say("sorry, it is order number ABC-12345")
    await chat.say("i need a human")
    await chat.say("my name is Sam")
    done = await chat.say("sam@example.org")
    assert done[0]["visitor"] == {"name": "Sam", "email": "sam@example.org", "order_number": "ABC-12345"}


async def test_bot_typing_is_shown_while_it_thinks(visitor):
    await ask(visitor, "do you take paypal")
    await visitor.wait_for("bot_typing", pred=lambda d: d == {"typing": False})
    names = [(n, d) for n, d in visitor.events if n in ("bot_typing", "bot_uttered")]
    assert names[0] == ("bot_typing", {"typing": True}) and names[1][0] == "bot_uttered"


# Knowledge-base questions the trained model takes for a request for a person without being sure of
# it (human_handoff under bot.actions.HANDOFF_SURE, or its best guess under the fallback threshold).
DOUBTFUL = ["Can my aprcel be left with a neighbour? please", "got a present from your store but id rather have something else",
            "hello! got a present from your store but id rather have something else asap",
            "could somebody else sign for my parcel?", "my neighbour wants to collect my parcel for me"]


async def test_a_doubtful_handoff_gets_the_answer_and_the_chat_goes_on(rasa_url, visitor):
    from bot.actions import HANDOFF_SURE
    from bot.answers import looks_like_handoff
    from tests.conftest import RASA_AUTH_TOKEN

    def doubtful(parsed: dict) -> bool:
        ranking = [r for r in parsed["intent_ranking"] if r["name"] != "nlu_fallback"]
        intent = parsed["intent"]
        return ((intent["name"] == "human_handoff" and intent["confidence"] < HANDOFF_SURE)
                or (intent["name"] == "nlu_fallback" and ranking[0]["name"] == "human_handoff"))

    async with httpx.AsyncClient(base_url=rasa_url, params={"token": RASA_AUTH_TOKEN}, timeout=30) as http:
        texts = [t for t in DOUBTFUL if not looks_like_handoff(t)
                 and doubtful((await http.post("/model/parse", json={"text": t})).json())]
    # The model was retrained and reads them all right now: find new ones (bench.scale's no-answer log).
    assert texts, "none of DOUBTFUL is a doubtful handoff for this model"
    for text in texts:
        answer = await ask(visitor, text)
        assert answer.get("kb"), (text, answer)  # the answer, not the queue or the offline form
        assert answer["quick_replies"][-1]["payload"] == "/human_handoff"
    assert not [h for h in visitor.of("handoff")], visitor.of("handoff")
    # Rasa's form was not started: the next question is answered, a real request still hands over
    assert (await ask(visitor, "do you take paypal"))["kb"]["title"] == "Payment methods"
    await visitor.say("I want to talk to a person")
    await visitor.wait_for("handoff")
