"""The staff pages' language per user (docs/editor.md "Languages of the editor"): served with /api/me,
changed by the user themself only with PUT /api/me/language; bad values are 422 and change nothing."""
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import select

from accounts.models import User
from accounts.service import create_user
from accounts.web import COOKIE
from app.main import create_app
from app.settings import Settings

PW = "correct horse battery"
CSRF = {"X-Requested-With": "shopchat"}


@pytest.fixture
async def app(db_url):
    asgi = create_app(Settings(database_url=db_url))
    async with asgi.ctx.sessionmaker() as db:
        await create_user(db, email="erin@shop.example", display_name="Erin", role="editor", password=PW)
        await create_user(db, email="ed@shop.example", display_name="Ed", role="editor", password=PW)
        await create_user(db, email="alex@shop.example", display_name="Alex", role="agent", password=PW)
    yield asgi
    await asgi.ctx.engine.dispose()


@asynccontextmanager
async def client(app, email: str):
    """A client logged in as `email` (a browser of its own: a login of its own)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
                                 base_url="http://127.0.0.1:8000") as c:
        r = await c.post("/login", data={"email": email, "password": PW}, headers={"Origin": "http://127.0.0.1:8000"})
        assert r.status_code == 303, r.text
        c.cookies = {COOKIE: r.cookies[COOKIE]}
        yield c


async def stored(app, email: str) -> str | None:
    async with app.ctx.sessionmaker() as db:
        return await db.scalar(select(User.language).where(User.email == email))


async def test_a_new_user_has_no_choice_and_a_choice_follows_them_to_another_login(app):
    async with client(app, "erin@shop.example") as c:
        assert (await c.get("/api/me")).json()["language"] is None
        r = await c.put("/api/me/language", headers=CSRF, json={"language": "el"})
        assert r.status_code == 200 and r.json() == {"language": "el"}
    assert await stored(app, "erin@shop.example") == "el"
    async with client(app, "erin@shop.example") as other_browser:
        assert (await other_browser.get("/api/me")).json()["language"] == "el"
        r = await other_browser.put("/api/me/language", headers=CSRF, json={"language": "en"})
        assert r.status_code == 200 and (await other_browser.get("/api/me")).json()["language"] == "en"
        # null: no choice any more, the pages follow the browser's language again
        r = await other_browser.put("/api/me/language", headers=CSRF, json={"language": None})
        assert r.status_code == 200 and (await other_browser.get("/api/me")).json()["language"] is None


async def test_the_choice_is_each_users_own(app):
    async with client(app, "erin@shop.example") as erin, client(app, "alex@shop.example") as alex:
        assert (await erin.put("/api/me/language", headers=CSRF, json={"language": "el"})).status_code == 200
        assert (await alex.get("/api/me")).json()["language"] is None  # an agent may choose too
        assert (await alex.put("/api/me/language", headers=CSRF, json={"language": "en"})).status_code == 200
    assert await stored(app, "erin@shop.example") == "el"
    assert await stored(app, "alex@shop.example") == "en"
    assert await stored(app, "ed@shop.example") is None
    # the route has no user id: nobody can set another user's language, and the admin API cannot either
    async with client(app, "erin@shop.example") as erin:
        ed_id = (await erin.get("/api/me")).json()["id"] + 1  # created right after Erin
        r = await erin.patch(f"/api/agents/{ed_id}", headers=CSRF, json={"language": "en"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "language"
    assert await stored(app, "ed@shop.example") is None


@pytest.mark.parametrize("body", [
    {"language": "fr"}, {"language": "EL"}, {"language": ""}, {"language": 1}, {"language": ["el"]},
    {"language": "el-GR"}, {}, {"language": "el", "role": "admin"},
])
async def test_bad_values_are_422_and_change_nothing(app, body):
    async with client(app, "erin@shop.example") as c:
        assert (await c.put("/api/me/language", headers=CSRF, json={"language": "el"})).status_code == 200
        r = await c.put("/api/me/language", headers=CSRF, json=body)
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "bad_field" and error["field"] in ("language", "role")
        me = (await c.get("/api/me")).json()
    assert me["language"] == "el" and me["role"] == "editor"
    assert await stored(app, "erin@shop.example") == "el"


async def test_changing_it_needs_a_login_and_the_csrf_header(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as c:
        assert (await c.put("/api/me/language", headers=CSRF, json={"language": "el"})).status_code == 401
    async with client(app, "erin@shop.example") as c:
        r = await c.put("/api/me/language", json={"language": "el"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
    assert await stored(app, "erin@shop.example") is None
