"""Routing timers follow the database's clock, not the app host's: a process whose clock is an hour
off fires each timer at its moment (app/db.py sync_clock, handoff/timers.py tick). PostgreSQL only:
SQLite lives on the app's own host, so there is one clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

import app.db
from app.main import build_context
from app.settings import Settings
from handoff import timers
from handoff.models import Offer
from tests.handoff.routing_world import World
from tests.support import IN_CI, TestDatabase, postgres_available


@pytest.fixture
def pg_url(tmp_path):
    if not postgres_available():
        if IN_CI:
            pytest.fail("CI has PostgreSQL; this test must run there")
        pytest.skip("needs PostgreSQL")
    db = TestDatabase("postgres", tmp_path).create()
    yield db.url
    db.drop()


@pytest.fixture
async def ctx(pg_url, monkeypatch):
    monkeypatch.setattr(app.db, "_clock_offset", timedelta(0))  # restored after the test
    ctx = build_context(Settings(database_url=pg_url))
    yield ctx
    await ctx.engine.dispose()


def skew_host_clock(monkeypatch, offset: timedelta) -> None:
    monkeypatch.setattr(app.db, "host_now", lambda: datetime.now(timezone.utc) + offset)


async def ringing_offer(ctx, ring_started: datetime) -> tuple[World, int, str]:
    """Ann online, one queued chat ringing on her console since `ring_started` (routing_time_s 30)."""
    world = World(ctx.sessionmaker, now=ring_started)
    await world.settings(routing_time_s=30, presence_timeout_s=30)
    ann = await world.agent("Ann")
    cid, _ = await world.queued_chat()
    assert await world.offered_to(cid) == {ann}
    return world, ann, cid


async def offer_statuses(ctx, cid: str) -> list[str]:
    async with ctx.sessionmaker() as db:
        return list(await db.scalars(select(Offer.status).where(Offer.conversation_id == cid).order_by(Offer.id)))


async def test_a_host_clock_an_hour_ahead_rings_nothing_out_early(ctx, monkeypatch):
    world, ann, cid = await ringing_offer(ctx, datetime.now(timezone.utc))
    skew_host_clock(monkeypatch, timedelta(hours=1))
    effects = await timers.tick(ctx)
    # By the host's clock the offer rang out and Ann's heartbeat is an hour old; by the database's not.
    assert await offer_statuses(ctx, cid) == ["pending"]
    assert not effects.withdrawn and not effects.released
    # Every other `now` of this process (heartbeats, accepts) follows the database's clock too.
    assert abs((app.db.utcnow() - datetime.now(timezone.utc)).total_seconds()) < 2


async def test_a_host_clock_an_hour_behind_still_rings_out_on_time(ctx, monkeypatch):
    now = datetime.now(timezone.utc)
    world, ann, cid = await ringing_offer(ctx, now - timedelta(seconds=31))  # rang out a second ago
    world.now = now
    await world.heartbeat(ann)  # Ann's console is alive
    skew_host_clock(monkeypatch, timedelta(hours=-1))
    effects = await timers.tick(ctx)
    assert (await offer_statuses(ctx, cid))[0] == "missed"  # (and it rings again)
    assert [(o.conversation_id, why) for o, why in effects.withdrawn] == [(cid, "missed")]
