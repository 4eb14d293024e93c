"""The custom-action endpoint Rasa calls, driven over HTTP in process (no Rasa needed)."""
import asyncio

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from tests.conftest import load_demo

TOKEN = "secret-for-rasa"


def tracker(text, intent="ask_question", confidence=0.9, entities=()):
    return {"sender_id": "abc", "latest_message": {"text": text, "intent": {"name": intent, "confidence": confidence},
                                                   "entities": list(entities)}}


@pytest.fixture
async def client(sqlite_url):
    await asyncio.to_thread(load_demo, sqlite_url)
    app = create_app(Settings(database_url=sqlite_url, action_token=TOKEN))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as c:
        yield c


async def call(client, action, trk, token=TOKEN):
    return await client.post(f"/bot/actions?token={token}",
                             json={"next_action": action, "sender_id": "abc", "tracker": trk, "domain": {}, "version": "3.6.21"})


async def test_requires_rasas_token(client):
    assert (await call(client, "action_answer_question", tracker("hi"), token="wrong")).status_code == 403
    assert (await client.post("/bot/actions", json={})).status_code == 403


async def test_unknown_action_and_bad_body_are_rejected_the_rasa_way(client):
    r = await call(client, "action_launch_rockets", tracker("hi"))
    assert r.status_code == 400 and r.json()["action_name"] == "action_launch_rockets"
    r = await client.post(f"/bot/actions?token={TOKEN}", content=b"not json")
    assert r.status_code == 400 and "error" in r.json()


async def test_answers_a_question_from_the_knowledge_base(client):
    r = await call(client, "action_answer_question", tracker("Which payment methods do you accept?"))
    assert r.status_code == 200
    body = r.json()
    assert body["events"] == []
    msg = body["responses"][0]["custom"]["shopchat"]
    assert msg["kb"]["title"] == "Payment methods"
    assert 0 < msg["kb"]["score"] <= 1
    titles = [q["title"] for q in msg["quick_replies"]]
    assert titles[:2] == ["Yes, thanks", "No"] and titles[-1] == "Talk to a person"
    assert "Did that answer your question?" in msg["text"]


async def test_falls_back_honestly_on_nonsense(client):
    msg = (await call(client, "action_answer_question", tracker("asdfgh", intent="nlu_fallback", confidence=0.2))).json()
    msg = msg["responses"][0]["custom"]["shopchat"]
    assert msg["fallback"] is True and "kb" not in msg
    assert msg["quick_replies"][-1]["payload"] == "/human_handoff"


async def test_related_article_button_answers_that_article(client):
    first = (await call(client, "action_answer_question", tracker("Which payment methods do you accept?"))).json()
    related = [q for q in first["responses"][0]["custom"]["shopchat"]["quick_replies"] if "article_id" in q["payload"]]
    assert related, "an answer offers related articles"
    article_id = related[0]["payload"].split('"article_id": "')[1].rstrip('"}')
    trk = tracker(related[0]["payload"], entities=[{"entity": "article_id", "value": article_id}])
    msg = (await call(client, "action_answer_question", trk)).json()["responses"][0]["custom"]["shopchat"]
    assert msg["kb"]["article_id"] == int(article_id) and msg["kb"]["title"] == related[0]["title"]


def shopchat(body) -> list[dict]:
    return [r["custom"]["shopchat"] for r in body["responses"]]


@pytest.mark.parametrize("text, entities, reason", [
    ("can i talk to a real person", [], "visitor_asked"),
    ("/human_handoff", [], "button"),
    ('/human_handoff{"handoff_reason":"bot_failed"}', [{"entity": "handoff_reason", "value": "bot_failed"}], "bot_failed"),
])
async def test_handoff_start_tells_the_app_first_and_keeps_the_reason(client, text, entities, reason):
    body = (await call(client, "action_handoff_start", tracker(text, intent="human_handoff", entities=entities))).json()
    assert shopchat(body) == [{"handoff": "requested", "handoff_reason": reason}]  # no text
    assert {"event": "slot", "name": "handoff_reason", "value": reason} in body["events"]


async def test_the_form_asks_with_a_skip_button(client):
    trk = tracker("agent", intent="human_handoff")
    name_q = shopchat((await call(client, "action_ask_visitor_name", trk)).json())[0]
    email_q = shopchat((await call(client, "action_ask_visitor_email", trk)).json())[0]
    assert "name" in name_q["text"] and "e-mail" in email_q["text"]
    for q in (name_q, email_q):
        assert q["quick_replies"] == [{"content_type": "text", "title": "Skip", "payload": "skip"}] and "handoff" not in q
    trk["slots"] = {"handoff_retry": "email_invalid"}
    again = shopchat((await call(client, "action_ask_visitor_email", trk)).json())[0]
    assert again["text"] == "That doesn't look like an e-mail address - could you check it, or press Skip?"


def form_tracker(answer, requested, slots=None, intent="out_of_scope", confidence=0.7):
    """What Rasa sends validate_handoff_form: the candidate after the form's action event."""
    trk = tracker(answer, intent=intent, confidence=confidence)
    trk["slots"] = {"requested_slot": requested, **(slots or {})}
    trk["events"] = [{"event": "user", "text": answer}, {"event": "slot", "name": "requested_slot", "value": requested},
                     {"event": "action", "name": "handoff_form"}, {"event": "slot", "name": requested, "value": answer}]
    return trk


async def validate(client, trk) -> dict:
    body = (await call(client, "validate_handoff_form", trk)).json()
    assert body["responses"] == []
    return {e["name"]: e["value"] for e in body["events"]}


async def test_validate_handoff_form(client):
    assert await validate(client, form_tracker("  my name is Maria ", "visitor_name")) == \
        {"visitor_name": "Maria", "handoff_retry": None}
    assert await validate(client, form_tracker("not-an-email", "visitor_email")) == \
        {"visitor_email": None, "handoff_retry": "email_invalid"}
    # a second miss skips instead of asking a third time
    assert await validate(client, form_tracker("still wrong", "visitor_email", {"handoff_retry": "email_invalid"})) == \
        {"visitor_email": "__skipped__", "handoff_retry": None}
    assert await validate(client, form_tracker("skip", "visitor_name")) == {"visitor_name": "__skipped__", "handoff_retry": None}
    # an e-mail address given for the name is kept as the e-mail, and the name asked again
    assert await validate(client, form_tracker("maria@example.com", "visitor_name")) == \
        {"visitor_email": "maria@example.com", "visitor_name": None, "handoff_retry": "name_email"}


async def test_validation_leaves_values_from_earlier_alone(client):
    trk = form_tracker("Maria van der Berg", "visitor_name")
    trk["slots"]["requested_slot"] = None  # the form's activation: values kept from an earlier handoff
    trk["latest_message"]["intent"] = {"name": "human_handoff", "confidence": 0.99}
    assert await validate(client, trk) == {"visitor_name": "Maria van der Berg"}


async def test_request_human_queues_with_what_the_bot_learnt(client):
    trk = tracker("maria@example.com", intent="out_of_scope")
    trk["slots"] = {"visitor_name": "Maria", "visitor_email": "__skipped__", "handoff_reason": "button"}
    trk["events"] = [{"event": "user", "text": "where is order #10234"}, {"event": "bot", "text": "..."},
                     {"event": "user", "text": "/human_handoff"}, {"event": "user", "text": "Maria"}]
    body = (await call(client, "action_request_human", trk)).json()
    assert shopchat(body) == [{"text": "Thanks, Maria! I'm finding a person for you...", "handoff": "queue",
                               "handoff_reason": "button",
                               "visitor": {"name": "Maria", "email": None, "order_number": "10234"}}]


async def test_a_request_for_a_person_that_rasa_let_slip_still_starts_the_handoff(client):
    trk = tracker("agnet pls", intent="nlu_fallback", confidence=0.3)
    trk["latest_message"]["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.35},
                                               {"name": "human_handoff", "confidence": 0.3},
                                               {"name": "ask_question", "confidence": 0.2}]
    body = (await call(client, "action_answer_question", trk)).json()
    # the same path as the intent: action_handoff_start next (then the form, rules.yml)
    assert body == {"events": [{"event": "followup", "name": "action_handoff_start"}], "responses": []}
    plain = (await call(client, "action_answer_question", tracker("Which payment methods do you accept?"))).json()
    assert plain["events"] == [] and "handoff" not in shopchat(plain)[0]


@pytest.mark.parametrize("text, intent, confidence, answers", [
    # Rasa unsure, no words asking for a person, the knowledge base sure: the answer, no handoff
    ("Can my parcel be left with a neighbour?", "human_handoff", 0.55, True),
    ("Can my parcel be left with a neighbour?", "nlu_fallback", 0.35, True),
    # Rasa sure: its decision stands
    ("Can my parcel be left with a neighbour?", "human_handoff", 0.97, False),
    # words that ask for a person, a button's payload, or nothing the knowledge base answers
    ("can i talk to a real person about my refund", "human_handoff", 0.55, False),
    ("/human_handoff", "human_handoff", 0.55, False),
    ("I need to speak with the manager of the whole galaxy", "human_handoff", 0.6, False),
])
async def test_a_doubtful_handoff_answers_from_the_knowledge_base(client, text, intent, confidence, answers):
    body = (await call(client, "action_handoff_start", tracker(text, intent=intent, confidence=confidence))).json()
    msgs = shopchat(body)
    if answers:
        assert body["events"] == [{"event": "followup", "name": "action_listen"}]
        assert msgs[0]["kb"]["title"] == "Delivery options: safe place, neighbours and signature", msgs
        assert msgs[0]["quick_replies"][-1]["title"] == "Talk to a person"
    else:
        assert msgs == [{"handoff": "requested", "handoff_reason": msgs[0]["handoff_reason"]}], msgs
