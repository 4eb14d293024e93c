"""Health for load balancers and supervisors (docs/production.md):

- GET /health/live: the process answers (no dependency checked: a database outage must not get
  every process restarted).
- GET /health/ready: may this process take visitors? 503 naming the failing parts when the
  database, Redis (when configured) or the knowledge-base index is not there. Rasa and its
  custom-action path are checked and named too, but as `degraded` with 200: every process shares
  the same Rasa and answers from the knowledge base without it, so taking every process out of the
  balancer would turn a weaker bot into an outage. `?rasa=required` counts them as failing.

GET /health (app/main.py) stays as it was for existing monitors."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from app.context import AppContext

CHECK_TIMEOUT_S = 2.0


async def _database(ctx: AppContext) -> bool:
    async with ctx.sessionmaker() as db:
        await db.execute(text("SELECT 1"))
    return True


async def _redis(ctx: AppContext) -> bool:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(ctx.settings.redis_url)
    try:
        return bool(await client.ping())
    finally:
        await client.aclose()


async def _rasa_actions(ctx: AppContext) -> bool:
    # The action path as the last bot turns found it (bot/rasa_client.py).
    state = getattr(ctx.rasa, "actions_state", None)
    return state is None or state() != "failing"


async def _check(probe, ctx: AppContext) -> bool:
    try:
        return bool(await asyncio.wait_for(probe(ctx), CHECK_TIMEOUT_S))
    except Exception:  # noqa: BLE001 - any failure (refused, timeout, error) means not usable
        return False


async def readiness(ctx: AppContext, *, kb_built: bool, rasa_required: bool) -> tuple[int, dict]:
    checks = {"database": await _check(_database, ctx)}
    if ctx.settings.redis_url:
        checks["redis"] = await _check(_redis, ctx)
    checks["knowledge_base"] = kb_built
    rasa_up = await _check(lambda c: c.rasa.is_up(), ctx)
    checks["rasa"] = rasa_up
    checks["rasa_actions"] = rasa_up and await _check(_rasa_actions, ctx)
    bot_parts = ("rasa", "rasa_actions")
    failing = [k for k, ok in checks.items() if not ok and (rasa_required or k not in bot_parts)]
    degraded = [k for k, ok in checks.items() if not ok and k not in failing]
    body = {"status": "not_ready" if failing else "degraded" if degraded else "ready",
            "failing": failing, "degraded": degraded,
            "checks": {k: "up" if ok else "down" for k, ok in checks.items()}}
    return (503 if failing else 200), body


def make_router(ctx: AppContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/health/live")
    async def live():
        return {"status": "alive"}

    @router.get("/health/ready")
    async def ready(request: Request, rasa: str = ""):
        status, body = await readiness(ctx, kb_built=getattr(request.app.state, "kb_built", False),
                                       rasa_required=rasa == "required")
        return JSONResponse(body, status_code=status)

    return router
