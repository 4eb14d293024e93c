"""A shop day driven through the real protocol (visitors' and agents' Socket.IO clients, the console's
HTTP API) against the app running in this test process, so its clock is the test's: `app.db.host_now`
is a Clock that moves only when the script says so. The figures each step produces are worked out
by hand in tests/insights/test_reports.py."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import uvicorn

import app.db
from accounts import service as accounts
from accounts.models import User
import handoff.timers
from app.main import create_app
from app.settings import Settings
from tests.chat.visitor_client import Visitor
from tests.handoff.test_agent_socket import CSRF, Agent, Staff
from tests.support import free_port

ZONE = "Europe/Athens"  # UTC+2 all winter
# Wednesday 25 November 2026, 12:00 in Athens.
NOON = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
SHOP = "https://shop.test"
PERSON = "can i talk to a real person"
# Long enough that no presence, inactivity or queue timer fires while the script moves the clock.
QUIET = {"routing_time_s": 30, "presence_timeout_s": 86_400, "grace_s": 86_400, "inactivity_s": 86_400,
         "max_queue_wait_s": 86_400, "strategy": "priorities"}


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, now: datetime) -> None:
        self.now = now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


class InProcessApp:
    """The whole app (HTTP, Socket.IO, routing timers) served by uvicorn on this event loop."""

    def __init__(self, db_url: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.settings = Settings(database_url=db_url, port=self.port, rasa_url=f"http://127.0.0.1:{free_port()}",
                                 time_zone=ZONE, routing_tick_s=0.05, smtp_host="")
        self.server = uvicorn.Server(uvicorn.Config(create_app(self.settings), host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="on"))

    async def __aenter__(self) -> "InProcessApp":
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.02)
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.should_exit = True
        await self.task


def use_clock(monkeypatch, start: datetime) -> Clock:
    clock = Clock(start)
    monkeypatch.setattr(app.db, "host_now", clock)
    monkeypatch.setattr(app.db, "_clock_offset", timedelta(0))

    async def test_clock(_engine):  # PostgreSQL's own clock would be today, not the script's
        return app.db.utcnow()

    monkeypatch.setattr(handoff.timers, "sync_clock", test_clock)
    return clock


class Shop:
    """The script's cast: the app, its clock, the staff and every client they open."""

    def __init__(self, live: InProcessApp, clock: Clock, staff: Staff):
        self.live, self.clock, self.staff = live, clock, staff
        self.clients: list = []

    async def visitor(self, path: str, **extra) -> Visitor:
        v = Visitor(self.live.url)
        self.clients.append(v)
        ack = await v.connect(page={"url": SHOP + path, "title": path}, **extra)
        assert ack["ok"], ack
        return v

    async def user(self, name: str, role: str = "agent", **fields) -> tuple[int, str]:
        """A user and a login that lasts the whole script (sessions last 12 h; the script spans days)."""
        async with self.staff.sm() as db:
            user = User(email=f"{name.lower()}@staff.test", display_name=name, role=role, password_hash="x", **fields)
            db.add(user)
            await db.commit()
            return user.id, await accounts.create_session(db, user.id, now=NOON + timedelta(days=1))

    async def agent(self, name: str, role: str = "agent", **fields) -> Agent:
        user_id, token = await self.user(name, role, **fields)
        a = Agent(self.live.url, token)
        a.user_id, a.token = user_id, token
        self.clients.append(a)
        await a.connect()
        return a

    async def ask(self, v: Visitor, text: str, **extra) -> dict:
        """A question and the bot's answer to it."""
        before = len(v.of("bot_uttered"))
        ack = await v.say(text, **extra)
        assert ack["ok"], ack
        return (await v.wait_for("bot_uttered", count=before + 1))[-1]

    async def ask_for_person(self, v: Visitor, state: str) -> None:
        ack = await v.say(PERSON)
        assert ack["ok"], ack
        await v.wait_for("handoff", pred=lambda h: h.get("state") == state)

    async def offer(self, a: Agent, v: Visitor) -> dict:
        return (await a.wait_for("offer", pred=lambda o: o["conversation_id"] == v.conversation_id))[-1]

    async def until_missed(self, a: Agent, v: Visitor) -> None:
        await a.wait_for("offer_withdrawn", pred=lambda o: o.get("conversation_id") == v.conversation_id)

    def http(self, token: str | None) -> httpx.AsyncClient:
        cookies = {"shopchat_session": token} if token else {}
        return httpx.AsyncClient(base_url=self.live.url, cookies=cookies, headers=CSRF, timeout=30)

    async def close(self) -> None:
        for c in self.clients:
            await c.close()
