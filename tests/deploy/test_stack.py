"""The reference stack (deploy/stack.py) as scripts/stack.sh starts it: nginx in front of two app
processes, two Rasa servers sharing a PostgreSQL tracker store and a Redis lock store, the app on
PostgreSQL and Redis. Everything real; one stack for the module (two Rasa servers take about a
minute of CPU to start)."""
from __future__ import annotations

import asyncio
import json
import random
import signal
import time
import uuid

import asyncpg
import httpx
import pytest
import socketio
import yaml

from app.settings import ROOT
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
    # Each process ended on SIGTERM by itself, none had to be killed.
    assert not [p.name for p in s.processes if p.proc and p.proc.returncode == -signal.SIGKILL]


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


# ---- a fault: kill -9 one app process while visitors chat ------------------------------------

VISITORS_PER_APP = 10
QUESTIONS_EACH = 8
ANSWER_TIMEOUT_S = 60  # above the bot turn's lease (15 s): a question left by the dead process is recovered


def demo_questions() -> list[str]:
    articles = yaml.safe_load((ROOT / "knowledge_base" / "demo" / "articles.yaml").read_text(encoding="utf-8"))
    return [a["questions"][0] for a in articles]


class FaultVisitor:
    """A visitor that keeps chatting through a dying process, as the widget does: on a lost
    connection it reconnects (to whichever process nginx picks now), resumes its session, resyncs,
    and sends a question it has no answer to again with the same client_id (docs/protocol.md)."""

    def __init__(self, stack, ip: str, name: str, questions: list[str]):
        self.stack, self.ip, self.name, self.questions = stack, ip, name, questions
        self.v: RoutedVisitor | None = None
        self.session_id = self.conversation_id = None
        self.acked: dict[str, int] = {}        # client_id -> seq of the stored question
        self.seen: dict[int, dict] = {}        # seq -> every answer seen (live or by resync)
        self.answers: dict[str, list] = {}     # client_id -> its answers among them
        self.unanswered: list[str] = []
        self.reconnects = 0
        # When the connection was found lost, back (reconnected and resynced), and the first answer after.
        self.lost_at = self.back_at = self.first_answer_after_reconnect = None

    async def _connect(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            if self.v is not None:
                self._note(self.v.of("bot_uttered"))
                await self.v.close()
            self.v = RoutedVisitor(self.stack.url, self.ip)
            try:
                ack = await self.v.connect(self.session_id)
                if ack.get("ok"):
                    self.session_id, self.conversation_id = ack["session_id"], ack["conversation_id"]
                    await self._resync()
                    if self.reconnects and self.back_at is None:
                        self.back_at = time.monotonic()
                    return
            except (socketio.exceptions.SocketIOError, asyncio.TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} could not reconnect")
            await asyncio.sleep(0.5)

    async def _resync(self) -> None:
        ack = await self._unless_lost(self.v.resync(0))
        self._note([m for m in ack["messages"] if m["sender"] == "bot"])

    def _note(self, bot_messages: list[dict]) -> None:
        """File each answer seen under the question just before it (a visitor waits for each
        answer), afresh each time: a question whose ack was lost is known only once sent again."""
        self.seen.update((m["seq"], m) for m in bot_messages if m.get("kb") or m.get("fallback"))
        by_seq = sorted(self.acked.items(), key=lambda kv: kv[1])
        self.answers = {}
        for seq, m in sorted(self.seen.items()):
            asked = [cid for cid, asked_seq in by_seq if asked_seq < seq]
            if asked:
                self.answers.setdefault(asked[-1], []).append(m)

    async def _unless_lost(self, call):
        """The call's result, or ConnectionError as soon as the connection drops (a call whose
        process died would otherwise wait for its whole timeout)."""
        task = asyncio.ensure_future(call)
        while not task.done():
            if not self.v.sio.connected:
                task.cancel()
                raise ConnectionError("disconnected")
            await asyncio.wait([task], timeout=0.05)
        return task.result()

    async def _ask(self, cid: str, text: str) -> None:
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if self.v is None or not self.v.sio.connected:
                    if self.v is not None:
                        self.reconnects += 1
                        self.lost_at = self.lost_at or time.monotonic()
                    await self._connect()
                if cid not in self.answers:
                    ack = await self._unless_lost(self.v.say(text, client_id=cid))
                    assert ack["ok"], ack
                    self.acked[cid] = ack["seq"]
                while cid not in self.answers:
                    self._note(self.v.of("bot_uttered"))
                    if not self.v.sio.connected:
                        raise ConnectionError("disconnected")
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.05)
                if cid in self.answers:
                    if self.reconnects and self.first_answer_after_reconnect is None:
                        self.first_answer_after_reconnect = time.monotonic()
                    return
            except (socketio.exceptions.SocketIOError, ConnectionError, asyncio.TimeoutError, OSError):
                await asyncio.sleep(0.2)
        self.unanswered.append(cid)

    async def run(self, rng: random.Random) -> None:
        try:
            for i, text in enumerate(self.questions):
                await self._ask(f"{self.name}-q{i}", text)
                await asyncio.sleep(rng.uniform(0.2, 0.8))
        finally:
            if self.v is not None:
                self._note(self.v.of("bot_uttered"))
                await self.v.close()


async def stored_messages(stack, conversation_ids: list[str]) -> dict[str, list[asyncpg.Record]]:
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch("SELECT conversation_id, seq, sender, client_id, extra::text AS extra, answered "
                                "FROM messages WHERE conversation_id = ANY($1::text[]) ORDER BY conversation_id, seq",
                                conversation_ids)
    finally:
        await conn.close()
    out: dict[str, list] = {cid: [] for cid in conversation_ids}
    for r in rows:
        out[r["conversation_id"]].append(r)
    return out


def answers_per_question(rows) -> dict[str, int]:
    """{question's client_id: stored bot answers (kb or fallback) between it and the next question}."""
    counts: dict[str, int] = {}
    current = None
    for r in rows:
        if r["sender"] == "visitor":
            current = r["client_id"]
            counts[current] = 0
        elif r["sender"] == "bot" and current is not None:
            extra = json.loads(r["extra"] or "{}")
            if extra.get("kb") or extra.get("fallback"):
                counts[current] += 1
    return counts


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
async def test_an_app_process_dying_under_load_loses_and_doubles_nothing(stack, route, sig):
    """20 visitors chat through nginx, half of them on app1; app1 gets SIGKILL (no goodbye) or
    SIGTERM (a graceful shutdown: sockets closed at once, bot turns under way finished) in the
    middle. Its visitors reconnect through nginx to app2 and resync: every acknowledged question is
    stored exactly once and gets exactly one answer."""
    assert len(route["app1"]) >= VISITORS_PER_APP and len(route["app2"]) >= VISITORS_PER_APP, route
    # After an earlier fault nginx leaves app1 out for its fail_timeout (10 s): wait until it is back.
    deadline = time.monotonic() + 30
    while (now := await asyncio.to_thread(routes, stack)) != route:
        assert time.monotonic() < deadline, f"nginx does not send app1's clients back to it: {now}"
        await asyncio.sleep(1)
    rng = random.Random(12)
    pool = demo_questions()
    visitors = [FaultVisitor(stack, ip, f"{app}v{i}", rng.sample(pool, QUESTIONS_EACH))
                for app in ("app1", "app2") for i, ip in enumerate(route[app][:VISITORS_PER_APP])]
    tasks = [asyncio.create_task(v.run(random.Random(i))) for i, v in enumerate(visitors)]
    try:
        await asyncio.sleep(2.5)  # every visitor is in the middle of its conversation
        # Questions app1 has acknowledged and not answered yet: its turn dies with it.
        in_flight = sum(len(v.acked) - len(v.answers) for v in visitors if v.name.startswith("app1"))
        killed_at = time.monotonic()
        await asyncio.to_thread(stack.kill, "app1", sig)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=QUESTIONS_EACH * ANSWER_TIMEOUT_S + 60)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.to_thread(stack.restart, "app1")

    moved = [v for v in visitors if v.reconnects]
    assert sorted(v.name for v in moved) == sorted(v.name for v in visitors if v.name.startswith("app1")), \
        [(v.name, v.reconnects) for v in visitors]  # exactly app1's visitors lost their connection
    stored = await stored_messages(stack, [v.conversation_id for v in visitors])
    report = {"questions": 0, "app1_in_flight_at_kill": in_flight, "lost": 0, "stored_twice": 0, "unanswered": 0,
              "answered_twice": 0}
    for v in visitors:
        rows = stored[v.conversation_id]
        client_ids = [r["client_id"] for r in rows if r["sender"] == "visitor"]
        report["questions"] += len(v.questions)
        report["lost"] += len(set(v.acked) - set(client_ids))
        report["stored_twice"] += len(client_ids) - len(set(client_ids))
        counts = answers_per_question(rows)
        report["unanswered"] += sum(1 for cid in v.acked if counts.get(cid, 0) == 0)
        report["answered_twice"] += sum(1 for n in counts.values() if n > 1)
    def slowest(attr: str) -> float:
        return max((getattr(v, attr) or killed_at) - killed_at for v in moved)

    print(f"\n{signal.Signals(sig).name} to app1: {report}; {len(moved)} visitors moved; after the kill, the slowest visitor "
          f"noticed in {slowest('lost_at'):.1f} s, was back in {slowest('back_at'):.1f} s, "
          f"had its next answer in {slowest('first_answer_after_reconnect'):.1f} s")
    assert all(len(v.acked) == QUESTIONS_EACH for v in visitors)  # every question was acknowledged
    assert report["lost"] == 0 and report["stored_twice"] == 0
    assert report["answered_twice"] == 0
    assert report["unanswered"] == 0 and not [v.unanswered for v in visitors if v.unanswered]
    # What the visitors saw matches what is stored: one answer each.
    assert all(len(a) == 1 for v in visitors for a in v.answers.values())
