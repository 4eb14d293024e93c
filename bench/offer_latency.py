"""From a chat entering the queue to its offer reaching an agent's console socket, on loopback.

    .venv/bin/python -m bench.offer_latency [--agents 200] [--chats 200] [--no-postgres]

A real app process (`shopchat serve`, no Rasa: the knowledge-base-only path) on a fresh SQLite
file and a fresh PostgreSQL database; N agents logged in, each a real python-socketio client on
`/agent`, online by heartbeat. One visitor after another asks for a person ("/human_handoff"); the
latency is the time between the commit that put the chat in the queue (the `bot -> queued`
transition's timestamp, written by the app) and the `offer` event arriving at the agent's socket
(both clocks are this machine's). The agent accepts and closes the chat, so every agent stays free.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import timezone
from pathlib import Path

import socketio
from sqlalchemy import select

from bench.routing import pct

COOKIE = "shopchat_session"


async def _agents(db_url: str, n: int) -> list[str]:
    from accounts import service as accounts
    from accounts.models import User
    from app.db import make_engine, make_sessionmaker, utcnow

    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    tokens = []
    async with sm() as db:
        users = [User(email=f"agent{i}@bench.test", display_name=f"Agent {i}", role="agent", password_hash="x")
                 for i in range(n)]
        db.add_all(users)
        await db.commit()
        for u in users:
            tokens.append(await accounts.create_session(db, u.id, now=utcnow()))
    await engine.dispose()
    return tokens


async def _queued_at(sm, conversation_id: str) -> float | None:
    from chat.models import Transition

    async with sm() as db:
        at = await db.scalar(select(Transition.at).where(Transition.conversation_id == conversation_id,
                                                         Transition.to_state == "queued"))
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp()


async def measure(url: str, db_url: str, tokens: list[str], chats: int) -> list[float]:
    from app.db import make_engine, make_sessionmaker

    offers: dict[str, tuple[float, int, socketio.AsyncClient]] = {}
    clients = []
    for token in tokens:
        sio = socketio.AsyncClient(reconnection=False)

        def on_offer(data, sio=sio):
            offers[data["conversation_id"]] = (time.time(), data["offer_id"], sio)

        sio.on("offer", on_offer, namespace="/agent")
        await sio.connect(url, headers={"Cookie": f"{COOKIE}={token}"}, namespaces=["/agent"],
                          transports=["websocket"])
        await sio.call("heartbeat", {"status": "online"}, namespace="/agent")
        clients.append(sio)
    async def heartbeats():
        """Every console heartbeats every 10 s (or its agent goes offline after 30 s). Consoles
        opened at different moments are spread over those 10 s, so the beats are too."""
        while True:
            for c in clients:
                await asyncio.sleep(10 / len(clients))
                await c.emit("heartbeat", {"status": "online"}, namespace="/agent")

    beating = asyncio.create_task(heartbeats())
    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    latencies = []
    try:
        for _ in range(chats):
            visitor = socketio.AsyncClient(reconnection=False)
            await visitor.connect(url, transports=["websocket"])
            ack = await visitor.call("session_request", {"session_id": None}, timeout=10)
            cid = ack["conversation_id"]
            await visitor.call("user_uttered", {"message": "/human_handoff", "client_id": "bench"}, timeout=10)
            deadline = time.monotonic() + 10
            while cid not in offers and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            if cid not in offers:
                raise RuntimeError("no offer arrived within 10 s")
            received, offer_id, agent = offers[cid]
            queued = await _queued_at(sm, cid)
            latencies.append((received - queued) * 1000)
            ack = await agent.call("accept", {"offer_id": offer_id}, namespace="/agent", timeout=10)
            if not ack.get("ok"):
                raise RuntimeError(f"accept failed: {ack}")
            await agent.call("close", {"conversation_id": cid}, namespace="/agent", timeout=10)
            await visitor.disconnect()
    finally:
        beating.cancel()
        for c in clients:
            await c.disconnect()
        await engine.dispose()
    return latencies


def run(agents: int = 200, chats: int = 200, use_postgres: bool = True, log=print) -> list[dict]:
    from bench.routing import _databases
    from tests.support import LiveApp

    rows = []
    with tempfile.TemporaryDirectory(prefix="shopchat-offer-") as tmp:
        for kind, db_url in _databases(use_postgres, Path(tmp)):
            tokens = asyncio.run(_agents(db_url, agents))
            app = LiveApp(db_url).start()
            try:
                lat = asyncio.run(measure(app.url, db_url, tokens, chats))
            finally:
                app.stop()
            row = {"db": kind, "agents": agents, "chats": chats, "p50_ms": round(statistics.median(lat), 1),
                   "p99_ms": round(pct(lat, 99), 1), "max_ms": round(max(lat), 1)}
            rows.append(row)
            log(f"  {kind:8} {agents} agents: queue -> offer on the console socket p50 {row['p50_ms']} ms, "
                f"p99 {row['p99_ms']} ms")
    return rows


def table(rows: list[dict], target_ms: float = 100.0) -> str:
    out = ["| database | agents online | chats | queue → offer p50 ms | p99 ms | max ms | target p99 <= 100 ms |",
           "|---|---|---|---|---|---|---|"]
    for r in rows:
        ok = "met" if r["p99_ms"] <= target_ms else "NOT met"
        out.append(f"| {r['db']} | {r['agents']} | {r['chats']} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | {ok} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows = run(args.agents, args.chats, not args.no_postgres)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
