"""Several app processes starting together each run `shopchat migrate` (app/cli.py): on PostgreSQL
one upgrades under an advisory lock, the others wait and find nothing to do; all succeed."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest

from app.settings import ROOT
from tests.support import IN_CI, PG_ADMIN_DSN, _pg_admin, postgres_available

STARTS = 3


@pytest.fixture
def fresh_pg_url():
    if not postgres_available():
        if IN_CI:
            pytest.fail("CI has PostgreSQL; this test must run there")
        pytest.skip("needs PostgreSQL")
    name = f"shopchat_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))  # empty: no schema yet
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    yield f"{base}/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_migrations_started_together_all_succeed_once(fresh_pg_url):
    env = {**os.environ, "SHOPCHAT_DATABASE_URL": fresh_pg_url}
    procs = [subprocess.Popen([sys.executable, "-m", "app.cli", "migrate"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(STARTS)]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0] * STARTS, "\n---\n".join(outputs)

    async def versions():
        import asyncpg

        conn = await asyncpg.connect(fresh_pg_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return [r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version")]
        finally:
            await conn.close()

    from alembic.config import Config
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini"))).get_current_head()
    assert asyncio.run(versions()) == [head]
