"""The visitor's language through the real app (its own process, demo content, Rasa down so the app
answers by itself; tests/bot/test_greek_rasa.py has the real Rasa): the language the widget sends,
a message clearly in another language switching it (stored, for agents), the widget's switch
(`set_language`), and the bot's texts following it."""
import re

from tests.chat.test_plain_rasa_clients import conversation
from tests.chat.visitor_client import Visitor

GREEK = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")


async def ask(visitor, text) -> dict:
    before = len(visitor.of("bot_uttered"))
    await visitor.say(text)
    return (await visitor.wait_for("bot_uttered", count=before + 1, timeout=20))[before]


async def test_a_greek_page_gets_greek_answers_and_a_greek_handoff(demo_app):
    v = Visitor(demo_app.url)
    try:
        await v.connect(language="el")
        assert (await conversation(demo_app, v.session_id)).language == "el"
        answer = await ask(v, "που ειναι η παραγγελια μου")
        assert GREEK.search(answer["text"]), answer
        assert any(q["title"] == "Μιλήστε με άνθρωπο" for q in answer["quick_replies"])
        await v.say("θέλω να μιλήσω με άνθρωπο")  # Rasa down: no form, a handoff at once
        await v.wait_for("handoff", pred=lambda d: d.get("state") in ("queued", "offline"))
        assert all(GREEK.search(m["text"]) for m in v.of("bot_uttered")), v.of("bot_uttered")
    finally:
        await v.close()


async def test_a_message_clearly_in_another_language_switches_the_conversation(demo_app):
    v = Visitor(demo_app.url)
    try:
        await v.connect(language="en")
        answer = await ask(v, "pou einai i paraggelia mou")  # Greeklish on an English page
        assert (await conversation(demo_app, v.session_id)).language == "el"
        assert GREEK.search(answer["text"]), answer
        await ask(v, "ok")  # says nothing about the language: stays Greek
        assert (await conversation(demo_app, v.session_id)).language == "el"
        answer = await ask(v, "where is my order")
        assert (await conversation(demo_app, v.session_id)).language == "en"
        assert not GREEK.search(answer["text"]), answer
    finally:
        await v.close()


async def test_the_widgets_switch_sets_the_language_and_bad_tags_change_nothing(demo_app):
    v = Visitor(demo_app.url)
    try:
        await v.connect(language="en")
        assert await v.call("set_language", {"language": "el"}) == {"ok": True, "language": "el"}
        assert (await conversation(demo_app, v.session_id)).language == "el"
        for bad in ({"language": "<script>"}, {"language": 7}, {}, {"language": "x" * 40}):
            ack = await v.call("set_language", bad)
            assert ack["ok"] is False and ack["error"]["code"] == "bad_payload", ack
        assert (await conversation(demo_app, v.session_id)).language == "el"
        answer = await ask(v, "/deny")  # a button's payload: says nothing about the language
        assert GREEK.search(answer["text"]), answer
    finally:
        await v.close()


async def test_set_language_needs_a_session(demo_app):
    v = Visitor(demo_app.url)
    try:
        await v.sio.connect(demo_app.url, transports=["websocket"])
        ack = await v.call("set_language", {"language": "el"})
        assert ack["ok"] is False and ack["error"]["code"] == "no_session"
    finally:
        await v.close()
