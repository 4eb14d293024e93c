"""The issue's "the bot fails to answer twice in a row" rule: the app starts the handoff by itself
(here with Rasa down, so the local path; with Rasa the same reason goes through its name form,
tests/integration)."""
from __future__ import annotations

import httpx
import pytest

from tests.chat.visitor_client import Visitor

NONSENSE = ["qwxz plorb vantic", "zzkq frumble yorp", "blarg wibble snoot"]


@pytest.fixture
def app(demo_app):
    return demo_app


async def _turn(v: Visitor, text: str, n: int) -> None:
    assert (await v.say(text, client_id=f"c{n}"))["ok"]
    # The bot's turn is over when its typing indicator went off for the n-th time.
    await v.wait_for("bot_typing", pred=lambda d: d.get("typing") is False, count=n)


async def test_two_fallbacks_in_a_row_start_the_handoff(app):
    v = Visitor(app.url)
    try:
        assert (await v.connect())["ok"]
        await _turn(v, NONSENSE[0], 1)
        assert v.of("handoff") == [], "one fallback is not enough"
        await _turn(v, NONSENSE[1], 2)
        # Nobody is online in this test: the visitor is offered the contact form at once.
        offline = (await v.wait_for("handoff", pred=lambda d: d.get("state") == "offline"))[0]
        assert offline["reason"].startswith("bot_failed")
    finally:
        await v.close()


async def test_a_good_answer_in_between_resets_the_count(app):
    v = Visitor(app.url)
    try:
        assert (await v.connect())["ok"]
        await _turn(v, NONSENSE[0], 1)
        await _turn(v, "which payment methods do you accept", 2)
        await _turn(v, NONSENSE[2], 3)
        assert v.of("handoff") == []
    finally:
        await v.close()


# ---- Rasa up, its custom actions failing (issue 12) -----------------------------------------------

async def test_a_failing_custom_action_still_gets_an_answer_and_health_reports_it(rasa_url, rasa_app, rasa_app_db):
    """The real Rasa calls the app's action endpoint with the token it was started with; this app
    expects another, so every custom action fails and Rasa's webhook answers `[]`. The visitor still
    gets the knowledge base's answer (or an honest "I'm not sure" with "Talk to a person"), and
    /health says the action path is failing."""
    from tests.conftest import RASA_APP_PORT
    from tests.support import LiveApp

    rasa_app.stop()  # its port is where Rasa sends action calls: this app takes it for the test
    app = LiveApp(rasa_app_db, port=RASA_APP_PORT, rasa_url=rasa_url, action_token="not-the-token-rasa-has").start()
    v = Visitor(app.url)
    try:
        assert httpx.get(f"{app.url}/health").json()["rasa_actions"] == "up"  # nothing seen failing yet
        assert (await v.connect())["ok"]
        await _turn(v, "which payment methods do you accept", 1)
        [answer] = v.of("bot_uttered")
        assert answer["kb"]["title"] == "Payment methods"
        assert httpx.get(f"{app.url}/health").json() == {"status": "ok", "db": "up", "rasa": "up",
                                                         "rasa_actions": "failing"}
        await _turn(v, NONSENSE[0], 2)
        honest = v.of("bot_uttered")[1]
        assert honest.get("fallback") is True
        assert any(q["payload"] == "/human_handoff" for q in honest["quick_replies"])
    finally:
        await v.close()
        app.stop()
        rasa_app.start()
