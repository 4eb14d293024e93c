"""GET /health/live and /health/ready (app/health.py) against the app as its own process, with
PostgreSQL, Redis and a stand-in for Rasa's root route; the action-path verdict in a unit test."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from app import health
from app.main import build_context
from app.settings import Settings
from tests.support import IN_CI, LiveApp, TestDatabase, free_port, postgres_available


class RasaRoot(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's spelling
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"Hello from Rasa: 3.6.21")

    def log_message(self, *args):
        pass


@pytest.fixture
def rasa_root():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), RasaRoot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def pg_db(tmp_path):
    if not postgres_available():
        if IN_CI:
            pytest.fail("CI has PostgreSQL; this test must run there")
        pytest.skip("needs PostgreSQL")
    db = TestDatabase("postgres", tmp_path).create()
    yield db
    db.drop()  # IF EXISTS: a test may have dropped it already


def get(app: LiveApp, path: str) -> httpx.Response:
    return httpx.get(app.url + path, timeout=10)


def test_ready_with_everything_up_and_live_always(pg_db, rasa_root):
    app = LiveApp(pg_db.url, rasa_url=rasa_root, env={"SHOPCHAT_REDIS_URL": "redis://127.0.0.1:6379/0",
                                                              "SHOPCHAT_RASA_AUTH_TOKEN": "t" * 24}).start()
    try:
        r = get(app, "/health/ready")
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ready", "failing": [], "degraded": [], "checks": {
            "database": "up", "redis": "up", "knowledge_base": "up", "rasa": "up", "rasa_actions": "up"}}
        assert get(app, "/health/live").json() == {"status": "alive"}
        # The database goes away: not ready, naming it; still alive (no restart for an outage).
        pg_db.drop()
        r = get(app, "/health/ready")
        assert r.status_code == 503 and r.json()["failing"] == ["database"]
        assert r.json()["checks"]["database"] == "down"
        assert get(app, "/health/live").status_code == 200
    finally:
        app.stop()


def test_unreachable_redis_is_not_ready_and_named(sqlite_url, rasa_root):
    app = LiveApp(sqlite_url, rasa_url=rasa_root, env={
        "SHOPCHAT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "SHOPCHAT_RASA_AUTH_TOKEN": "t" * 24}).start()
    try:
        r = get(app, "/health/ready")
        assert r.status_code == 503 and r.json()["failing"] == ["redis"]
    finally:
        app.stop()


def test_rasa_down_is_degraded_unless_required(sqlite_url):
    app = LiveApp(sqlite_url).start()  # nothing listens at its Rasa address
    try:
        r = get(app, "/health/ready")
        assert r.status_code == 200
        assert r.json()["status"] == "degraded" and r.json()["degraded"] == ["rasa", "rasa_actions"]
        assert r.json()["checks"]["database"] == "up" and "redis" not in r.json()["checks"]
        r = get(app, "/health/ready?rasa=required")
        assert r.status_code == 503 and r.json()["failing"] == ["rasa", "rasa_actions"]
        # /health answers as before for existing monitors
        assert get(app, "/health").json()["rasa"] == "down"
    finally:
        app.stop()


class FailingActions:
    """Rasa answers, but the last bot turns found its custom-action calls failing."""

    async def is_up(self):
        return True

    def actions_state(self):
        return "failing"


async def test_a_failing_action_path_is_named(sqlite_url):
    ctx = build_context(Settings(database_url=sqlite_url))
    ctx.rasa = FailingActions()
    try:
        status, body = await health.readiness(ctx, kb_built=True, rasa_required=False)
        assert (status, body["degraded"], body["checks"]["rasa"]) == (200, ["rasa_actions"], "up")
        status, body = await health.readiness(ctx, kb_built=True, rasa_required=True)
        assert (status, body["failing"]) == (503, ["rasa_actions"])
        status, body = await health.readiness(ctx, kb_built=False, rasa_required=False)
        assert (status, body["failing"]) == (503, ["knowledge_base"])
    finally:
        await ctx.engine.dispose()
