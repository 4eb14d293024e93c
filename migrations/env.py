"""Alembic environment: async engine from the app's settings (or the URL the caller passes)."""
import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from app.db import Base, all_models, make_engine
from app.settings import Settings

all_models()
target_metadata = Base.metadata


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run() -> None:
    url = context.config.attributes.get("database_url") or Settings().database_url
    engine = make_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_migrate)
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
asyncio.run(_run())
