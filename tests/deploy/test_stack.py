"""The reference stack (deploy/stack.py) as scripts/stack.sh starts it: nginx in front of two app
processes, two Rasa servers sharing a PostgreSQL tracker store and a Redis lock store, the app on
PostgreSQL and Redis. Everything real; one stack for the module (two Rasa servers take about a
minute of CPU to start), on a PostgreSQL cluster and a Redis server of the module's own
(tests/deploy/services.py): the fault tests at the end restart them. The fault scenarios are in
tests/deploy/faults.py (bench/faults.py runs them too)."""
from __future__ import annotations

import asyncio
import signal
import time
import uuid

import asyncpg
import httpx
import pytest

from bot import server as rasa_server
from bot.rasa_client import RasaClient
from deploy.stack import ScaledStack, nginx_binary
from tests.conftest import rasa_model
from tests.deploy.routed import RoutedAgent, RoutedVisitor, routes
from tests.deploy.faults import kill_app_under_load, restart_under_load
from tests.deploy.services import PrivatePostgres, PrivateRedis
from tests.handoff.test_agent_socket import Staff
from tests.support import IN_CI

QUESTION = "How long does delivery take?"


@pytest.fixture(scope="module")
def services():
    """PostgreSQL and Redis of the module's own: the fault tests restart them (never the machine's)."""
    missing = [what for what, ok in (("nginx", nginx_binary()), ("PostgreSQL's initdb", PrivatePostgres.available()),
                                     ("redis-server", PrivateRedis.available()),
                                     ("Rasa's venv", rasa_server.RASA_BIN.exists())) if not ok]
    if missing:
        if IN_CI:
            pytest.fail(f"CI must have {', '.join(missing)}")
        pytest.skip(f"the reference stack needs {', '.join(missing)}")
    pg, redis = PrivatePostgres(), PrivateRedis()
    try:
        pg.start()
        redis.start()
        yield pg, redis
    finally:
        redis.stop()
        pg.destroy()


@pytest.fixture(scope="module")
def stack(services, tmp_path_factory):
    pg, redis = services
    s = ScaledStack(rasa_model(), db_name="shopchat_stack_test", pg_admin_dsn=pg.dsn, redis_url=redis.url,
                    show_upstream=True, run_dir=tmp_path_factory.mktemp("stack"), log=lambda *a: None)
    with s:
        yield s
    # Each process ended on SIGTERM by itself, none had to be killed.
    assert not [p.name for p in s.processes if p.proc and p.proc.returncode == -signal.SIGKILL]


@pytest.fixture(scope="module")
def route(stack) -> dict[str, list[str]]:
    found = routes(stack, 80)  # 25 visitors and 2 agents on each process (test_an_app_process_dying...)
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


# ---- faults: an app process killed, Redis and PostgreSQL restarted, a Rasa killed ---------------

@pytest.mark.parametrize("sig, visitors, agents", [(signal.SIGKILL, 50, 4), (signal.SIGTERM, 20, 2)],
                         ids=["sigkill", "sigterm"])
async def test_an_app_process_dying_under_load_loses_and_doubles_nothing(stack, route, sig, visitors, agents):
    """Visitors (half on each app process) chat through nginx, some with the bot, some with agents
    (max 2 chats each, so some chats wait in the queue); app1 gets SIGKILL (no goodbye) or SIGTERM
    (a graceful shutdown) once every chat asked for is with an agent or queued. Its visitors and
    agents reconnect through nginx to app2 and resync. Every acknowledged message (visitors' and
    agents') is stored once, every question has exactly one answer, no chat had two owners, and
    the chats queued at the kill are taken and closed after it."""
    assert len(route["app1"]) >= visitors // 2 + 2 and len(route["app2"]) >= visitors // 2 + 2, route
    # After an earlier fault nginx leaves app1 out for its fail_timeout (10 s): wait until it is back.
    deadline = time.monotonic() + 30
    while (now := await asyncio.to_thread(routes, stack, 80)) != route:
        assert time.monotonic() < deadline, f"nginx does not send app1's clients back to it: {now}"
        await asyncio.sleep(1)
    try:
        run = await kill_app_under_load(stack, route, sig, visitors=visitors, agents=agents,
                                        persons=2 * agents + 2)  # two more than they can take
    finally:
        await asyncio.to_thread(stack.restart, "app1")
    r = run.report
    print(f"\n{signal.Signals(sig).name} to app1: {r}; {len(run.moved)} clients moved, {run.in_flight_at_kill} "
          f"questions in flight on app1; after the kill the slowest visitor noticed in {run.noticed_s:.1f} s, was "
          f"back in {run.back_s:.1f} s, had its next answer in {run.next_answer_s:.1f} s; run {run.took_s:.0f} s")
    assert not run.problems, run.problems
    app1_visitors = visitors // 2
    assert len(run.moved) == app1_visitors and all(n.startswith("app1") for n in run.moved), run.moved
    assert r["acked"] > 0 and r["lost"] == 0 and r["stored_twice"] == 0, r
    assert r["unanswered"] == 0 and r["answered_twice"] == 0 and r["no_answer_seen"] == 0, r
    assert r["bot_in_agent_chat"] == 0, r
    assert r["agent_acked"] > 0 and r["agent_lost"] == 0 and r["agent_stored_twice"] == 0, r
    assert r["two_owners"] == 0 and r["agent_mismatch"] == 0, r
    # Some chats waited in the queue at the kill; each was offered, taken and closed after it.
    assert r["queued_at_kill"] > 0 and r["forgotten"] == 0, r
    assert r["queued"] == 0 and r["ringing"] == 0, r
    assert r["agents_moved"] == agents // 2, r  # app1's agents carried on through app2


async def test_redis_then_postgresql_restarted_under_load(stack, route, services):
    """The module's own Redis, then its PostgreSQL, stopped for 3 s and started again while 20
    visitors ask questions and a visitor on app1 and an agent on app2 write to each other. The app
    processes are not restarted: they answer again, events cross the processes again, and nothing
    acknowledged is lost, stored twice or answered twice."""
    pg, redis = services
    reports = []
    for name, stop, start in (("redis", redis.stop, redis.start), ("postgresql", pg.stop, pg.start)):
        r = await restart_under_load(stack, route, name, stop, start)
        print(f"\n{name} restarted: {r}")
        reports.append(r)
    for r in reports:
        assert not r["errors"], r
        assert r["lost"] == 0 and r["stored_twice"] == 0 and r["answered_twice"] == 0, r
        assert r["unanswered"] == 0 and r["no_answer_seen"] == 0, r
        assert r["ready_s"] is not None and r["events_back_s"] is not None, r
    assert all(p.proc.poll() is None for p in stack.of("app"))  # recovered by themselves


async def test_the_form_continues_on_the_other_rasa_when_one_is_killed(stack, route):
    """Through nginx and the app: a visitor asks for a person and gives a name; the Rasa server that
    holds the conversation gets kill -9; the form goes on (the e-mail next, not the name again) on
    the other Rasa, from the shared tracker store. Last in the module: the Rasa stays down."""
    v = RoutedVisitor(stack.url, route["app1"][1])
    try:
        assert (await v.connect())["ok"]
        ack = await v.say("/human_handoff", client_id="f1", display="Talk to a person")
        assert "name" in (await answer_after(v, ack["seq"]))["text"]
        rasas = RasaClient(",".join(p.url for p in stack.of("rasa")))
        first = rasas.servers_for(v.conversation_id)[0]
        victim = next(p for p in stack.of("rasa") if p.url == first)
        await asyncio.to_thread(stack.kill, victim.name)
        ack = await v.say("Maria", client_id="f2")
        assert "e-mail" in (await answer_after(v, ack["seq"]))["text"]
        ack = await v.say("maria@example.com", client_id="f3")
        assert "Thanks, Maria!" in (await answer_after(v, ack["seq"]))["text"]
        await v.wait_for("handoff", pred=lambda d: d.get("state") in ("queued", "offline"), timeout=30)
    finally:
        await v.close()
    # The other Rasa answered from the conversation's events in the one shared store.
    assert v.conversation_id in await rasa_senders(stack)
