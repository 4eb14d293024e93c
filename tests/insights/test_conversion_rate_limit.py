"""The loader's conversion report (`POST /api/conversions/widget`, public) is rate limited per client
address and per browser id: 429 with Retry-After and nothing stored over the limit; counted in Redis,
so shared by the app processes, when SHOPCHAT_REDIS_URL is set (SQLite and PostgreSQL)."""
import socket
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from app.main import create_app
from app.settings import Settings
from insights.conversions import Conversion
from insights.conversions_api import WIDGET_PER_BROWSER, WIDGET_PER_IP
from insights.rate_limit import WindowLimiter

BASE = "http://127.0.0.1:8000"


def redis_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
async def make_app(db_url):
    apps = []

    def make(**settings):
        app = create_app(Settings(database_url=db_url, **settings))
        apps.append(app)
        return app
    yield make
    for app in apps:
        await app.ctx.engine.dispose()


async def report(app, ip: str, order_id: str, visitor_id: str | None = None) -> httpx.Response:
    body = {"order_id": order_id, "value": "9.90", "currency": "EUR"}
    if visitor_id:
        body["visitor_id"] = visitor_id
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 50000)), base_url=BASE) as c:
        return await c.post("/api/conversions/widget", json=body)


async def stored(app) -> int:
    async with app.ctx.sessionmaker() as db:
        return await db.scalar(select(func.count()).select_from(Conversion))


def refused(r: httpx.Response) -> bool:
    if r.status_code != 429:
        return False
    assert r.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    return True


async def test_one_address_is_limited_and_others_are_not(make_app):
    app = make_app()
    results = [await report(app, "203.0.113.7", f"IP-{i}", f"browser-{i:02d}-0123456789") for i in range(WIDGET_PER_IP)]
    assert [r.status_code for r in results] == [201] * WIDGET_PER_IP
    over = await report(app, "203.0.113.7", "IP-over", "browser-xx-0123456789")
    assert refused(over)
    bad = await report(app, "203.0.113.7", "")  # even a bad payload is refused before it is read
    assert refused(bad)
    assert (await report(app, "198.51.100.9", "IP-other")).status_code == 201
    assert await stored(app) == WIDGET_PER_IP + 1  # nothing of the refused


async def test_one_browser_is_limited_whatever_its_address(make_app):
    app = make_app()
    vid = "one-browser-0123456789"
    results = [await report(app, f"203.0.113.{i + 1}", f"B-{i}", vid) for i in range(WIDGET_PER_BROWSER)]
    assert [r.status_code for r in results] == [201] * WIDGET_PER_BROWSER
    assert refused(await report(app, "203.0.113.99", "B-over", vid))
    # the same order again from the same page is also counted (a reloading page is throttled)
    assert refused(await report(app, "203.0.113.98", "B-0", vid))
    assert (await report(app, "203.0.113.97", "B-other", "another-browser-0123456789")).status_code == 201
    assert await stored(app) == WIDGET_PER_BROWSER + 1


@pytest.mark.skipif(not redis_available(), reason="no Redis on 127.0.0.1:6379")
async def test_processes_share_the_count_through_redis(make_app):
    channel = f"test-{uuid.uuid4().hex[:12]}"  # this test's own keys
    first = make_app(redis_url="redis://127.0.0.1:6379/0", redis_channel=channel)
    second = make_app(redis_url="redis://127.0.0.1:6379/0", redis_channel=channel)
    codes = []
    for i in range(WIDGET_PER_IP):
        codes.append((await report(first if i % 2 else second, "203.0.113.50", f"R-{i}")).status_code)
    assert codes == [201] * WIDGET_PER_IP
    assert refused(await report(first, "203.0.113.50", "R-over"))
    assert refused(await report(second, "203.0.113.50", "R-over2"))
    assert await stored(first) == WIDGET_PER_IP
    # without Redis, each process would have let through its own ten
    alone = make_app()
    assert (await report(alone, "203.0.113.50", "R-alone")).status_code == 201


async def test_the_window_ends_and_redis_down_falls_back_to_counting_here():
    now = [1000.0]
    limiter = WindowLimiter("t", 2, 60, clock=lambda: now[0])
    assert [(await limiter.hit("k")).allowed for _ in range(3)] == [True, True, False]
    assert (await limiter.hit("k")).retry_after_s == 20  # the window [960, 1020) ends in 20 s
    now[0] = 1020.0
    assert (await limiter.hit("k")).allowed
    down = WindowLimiter("t", 1, 60, redis_url="redis://127.0.0.1:1/0")  # nothing listens there
    assert [(await down.hit("k")).allowed for _ in range(2)] == [True, False]
