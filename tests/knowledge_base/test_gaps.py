"""Knowledge gaps and article usefulness (docs/editor.md): visitors' questions go through the real
app (a live process, Socket.IO visitors, the demo knowledge base, Rasa down so the app answers from
the knowledge base itself); editors read and fix the groups over HTTP."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from accounts.service import create_user
from app.db import make_engine, make_sessionmaker
from chat import service as chat_service
from knowledge_base.gaps import _model, cluster
from knowledge_base.models import KbQuestion
from tests.chat.visitor_client import Visitor

PW = "gap test password"
LOYALTY = ["do you have a loyalty program", "is there a rewards scheme for regular customers",
           "loyalty programme points?"]
JOBS = ["are you hiring", "any job openings"]


def test_grouping_keeps_one_need_together_and_needs_apart():
    texts = LOYALTY + JOBS + ["do you offer gift wrapping", "could my present be wrapped", "asdfgh",
                              "how do I clean the oak table"]
    labels = cluster(texts, _model())
    assert len({labels[i] for i in range(3)}) == 1, "the loyalty questions are one group"
    assert labels[3] == labels[4] and labels[3] != labels[0]
    assert labels[5] == labels[6] and labels[5] not in (labels[0], labels[3])
    assert len(set(labels)) == 5


def test_without_the_model_close_wordings_still_group():
    labels = cluster(["Do you have a loyalty program?", "loyalty program - do you have one", "are you hiring"], None)
    assert labels[0] == labels[1] != labels[2]


@pytest.fixture
def app(demo_app):
    return demo_app


@pytest.fixture
async def db(app):
    engine = make_engine(app.env["SHOPCHAT_DATABASE_URL"])
    sm = make_sessionmaker(engine)
    async with sm() as s:
        await create_user(s, email="erin@gaps.test", display_name="Erin", role="editor", password=PW)
    yield sm
    await engine.dispose()


async def editor(app) -> httpx.AsyncClient:
    c = httpx.AsyncClient(base_url=app.url, headers={"X-Requested-With": "shopchat"}, timeout=30)
    r = await c.post("/login", data={"email": "erin@gaps.test", "password": PW}, headers={"Origin": app.url})
    assert r.status_code == 303
    return c


async def ask(app, *texts: str, **extra) -> Visitor:
    """A new visitor asks each text (waiting for the bot's turn each time)."""
    v = Visitor(app.url)
    assert (await v.connect())["ok"]
    for n, text in enumerate(texts, start=1):
        if isinstance(text, tuple):  # a button: (payload, title)
            assert (await v.say(text[0], client_id=f"c{n}", display=text[1]))["ok"]
        else:
            assert (await v.say(text, client_id=f"c{n}"))["ok"]
        await v.wait_for("bot_typing", pred=lambda d: d.get("typing") is False, count=n, timeout=20)
    return v


def group_of(groups: list[dict], text: str) -> dict | None:
    return next((g for g in groups if any(q["text"] == text for q in g["questions"])), None)


async def test_gap_groups_from_real_chats_and_the_one_action_fixes(app, db):
    visitors = [await ask(app, q) for q in LOYALTY]  # three visitors, the bot falls back each time
    visitors.append(await ask(app, JOBS[0]))
    # answered, then "No" on "Did that answer your question?"
    visitors.append(await ask(app, "when will my order arrive", ("/deny", "No")))
    # answered and "Yes": not a gap
    visitors.append(await ask(app, "which payment methods do you accept", ("/affirm", "Yes, thanks")))
    c = await editor(app)
    groups = (await c.get("/api/kb/gaps", params={"days": 7})).json()["groups"]
    loyalty = group_of(groups, LOYALTY[0])
    assert loyalty is not None and loyalty["visitors"] == 3 and groups[0] is loyalty, "most visitors first"
    assert sorted(loyalty["samples"]) == sorted(LOYALTY) and loyalty["reasons"] == {"fallback": 3}
    unhelpful = group_of(groups, "when will my order arrive")
    assert unhelpful["article"]["title"] == "Delivery times" and unhelpful["reasons"] == {"not_helpful": 1}
    assert group_of(groups, "which payment methods do you accept") is None
    assert group_of(groups, JOBS[0]) is not None

    # Fix 1: a new article from the loyalty group -> the same need is answered from then on.
    r = await c.post("/api/kb/gaps/article", json={"question_ids": loyalty["question_ids"], "article": {
        "title": "Loyalty programme", "category": "Orders", "tags": ["loyalty"], "language": "en", "status": "published",
        "questions": loyalty["samples"],
        "body": "Pinecone Club members collect 1 point per euro spent; 100 points are a EUR 5 voucher."}})
    assert r.status_code == 201, r.text
    v = await ask(app, "do you have a loyalty program")
    answer = [m for m in v.of("bot_uttered") if m.get("kb")]
    assert answer and answer[-1]["kb"]["title"] == "Loyalty programme"
    groups = (await c.get("/api/kb/gaps", params={"days": 7})).json()["groups"]
    assert group_of(groups, LOYALTY[1]) is None, "a resolved group leaves the list"
    # the same ids cannot be resolved twice
    again = await c.post("/api/kb/gaps/dismiss", json={"question_ids": loyalty["question_ids"]})
    assert again.status_code == 409

    # Fix 2: dismiss the jobs group; a later question of the same need stays out.
    jobs = group_of(groups, JOBS[0])
    assert (await c.post("/api/kb/gaps/dismiss", json={"question_ids": jobs["question_ids"]})).json() == {"dismissed": 1}
    visitors.append(await ask(app, JOBS[1]))
    groups = (await c.get("/api/kb/gaps", params={"days": 7})).json()["groups"]
    assert group_of(groups, JOBS[1]) is None, "new questions like a dismissed group stay out"

    # Fix 3: the unhelpful question becomes a phrasing of the article it should have found.
    r = await c.post("/api/kb/gaps/phrasings", json={"question_ids": unhelpful["question_ids"],
                                                      "article_id": unhelpful["article"]["id"]})
    assert r.status_code == 200 and "when will my order arrive" in r.json()["article"]["questions"]
    revs = (await c.get(f"/api/kb/articles/{unhelpful['article']['id']}/revisions")).json()["revisions"]
    assert revs[0]["action"] == "phrasings_added" and revs[0]["editor"]["name"] == "Erin"

    # Usefulness: served, helpful / not helpful, the worst first.
    rows = (await c.get("/api/kb/usefulness", params={"days": 7})).json()["articles"]
    by_title = {r["title"]: r for r in rows}
    assert by_title["Delivery times"]["not_helpful"] == 1 and by_title["Delivery times"]["helpful_rate"] == 0.0
    assert by_title["Payment methods"]["helpful"] == 1 and by_title["Payment methods"]["helpful_rate"] == 1.0
    assert by_title["Loyalty programme"]["served"] == 1
    assert rows[0]["title"] == "Delivery times"
    audit = [e["action"] for e in (await c.get("/api/kb/audit")).json()["entries"]]
    assert {"gap_article", "gap_dismissed", "gap_phrasings"} <= set(audit)
    for v in visitors:
        await v.close()
    await c.aclose()


async def test_a_handoff_marks_the_question_and_the_group_shows_the_agents_reply(app, db):
    v = await ask(app, "can I pay in instalments with my store card", "/human_handoff")
    async with db() as s:
        [q] = list(await s.scalars(select(KbQuestion).where(KbQuestion.conversation_id == v.conversation_id)))
        assert q.handoff_after and q.text == "can I pay in instalments with my store card"
        # what a person answered in that chat (stored as the agent console stores it)
        await chat_service.add_message(s, conversation_id=v.conversation_id, sender="agent",
                                       text="Yes: store card holders can split any order into 3 payments.")
    c = await editor(app)
    groups = (await c.get("/api/kb/gaps")).json()["groups"]
    group = group_of(groups, "can I pay in instalments with my store card")
    assert "handoff" in group["reasons"]
    assert group["agent_reply"] == "Yes: store card holders can split any order into 3 payments."
    await v.close()
    await c.aclose()


async def test_gap_actions_refuse_bad_input_and_change_nothing(app, db):
    v = await ask(app, LOYALTY[0])
    c = await editor(app)
    [group] = (await c.get("/api/kb/gaps")).json()["groups"]
    for body in ({"question_ids": []}, {"question_ids": ["1"]}, {"question_ids": [True]}, {}):
        assert (await c.post("/api/kb/gaps/dismiss", json=body)).status_code == 422
    assert (await c.post("/api/kb/gaps/dismiss", json={"question_ids": [999999]})).status_code == 404
    r = await c.post("/api/kb/gaps/article", json={"question_ids": group["question_ids"], "article": {"title": ""}})
    assert r.status_code == 422
    r = await c.post("/api/kb/gaps/phrasings", json={"question_ids": group["question_ids"], "article_id": 999999})
    assert r.status_code == 404
    assert (await c.get("/api/kb/gaps")).json()["groups"] == [group]
    await v.close()
    await c.aclose()
