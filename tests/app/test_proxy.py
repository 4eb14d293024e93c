"""Behind a load balancer: X-Forwarded-For and X-Forwarded-Proto are believed only from the peers
in SHOPCHAT_TRUSTED_PROXIES (app/settings.py, app/main.py), for login throttling and Secure cookies.
In-process with a chosen TCP peer, and once through `shopchat serve` (uvicorn's own default would
believe any local peer)."""
from __future__ import annotations

import httpx
import pydantic
import pytest
from sqlalchemy import select

from accounts.models import LoginFailure
from accounts.service import create_user
from accounts.web import COOKIE
from app.main import create_app
from app.settings import Settings
from tests.support import LiveApp

PW = "correct horse battery staple"
LB = "10.0.0.5"  # the load balancer's address, as the app's TCP peer


@pytest.fixture
def make_app(sqlite_url):
    apps = []

    async def make(trusted: str = ""):
        asgi = create_app(Settings(database_url=sqlite_url, trusted_proxies=trusted))
        async with asgi.ctx.sessionmaker() as db:
            await create_user(db, email="ann@shop.example", display_name="Ann", role="agent", password=PW)
        apps.append(asgi)
        return asgi

    yield make
    # (engines of SQLite files need no disposal before the file goes)


async def failed_login(asgi, peer: str, headers: dict) -> None:
    transport = httpx.ASGITransport(app=asgi, client=(peer, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://chat.shop.test") as c:
        r = await c.post("/login", data={"email": "ann@shop.example", "password": "wrong"}, headers=headers)
        assert r.status_code == 401


async def throttle_keys(ctx) -> set[str]:
    async with ctx.sessionmaker() as db:
        return {k for k in await db.scalars(select(LoginFailure.key)) if k.startswith("client:")}


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(make_app):
    asgi = await make_app("")
    await failed_login(asgi, "198.51.100.20", {"X-Forwarded-For": "203.0.113.9"})
    assert await throttle_keys(asgi.ctx) == {"client:198.51.100.20"}


async def test_a_peer_outside_the_trusted_list_is_not_believed_either(make_app):
    asgi = await make_app("10.0.0.0/24")
    await failed_login(asgi, "10.0.1.5", {"X-Forwarded-For": "203.0.113.9"})
    assert await throttle_keys(asgi.ctx) == {"client:10.0.1.5"}


@pytest.mark.parametrize("forwarded, client", [
    ("203.0.113.9", "203.0.113.9"),
    # The client forged an entry; the balancer appended the address it saw: the rightmost
    # untrusted one counts.
    ("192.0.2.66, 203.0.113.9", "203.0.113.9"),
    # Two proxies of ours: the first untrusted address from the right.
    ("203.0.113.9, 10.0.0.7", "203.0.113.9"),
])
async def test_x_forwarded_for_from_a_trusted_proxy_gives_the_client(make_app, forwarded, client):
    asgi = await make_app(f"{LB},10.0.0.7")
    await failed_login(asgi, LB, {"X-Forwarded-For": forwarded})
    assert await throttle_keys(asgi.ctx) == {f"client:{client}"}


async def login_cookie(asgi, peer: str, headers: dict) -> str:
    transport = httpx.ASGITransport(app=asgi, client=(peer, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://chat.shop.test") as c:
        r = await c.post("/login", data={"email": "ann@shop.example", "password": PW}, headers=headers)
        assert r.status_code == 303, r.text
        return [v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith(COOKIE)][0].lower()


async def test_the_cookie_is_secure_when_a_trusted_proxy_says_https(make_app):
    asgi = await make_app(LB)
    assert "secure" in await login_cookie(asgi, LB, {"X-Forwarded-Proto": "https"})
    assert "secure" not in await login_cookie(asgi, LB, {"X-Forwarded-Proto": "http"})
    # Anyone else saying https is not believed (a plain-http client would lose its cookie).
    assert "secure" not in await login_cookie(asgi, "198.51.100.20", {"X-Forwarded-Proto": "https"})


@pytest.mark.parametrize("value", ["10.0.0.5,lb.internal", "10.0.0.300", "*"])
def test_a_bad_trusted_proxy_entry_stops_the_start_naming_it(value):
    with pytest.raises(pydantic.ValidationError, match="SHOPCHAT_TRUSTED_PROXIES"):
        Settings(trusted_proxies=value)


def test_entries_are_trimmed_and_cidrs_kept():
    assert Settings(trusted_proxies=" 10.0.0.5 , 10.1.0.0/16,,::1 ").trusted_proxies == "10.0.0.5,10.1.0.0/16,::1"


@pytest.mark.parametrize("trusted, expected", [("", "127.0.0.1"), ("127.0.0.1", "203.0.113.9")])
def test_shopchat_serve_believes_only_its_setting(sqlite_url, trusted, expected):
    """uvicorn alone believes X-Forwarded-For from 127.0.0.1: `shopchat serve` must not."""
    app = LiveApp(sqlite_url, env={"SHOPCHAT_TRUSTED_PROXIES": trusted}).start()
    try:
        r = httpx.post(f"{app.url}/login", data={"email": "nobody@shop.example", "password": "wrong"},
                       headers={"X-Forwarded-For": "203.0.113.9"})
        assert r.status_code == 401
    finally:
        app.stop()
    import asyncio

    from app.db import make_engine, make_sessionmaker

    async def keys():
        engine = make_engine(sqlite_url)
        try:
            async with make_sessionmaker(engine)() as db:
                return {k for k in await db.scalars(select(LoginFailure.key)) if k.startswith("client:")}
        finally:
            await engine.dispose()

    assert asyncio.run(keys()) == {f"client:{expected}"}
