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


async def test_request_human_asks_the_app_to_start_a_handoff(client):
    msg = (await call(client, "action_request_human", tracker("agent please", intent="human_handoff"))).json()
    assert msg["responses"][0]["custom"]["shopchat"]["handoff_reason"] == "visitor_request"


async def test_a_request_for_a_person_that_rasa_let_slip_still_starts_the_handoff(client):
    trk = tracker("agnet pls", intent="nlu_fallback", confidence=0.3)
    trk["latest_message"]["intent_ranking"] = [{"name": "nlu_fallback", "confidence": 0.35},
                                               {"name": "human_handoff", "confidence": 0.3},
                                               {"name": "ask_question", "confidence": 0.2}]
    msg = (await call(client, "action_answer_question", trk)).json()["responses"][0]["custom"]["shopchat"]
    assert msg["handoff_reason"] == "visitor_request"
    plain = (await call(client, "action_answer_question", tracker("Which payment methods do you accept?"))).json()
    assert "handoff_reason" not in plain["responses"][0]["custom"]["shopchat"]
