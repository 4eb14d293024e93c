"""Settings that must agree across app processes (docs/production.md): with Redis (several
processes) the secrets Rasa and the app exchange must be set, not generated per process; the
database pool is sized by settings."""
from __future__ import annotations

import os
import subprocess
import sys

import pydantic
import pytest

from app.main import build_context
from app.settings import ROOT, Settings

REDIS = "redis://127.0.0.1:6379/0"


def serve(env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SHOPCHAT_")}
    return subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", "1"], cwd=ROOT,
                          env={**clean, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("given, missing", [
    ({}, "SHOPCHAT_ACTION_TOKEN and SHOPCHAT_RASA_AUTH_TOKEN"),
    ({"SHOPCHAT_ACTION_TOKEN": "a" * 24}, "set SHOPCHAT_RASA_AUTH_TOKEN explicitly"),
    ({"SHOPCHAT_RASA_AUTH_TOKEN": "r" * 24}, "set SHOPCHAT_ACTION_TOKEN explicitly"),
])
def test_several_processes_refuse_to_start_with_generated_secrets(sqlite_url, given, missing):
    done = serve({"SHOPCHAT_DATABASE_URL": sqlite_url, "SHOPCHAT_REDIS_URL": REDIS, **given})
    assert done.returncode != 0
    assert "shopchat serve refused" in done.stderr and missing in done.stderr
    assert "Traceback" not in done.stderr


def test_one_process_may_generate_its_secrets():
    assert Settings(redis_url="").shared_secrets_problem() is None
    assert Settings(redis_url=REDIS, action_token="a" * 24, rasa_auth_token="r" * 24).shared_secrets_problem() is None


async def test_the_database_pool_is_sized_by_settings(db_url):
    ctx = build_context(Settings(database_url=db_url, db_pool_size=3, db_max_overflow=1))
    try:
        if db_url.startswith("postgresql"):
            assert (ctx.engine.pool.size(), ctx.engine.pool._max_overflow) == (3, 1)
    finally:
        await ctx.engine.dispose()


@pytest.mark.parametrize("field, value", [("db_pool_size", 0), ("db_max_overflow", -1)])
def test_a_pool_size_below_its_minimum_is_refused(field, value):
    with pytest.raises(pydantic.ValidationError, match=field):
        Settings(**{field: value})


def test_the_redis_channel_reaches_the_socket_io_manager():
    ctx = build_context(Settings(redis_url=REDIS, redis_channel="shop_b"))
    assert ctx.sio.manager.channel == "shop_b"
