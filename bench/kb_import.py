"""Knowledge-base import: parse time and how long other requests wait meanwhile (docs/benchmarks.md).

    .venv/bin/python -m bench.kb_import [--sizes 2500,8000]

For each size (articles of ~2.3 KB, as YAML and JSON): the parse time with PyYAML's pure-Python safe
loader (what the import used before) and with parse_bytes now (libyaml, the event walk that caps
nesting and values, the article checks); then a dry-run import through the editor's HTTP API of the
app in-process (SQLite) while /health is asked every 20 ms: the import's time and /health's
slowest answer. Before the parse moved off the event loop, /health waited for the whole parse."""
from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from knowledge_base.importer import parse_articles, parse_bytes


def articles(n: int) -> list[dict]:
    return [{"title": f"Article {i}", "body": "Wrapped in recycled paper, tied with string. " * 40,
             "category": "Orders", "questions": [f"can you wrap present number {i} {j}" for j in range(8)],
             "tags": ["gifts", "wrapping"], "language": "en", "status": "published"} for i in range(n)]


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


async def during_import(url: str, raw: bytes, fmt: str) -> tuple[float, float]:
    from accounts.service import create_user
    from accounts.web import COOKIE
    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(database_url=url, rasa_url="http://127.0.0.1:9"))
    async with app.ctx.sessionmaker() as db:
        await create_user(db, email="erin@bench.test", display_name="Erin", role="editor",
                          password="bench editor password")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as c:
        r = await c.post("/login", data={"email": "erin@bench.test", "password": "bench editor password"})
        c.cookies.set(COOKIE, r.cookies[COOKIE])
        c.headers["X-Requested-With"] = "shopchat"
        loop = asyncio.get_running_loop()
        start = loop.time()
        upload = asyncio.create_task(c.post("/api/kb/import", params={"format": fmt}, content=raw))
        slowest = 0.0
        while not upload.done():
            t0 = loop.time()
            await c.get("/health")
            slowest = max(slowest, loop.time() - t0)
            await asyncio.sleep(0.02)
        took = loop.time() - start
        assert upload.result().status_code == 200, upload.result().text[:200]
    await app.ctx.rasa.aclose()
    await app.ctx.engine.dispose()
    return took, slowest


def main() -> None:
    from app.cli import migrate

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="2500,8000", help="articles per file, comma-separated")
    args = parser.parse_args()
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        items = articles(n)
        for fmt in ("yaml", "json"):
            raw = (yaml.dump(items, Dumper=yaml.CSafeDumper, width=100) if fmt == "yaml"
                   else json.dumps(items)).encode()
            old = (timed(lambda: parse_articles(yaml.safe_load(raw.decode()))) if fmt == "yaml"
                   else timed(lambda: parse_articles(json.loads(raw))))
            now = timed(lambda: parse_bytes(raw, fmt))
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
                migrate(url)
                took, slowest = asyncio.run(during_import(url, raw, fmt))
            rows.append((fmt, n, len(raw) / 1e6, old, now, took, slowest))
    print("| format | articles | MB | parse before (s) | parse now (s) | dry-run import (s) | /health slowest meanwhile (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for fmt, n, mb, old, now, took, slowest in rows:
        print(f"| {fmt} | {n:,} | {mb:.1f} | {old:.2f} | {now:.2f} | {took:.2f} | {slowest:.3f} |")


if __name__ == "__main__":
    main()
