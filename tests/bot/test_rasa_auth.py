"""Rasa's HTTP API answers only with the shared auth token; the app sends it (the real Rasa)."""
import uuid

import httpx
import pytest

from app.main import create_app
from app.settings import Settings
from bot.rasa_client import RasaClient, RasaUnavailable, check_rasa_urls
from tests.conftest import RASA_AUTH_TOKEN
from tests.support import free_port


def test_rasas_api_refuses_a_caller_without_the_token(rasa_url):
    sender = f"auth-{uuid.uuid4().hex[:8]}"
    httpx.post(f"{rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": "my e-mail is a@b.co"}, timeout=30)
    tracker = f"{rasa_url}/conversations/{sender}/tracker"
    assert httpx.get(tracker).status_code == 401
    assert httpx.get(tracker, params={"token": "wrong"}).status_code == 401
    assert httpx.post(f"{rasa_url}/conversations/{sender}/tracker/events", json=[]).status_code == 401
    assert httpx.put(f"{rasa_url}/model", json={}).status_code == 401
    assert httpx.post(f"{rasa_url}/model/parse", json={"text": "hi"}).status_code == 401
    with_token = httpx.get(tracker, params={"token": RASA_AUTH_TOKEN})
    assert with_token.status_code == 200 and with_token.json()["sender_id"] == sender


async def test_the_client_sends_the_token_to_the_api(rasa_url):
    with_token = RasaClient(rasa_url, auth_token=RASA_AUTH_TOKEN)
    assert (await with_token.parse("hello there"))["intent"]["name"] == "greet"
    await with_token.aclose()
    without = RasaClient(rasa_url)
    with pytest.raises(RasaUnavailable, match="401"):
        await without.parse("hello there")
    await without.aclose()


async def test_the_app_passes_its_setting_to_rasa(rasa_url, sqlite_url):
    from accounts.service import create_user
    from tests.knowledge_base.test_editor_api import _client, PW

    app = create_app(Settings(database_url=sqlite_url, rasa_url=rasa_url, rasa_auth_token=RASA_AUTH_TOKEN))
    async with app.ctx.sessionmaker() as db:
        await create_user(db, email="erin@kb.test", display_name="Erin", role="editor", password=PW)
    erin = await _client(app, "erin@kb.test")
    tried = (await erin.post("/api/kb/try", json={"text": "hello there"})).json()
    assert tried["intent"]["name"] == "greet"
    await erin.aclose()
    await app.ctx.rasa.aclose()
    await app.ctx.engine.dispose()


async def test_a_server_that_refuses_the_connection_is_skipped(rasa_url):
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = RasaClient(f"{down},{rasa_url}", auth_token=RASA_AUTH_TOKEN)
    senders = [f"failover-{i}" for i in range(8)]
    assert {client.servers_for(s)[0] for s in senders} == {down, rasa_url}  # both orders occur
    for sender in senders:
        answer = await client.send(sender, "hello")
        # Rasa answered (a refused connection would raise): its reply comes from the app's custom
        # action, an empty list when no app serves the actions in this test
        assert isinstance(answer, list)
    assert client.servers_for("any") == [rasa_url, down]  # the refusing one comes last for a while
    assert (await client.parse("hello"))["intent"]["name"] == "greet"
    assert await client.is_up()
    await client.aclose()
    client = RasaClient(f"{down}, http://127.0.0.1:{free_port()}")
    with pytest.raises(RasaUnavailable):
        await client.send("x", "hello")
    assert not await client.is_up()
    await client.aclose()


@pytest.mark.parametrize("value", ["", " , ", "127.0.0.1:5005", "http://a:1,ftp://b"])
def test_a_bad_rasa_url_is_refused_clearly(value):
    with pytest.raises(ValueError, match="rasa_url must be"):
        check_rasa_urls(value)
    assert check_rasa_urls(" http://a:1/ ,https://b ") == ["http://a:1", "https://b"]
