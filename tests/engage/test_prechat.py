"""The pre-chat form's settings and a visitor's answers."""
import asyncio

import httpx
import pytest

from engage.prechat import check_answers, check_config
from engage.rules import RuleError

CONFIG = check_config({"mode": "always", "fields": [
    {"kind": "name", "required": True, "labels": {"el": {"label": "Όνομα"}}},
    {"kind": "email", "required": True},
    {"kind": "phone"},
    {"kind": "order"},
    {"kind": "consent", "required": True, "privacy_url": "https://shop.test/privacy"},
    {"kind": "choice", "options": ["Order", "Return", "Other"]},
], "texts": {"en": {"title": "Before we start", "intro": "Tell us who you are"}}})


def test_config_keeps_what_it_knows():
    assert CONFIG["mode"] == "always" and [f["kind"] for f in CONFIG["fields"]][0] == "name"
    assert CONFIG["fields"][0]["labels"] == {"el": {"label": "Όνομα"}}
    assert CONFIG["fields"][4]["privacy_url"] == "https://shop.test/privacy"
    assert check_config({})["mode"] == "off"


@pytest.mark.parametrize("data, field", [
    ({"mode": "sometimes"}, "mode"),
    ({"mode": "always", "fields": []}, "fields"),
    ({"mode": "always", "fields": [{"kind": "age"}]}, "fields"),
    ({"mode": "always", "fields": [{"kind": "name"}, {"kind": "name"}]}, "fields"),
    ({"mode": "always", "fields": [{"kind": "name", "required": "yes"}]}, "fields"),
    ({"mode": "always", "fields": [{"kind": "consent", "privacy_url": "javascript:alert(1)"}]}, "fields"),
    ({"mode": "always", "fields": [{"kind": "choice", "options": []}]}, "fields"),
    ({"mode": "always", "fields": [{"kind": "name"}], "texts": {"en": {"footer": "x"}}}, "texts"),
    ({"mode": "person", "fields": [{"kind": "name", "labels": {"english": {"label": "x"}}}]}, "fields[0].labels"),
])
def test_bad_configs_name_the_field(data, field):
    with pytest.raises(RuleError) as err:
        check_config(data)
    assert err.value.field == field


def test_answers():
    ok = {"name": "  Ada   Lovelace ", "email": "ada@example.com", "phone": "+30 231 000 0000", "order": "PC-1234",
          "consent": True, "choice": "Return"}
    assert check_answers(CONFIG, ok) == {**ok, "name": "Ada Lovelace"}
    assert check_answers(CONFIG, {"name": "Ada", "email": "ada@example.com", "consent": True}) == {
        "name": "Ada", "email": "ada@example.com", "consent": True}


@pytest.mark.parametrize("change, field", [
    ({"name": " "}, "name"),
    ({"email": "not-an-address"}, "email"),
    ({"phone": "call me"}, "phone"),
    ({"order": "<script>"}, "order"),
    ({"consent": False}, "consent"),
    ({"choice": "Something else"}, "choice"),
    ({"name": "x" * 101}, "name"),
])
def test_bad_answers_name_the_field(change, field):
    answers = {"name": "Ada", "email": "ada@example.com", "consent": True, **change}
    with pytest.raises(RuleError) as err:
        check_answers(CONFIG, answers)
    assert err.value.field == field


# ---- mode `person` and the handoff, against the real app (Rasa down: the bot's knowledge-base path) ----

from app.db import make_engine, make_sessionmaker  # noqa: E402
from chat.models import Conversation  # noqa: E402
from engage import prechat  # noqa: E402
from tests.chat.visitor_client import Visitor  # noqa: E402
from tests.handoff.test_agent_socket import Staff, agent  # noqa: E402

PERSON = {"mode": "person", "fields": [
    {"kind": "name", "required": True}, {"kind": "email", "required": True}, {"kind": "phone"},
    {"kind": "consent", "required": True, "privacy_url": "https://shop.test/privacy"},
    {"kind": "choice", "options": ["An order", "A return"]}]}
ANSWERS = {"name": "Ada", "email": "ada@example.com", "phone": "+30 210 1234567", "consent": True, "choice": "A return"}


@pytest.fixture
async def staff(demo_app):
    s = Staff(demo_app.env["SHOPCHAT_DATABASE_URL"])
    async with s.sm() as db:
        await prechat.put_config(db, check_config(PERSON))
    yield s
    await s.close()


@pytest.fixture
async def clients():
    made: list = []
    yield made
    for c in made:
        await c.close()


async def post_answers(app, body: dict) -> httpx.Response:
    async with httpx.AsyncClient(base_url=app.url, timeout=10) as c:
        return await c.post("/engage/prechat", json=body)


async def test_person_mode_asks_the_widget_for_the_form_and_its_answers_continue_the_handoff(demo_app, staff, clients):
    alex = await agent(demo_app, staff, clients, "Alex")
    v = Visitor(demo_app.url)
    clients.append(v)
    assert (await v.connect())["ok"]
    assert (await v.say("where is my parcel?", client_id="q1"))["ok"]  # the bot answers, no form
    await v.wait_for("bot_uttered")
    assert not v.of("handoff")
    assert (await v.say("can i talk to a real person", client_id="q2"))["ok"]
    pre = (await v.wait_for("handoff"))[0]
    assert pre == {"state": "prechat", "reason": "visitor_asked"}
    await asyncio.sleep(0.5)
    # nothing else: no "I'm finding a person", no queue, no offer yet
    assert [h["state"] for h in v.of("handoff")] == ["prechat"]
    assert len(v.of("bot_uttered")) == 1 and not alex.of("offer")

    bad = await post_answers(demo_app, {"session_id": v.session_id, "answers": {**ANSWERS, "consent": False},
                                        "handoff": "visitor_asked"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "consent"
    assert not alex.of("offer")
    ok = await post_answers(demo_app, {"session_id": v.session_id, "answers": ANSWERS, "handoff": "visitor_asked"})
    assert ok.status_code == 200 and ok.json()["handoff"] is True
    states = [h["state"] for h in await v.wait_for("handoff", pred=lambda h: h["state"] == "queued")]
    assert states and [h["state"] for h in v.of("handoff")][:2] == ["prechat", "requested"]
    offer = (await alex.wait_for("offer"))[0]
    assert offer["conversation_id"] == v.conversation_id
    assert offer["visitor"]["name"] == "Ada" and offer["visitor"]["email"] == "ada@example.com"
    assert (await alex.call("accept", {"offer_id": offer["offer_id"]}))["ok"]
    opened = await alex.call("open_chat", {"conversation_id": v.conversation_id, "after_seq": 0})
    assert opened["chat"]["prechat"] == ANSWERS
    bot = [m["text"] for m in opened["messages"] if m["sender"] == "bot"]
    assert bot[-1] == "Thanks, Ada! I'm finding a person for you..."
    assert len(bot) == 2 and not any("your name" in t or "e-mail address" in t for t in bot)  # never asked
    # sent again (another tab): the chat is no longer the bot's, nothing happens
    again = await post_answers(demo_app, {"session_id": v.session_id, "answers": ANSWERS, "handoff": "visitor_asked"})
    assert again.status_code == 200 and again.json()["handoff"] is False


async def test_person_mode_leaves_plain_rasa_clients_and_answered_forms_to_the_bot(demo_app, staff, clients):
    alex = await agent(demo_app, staff, clients, "Alex")
    plain = Visitor(demo_app.url)
    clients.append(plain)
    assert (await plain.connect(extensions=False))["ok"]
    assert (await plain.say("can i talk to a real person", client_id="p1"))["ok"]
    await alex.wait_for("offer")  # no form: the bot's own handoff goes on
    assert any("finding a person" in m["text"] for m in plain.of("bot_uttered"))

    v = Visitor(demo_app.url)
    clients.append(v)
    assert (await v.connect())["ok"]
    assert (await post_answers(demo_app, {"session_id": v.session_id, "answers": ANSWERS}))  # answered already
    assert (await v.say("can i talk to a real person", client_id="p2"))["ok"]
    await alex.wait_for("offer", count=2)
    assert "prechat" not in [h["state"] for h in v.of("handoff")]


async def test_the_answers_alone_start_nothing_outside_person_mode(demo_app, staff, clients):
    async with staff.sm() as db:
        await prechat.put_config(db, check_config({**PERSON, "mode": "always"}))
    await agent(demo_app, staff, clients, "Alex")
    v = Visitor(demo_app.url)
    clients.append(v)
    assert (await v.connect())["ok"]
    r = await post_answers(demo_app, {"session_id": v.session_id, "answers": ANSWERS, "handoff": "visitor_asked"})
    assert r.status_code == 200 and r.json()["handoff"] is False
    engine = make_engine(demo_app.env["SHOPCHAT_DATABASE_URL"])
    async with make_sessionmaker(engine)() as db:
        conv = await db.get(Conversation, v.conversation_id)
        assert conv.state == "bot" and conv.visitor_name == "Ada"
    await engine.dispose()


# ---- the bot's handoff form (the real Rasa calling the app's actions) asks nothing already known ----

async def test_the_bots_handoff_form_skips_what_the_conversation_knows(rasa_app, rasa_app_db, clients):
    staff = Staff(rasa_app_db)
    try:
        async with staff.sm() as db:
            await prechat.put_config(db, check_config({"mode": "always", "fields": [
                {"kind": "name", "required": True}, {"kind": "email", "required": True}]}))
        prefill = await agent(rasa_app, staff, clients, "Prefill")
        # both known (the pre-chat form before the chat): no question at all
        v = Visitor(rasa_app.url)
        clients.append(v)
        assert (await v.connect())["ok"]
        r = await post_answers(rasa_app, {"session_id": v.session_id, "answers": {"name": "Ada", "email": "ada@example.com"}})
        assert r.status_code == 200
        assert (await v.say("can I talk to a real person", client_id="k1"))["ok"]
        await v.wait_for("handoff", pred=lambda h: h["state"] == "queued", timeout=30)
        texts = [m["text"] for m in v.of("bot_uttered")]
        assert texts == ["Thanks, Ada! I'm finding a person for you..."]

        # only the e-mail known (the offline form, say): the name is asked, the e-mail is not
        w = Visitor(rasa_app.url)
        clients.append(w)
        assert (await w.connect())["ok"]
        async with staff.sm() as db:
            (await db.get(Conversation, w.conversation_id)).visitor_email = "bo@example.com"
            await db.commit()
        assert (await w.say("I want to speak to a human", client_id="k2"))["ok"]
        asked = (await w.wait_for("bot_uttered", timeout=30))[0]
        assert "what's your name" in asked["text"]
        assert (await w.say("Bo", client_id="k3"))["ok"]
        await w.wait_for("handoff", pred=lambda h: h["state"] == "queued", timeout=30)
        texts = [m["text"] for m in w.of("bot_uttered")]
        assert texts[1:] == ["Thanks, Bo! I'm finding a person for you..."]
        async with staff.sm() as db:
            conv = await db.get(Conversation, w.conversation_id)
            assert (conv.visitor_name, conv.visitor_email) == ("Bo", "bo@example.com")
        await prefill.call("heartbeat", {"status": "away"})  # takes no chat of the session's later tests
    finally:
        async with staff.sm() as db:
            await prechat.put_config(db, check_config({"mode": "off"}))
        await staff.close()
