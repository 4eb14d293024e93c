"""The routing clock of one app process: fire due timers (offers ringing out, presence loss,
inactivity, max queue wait) and drain the queue. Every process runs it; the routing lock makes
each timer fire once, and since timers are timestamps in the database a restart loses none. Time is
the database's (app/db.py sync_clock, one read a tick), not this host's: hosts whose clocks disagree
still fire each timer at its moment."""
from __future__ import annotations

import asyncio
import logging
import time

from app.context import AppContext
from app.db import sync_clock
from handoff import notify, routing

log = logging.getLogger(__name__)

# Waiting visitors get a fresh estimate this often even when the queue does not move.
QUEUE_REFRESH_S = 30.0


async def tick(ctx: AppContext) -> routing.Effects:
    """One tick: the database's time, then the due timers; tells everyone what changed."""
    now = await sync_clock(ctx.engine)  # its own short read: the routing lock must come first below
    async with ctx.sessionmaker() as db:
        effects = await routing.tick(db, now=now)
    await notify.publish(ctx, effects)
    return effects


async def run(ctx: AppContext) -> None:
    interval = ctx.settings.routing_tick_s
    last_refresh = time.monotonic()
    while True:
        try:
            effects = await tick(ctx)
            if not effects.queue_changed and time.monotonic() - last_refresh >= QUEUE_REFRESH_S:
                await notify.publish_queue(ctx)
                last_refresh = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failed tick (database restarting) is retried next time
            log.exception("routing tick failed")
        await asyncio.sleep(interval)
