"""Two app processes on one PostgreSQL, sharing Socket.IO rooms through Redis: a visitor on one and
an agent on the other chat normally, and each timer fires once although both processes tick."""
from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from handoff.models import Offer
from tests.chat.visitor_client import Visitor
from tests.conftest import load_demo
from tests.handoff.test_agent_socket import Agent, Staff
from tests.support import IN_CI, LiveApp, TestDatabase, postgres_available

REDIS = ("127.0.0.1", 6379)


def redis_available() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def two_apps(tmp_path):
    if not (postgres_available() and redis_available()):
        if IN_CI:
            pytest.fail("CI has PostgreSQL and Redis; this test must run there")
        pytest.skip("needs PostgreSQL and Redis on their default local ports")
    db = TestDatabase("postgres", tmp_path).create()
    load_demo(db.url)
    env = {"SHOPCHAT_REDIS_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0"}
    apps = [LiveApp(db.url, env=env).start(), LiveApp(db.url, env=env).start()]
    yield apps, db.url
    for app in apps:
        app.stop()
    db.drop()


async def test_visitor_and_agent_on_different_processes(two_apps):
    (app1, app2), db_url = two_apps
    staff = Staff(db_url)
    visitor = Visitor(app1.url)
    agent = None
    try:
        await staff.settings(routing_time_s=5)
        _, token = await staff.user("Ann")
        agent = await Agent(app2.url, token).connect()  # the agent on app2
        await agent.online()
        assert (await visitor.connect())["ok"]  # the visitor on app1
        await visitor.say("/human_handoff", client_id="h1")
        # Decided in app1, where the visitor asked; it reaches Ann's socket on app2.
        [first] = await agent.wait_for("offer")
        # Nobody accepts: it rings out once although both processes tick, then rings again.
        await agent.wait_for("offer", count=2, timeout=15)
        async with staff.sm() as db:
            statuses = list(await db.scalars(select(Offer.status).order_by(Offer.id)))
        assert statuses == ["missed", "pending"]
        second = agent.of("offer")[1]
        assert (await agent.call("accept", {"offer_id": second["offer_id"]}))["ok"]
        # Accepted on app2; the visitor on app1 hears it, and messages cross both ways.
        await visitor.wait_for("handoff", pred=lambda d: d.get("state") == "assigned")
        cid = second["conversation_id"]
        await agent.call("watch", {"conversation_id": cid})
        assert (await agent.call("send", {"conversation_id": cid, "text": "Hello from app2",
                                          "client_id": "a1"}))["ok"]
        await visitor.wait_for("bot_uttered", pred=lambda d: d.get("text") == "Hello from app2")
        await visitor.say("Thanks, where is my parcel?", client_id="v2")
        await agent.wait_for("message", pred=lambda d: d.get("text") == "Thanks, where is my parcel?")
    finally:
        await visitor.close()
        if agent is not None:
            await agent.close()
        await staff.close()
