"""Routing invariants under real concurrency: many transactions at once on one database (PostgreSQL
in CI, SQLite too), and several OS processes racing for the same chat."""
from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.settings import ROOT
from chat.models import Conversation
from handoff import routing
from handoff.models import Assignment
from tests.conftest import _db_kinds
from tests.handoff.routing_world import World, wipe
from tests.support import TestDatabase


@pytest.fixture(scope="module", params=_db_kinds())
def concurrency_db(request, tmp_path_factory) -> str:
    db = TestDatabase(request.param, tmp_path_factory.mktemp("concurrency")).create()
    yield db.url
    db.drop()


@pytest.fixture
async def world(concurrency_db):
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db import make_engine, make_sessionmaker

    # A pool as large as the crowd, so the transactions really run at the same time.
    engine = (make_engine(concurrency_db) if concurrency_db.startswith("sqlite")
              else create_async_engine(concurrency_db, pool_size=60, max_overflow=0))
    sm = make_sessionmaker(engine)
    await wipe(sm)
    yield World(sm)
    await engine.dispose()


async def _try(coro):
    try:
        await coro
        return "won"
    except routing.RoutingError as exc:
        return exc.code


async def test_fifty_agents_accept_the_same_ringing_chat_at_once(world):
    await world.settings(strategy="ring_to_all")
    agents = [await world.agent(f"A{i}") for i in range(50)]
    cid, _ = await world.queued_chat()
    offers = await world.pending(cid)
    assert len(offers) == 50
    results = await asyncio.gather(*[_try(world.accept(o.id, o.agent_id)) for o in offers])
    assert Counter(results) == {"won": 1, "offer_gone": 49}
    async with world.sm() as db:
        owners = await db.scalar(select(func.count()).select_from(Assignment).where(
            Assignment.conversation_id == cid, Assignment.ended_at.is_(None)))
    assert owners == 1
    assert await world.owner(cid) in agents
    assert await world.pending() == []


@pytest.mark.parametrize("strategy", ["average_utilization", "ring_to_all"])
async def test_burst_of_200_chats_into_20_agents(world, strategy):
    await world.settings(strategy=strategy)
    agents = [await world.agent(f"A{i}", max_chats=3) for i in range(20)]
    cids = [await world.chat() for _ in range(200)]
    await asyncio.gather(*[world.enqueue(c) for c in cids])
    # Every agent accepts whatever rings for them, all at once, until nothing rings.
    for _ in range(100):
        offers = await world.pending()
        if not offers:
            break
        await asyncio.gather(*[_try(world.accept(o.id, o.agent_id)) for o in offers])
    async with world.sm() as db:
        per_chat = Counter(a.conversation_id for a in await db.scalars(
            select(Assignment).where(Assignment.ended_at.is_(None))))
        states = Counter((await db.execute(select(Conversation.state, func.count()).group_by(Conversation.state))).all())
    assert max(per_chat.values()) == 1, "one owner per chat"
    for agent in agents:
        assert await world.running(agent) == 3, "no limit exceeded, and no slot left free while chats wait"
    assert len(per_chat) == 60
    queued = [c for c in cids if await world.state(c) == "queued"]
    assert len(queued) == 140, states
    # Slots free up concurrently: the oldest waiting chats are offered at once.
    async with world.sm() as db:
        owned = list(await db.scalars(select(Assignment.conversation_id).where(
            Assignment.ended_at.is_(None)).limit(10)))
    await asyncio.gather(*[world.close(c) for c in owned])
    ringing = {o.conversation_id for o in await world.pending()}
    order = await world.queue_order()
    assert ringing == set(order[:10])


SCRIPT = """
import asyncio, json, sys
from app.db import make_engine, make_sessionmaker
from handoff import routing
from datetime import datetime

async def main(url, offers, now):
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    sys.stdin.readline()  # the start signal: every process is ready
    async def one(offer_id, agent_id):
        async with sm() as db:
            try:
                await routing.accept(db, offer_id, agent_id, now=datetime.fromisoformat(now))
                return "won"
            except routing.RoutingError as exc:
                return exc.code
    out = await asyncio.gather(*[one(o, a) for o, a in offers])
    await engine.dispose()
    print(json.dumps(out))

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]))
"""


async def test_accepts_from_several_processes_exactly_one_wins(world, concurrency_db):
    await world.settings(strategy="ring_to_all")
    for i in range(20):
        await world.agent(f"A{i}")
    cid, _ = await world.queued_chat()
    offers = [(o.id, o.agent_id) for o in await world.pending(cid)]
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, concurrency_db, json.dumps(offers[i::4]),
                               world.now.isoformat()], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True) for i in range(4)]
    await asyncio.sleep(3)  # let every process import and connect
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=60)
        results += json.loads(out.strip().splitlines()[-1])
    assert Counter(results) == {"won": 1, "offer_gone": 19}
