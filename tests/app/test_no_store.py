"""Nothing with personal or account data may be kept by a browser or a proxy (`Cache-Control:
no-store`), and the interactive API docs (public, scripts from a CDN) are off unless asked for."""
import httpx
import pytest

from accounts.service import create_user
from app.main import create_app
from app.settings import Settings
from tests.accounts.test_web import CSRF, PW, client, login, post_login


@pytest.fixture
async def app(sqlite_url):
    asgi = create_app(Settings(database_url=sqlite_url))
    async with asgi.ctx.sessionmaker() as db:
        await create_user(db, email="boss@shop.example", display_name="Boss", role="admin", password=PW)
    yield asgi
    await asgi.ctx.engine.dispose()


async def test_api_login_logout_and_staff_pages_are_never_stored(app):
    async with client(app) as c:
        for path in ("/api/me", "/api/console/tickets", "/api/kb/articles", "/login", "/console/", "/editor/"):
            r = await c.get(path)
            assert r.headers.get("cache-control") == "no-store", (path, r.status_code, r.headers)
        r = await post_login(c, "boss@shop.example")
        assert r.status_code == 303 and r.headers["cache-control"] == "no-store"
        r = await post_login(c, "boss@shop.example", "wrong password")
        assert r.headers["cache-control"] == "no-store"
    async with client(app, await login(app, "boss@shop.example")) as c:
        for path in ("/api/me", "/api/agents", "/api/console/overview", "/api/kb/export?format=csv"):
            r = await c.get(path)
            assert r.status_code == 200 and r.headers["cache-control"] == "no-store", path
        r = await c.post("/api/me/password", headers=CSRF, json={"current_password": "x", "new_password": "short"})
        assert r.status_code == 422 and r.headers["cache-control"] == "no-store"
        r = await c.post("/logout", headers=CSRF)
        assert r.headers["cache-control"] == "no-store"
    async with client(app) as c:  # the widget's files keep their own caching
        assert (await c.get("/widget/loader.js")).headers["cache-control"] == "no-cache"
        assert "immutable" in (await c.get("/widget/chat.js?v=1")).headers["cache-control"]


async def test_api_docs_are_off_by_default_and_on_by_a_setting(app, sqlite_url):
    async with client(app) as c:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await c.get(path)).status_code == 404, path
    docs = create_app(Settings(database_url=sqlite_url, api_docs=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=docs), base_url="http://app") as c:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await c.get(path)).status_code == 200, path
    await docs.ctx.engine.dispose()
