"""Routing decision time with many agents online and a long queue, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.routing [--agents 200] [--queued 1000] [--iterations 300] [--no-postgres]

Every agent is online and full (3 running chats each), 1,000 chats wait. Each iteration frees a slot
(an agent closes a chat), which routes the oldest waiting chat to that agent, then the agent accepts
the offer, which routes again. Measured per iteration:
- the routing decision itself (the pass over the queue and the eligible agents, in the locked
  transaction: `handoff.routing._route_queue`), timed inside the close and the accept;
- the whole close and accept transactions (lock, decision, writes, commit) as a caller sees them.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, text

from handoff import routing

STRATEGIES = ("average_utilization", "ring_to_all", "priorities")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


async def _fill(sm, agents: int, queued: int, now: datetime) -> None:
    from accounts.models import User
    from chat.models import Conversation
    from handoff.models import Assignment, Offer, QueueEntry

    async with sm() as db:
        await db.execute(insert(User), [
            {"email": f"a{i}@bench", "display_name": f"A{i}", "role": "agent", "password_hash": "x",
             "max_chats": 3, "priority": 1 + i % 100, "accepting_chats": True, "status": "online",
             "last_heartbeat_at": now, "last_assigned_at": now - timedelta(minutes=10),
             "active": True, "password_changed_at": now, "created_at": now} for i in range(agents)])
        ids = [r[0] for r in (await db.execute(User.__table__.select().with_only_columns(User.id))).all()]
        convs, assigns, entries, offers = [], [], [], []
        for n, agent_id in enumerate(ids * 3):
            cid = uuid.uuid4().hex
            convs.append(_conv(cid, "assigned", agent_id, now))
            assigns.append({"conversation_id": cid, "agent_id": agent_id, "started_at": now,
                            "last_activity_at": now, "inactive": False})
            # each running chat came from an accepted offer, as in a running database
            offers.append({"conversation_id": cid, "agent_id": agent_id, "round": 1, "kind": "route",
                           "created_at": now, "expires_at": now, "status": "accepted", "resolved_at": now})
        for i in range(queued):
            cid = uuid.uuid4().hex
            convs.append(_conv(cid, "queued", None, now))
            t = now - timedelta(seconds=queued - i)
            entries.append({"conversation_id": cid, "queued_at": t, "sort_at": t, "priority": 0,
                            "reason": "visitor_asked", "round": 1})
        await db.execute(insert(Conversation), convs)
        await db.execute(insert(Assignment), assigns)
        await db.execute(insert(Offer), offers)
        await db.execute(insert(QueueEntry), entries)
        await db.commit()
    # Statistics as a running database has them (autovacuum), so plans are not guessed for empty tables.
    async with sm() as db:
        await db.execute(text("ANALYZE"))
        await db.commit()


def _conv(cid: str, state: str, agent_id, now) -> dict:
    return {"id": cid, "token_hash": uuid.uuid4().hex * 2, "state": state, "last_seq": 0, "bot_failures": 0,
            "agent_id": agent_id, "pages": [], "created_at": now, "updated_at": now}


async def measure(url: str, strategy: str, agents: int, queued: int, iterations: int) -> dict:
    from sqlalchemy import select

    from app.db import make_engine, make_sessionmaker
    from handoff.models import Assignment

    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    now = datetime.now(timezone.utc)
    await _fill(sm, agents, queued, now)
    async with sm() as db:
        await routing.update_settings(db, {"strategy": strategy}, now=now)

    decisions: list[float] = []
    original = routing._route_queue

    async def timed(*a, **kw):
        t = time.perf_counter()
        try:
            return await original(*a, **kw)
        finally:
            decisions.append((time.perf_counter() - t) * 1000)

    routing._route_queue = timed
    closes, accepts = [], []
    try:
        async with sm() as db:
            owned = list((await db.execute(select(Assignment.conversation_id, Assignment.agent_id)
                                           .where(Assignment.ended_at.is_(None)))).all())
        for i in range(iterations):
            cid, agent_id = owned[i % len(owned)]
            now += timedelta(milliseconds=100)
            t = time.perf_counter()
            async with sm() as db:
                effects = await routing.close(db, cid, actor=f"agent:{agent_id}", now=now)
            closes.append((time.perf_counter() - t) * 1000)
            offer = next(o for o in effects.offers if o.agent_id == agent_id)
            t = time.perf_counter()
            async with sm() as db:
                await routing.accept(db, offer.id, agent_id, now=now)
            accepts.append((time.perf_counter() - t) * 1000)
            owned.append((offer.conversation_id, agent_id))
    finally:
        routing._route_queue = original
        await engine.dispose()
    return {"decision": decisions, "close": closes, "accept": accepts}


def _databases(use_postgres: bool, tmp: Path):
    from tests.support import TestDatabase, postgres_available

    kinds = ["sqlite"] + (["postgres"] if use_postgres and postgres_available() else [])
    for kind in kinds:
        db = TestDatabase(kind, tmp).create()
        try:
            yield kind, db.url
        finally:
            db.drop()


def run(agents: int = 200, queued: int = 1000, iterations: int = 300, use_postgres: bool = True,
        strategies=STRATEGIES, log=print) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="shopchat-routing-") as tmp:
        for strategy in strategies:
            for kind, url in _databases(use_postgres, Path(tmp)):
                res = asyncio.run(measure(url, strategy, agents, queued, iterations))
                row = {"db": kind, "strategy": strategy, "agents": agents, "queued": queued}
                for key, values in res.items():
                    row[f"{key}_p50_ms"] = round(statistics.median(values), 2)
                    row[f"{key}_p99_ms"] = round(pct(values, 99), 2)
                rows.append(row)
                log(f"  {kind:8} {strategy:20} decision p50 {row['decision_p50_ms']:6.2f} p99 {row['decision_p99_ms']:6.2f} ms"
                    f" | close p99 {row['close_p99_ms']:6.2f} | accept p99 {row['accept_p99_ms']:6.2f} ms")
    return rows


def table(rows: list[dict], target_ms: float = 5.0) -> str:
    out = ["| database | strategy | agents online | queued | decision p50 / p99 ms | close tx p99 ms | accept tx p99 ms | target p99 <= 5 ms |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ok = "met" if r["decision_p99_ms"] <= target_ms else "NOT met"
        out.append(f"| {r['db']} | {r['strategy']} | {r['agents']} | {r['queued']} | "
                   f"{r['decision_p50_ms']} / {r['decision_p99_ms']} | {r['close_p99_ms']} | {r['accept_p99_ms']} | {ok} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--queued", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows = run(args.agents, args.queued, args.iterations, not args.no_postgres)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
