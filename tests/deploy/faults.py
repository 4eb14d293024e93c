"""Fault scenarios against the reference stack (deploy/stack.py), shared by tests/deploy/test_stack.py
and bench/faults.py. Visitors and agents keep chatting through a fault as the widget and the console
do: on a lost connection they reconnect through the balancer (to whichever process is alive), resume
and resync; a message without an ack is sent again with the same client_id. Afterwards the database
is audited: what was acknowledged is stored once, every question has one answer, no chat had two
owners, no queued chat was left behind."""
from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field

import asyncpg
import socketio
import yaml

from app.settings import ROOT
from tests.deploy.routed import RoutedAgent, RoutedVisitor
from tests.handoff.test_agent_socket import Staff

LOST = (socketio.exceptions.SocketIOError, ConnectionError, asyncio.TimeoutError, OSError)
ANSWER_TIMEOUT_S = 60  # above the bot turn's lease (15 s): a question left by a dead process is recovered
# An answer not seen live this long is looked for by a resync (the widget resyncs when its next ack
# shows a gap in the sequence; a test visitor waiting for its answer has no next message).
RESYNC_AFTER_S = 5.0
CHAT_MESSAGES = 3  # each side of an agent's chat


def demo_questions() -> list[str]:
    articles = yaml.safe_load((ROOT / "knowledge_base" / "demo" / "articles.yaml").read_text(encoding="utf-8"))
    return [a["questions"][0] for a in articles if a.get("language", "en") == "en"]


async def unless_lost(sio: socketio.AsyncClient, call):
    """The call's result, or ConnectionError as soon as the connection drops (a call whose process
    died would otherwise wait for its whole timeout)."""
    task = asyncio.ensure_future(call)
    while not task.done():
        if not sio.connected:
            task.cancel()
            raise ConnectionError("disconnected")
        await asyncio.wait([task], timeout=0.05)
    return task.result()


class FaultVisitor:
    """One visitor: `run_bot` asks the bot questions one after another, `run_person` asks for a
    person, fills the name/e-mail form, chats with the agent who takes it and waits for the close."""

    def __init__(self, stack, ip: str, name: str):
        self.stack, self.ip, self.name = stack, ip, name
        self.v: RoutedVisitor | None = None
        self.session_id = self.conversation_id = None
        self.acked: dict[str, int] = {}       # client_id -> seq of the stored message
        self.kind: dict[str, str] = {}        # client_id -> question | form | chat
        self.seen: dict[int, dict] = {}       # seq -> every bot or agent message seen (live or by resync)
        self.state = "bot"
        self.timeline: list[tuple[str, float, float | None]] = []  # (client_id, first try, answered at)
        self.failed_acks = 0                  # acks refused (the database down): sent again
        self.by_resync = 0                    # answers found by a resync, not seen live
        self.unanswered: list[str] = []
        self.reconnects = 0
        self.lost_at = self.back_at = self.first_answer_after_reconnect = None

    # -- the connection ---------------------------------------------------------------------
    async def _connect(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            if self.v is not None:
                self._note_live()
                await self.v.close()
            self.v = RoutedVisitor(self.stack.url, self.ip)
            try:
                ack = await self.v.connect(self.session_id)
                if ack.get("ok"):
                    self.session_id, self.conversation_id = ack["session_id"], ack["conversation_id"]
                    await self.resync()
                    if self.reconnects and self.back_at is None:
                        self.back_at = time.monotonic()
                    return
            except LOST:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} could not reconnect")
            await asyncio.sleep(0.5)

    async def _ensure(self) -> None:
        if self.v is None or not self.v.sio.connected:
            if self.v is not None:
                self.reconnects += 1
                self.lost_at = self.lost_at or time.monotonic()
            await self._connect()

    async def resync(self) -> None:
        ack = await unless_lost(self.v.sio, self.v.resync(0))
        if ack.get("ok"):
            self._note([m for m in ack["messages"] if m["sender"] != "visitor"])
            self.state = ack["state"]

    def _note(self, messages: list[dict]) -> None:
        self.seen.update((m["seq"], m) for m in messages if "seq" in m)

    def _note_live(self) -> None:
        self._note([m for m in self.v.of("bot_uttered")])
        for h in self.v.of("handoff"):
            self.state = {"requested": "bot", "offline": "offline_form"}.get(h.get("state"), h.get("state"))
        self.v.events.clear()

    def answers(self, client_id: str) -> list[dict]:
        """The bot's messages between this message and this visitor's next one."""
        seq = self.acked.get(client_id)
        if seq is None:
            return []
        later = [s for s in self.acked.values() if s > seq]
        until = min(later) if later else float("inf")
        return [m for s, m in sorted(self.seen.items()) if seq < s < until and m.get("sender", "bot") == "bot"]

    # -- doing things -----------------------------------------------------------------------
    async def send(self, client_id: str, text: str, kind: str, deadline: float, **extra) -> bool:
        """Send until acknowledged (the same client_id each time); False if the deadline passed."""
        while time.monotonic() < deadline:
            try:
                await self._ensure()
                ack = await unless_lost(self.v.sio, self.v.say(text, client_id=client_id, **extra))
                if ack.get("ok"):
                    self.acked[client_id], self.kind[client_id] = ack["seq"], kind
                    return True
                self.failed_acks += 1
                await asyncio.sleep(0.5)
            except LOST:
                await asyncio.sleep(0.2)
        return False

    async def wait(self, done, deadline: float) -> bool:
        """Wait until done() holds, reconnecting when the connection drops and resyncing when
        nothing came for RESYNC_AFTER_S."""
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            try:
                await self._ensure()
                self._note_live()
                if done():
                    return True
                if time.monotonic() - quiet_since > RESYNC_AFTER_S:
                    await self.resync()
                    quiet_since = time.monotonic()
                    if done():
                        self.by_resync += 1
                        return True
                await asyncio.sleep(0.05)
            except LOST:
                await asyncio.sleep(0.2)
        return False

    async def ask(self, client_id: str, text: str, kind: str = "question", **extra) -> None:
        started = time.monotonic()
        deadline = started + ANSWER_TIMEOUT_S
        # A form step stored after an agent took the chat gets no answer (the bot is silent then): it
        # happens when Rasa was too slow for the first step, and the app queued the chat at once.
        answered = await self.send(client_id, text, kind, deadline, **extra) and await self.wait(
            lambda: bool(self.answers(client_id)) or (kind == "form" and self.state in ("assigned", "closed")),
            deadline)
        self.timeline.append((client_id, started, time.monotonic() if answered else None))
        if not answered:
            self.unanswered.append(client_id)
        elif self.reconnects and self.first_answer_after_reconnect is None:
            self.first_answer_after_reconnect = time.monotonic()

    async def run_bot(self, questions: list[str], rng: random.Random, pause=(0.2, 0.8)) -> None:
        try:
            for i, text in enumerate(questions):
                await self.ask(f"{self.name}-q{i}", text)
                await asyncio.sleep(rng.uniform(*pause))
        finally:
            await self.close()

    async def run_person(self, wait_s: float = 240) -> None:
        """Talk to a person: the form (name, e-mail), then CHAT_MESSAGES to the agent, then wait
        for the agent to close the chat."""
        deadline = time.monotonic() + wait_s
        try:
            await self.ask(f"{self.name}-h1", "/human_handoff", kind="form", display="Talk to a person")
            await self.ask(f"{self.name}-h2", f"Maria {self.name}", kind="form")
            await self.ask(f"{self.name}-h3", f"{self.name.lower()}@example.com", kind="form")
            if not await self.wait(lambda: self.state in ("assigned", "closed"), deadline):
                raise TimeoutError(f"{self.name}: no agent took the chat (state {self.state})")
            for i in range(CHAT_MESSAGES):
                if self.state == "assigned":
                    await self.send(f"{self.name}-c{i}", f"message {i} from {self.name}", "chat", deadline)
                await asyncio.sleep(0.7)
            if not await self.wait(lambda: self.state in ("closed", "rated"), deadline):
                raise TimeoutError(f"{self.name}: the chat was never closed (state {self.state})")
        finally:
            await self.close()

    async def close(self) -> None:
        if self.v is not None:
            self._note_live()
            await self.v.close()


class FaultAgent:
    """One agent's console: online (heartbeats), accepts what is offered, writes CHAT_MESSAGES in
    each chat it owns, closes the chat once the visitor's messages are in and `may_close` is set.
    On a lost connection it reconnects, says hello and carries on with the chats and offers listed."""

    HEARTBEAT_S = 3.0

    def __init__(self, stack, ip: str, name: str, user_id: int, token: str, may_close: asyncio.Event):
        self.stack, self.ip, self.name, self.user_id, self.token = stack, ip, name, user_id, token
        self.may_close = may_close
        self.a: RoutedAgent | None = None
        self.owned: set[str] = set()
        self.closed: set[str] = set()
        self.acked: dict[str, str] = {}   # client_id -> conversation_id of a stored agent message
        self.reconnects = 0
        self.refused: list[tuple] = []    # (conversation_id, error, its state) of a close refused
        self._chats: dict[str, asyncio.Task] = {}
        self._last_beat = 0.0
        self._offers_done = 0

    async def _connect(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            if self.a is not None:
                await self.a.close()
            self.a = RoutedAgent(self.stack.url, self.token, self.ip, transports=("websocket",))
            self._offers_done = 0
            try:
                await self.a.connect()
                await self._call("heartbeat", {"status": "online"})
                hello = await self._call("hello")
                self.owned.update(c["conversation_id"] for c in hello["chats"])
                for offer in hello["offers"]:
                    await self._accept(offer)
                self._last_beat = time.monotonic()
                return
            except LOST:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} could not reconnect")
            await asyncio.sleep(0.5)

    async def _ensure(self) -> None:
        if self.a is None or not self.a.sio.connected:
            if self.a is not None:
                self.reconnects += 1
            await self._connect()

    async def _call(self, event: str, payload=None) -> dict:
        ack = await unless_lost(self.a.sio, self.a.call(event, payload))
        if not ack.get("ok") and ack.get("error", {}).get("code") == "internal_error":
            raise ConnectionError(f"{event}: {ack}")  # the database down: try again
        return ack

    async def call(self, event: str, payload, deadline: float) -> dict:
        while True:
            try:
                await self._ensure()
                return await self._call(event, payload)
            except LOST:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.3)

    async def _accept(self, offer: dict) -> None:
        ack = await self._call("accept", {"offer_id": offer["offer_id"]})
        if ack.get("ok") and ack.get("conversation_id"):
            self.owned.add(ack["conversation_id"])

    async def _chat(self, cid: str, deadline: float) -> None:
        for i in range(CHAT_MESSAGES):
            client_id = f"{self.name}-{cid[:8]}-{i}"
            ack = await self.call("send", {"conversation_id": cid, "text": f"reply {i} from {self.name}",
                                           "client_id": client_id}, deadline)
            if not ack.get("ok"):
                raise AssertionError(f"{self.name} could not write in its chat {cid}: {ack}")
            self.acked[client_id] = cid
            await asyncio.sleep(0.7)
        while time.monotonic() < deadline:
            opened = await self.call("open_chat", {"conversation_id": cid}, deadline)
            theirs = [m for m in opened.get("messages", []) if m["sender"] == "visitor" and "-c" in (m.get("client_id") or "")]
            if len(theirs) >= CHAT_MESSAGES and self.may_close.is_set():
                ack = await self.call("close", {"conversation_id": cid}, deadline)
                if not ack.get("ok"):  # reported by the run, with the chat's state then
                    states = await conversation_states(self.stack, [cid])
                    self.refused.append((cid, ack["error"]["code"], states.get(cid)))
                self.closed.add(cid)
                return
            await asyncio.sleep(0.5)
        raise TimeoutError(f"{self.name}: chat {cid} not finished")

    async def run(self, until: asyncio.Event, wait_s: float = 240) -> None:
        """Work until `until` is set and every chat taken is closed."""
        deadline = time.monotonic() + wait_s
        try:
            while time.monotonic() < deadline:
                try:
                    await self._ensure()
                    offers = self.a.of("offer")
                    for offer in offers[self._offers_done:]:
                        await self._accept(offer)  # an ack lost to a slow answer: accepted again (idempotent)
                        self._offers_done += 1
                    if time.monotonic() - self._last_beat > self.HEARTBEAT_S:
                        await self._call("heartbeat", {"status": "online"})
                        self._last_beat = time.monotonic()
                except LOST:
                    await asyncio.sleep(0.2)
                    continue
                for cid in self.owned - set(self._chats):
                    self._chats[cid] = asyncio.create_task(self._chat(cid, deadline))
                for task in self._chats.values():
                    if task.done():
                        task.result()  # a failed chat fails the run
                if until.is_set() and all(t.done() for t in self._chats.values()):
                    # Offline: a later run's chats are not offered to this agent.
                    await self.call("sign_off", {}, time.monotonic() + 30)
                    return
                await asyncio.sleep(0.1)
            raise TimeoutError(f"{self.name}: chats not finished: {self.owned - self.closed}")
        finally:
            for task in self._chats.values():
                task.cancel()
            if self.a is not None:
                await self.a.close()


# ---- what the database holds afterwards ------------------------------------------------------

async def _fetch(stack, sql: str, *args) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(stack.database_url.replace("+asyncpg", ""))
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def conversation_states(stack, ids: list[str]) -> dict[str, str]:
    rows = await _fetch(stack, "SELECT id, state FROM conversations WHERE id = ANY($1::text[])", ids)
    return {r["id"]: r["state"] for r in rows}


def _replies(rows: list) -> dict[str, list]:
    """{visitor message's client_id: the bot's messages between it and the visitor's next one}."""
    out: dict[str, list] = {}
    current = None
    for r in rows:
        if r["sender"] == "visitor":
            current = r["client_id"]
            out[current] = []
        elif r["sender"] == "bot" and current is not None:
            out[current].append(r)
    return out


async def audit(stack, visitors: list[FaultVisitor], agents: list[FaultAgent] = ()) -> dict:
    """The database against what the clients were told. Counts problems; 0 everywhere is right."""
    ids = [v.conversation_id for v in visitors if v.conversation_id]
    rows = await _fetch(stack, "SELECT conversation_id, seq, sender, client_id, agent_id, text, extra::text AS extra, "
                               "created_at, answered FROM messages WHERE conversation_id = ANY($1::text[]) "
                               "ORDER BY conversation_id, seq", ids)
    by_conv: dict[str, list] = {cid: [] for cid in ids}
    for r in rows:
        by_conv[r["conversation_id"]].append(r)
    report = {"visitors": len(visitors), "acked": 0, "lost": 0, "stored_twice": 0, "unanswered": 0,
              "answered_twice": 0, "bot_in_agent_chat": 0}
    taken = {r["conversation_id"]: r["at"] for r in await _fetch(
        stack, "SELECT conversation_id, min(started_at) AS at FROM assignments "
               "WHERE conversation_id = ANY($1::text[]) GROUP BY conversation_id", ids)}
    for v in visitors:
        mine = by_conv.get(v.conversation_id, [])
        at = {r["client_id"]: r["created_at"] for r in mine if r["sender"] == "visitor"}
        done = {r["client_id"]: r["answered"] for r in mine if r["sender"] == "visitor"}
        stored = [r["client_id"] for r in mine if r["sender"] == "visitor"]
        report["acked"] += len(v.acked)
        report["lost"] += len(set(v.acked) - set(stored))
        report["stored_twice"] += len(stored) - len(set(stored))
        for cid, replies in _replies(mine).items():
            kind = v.kind.get(cid)
            if kind == "form" and v.conversation_id in taken and at[cid] >= taken[v.conversation_id]:
                kind = "chat"  # stored once an agent had the chat: the bot must be silent
            answers = [r for r in replies if (json.loads(r["extra"] or "{}").get("kb")
                                             or json.loads(r["extra"] or "{}").get("fallback"))]
            if kind == "question":
                report["unanswered"] += not answers
                report["answered_twice"] += len(answers) > 1
            elif kind == "form":  # a step answered twice repeats the bot's words
                texts = [r["text"] for r in replies]
                # No reply is right when a person took the chat while Rasa was thinking (the bot is
                # silent then; chat/flows.py) and the turn did end: the row says answered.
                silenced = v.conversation_id in taken and done[cid]
                report["unanswered"] += not replies and not silenced
                report["answered_twice"] += len(texts) > len(set(texts))
            elif kind == "chat":
                report["bot_in_agent_chat"] += len(replies)
    if agents:
        agent_rows = [r for r in rows if r["sender"] == "agent"]
        stored = [r["client_id"] for r in agent_rows]
        acked = {cid for a in agents for cid in a.acked}
        report["agent_acked"] = len(acked)
        report["agent_lost"] = len(acked - set(stored))
        report["agent_stored_twice"] = len(stored) - len(set(stored))
        report.update(await ownership(stack, ids, agent_rows))
    return report


async def ownership(stack, ids: list[str], agent_rows: list) -> dict:
    """No chat had two owners: at most one open assignment per chat, assignments of one chat never
    overlap, the chat's agent is its open assignment's, and every agent message was written by the
    chat's owner of that moment."""
    assignments = await _fetch(stack, "SELECT conversation_id, agent_id, started_at, ended_at FROM assignments "
                                      "WHERE conversation_id = ANY($1::text[]) ORDER BY conversation_id, started_at", ids)
    convs = await _fetch(stack, "SELECT id, state, agent_id FROM conversations WHERE id = ANY($1::text[])", ids)
    by_conv: dict[str, list] = {}
    for a in assignments:
        by_conv.setdefault(a["conversation_id"], []).append(a)
    overlapping = open_twice = wrong_agent = 0
    for cid, spans in by_conv.items():
        open_twice += sum(1 for a in spans if a["ended_at"] is None) > 1
        overlapping += any(a["ended_at"] is None or a["ended_at"] > b["started_at"] for a, b in zip(spans, spans[1:]))
    for c in convs:
        open_ = [a for a in by_conv.get(c["id"], []) if a["ended_at"] is None]
        if c["state"] == "assigned" and (len(open_) != 1 or open_[0]["agent_id"] != c["agent_id"]):
            wrong_agent += 1
    for m in agent_rows:
        spans = by_conv.get(m["conversation_id"], [])
        if not any(a["agent_id"] == m["agent_id"] and a["started_at"] <= m["created_at"]
                   and (a["ended_at"] is None or m["created_at"] <= a["ended_at"]) for a in spans):
            wrong_agent += 1
    return {"two_owners": overlapping + open_twice, "agent_mismatch": wrong_agent}


async def queue_left(stack) -> dict:
    rows = await _fetch(stack, "SELECT (SELECT count(*) FROM queue_entries) AS queued, "
                               "(SELECT count(*) FROM offers WHERE status = 'pending') AS ringing")
    return dict(rows[0])


# ---- kill -9 an app process while visitors and agents chat -------------------------------------

@dataclass
class KillRun:
    report: dict
    queued_at_kill: list[str]
    assigned_at_kill: list[str]
    in_flight_at_kill: int
    moved: list[str]
    noticed_s: float
    back_s: float
    next_answer_s: float
    took_s: float
    problems: list[str] = field(default_factory=list)


async def make_agents(stack, route: dict[str, list[str]], count: int, may_close: asyncio.Event,
                      max_chats: int = 2) -> list[FaultAgent]:
    staff = Staff(stack.database_url)
    try:
        # Offers ring long enough to be taken after a reconnect; nobody is released for silence.
        await staff.settings(routing_time_s=30, presence_timeout_s=30, grace_s=60)
        agents = []
        apps = sorted(route)
        for i in range(count):
            app = apps[i % len(apps)]
            ip = route[app][-1 - i // len(apps)]  # from the end: visitors take the start of the list
            name = f"Agent{i}x{random.randrange(10**6)}"
            user_id, token = await staff.user(name, max_chats=max_chats)
            agents.append(FaultAgent(stack, ip, f"{app}a{i}", user_id, token, may_close))
        return agents
    finally:
        await staff.close()


async def kill_app_under_load(stack, route: dict[str, list[str]], sig, *, visitors: int = 50, agents: int = 4,
                              persons: int = 10, questions: int = 6, seed: int = 12) -> KillRun:
    """`visitors` visitors (half on each app process), `persons` of them asking for a person, the
    rest asking `questions` questions each; `agents` agents (max 2 chats each: some chats wait in
    the queue). app1 gets `sig` once every person's chat is with an agent or in the queue."""
    rng = random.Random(seed)
    pool = demo_questions()
    may_close, until = asyncio.Event(), asyncio.Event()
    crew = await make_agents(stack, route, agents, may_close)
    half = visitors // 2
    people: list[FaultVisitor] = []
    for app in ("app1", "app2"):
        people += [FaultVisitor(stack, ip, f"{app}v{i}") for i, ip in enumerate(route[app][:half])]
    persons_ = people[:persons // 2] + people[half:half + persons - persons // 2]
    askers = [v for v in people if v not in persons_]
    t0 = time.monotonic()
    agent_tasks = [asyncio.create_task(a.run(until)) for a in crew]
    tasks = [asyncio.create_task(v.run_person()) for v in persons_]
    tasks += [asyncio.create_task(v.run_bot(rng.sample(pool, questions), random.Random(i), pause=(0.5, 2.0)))
              for i, v in enumerate(askers)]
    try:
        # Kill once every person's chat is with an agent or waiting in the queue (some waiting when
        # there are more than the agents can take), or after 30 s.
        must_queue = len(persons_) > 2 * len(crew)  # max 2 chats each
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ids = [v.conversation_id for v in persons_ if v.conversation_id]
            states = await conversation_states(stack, ids) if ids else {}
            if len(ids) == len(persons_) and all(s in ("assigned", "queued") for s in states.values()) \
                    and (not must_queue or any(s == "queued" for s in states.values())):
                break
            await asyncio.sleep(0.3)
        states = await conversation_states(stack, [v.conversation_id for v in persons_ if v.conversation_id])
        in_flight = sum(len([c for c in v.acked if c.split("-")[-1].startswith("q") and not v.answers(c)])
                        for v in askers if v.name.startswith("app1"))
        killed_at = time.monotonic()
        await asyncio.to_thread(stack.kill, "app1", sig)
        may_close.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=300)
        until.set()
        results += await asyncio.wait_for(asyncio.gather(*agent_tasks, return_exceptions=True), timeout=120)
    finally:
        for t in tasks + agent_tasks:
            t.cancel()
    took = time.monotonic() - t0
    problems = [repr(r) for r in results if isinstance(r, BaseException)]
    await asyncio.sleep(1)  # the last closes' effects
    report = await audit(stack, people, crew)
    report.update(await queue_left(stack))
    final = await conversation_states(stack, [v.conversation_id for v in persons_])
    queued_at_kill = [c for c, s in states.items() if s == "queued"]
    report["queued_at_kill"] = len(queued_at_kill)
    report["forgotten"] = sum(1 for c in queued_at_kill if final.get(c) not in ("closed", "rated"))
    report["not_acked"] = sum(1 for v in people for c in v.unanswered if c not in v.acked)
    report["no_answer_seen"] = sum(len(v.unanswered) for v in people)
    moved = [v for v in people if v.reconnects]
    report["agents_moved"] = sum(1 for a in crew if a.reconnects)
    problems += [f"{a.name} could not close {r}" for a in crew for r in a.refused]

    def slowest(attr: str) -> float:
        return max(((getattr(v, attr) or killed_at) - killed_at for v in moved), default=0.0)

    return KillRun(report, queued_at_kill, [c for c, s in states.items() if s == "assigned"], in_flight,
                   sorted(v.name for v in moved), slowest("lost_at"), slowest("back_at"),
                   slowest("first_answer_after_reconnect"), took, problems)


# ---- restart Redis or PostgreSQL while visitors chat ------------------------------------------

class Probe:
    """Events across processes: a visitor on app1 and the agent who took its chat on app2 write to
    each other every 0.5 s; each side notes when the other's words arrive live (through Redis)."""

    def __init__(self, stack, route, agent: FaultAgent):
        self.visitor = FaultVisitor(stack, route["app1"][-3], "probe")
        self.agent = agent
        self.sent: dict[str, float] = {}      # text -> acknowledged at
        self.arrived: dict[str, float] = {}   # text -> seen live by the other side at

    async def start(self) -> None:
        deadline = time.monotonic() + 60
        await self.visitor.send("probe-hello", "hello", "question", deadline)
        await self.visitor.wait(lambda: bool(self.visitor.answers("probe-hello")), deadline)
        ack = await self.agent.call("take_over", {"conversation_id": self.visitor.conversation_id}, deadline)
        assert ack.get("ok"), ack
        await self.agent.call("open_chat", {"conversation_id": self.visitor.conversation_id}, deadline)

    def _watch(self) -> None:
        now = time.monotonic()
        v, a = self.visitor.v, self.agent.a
        texts = [m.get("text") for m in (v.of("bot_uttered") if v else [])]
        texts += [m.get("text") for m in (a.of("message") if a else [])]
        for text in texts:
            if text in self.sent and text not in self.arrived:
                self.arrived[text] = now

    async def run(self, stop: asyncio.Event) -> None:
        cid, i = self.visitor.conversation_id, 0
        while not stop.is_set():
            i += 1
            deadline = time.monotonic() + 60
            try:
                ping = f"ping {i}"
                ack = await self.agent.call("send", {"conversation_id": cid, "text": ping, "client_id": f"ping-{i}"},
                                            deadline)
                if ack.get("ok"):
                    self.sent[ping] = time.monotonic()
                pong = f"pong {i}"
                if await self.visitor.send(f"pong-{i}", pong, "chat", time.monotonic() + 5):
                    self.sent[pong] = time.monotonic()
                if i % 6 == 0:  # the agent stays online (presence)
                    await self.agent.call("heartbeat", {"status": "online"}, deadline)
            except LOST:
                pass
            for _ in range(10):
                self._watch()
                await asyncio.sleep(0.05)
            await self.visitor._ensure()
        await asyncio.sleep(1)
        self._watch()
        await self.visitor.close()

    def back_after(self, up_at: float) -> float | None:
        """Seconds from `up_at` until words sent after it arrived live both ways."""
        firsts = []
        for prefix in ("ping", "pong"):
            times = [self.arrived[t] for t, at in self.sent.items() if t.startswith(prefix) and at >= up_at
                     and t in self.arrived]
            if not times:
                return None
            firsts.append(min(times))
        return max(firsts) - up_at

    def missed(self) -> int:
        return len(set(self.sent) - set(self.arrived))


async def ready_after(stack, up_at: float, timeout_s: float = 60) -> float | None:
    """Seconds from `up_at` until every app process answers /health/ready with 200."""
    import httpx

    deadline = up_at + timeout_s
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            try:
                codes = [(await http.get(f"{p.url}/health/ready")).status_code for p in stack.of("app")]
                if all(c == 200 for c in codes):
                    return time.monotonic() - up_at
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    return None


async def restart_under_load(stack, route, service: str, stop, start, *, visitors: int = 20, down_s: float = 3.0,
                             seed: int = 7) -> dict:
    """Visitors (half on each app process) ask questions without end and a probe writes across the
    processes; `stop()` the service, `down_s` later `start()` it; the run goes on until every
    visitor has had an answer to a question asked after the restart and the probe's words cross
    again. Returns the figures (docs/production.md, "Faults, measured")."""
    rng = random.Random(seed)
    pool = demo_questions()
    never = asyncio.Event()
    [agent] = await make_agents(stack, {"app2": route["app2"]}, 1, never, max_chats=3)
    probe = Probe(stack, route, agent)
    await agent._connect()
    await probe.start()
    people = [FaultVisitor(stack, ip, f"{app}{service}v{i}") for app in ("app1", "app2")
              for i, ip in enumerate(route[app][:visitors // 2])]
    stop_all = asyncio.Event()

    async def asker(v: FaultVisitor, r: random.Random) -> None:
        i = 0
        try:
            while not stop_all.is_set():
                await v.ask(f"{v.name}-q{i}", r.choice(pool))
                i += 1
                await asyncio.sleep(r.uniform(0.3, 1.0))
        finally:
            await v.close()

    tasks = [asyncio.create_task(asker(v, random.Random(rng.random()))) for v in people]
    tasks.append(asyncio.create_task(probe.run(stop_all)))
    try:
        await asyncio.sleep(4)
        down_at = time.monotonic()
        await asyncio.to_thread(stop)
        await asyncio.sleep(down_s)
        await asyncio.to_thread(start)
        up_at = time.monotonic()
        ready_s = await ready_after(stack, up_at)
        deadline = up_at + 90
        while time.monotonic() < deadline:
            fresh = all(any(s >= up_at and a is not None for _, s, a in v.timeline) for v in people)
            if fresh and probe.back_after(up_at) is not None:
                break
            await asyncio.sleep(0.5)
        stop_all.set()
        results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=120)
    finally:
        stop_all.set()
        for t in tasks:
            t.cancel()
        await agent.a.close()
    report = await audit(stack, people)
    caught = [(s, a) for v in people for _, s, a in v.timeline if s <= up_at and (a is None or a >= down_at)]
    report.update({
        "service": service, "down_s": round(up_at - down_at, 1),
        "ready_s": None if ready_s is None else round(ready_s, 1),
        # from the service back until the last question asked before or during the outage was answered
        "recovery_s": round(max((a - up_at for s, a in caught if a is not None), default=0.0), 1),
        "caught": len(caught),
        "events_back_s": None if probe.back_after(up_at) is None else round(probe.back_after(up_at), 1),
        "events_missed": probe.missed(),
        "refused_acks": sum(v.failed_acks for v in people),
        "found_by_resync": sum(v.by_resync for v in people),
        "no_answer_seen": sum(len(v.unanswered) for v in people),
        "errors": [repr(r) for r in results if isinstance(r, BaseException)],
    })
    return report
