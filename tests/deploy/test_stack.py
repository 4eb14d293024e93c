"""The reference stack (deploy/stack.py) as scripts/stack.sh starts it: nginx in front of two app
processes, two Rasa servers sharing a PostgreSQL tracker store and a Redis lock store, the app on
PostgreSQL and Redis. Everything real; one stack for the module (two Rasa servers take about a
minute of CPU to start)."""
from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from bot import server as rasa_server
from deploy.stack import ScaledStack, nginx_binary
from tests.conftest import rasa_model
from tests.deploy.routed import RoutedAgent, RoutedVisitor, routes
from tests.handoff.test_agent_socket import Staff
from tests.handoff.test_multi_process import redis_available
from tests.support import IN_CI, postgres_available

QUESTION = "How long does delivery take?"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    missing = [what for what, ok in (("nginx", nginx_binary()), ("PostgreSQL", postgres_available()),
                                     ("Redis", redis_available()), ("Rasa's venv", rasa_server.RASA_BIN.exists()))
               if not ok]
    if missing:
        if IN_CI:
            pytest.fail(f"CI must have {', '.join(missing)}")
        pytest.skip(f"the reference stack needs {', '.join(missing)}")
    s = ScaledStack(rasa_model(), db_name=f"shopchat_stack_test_{uuid.uuid4().hex[:8]}", drop_databases=True,
                    show_upstream=True, run_dir=tmp_path_factory.mktemp("stack"), log=lambda *a: None)
    with s:
        yield s


@pytest.fixture(scope="module")
def route(stack) -> dict[str, list[str]]:
    found = routes(stack)
    assert all(found.values()), f"nginx sent every client address to one process: {found}"
    return found


async def rasa_senders(stack) -> set[str]:
    """The conversations in the Rasa servers' shared tracker store."""
    conn = await asyncpg.connect(stack.rasa_tracker_url)
    try:
        return {r["sender_id"] for r in await conn.fetch("SELECT DISTINCT sender_id FROM events")}
    finally:
        await conn.close()


async def answer_after(v: RoutedVisitor, seq: int, timeout: float = 30) -> dict:
    [answer] = await v.wait_for("bot_uttered", timeout=timeout, pred=lambda d: d.get("seq", 0) > seq)
    return answer


async def test_the_stack_serves_through_nginx_with_both_processes_and_rasa_behind_it(stack, route):
    health = httpx.get(f"{stack.url}/health", timeout=5)
    assert health.json() == {"status": "ok", "db": "up", "rasa": "up", "rasa_actions": "up"}
    # Each Rasa's HTTP API answers only with the stack's token.
    for p in stack.of("rasa"):
        assert httpx.get(f"{p.url}/status", timeout=5).status_code == 401
        assert httpx.get(f"{p.url}/status", params={"token": stack.rasa_auth_token}, timeout=5).status_code == 200
    # The widget's static files come through nginx too.
    assert httpx.get(f"{stack.url}/widget/loader.js", timeout=5).status_code == 200


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_visitor_gets_the_bots_answer_through_the_balancer(stack, route, transport):
    """Long-polling makes many requests per session: they all reach the process that holds it."""
    v = RoutedVisitor(stack.url, route["app2"][0], transports=[transport])
    try:
        assert (await v.connect())["ok"]
        ack = await v.say(QUESTION, client_id="q1")
        assert ack["ok"] and not ack["duplicate"]
        answer = await answer_after(v, ack["seq"])
        assert answer["kb"]["title"] and not answer.get("fallback")
        assert v.sio.transport() == transport
        # Rasa understood it (its shared tracker store holds the conversation) and called the
        # app's action through the balancer.
        assert v.conversation_id in await rasa_senders(stack) or v.session_id in await rasa_senders(stack)
    finally:
        await v.close()
    access_log = (stack.run_dir / "nginx-access.log").read_text()
    assert "POST /bot/actions" in access_log


async def test_agent_on_one_process_takes_the_chat_of_a_visitor_on_the_other(stack, route):
    """The visitor on app1 asks for a person through Rasa's handoff form; the console on app2 is
    offered the chat, takes it, and the two talk across the processes (Redis)."""
    staff = Staff(stack.database_url)
    visitor = RoutedVisitor(stack.url, route["app1"][0])
    agent = None
    try:
        await staff.settings(routing_time_s=30)
        _, token = await staff.user(f"Ann{uuid.uuid4().hex[:6]}")
        agent = await RoutedAgent(stack.url, token, route["app2"][0]).connect()
        await agent.online()
        assert (await visitor.connect())["ok"]
        ack = await visitor.say("/human_handoff", client_id="h1", display="Talk to a person")
        await visitor.wait_for("handoff", pred=lambda d: d.get("state") == "requested", timeout=30)
        await answer_after(visitor, ack["seq"])  # the form asks for a name
        ack = await visitor.say("Maria", client_id="h2")
        await answer_after(visitor, ack["seq"])  # and an e-mail address
        await visitor.say("maria@example.com", client_id="h3")
        [offer] = await agent.wait_for("offer", timeout=30,
                                       pred=lambda o: o["conversation_id"] == visitor.conversation_id)
        assert agent.sio.transport() == "websocket"  # upgraded from long-polling through nginx
        assert (await agent.call("accept", {"offer_id": offer["offer_id"]}))["ok"]
        await visitor.wait_for("handoff", pred=lambda d: d.get("state") == "assigned")
        cid = visitor.conversation_id
        assert (await agent.call("send", {"conversation_id": cid, "text": "Hello from app2", "client_id": "a1"}))["ok"]
        await visitor.wait_for("bot_uttered", pred=lambda d: d.get("text") == "Hello from app2")
        await visitor.say("Thanks, where is my parcel?", client_id="v2")
        await agent.wait_for("message", pred=lambda d: d.get("text") == "Thanks, where is my parcel?")
    finally:
        await visitor.close()
        if agent is not None:
            await agent.close()
        await staff.close()
