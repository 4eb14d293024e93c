"""Two app processes on one PostgreSQL, sharing Socket.IO rooms through Redis: a visitor on one and
an agent on the other chat normally, and each timer fires once although both processes tick."""
from __future__ import annotations

import asyncio
import socket

import pytest
from sqlalchemy import select

from handoff.models import Offer
from tests.chat.visitor_client import Visitor
from tests.conftest import load_demo
from tests.handoff.test_agent_socket import Agent, Staff
from tests.support import all_started, IN_CI, LiveApp, TestDatabase, postgres_available

REDIS = ("127.0.0.1", 6379)


def redis_available() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            return True
    except OSError:
        return False


def several_processes_env(channel: str = "shopchat") -> dict:
    """What every process of one deployment shares (docs/production.md)."""
    return {"SHOPCHAT_REDIS_URL": f"redis://{REDIS[0]}:{REDIS[1]}/0", "SHOPCHAT_REDIS_CHANNEL": channel,
            "SHOPCHAT_RASA_AUTH_TOKEN": "test-rasa-auth-token"}  # (LiveApp sets the action token)


@pytest.fixture
def two_apps(tmp_path):
    if not (postgres_available() and redis_available()):
        if IN_CI:
            pytest.fail("CI has PostgreSQL and Redis; this test must run there")
        pytest.skip("needs PostgreSQL and Redis on their default local ports")
    db = TestDatabase("postgres", tmp_path).create()
    load_demo(db.url)
    env = several_processes_env()
    try:
        with all_started([LiveApp(db.url, env=env), LiveApp(db.url, env=env)]) as apps:
            yield apps, db.url
    finally:
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


async def _owned_by_ann(app1, app2, db_url):
    """Ann (agent) on app1 has taken over a visitor on app2; Ada (admin) on app1 watches the chat."""
    staff = Staff(db_url)
    _, ann_token = await staff.user("Ann")
    _, ada_token = await staff.user("Ada", role="admin")
    ann = await Agent(app1.url, ann_token).connect()
    await ann.online()
    ada = await Agent(app1.url, ada_token).connect()
    visitor = Visitor(app2.url)
    assert (await visitor.connect())["ok"]
    cid = visitor.conversation_id
    assert (await ann.call("take_over", {"conversation_id": cid}))["ok"]
    assert (await ann.call("open_chat", {"conversation_id": cid}))["ok"]
    assert (await ada.call("watch", {"conversation_id": cid}))["ok"]
    await visitor.say("Before the move", client_id="v1")
    for console in (ann, ada):
        await console.wait_for("message", pred=lambda d: d.get("text") == "Before the move")
    return staff, ann, ada, visitor, cid


async def _visitor_speaks_after_move(ann, ada, visitor, cid):
    """A draft and a message after the move: Ada (admin) on app1 gets both, Ann gets neither."""
    assert (await visitor.call("typing", {"session_id": visitor.session_id, "draft": "after the mo"}))["ok"]
    await visitor.say("After the move", client_id="v2")
    await ada.wait_for("message", pred=lambda d: d.get("text") == "After the move")
    await asyncio.sleep(0.3)  # Ann's socket is on the same process as Ada's: same emit, same moment
    assert not [m for m in ann.of("message") if m.get("text") == "After the move"]
    assert not [d for d in ann.of("visitor_typing") if d.get("conversation_id") == cid and
                d.get("draft") == "after the mo"]


async def test_transfer_on_another_process_takes_the_chat_room_away(two_apps):
    """Ann (app1) transfers to Bob, who accepts on app2: Ann's console on app1 leaves the chat's
    room at once although app2 made the decision and cannot see app1's sockets."""
    (app1, app2), db_url = two_apps
    staff, ann, ada, visitor, cid = await _owned_by_ann(app1, app2, db_url)
    bob = None
    try:
        bob_id, bob_token = await staff.user("Bob")
        bob = await Agent(app2.url, bob_token).connect()
        await bob.online()
        assert (await ann.call("transfer", {"conversation_id": cid, "to_agent_id": bob_id}))["ok"]
        [offer] = await bob.wait_for("offer", pred=lambda o: o["conversation_id"] == cid)
        assert (await bob.call("accept", {"offer_id": offer["offer_id"]}))["ok"]
        # Sent after the room move on the same Redis channel: once Ann has it, the move is done.
        await ann.wait_for("chat_assigned", pred=lambda d: d.get("agent_id") == bob_id)
        await _visitor_speaks_after_move(ann, ada, visitor, cid)
        await bob.wait_for("message", pred=lambda d: d.get("text") == "After the move")
    finally:
        for client in (visitor, ann, ada, bob):
            if client is not None:
                await client.close()
        await staff.close()


async def test_return_to_bot_on_another_process_takes_the_chat_room_away(two_apps):
    """An admin on app2 hands Ann's chat back to the bot: Ann (app1) stops hearing it, Ada stays."""
    (app1, app2), db_url = two_apps
    staff, ann, ada, visitor, cid = await _owned_by_ann(app1, app2, db_url)
    boss = None
    try:
        _, boss_token = await staff.user("Boss", role="admin")
        boss = await Agent(app2.url, boss_token).connect()
        assert (await boss.call("return_to_bot", {"conversation_id": cid}))["ok"]
        await ann.wait_for("chat_released", pred=lambda d: d.get("conversation_id") == cid)
        await _visitor_speaks_after_move(ann, ada, visitor, cid)
    finally:
        for client in (visitor, ann, ada, boss):
            if client is not None:
                await client.close()
        await staff.close()


@pytest.fixture
def two_shop_dbs(tmp_path):
    if not (postgres_available() and redis_available()):
        if IN_CI:
            pytest.fail("CI has PostgreSQL and Redis; this test must run there")
        pytest.skip("needs PostgreSQL and Redis on their default local ports")
    dbs = [TestDatabase("postgres", tmp_path).create() for _ in range(2)]
    yield dbs
    for db in dbs:
        db.drop()


@pytest.mark.parametrize("channels, b_hears", [(("shop_a", "shop_b"), False), (("shared", "shared"), True)])
async def test_two_deployments_on_one_redis_hear_each_other_only_on_one_channel(two_shop_dbs, channels, b_hears):
    """Two shops (own databases, so their first agents share the id 1 and the room `agent:1`) on one
    Redis: with their own SHOPCHAT_REDIS_CHANNEL, an offer of shop A never reaches shop B's agent."""
    dbs = two_shop_dbs
    apps = [LiveApp(db.url, env=several_processes_env(channel)) for db, channel in zip(dbs, channels)]
    staffs = [Staff(db.url) for db in dbs]
    clients = []
    try:
        for app in apps:
            app.start()
        agents = []
        for staff, app in zip(staffs, apps):
            agent_id, token = await staff.user("Ann")
            assert agent_id == 1
            agents.append(await Agent(app.url, token).connect())
            clients.append(agents[-1])
        ann_a, ann_b = agents
        await ann_a.online()
        visitor = Visitor(apps[0].url)
        clients.append(visitor)
        assert (await visitor.connect())["ok"]
        await visitor.say("/human_handoff", client_id="h1")
        await ann_a.wait_for("offer")
        await asyncio.sleep(0.5)
        assert bool(ann_b.of("offer")) is b_hears
    finally:
        for client in clients:
            await client.close()
        for staff in staffs:
            await staff.close()
        for app in apps:
            app.stop()
