"""The bot's turn across processes (issue 12): two app processes on one PostgreSQL, sharing rooms
through Redis, a visitor with a tab on each. Questions asked alternately in both tabs get exactly one
answer each, in question order, although a slower question comes first; a retry of a question that
lands on the other process while the first one is answering it gets no second answer."""
from __future__ import annotations

import pytest

from bench.recovery import check_transcripts
from tests.chat.slow_rasa import ANSWER_PREFIX, SlowRasa
from tests.chat.visitor_client import Visitor
from tests.handoff.test_multi_process import REDIS, redis_available
from tests.support import IN_CI, LiveApp, TestDatabase, free_port, postgres_available


@pytest.fixture(scope="module")
def two_apps(tmp_path_factory):
    if not (postgres_available() and redis_available()):
        if IN_CI:
            pytest.fail("CI has PostgreSQL and Redis; this test must run there")
        pytest.skip("needs PostgreSQL and Redis on their default local ports")
    rasa = SlowRasa(free_port(), 0.2)
    db = TestDatabase("postgres", tmp_path_factory.mktemp("turns")).create()
    env = {"SHOPCHAT_REDIS_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0",
           "SHOPCHAT_RASA_AUTH_TOKEN": "test-rasa-auth-token"}  # several processes: shared, not generated
    apps = [LiveApp(db.url, rasa_url=rasa.url, env=env).start(), LiveApp(db.url, rasa_url=rasa.url, env=env).start()]
    yield apps, db.url
    for app in apps:
        app.stop()
    db.drop()
    rasa.stop()


async def _tabs(app1, app2) -> tuple[Visitor, Visitor]:
    tab1, tab2 = Visitor(app1.url), Visitor(app2.url)
    assert (await tab1.connect())["ok"]
    assert (await tab2.connect(session_id=tab1.session_id))["ok"]
    return tab1, tab2


async def test_two_tabs_on_two_processes_get_one_answer_per_question_in_order(two_apps):
    (app1, app2), db_url = two_apps
    tab1, tab2 = await _tabs(app1, app2)
    try:
        # The first question takes Rasa 0.8 s, the others 0.2 s: answered by two processes on their
        # own, the second answer would come first.
        questions = ["wait=0.8 first", "second", "third", "wait=0.5 fourth", "fifth", "sixth"]
        for i, q in enumerate(questions):
            tab = tab1 if i % 2 == 0 else tab2
            assert (await tab.say(q, client_id=f"c{i}"))["ok"]
        for tab in (tab1, tab2):  # every answer reaches both tabs, in order
            got = await tab.wait_for("bot_uttered", count=len(questions), timeout=15)
            assert [m["text"] for m in got] == [ANSWER_PREFIX + q for q in questions]
        assert await check_transcripts(db_url, {tab1.conversation_id: questions}) == []
    finally:
        await tab1.close()
        await tab2.close()


async def test_a_retry_on_the_other_process_mid_turn_gets_no_second_answer(two_apps):
    (app1, app2), db_url = two_apps
    tab1, tab2 = await _tabs(app1, app2)
    try:
        assert (await tab1.say("wait=1 where is my order", client_id="q1"))["ok"]
        # The ack was lost (say): the client sends it again, and this time it reaches app2 while
        # app1 is still waiting for Rasa's answer.
        again = await tab2.say("wait=1 where is my order", client_id="q1")
        assert again["ok"] and again["duplicate"]
        await tab1.wait_for("bot_uttered", timeout=10)
        await tab1.wait_for("bot_typing", pred=lambda d: d.get("typing") is False, timeout=10)
        assert (await tab2.say("and returns?", client_id="q2"))["ok"]
        await tab1.wait_for("bot_uttered", count=2, timeout=10)
        assert await check_transcripts(db_url, {tab1.conversation_id: ["wait=1 where is my order",
                                                                      "and returns?"]}) == []
    finally:
        await tab1.close()
        await tab2.close()
