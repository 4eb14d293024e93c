"""Agents' notification preferences over HTTP (the app in-process): defaults, a partial change
kept per agent, bad input refused with nothing changed, editors and strangers kept out."""
import pytest

from accounts.service import create_user
from app.main import create_app
from app.settings import Settings
from tests.accounts.test_web import CSRF, PW, client, login


@pytest.fixture
async def app(db_url):
    asgi = create_app(Settings(database_url=db_url))
    async with asgi.ctx.sessionmaker() as db:
        for email, role in (("alex@shop.example", "agent"), ("bo@shop.example", "agent"),
                            ("erin@shop.example", "editor")):
            await create_user(db, email=email, display_name=email.split("@")[0].title(), role=role, password=PW)
    yield asgi
    await asgi.ctx.engine.dispose()


async def test_preferences_are_each_agents_own(app):
    async with client(app, await login(app, "alex@shop.example")) as alex:
        r = await alex.get("/api/console/preferences")
        assert r.json()["preferences"] == {"desktop": False, "sound": True, "title_flash": True}
        r = await alex.put("/api/console/preferences", headers=CSRF, json={"desktop": True, "sound": False})
        assert r.status_code == 200 and r.json()["preferences"] == {"desktop": True, "sound": False, "title_flash": True}
        for bad, status in (({"desktop": "yes"}, 422), ({"volume": 3}, 422), ([True], 400)):
            r = await alex.put("/api/console/preferences", headers=CSRF, json=bad)
            assert r.status_code == status and r.json()["error"]["message"], r.text
        assert (await alex.put("/api/console/preferences", json={"sound": True})).status_code == 403  # no CSRF header
        assert (await alex.get("/api/console/preferences")).json()["preferences"] == \
            {"desktop": True, "sound": False, "title_flash": True}
    async with client(app, await login(app, "bo@shop.example")) as bo:
        assert (await bo.get("/api/console/preferences")).json()["preferences"]["desktop"] is False
    async with client(app, await login(app, "erin@shop.example")) as erin:
        assert (await erin.get("/api/console/preferences")).status_code == 403
    async with client(app) as stranger:
        assert (await stranger.get("/api/console/preferences")).status_code == 401
