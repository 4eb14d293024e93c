"""The login page and the accounts API over HTTP (the FastAPI app in-process, SQLite and PostgreSQL)."""
import httpx
import pytest
from sqlalchemy import select

from accounts.models import User
from accounts.service import create_user
from accounts.web import COOKIE
from app.main import create_app
from app.settings import Settings

PW = "correct horse battery"
BASE = "http://127.0.0.1:8000"
CSRF = {"X-Requested-With": "shopchat"}


@pytest.fixture
async def app(db_url):
    asgi = create_app(Settings(database_url=db_url))
    async with asgi.ctx.sessionmaker() as db:
        await create_user(db, email="boss@shop.example", display_name="Boss", role="admin", password=PW)
        await create_user(db, email="alex@shop.example", display_name="Alex", role="agent", password=PW,
                          max_chats=3, priority=10)
        await create_user(db, email="erin@shop.example", display_name="Erin", role="editor", password=PW)
    yield asgi
    await asgi.ctx.engine.dispose()


def client(app, token: str | None = None, *, base: str = BASE, address: str = "127.0.0.1") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 50000)), base_url=base,
                             cookies={COOKIE: token} if token else None)


async def post_login(c: httpx.AsyncClient, email: str, password: str = PW, **extra) -> httpx.Response:
    origin = str(c.base_url).rstrip("/")
    return await c.post("/login", data={"email": email, "password": password, **extra}, headers={"Origin": origin})


async def login(app, email: str) -> str:
    async with client(app) as c:
        r = await post_login(c, email)
        assert r.status_code == 303, r.text
        return r.cookies[COOKIE]


async def get_user(app, email: str) -> User:
    async with app.ctx.sessionmaker() as db:
        return await db.scalar(select(User).where(User.email == email))


# ---- login and logout --------------------------------------------------------------------------

async def test_login_sets_a_strict_httponly_cookie_and_redirects_to_the_console(app):
    async with client(app) as c:
        r = await post_login(c, "Alex@Shop.example")
        assert r.status_code == 303 and r.headers["location"] == "/console/"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert "secure" not in cookie  # plain-http base URL: a Secure cookie would never come back
        me = (await c.get("/api/me")).json()
    assert me == {"id": me["id"], "email": "alex@shop.example", "display_name": "Alex", "role": "agent",
                  "max_chats": 3, "priority": 10, "accepting_chats": True, "status": "offline",
                  "language": None}


async def test_cookie_is_secure_when_the_public_url_is_https(db_url):
    asgi = create_app(Settings(database_url=db_url, public_url="https://chat.shop.example"))
    async with asgi.ctx.sessionmaker() as db:
        await create_user(db, email="alex@shop.example", display_name="Alex", role="agent", password=PW)
    async with client(asgi, base="https://chat.shop.example") as c:
        r = await post_login(c, "alex@shop.example")
    await asgi.ctx.engine.dispose()
    assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()


async def test_wrong_password_shows_the_page_again_with_401_then_429(app):
    async with client(app) as c:
        for _ in range(5):
            r = await post_login(c, "alex@shop.example", "wrong password")
            assert r.status_code == 401 and "Wrong e-mail or password" in r.text and COOKIE not in r.cookies
            assert 'value="alex@shop.example"' in r.text  # the e-mail is kept, the password is not
        r = await post_login(c, "alex@shop.example")  # right password, but throttled
        assert r.status_code == 429 and "Too many failed logins" in r.text and COOKIE not in r.cookies
    async with client(app, address="10.2.3.4") as c:  # another client, another e-mail: fine
        assert (await post_login(c, "erin@shop.example")).status_code == 303


async def test_login_page_escapes_hostile_values(app):
    hostile = '/"><script>alert(1)</script>'
    async with client(app) as c:
        page = await c.get("/login", params={"next": hostile})
        assert page.status_code == 200 and "<script>" not in page.text
        assert 'value="/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        r = await post_login(c, '"><img src=x onerror=alert(1)>@x.io', "wrong password", next=hostile)
        assert r.status_code == 401 and "<img" not in r.text and "<script>" not in r.text
        assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;@x.io" in r.text


@pytest.mark.parametrize("next_path", ["//evil.example/x", "https://evil.example/", "/\\evil.example",
                                       "/\t/evil.example", "javascript:alert(1)", ""])
async def test_an_off_site_next_is_never_followed(app, next_path):
    async with client(app) as c:
        assert f'value="/console/"' in (await c.get("/login", params={"next": next_path})).text
        r = await post_login(c, "alex@shop.example", next=next_path)
    assert r.status_code == 303 and r.headers["location"] == "/console/"


async def test_a_same_site_next_is_followed(app):
    async with client(app) as c:
        r = await post_login(c, "alex@shop.example", next="/console/?chat=42")
    assert r.status_code == 303 and r.headers["location"] == "/console/?chat=42"


async def test_login_form_posted_from_another_site_is_refused(app):
    async with client(app) as c:
        for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/page"},
                        {"Origin": "null"}):
            r = await c.post("/login", data={"email": "alex@shop.example", "password": PW}, headers=headers)
            assert r.status_code == 403 and COOKIE not in r.cookies


async def test_logout_ends_the_session_and_clears_the_cookie(app):
    token = await login(app, "alex@shop.example")
    async with client(app, token) as c:
        assert (await c.get("/api/me")).status_code == 200
        r = await c.post("/logout", headers={"Origin": BASE})
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert f'{COOKIE}=""' in r.headers["set-cookie"] or "max-age=0" in r.headers["set-cookie"].lower()
    async with client(app, token) as c:
        assert (await c.get("/api/me")).status_code == 401


# ---- who may call what -------------------------------------------------------------------------

async def test_api_without_a_cookie_is_401_with_a_json_error(app):
    async with client(app) as c:
        for method, url in (("GET", "/api/me"), ("GET", "/api/agents"), ("POST", "/api/agents"),
                            ("PATCH", "/api/agents/1")):
            r = await c.request(method, url, json={}, headers=CSRF)
            assert r.status_code == 401 and r.json()["error"]["code"] == "not_logged_in"
    async with client(app, "forged-or-expired") as c:
        assert (await c.get("/api/me")).status_code == 401


async def test_admin_only_endpoints_refuse_agents_and_editors(app):
    for email in ("alex@shop.example", "erin@shop.example"):
        async with client(app, await login(app, email)) as c:
            assert (await c.get("/api/agents")).status_code == 403
            r = await c.post("/api/agents", headers=CSRF, json={"email": "new@shop.example", "display_name": "New",
                                                                 "password": PW, "role": "admin"})
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert await get_user(app, "new@shop.example") is None


async def test_admin_lists_creates_and_updates_agents(app):
    async with client(app, await login(app, "boss@shop.example")) as c:
        listed = (await c.get("/api/agents")).json()["agents"]
        assert [a["email"] for a in listed] == ["boss@shop.example", "alex@shop.example", "erin@shop.example"]
        assert all("password_hash" not in a and "password" not in a for a in listed)
        r = await c.post("/api/agents", headers=CSRF, json={
            "email": "Sam@Shop.example", "display_name": "Sam", "role": "agent", "password": PW,
            "max_chats": 5, "priority": 20, "accepting_chats": False})
        assert r.status_code == 201, r.text
        sam = r.json()
        assert (sam["email"], sam["max_chats"], sam["priority"], sam["accepting_chats"]) == \
            ("sam@shop.example", 5, 20, False)
        r = await c.post("/api/agents", headers=CSRF, json={"email": "sam@shop.example", "display_name": "Sam 2",
                                                             "password": PW})
        assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_email"
        r = await c.patch(f"/api/agents/{sam['id']}", headers=CSRF, json={"priority": 1, "max_chats": 20})
        assert r.status_code == 200 and (r.json()["priority"], r.json()["max_chats"]) == (1, 20)
        r = await c.patch("/api/agents/999999", headers=CSRF, json={"priority": 1})
        assert r.status_code == 404


@pytest.mark.parametrize("body, field", [
    ({"max_chats": 0}, "max_chats"), ({"priority": 101}, "priority"), ({"role": "root"}, "role"),
    ({"accepting_chats": "no"}, "accepting_chats"), ({"display_name": ""}, "display_name"),
    ({"password_hash": "x"}, "password_hash"), ({"password": "short"}, "password"),
])
async def test_bad_agent_input_names_the_field_and_changes_nothing(app, body, field):
    alex = await get_user(app, "alex@shop.example")
    async with client(app, await login(app, "boss@shop.example")) as c:
        r = await c.patch(f"/api/agents/{alex.id}", headers=CSRF, json={"display_name": "Renamed", **body}
                          if field != "display_name" else body)
        assert r.status_code == 422 and r.json()["error"]["field"] == field and field in r.json()["error"]["message"]
        r = await c.post("/api/agents", headers=CSRF, json={"email": "new@shop.example", "display_name": "New",
                                                             "password": PW, **body})
        assert r.status_code == 422 and field in r.json()["error"]["message"]
    after = await get_user(app, "alex@shop.example")
    assert (after.display_name, after.max_chats, after.priority, after.role, after.password_hash) == \
        (alex.display_name, alex.max_chats, alex.priority, alex.role, alex.password_hash)
    assert await get_user(app, "new@shop.example") is None


async def test_malformed_bodies_get_clear_errors(app):
    async with client(app, await login(app, "boss@shop.example")) as c:
        r = await c.post("/api/agents", headers={**CSRF, "Content-Type": "application/json"}, content=b"{not json")
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_json"
        r = await c.post("/api/agents", headers=CSRF, json=["a list"])
        assert r.status_code == 400
        r = await c.post("/api/agents", headers=CSRF, json={"email": "x@shop.example"})
        assert r.status_code == 422 and r.json()["error"]["field"] == "display_name"
        r = await c.patch("/api/agents/not-a-number", headers=CSRF, json={})
        assert r.status_code == 422 and "user_id" in r.json()["error"]["message"]


async def test_agents_may_only_switch_their_own_accepting_chats(app):
    alex, erin = await get_user(app, "alex@shop.example"), await get_user(app, "erin@shop.example")
    async with client(app, await login(app, "alex@shop.example")) as c:
        for body in ({"priority": 1}, {"max_chats": 20}, {"accepting_chats": False, "priority": 1}, {"role": "admin"}):
            r = await c.patch(f"/api/agents/{alex.id}", headers=CSRF, json=body)
            assert r.status_code == 403, body
        r = await c.patch(f"/api/agents/{erin.id}", headers=CSRF, json={"accepting_chats": False})
        assert r.status_code == 403
        r = await c.patch(f"/api/agents/{alex.id}", headers=CSRF, json={"accepting_chats": False})
        assert r.status_code == 200 and r.json()["accepting_chats"] is False
    after = await get_user(app, "alex@shop.example")
    assert (after.priority, after.max_chats, after.role, after.accepting_chats) == (10, 3, "agent", False)
    async with client(app, await login(app, "erin@shop.example")) as c:  # editors take no chats
        r = await c.patch(f"/api/agents/{erin.id}", headers=CSRF, json={"accepting_chats": False})
        assert r.status_code == 403


async def test_state_changing_api_without_the_csrf_header_is_refused(app):
    alex = await get_user(app, "alex@shop.example")
    async with client(app, await login(app, "boss@shop.example")) as c:
        for headers in ({}, {"X-Requested-With": "XMLHttpRequest"}):
            r = await c.post("/api/agents", headers=headers,
                             json={"email": "new@shop.example", "display_name": "New", "password": PW})
            assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
            r = await c.patch(f"/api/agents/{alex.id}", headers=headers, json={"priority": 1})
            assert r.status_code == 403
            r = await c.post("/api/me/password", headers=headers,
                             json={"current_password": PW, "new_password": "another passphrase"})
            assert r.status_code == 403
        assert (await c.get("/api/agents")).status_code == 200  # reads need no header
    assert await get_user(app, "new@shop.example") is None
    assert (await get_user(app, "alex@shop.example")).priority == 10


# ---- passwords -------------------------------------------------------------------------------

async def test_changing_my_password_logs_out_every_session(app):
    first, second = await login(app, "alex@shop.example"), await login(app, "alex@shop.example")
    async with client(app, first) as c:
        r = await c.post("/api/me/password", headers=CSRF, json={"current_password": "wrong one!!", "new_password": "x" * 12})
        assert r.status_code == 403 and r.json()["error"]["field"] == "current_password"
        r = await c.post("/api/me/password", headers=CSRF, json={"current_password": PW, "new_password": "short"})
        assert r.status_code == 422 and "at least 10" in r.json()["error"]["message"]
        for common in ("password12", "Alex2026!!!"):  # a common one; the e-mail's name (alex@shop.example)
            r = await c.post("/api/me/password", headers=CSRF, json={"current_password": PW, "new_password": common})
            assert r.status_code == 422 and r.json()["error"]["field"] == "new_password", r.text
        r = await c.post("/api/me/password", headers=CSRF, json={"current_password": PW, "new_password": "a new passphrase"})
        assert r.status_code == 200 and "log in again" in r.json()["message"]
    for token in (first, second):
        async with client(app, token) as c:
            assert (await c.get("/api/me")).status_code == 401
    async with client(app) as c:
        assert (await post_login(c, "alex@shop.example")).status_code == 401
        assert (await post_login(c, "alex@shop.example", "a new passphrase")).status_code == 303


async def test_admin_password_reset_revokes_the_agents_sessions(app):
    alex = await get_user(app, "alex@shop.example")
    token = await login(app, "alex@shop.example")
    async with client(app, await login(app, "boss@shop.example")) as c:
        r = await c.patch(f"/api/agents/{alex.id}", headers=CSRF, json={"password": "reset by the boss"})
        assert r.status_code == 200
    async with client(app, token) as c:
        assert (await c.get("/api/me")).status_code == 401
    async with client(app) as c:
        assert (await post_login(c, "alex@shop.example", "reset by the boss")).status_code == 303
