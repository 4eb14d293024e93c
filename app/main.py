"""Composition root: create_app(settings) wires the database, the search index, the Rasa client,
the Socket.IO namespaces and the HTTP routes into one ASGI app."""
from __future__ import annotations

import asyncio
import gc
import logging
import time
from contextlib import asynccontextmanager

import socketio
from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from accounts.web import make_router as make_accounts_router
from app.context import AppContext
from app.db import make_engine, make_sessionmaker
from app import health as health_routes
from app import static
from app.no_store import NoStore
from app.settings import Settings
from attachments import service as attachment_service
from attachments.storage import make_store as make_attachment_store
from attachments.web import make_router as make_attachments_router
from bot.actions import make_router as make_action_router
from bot.rasa_client import RasaClient
from chat import turns
from chat.visitor_ns import VisitorNamespace
from engage.views import make_router as make_engage_router
from handoff import notify as handoff_notify
from handoff import timers as handoff_timers
from handoff.agent_ns import AgentNamespace
from handoff.console_api import make_router as make_console_router
from handoff.preferences import make_router as make_preferences_router
from insights import rollups
from insights.reports_api import make_router as make_reports_router
from insights.conversions_api import make_router as make_conversions_router
from privacy import retention as privacy_retention
from privacy.api import make_router as make_privacy_router
from knowledge_base import articles
from knowledge_base.editor_api import make_router as make_editor_router
from knowledge_base.service import LiveIndex

log = logging.getLogger(__name__)

# Socket.IO frames above this are refused by the transport (a 1 MB message still gets a clear
# `message_too_long`); the handlers' own limits are far lower.
MAX_FRAME_BYTES = 2_000_000


def build_context(settings: Settings) -> AppContext:
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size,
                         max_overflow=settings.db_max_overflow)
    sessionmaker = make_sessionmaker(engine)
    # With Redis, an emit from any process reaches sockets connected to every process.
    # The channel keeps two deployments on one Redis apart; RedisManager also carries room moves.
    manager = (handoff_notify.RedisManager(settings.redis_url, channel=settings.redis_channel)
               if settings.redis_url else None)
    sio = socketio.AsyncServer(
        async_mode="asgi",
        client_manager=manager,
        cors_allowed_origins=settings.socket_origins(),
        max_http_buffer_size=MAX_FRAME_BYTES,
        ping_interval=10,
        ping_timeout=10,
    )
    return AppContext(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker,
        sio=sio,
        kb=LiveIndex(sessionmaker),
        rasa=RasaClient(settings.rasa_url, settings.rasa_timeout_s, auth_token=settings.rasa_auth_token),
    )


def create_app(settings: Settings | None = None) -> socketio.ASGIApp:
    settings = settings or Settings()
    ctx = build_context(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await ctx.kb.refresh(force=True)
        api.state.kb_built = True  # /health/ready
        log.info("knowledge base loaded: %d published articles", len(ctx.kb.index))
        # Everything loaded so far (modules, the index) lives as long as the process: moved out of
        # the collector's sight, a full collection no longer stalls every chat for ~100 ms.
        gc.collect()
        gc.freeze()
        background = [asyncio.create_task(handoff_timers.run(ctx)), asyncio.create_task(ctx.kb.watch()),
                      asyncio.create_task(articles.purge_trash_forever(ctx.sessionmaker)),
                      asyncio.create_task(rollups.run(ctx)),  # reports' rollup (insights/rollups.py)
                      asyncio.create_task(privacy_retention.run(ctx)),  # off unless an admin sets it
                      # questions acknowledged and never answered (a process died): answered now
                      asyncio.create_task(turns.recover(ctx))]
        yield
        # Shutting down (SIGTERM): uvicorn has stopped accepting and closed every socket, so clients
        # reconnect elsewhere; the bot turns under way finish first, within the grace.
        deadline = time.monotonic() + settings.shutdown_grace_s
        while ctx.turns and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)  # let them leave their sessions
        await ctx.rasa.aclose()
        await ctx.engine.dispose()

    docs = settings.api_docs  # off by default (app/settings.py)
    api = FastAPI(title="shopchat", lifespan=lifespan, docs_url="/docs" if docs else None,
                  redoc_url="/redoc" if docs else None, openapi_url="/openapi.json" if docs else None)
    api.state.ctx = ctx

    @api.get("/health")
    async def health():
        try:
            async with ctx.sessionmaker() as db:
                await db.execute(text("SELECT 1"))
            db_state = "up"
        except Exception:  # noqa: BLE001 - any failure means the database is not usable
            db_state = "down"
        rasa_state = "up" if await ctx.rasa.is_up() else "down"
        body = {"status": "ok" if db_state == "up" else "error", "db": db_state, "rasa": rasa_state,
                # the custom-action path as the last bot turns found it (unknown while Rasa is down)
                "rasa_actions": ctx.rasa.actions_state() if rasa_state == "up" else "unknown"}
        return body if db_state == "up" else JSONResponse(body, status_code=503)

    @api.get("/", include_in_schema=False)
    async def root():
        return RedirectResponse("/demo/")

    api.include_router(health_routes.make_router(ctx))
    api.include_router(make_action_router(ctx.kb, settings.action_token))
    api.include_router(make_accounts_router(ctx))
    api.include_router(make_console_router(ctx))
    api.include_router(make_editor_router(ctx))
    api.include_router(make_engage_router(ctx))
    attachment_store = make_attachment_store(settings)  # disk, or S3 when configured
    attachment_service.register_store(ctx.engine, attachment_store)
    api.include_router(make_attachments_router(ctx, attachment_store))
    api.include_router(make_preferences_router(ctx))
    api.include_router(make_reports_router(ctx))
    api.include_router(make_conversions_router(ctx))
    api.include_router(make_privacy_router(ctx))
    static.mount(api, settings)
    api.add_middleware(NoStore)

    ctx.sio.register_namespace(VisitorNamespace(ctx))
    ctx.sio.register_namespace(AgentNamespace(ctx))
    asgi = socketio.ASGIApp(ctx.sio, other_asgi_app=api)
    if settings.trusted_proxies:  # the client's address and scheme as a trusted proxy saw them
        asgi = ProxyHeadersMiddleware(asgi, trusted_hosts=settings.trusted_proxies)
    asgi.ctx = ctx  # for tests and the CLI
    return asgi

