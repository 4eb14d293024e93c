"""What one short database session costs the app's CPU on PostgreSQL, with SQLAlchemy's
pool_pre_ping (three round trips at every checkout) and with the app's ping-when-idle
(app/db.py), in interleaved rounds (docs/benchmarks.md, "Interleaved rounds"):

    .venv/bin/python -m bench.db_checkout [--url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Each session is what the message path does: a checkout, one statement, a commit."""
from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.db import make_engine


async def cpu_ms_a_session(sessionmaker, n: int) -> float:
    t0 = time.process_time()
    for _ in range(n):
        async with sessionmaker() as db:
            await db.execute(text("SELECT 1"))
            await db.commit()
    return (time.process_time() - t0) / n * 1000


async def run(url: str, rounds: int, n: int) -> None:
    engines = {"pool_pre_ping": create_async_engine(url, pool_size=5, max_overflow=0, pool_pre_ping=True),
               "ping when idle (app/db.py)": make_engine(url, pool_size=5, max_overflow=0)}
    makers = {k: async_sessionmaker(e) for k, e in engines.items()}
    for maker in makers.values():
        await cpu_ms_a_session(maker, 50)  # connect and warm up
    seen: dict[str, list[float]] = {k: [] for k in makers}
    for _ in range(rounds):
        for k, maker in makers.items():
            seen[k].append(await cpu_ms_a_session(maker, n))
    print(f"| pool | CPU a session, median of {rounds} rounds of {n} | min |\n| --- | ---: | ---: |")
    for k, v in seen.items():
        print(f"| {k} | {statistics.median(v):.3f} ms | {min(v):.3f} ms |")
    for e in engines.values():
        await e.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.db_checkout", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--sessions", type=int, default=300)
    args = parser.parse_args(argv)
    asyncio.run(run(args.url, args.rounds, args.sessions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
