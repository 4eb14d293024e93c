"""Reports on real volumes (docs/reports.md, "Speed"): 100,000 conversations and 1,000,000 messages
over 90 days, every report section for every period and with filters, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.reports [--conversations 100000] [--messages-each 10] [--runs 20] [--no-postgres]
                                      [--no-sqlite] [--sections agents] [--periods 90d] [--keep]
                                      [--db-url URL]

`--sections` / `--periods` (comma-separated) ask only those (the filtered cases run when 90d is
asked); `--keep` leaves the databases in place (PostgreSQL's, SQLite's file) and prints their URLs; `--db-url` measures a
database written before (by `--keep`) without writing the volume again.

The volume is written with bulk inserts (a shop's mix: a third of the chats handed to people, most
answered from the queue, some abandoned, missed offers, ratings, offline messages, knowledge-gap
questions). Each report is asked through the app's HTTP API (in process, as an admin) `runs` times;
the table gives p50, p95 and max per section and period."""
from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, select

HOUR_WEIGHTS = [1, 1, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 10, 9, 9, 9, 8, 8, 9, 10, 10, 8, 5, 2]
DAY_WEIGHTS = [10, 10, 9, 9, 8, 6, 7]  # Monday first
PAGES = ["/", "/shipping", "/returns", "/product/boots", "/product/jacket", "/cart", "/checkout", "/faq"]
LANGUAGES = (["en"] * 7) + ["el", "el", "de"]
REASONS = ["visitor_asked"] * 5 + ["button"] * 3 + ["bot_failed"] * 2
BATCH = 5000


def _weighted_time(rng: random.Random, now: datetime, days: int) -> datetime:
    while True:
        day = now - timedelta(days=rng.randrange(days))
        if rng.random() * 10 < DAY_WEIGHTS[day.weekday()]:
            break
    hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
    t = day.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
    return min(t, now - timedelta(minutes=30))


def generate(conversations: int, messages_each: int, days: int, now: datetime, agents: list[int],
             articles: list[int], seed: int = 14):
    """Yields batches of (table, rows) for one shop's history."""
    from chat.models import Conversation, Message, Transition
    from handoff.models import Assignment, Offer, Rating, Ticket
    from knowledge_base.models import KbQuestion

    rng = random.Random(seed)
    out: dict = {t: [] for t in (Conversation, Message, Transition, Assignment, Offer, Rating, Ticket, KbQuestion)}

    def flush(force=False):
        """Every table at once, conversations first (the others point at them)."""
        if force or len(out[Conversation]) >= BATCH // 5:
            for table, rows in out.items():
                if rows:
                    yield table, rows
                    out[table] = []

    for _ in range(conversations):
        cid = uuid.uuid4().hex
        start = _weighted_time(rng, now, days)
        t = start
        msgs: list[dict] = []

        def msg(sender, text, at, agent=None, extra=None):
            msgs.append({"conversation_id": cid, "seq": len(msgs) + 1, "sender": sender, "agent_id": agent,
                         "text": text, "extra": extra or {}, "answered": sender == "visitor", "created_at": at})

        def step(seconds):
            nonlocal t
            t = t + timedelta(seconds=seconds)
            return t

        trans = []

        def move(a, b, why, actor="system"):
            trans.append({"conversation_id": cid, "from_state": a, "to_state": b, "actor": actor, "reason": why, "at": t})

        fallbacks = 0
        for _q in range(rng.choice((1, 1, 2, 2, 3))):
            msg("visitor", f"question {rng.randrange(400)} about {rng.choice(PAGES)}", step(rng.randrange(5, 60)))
            outcome = rng.choices(("answered", "low_confidence", "fallback"), (70, 10, 20))[0]
            fallbacks += outcome == "fallback"
            feedback = rng.choices((None, "helpful", "not_helpful"), (60, 30, 10))[0] if outcome != "fallback" else None
            out[KbQuestion].append({"conversation_id": cid, "seq": len(msgs), "text": msgs[-1]["text"],
                                    "from_button": False, "article_id": None if outcome == "fallback" else
                                    rng.choice(articles), "score": rng.random(), "outcome": outcome,
                                    "feedback": feedback, "handoff_after": False, "created_at": t})
            msg("bot", "an answer", step(1), extra={"kb": {}})
        state, reason, agent_id, closed = "bot", None, None, None
        if rng.random() < 0.33:
            reason = rng.choice(REASONS)
            out[KbQuestion][-1]["handoff_after"] = True
            if rng.random() < 0.1:  # nobody online
                move("bot", "offline_form", f"{reason}; no agent online", "visitor")
                state = "offline_form"
            else:
                move("bot", "queued", reason, "visitor")
                queued_at = t
                fate = rng.choices(("assigned", "abandoned", "timeout"), (85, 10, 5))[0]
                wait = rng.expovariate(1 / 45)
                for _ in range(rng.choices((0, 1, 2), (85, 12, 3))[0]):  # offers that rang out
                    out[Offer].append({"conversation_id": cid, "agent_id": rng.choice(agents), "round": 1,
                                       "kind": "route", "created_at": t, "expires_at": step(30),
                                       "status": "missed", "resolved_at": t})
                if fate == "assigned":
                    agent_id = rng.choice(agents)
                    step(wait)
                    out[Offer].append({"conversation_id": cid, "agent_id": agent_id, "round": 1, "kind": "route",
                                       "created_at": t, "expires_at": t + timedelta(seconds=30),
                                       "status": "accepted", "resolved_at": t})
                    move("queued", "assigned", "offer accepted", f"agent:{agent_id}")
                    started = t
                    msg("agent", "Hi, how can I help?", step(rng.expovariate(1 / 30)), agent=agent_id)
                    first = t
                    ended = started + timedelta(seconds=rng.expovariate(1 / 400) + 30)
                    out[Assignment].append({"conversation_id": cid, "agent_id": agent_id, "queued_at": queued_at,
                                            "started_at": started, "ended_at": ended, "end_reason": "closed",
                                            "last_activity_at": ended, "inactive": False, "first_response_at": first})
                    t = ended
                    move("assigned", "closed", "ended", f"agent:{agent_id}")
                    state, closed = "closed", t
                    if rng.random() < 0.45:  # some a day later
                        rated = t + timedelta(seconds=rng.choice((20, 60, 86_400)))
                        out[Rating].append({"conversation_id": cid, "agent_id": agent_id,
                                            "stars": rng.choices((1, 2, 3, 4, 5), (5, 5, 10, 30, 50))[0],
                                            "created_at": rated})
                        move("closed", "rated", "rated")
                        state = "rated"
                elif fate == "abandoned":
                    step(rng.expovariate(1 / 60))
                    move("queued", "bot", "left the queue", "visitor")
                    state = "bot"
                else:
                    step(300)
                    move("queued", "offline_form", "max queue wait passed")
                    state = "offline_form"
            if state == "offline_form" and rng.random() < 0.7:
                msg("visitor", "Offline message: please call me", step(30))
                out[Ticket].append({"conversation_id": cid, "name": "Visitor", "email": "v@example.com",
                                    "message": "please call me", "status": "open", "created_at": t})
                if rng.random() < 0.8:
                    msg("agent", "We called you.", step(rng.expovariate(1 / 7200)), agent=rng.choice(agents))
        while len(msgs) < messages_each:  # the rest of the chat
            sender = "agent" if agent_id and len(msgs) % 2 else ("visitor" if len(msgs) % 2 == 0 else "bot")
            msg(sender, "more words in the chat", step(rng.randrange(5, 40)), agent=agent_id if sender == "agent" else None)
        out[Message].extend(msgs)
        out[Transition].extend(trans)
        out[Conversation].append({
            "id": cid, "token_hash": uuid.uuid4().hex + uuid.uuid4().hex, "state": state, "last_seq": len(msgs),
            "bot_failures": 0, "bot_pending": 0, "language": rng.choice(LANGUAGES), "handoff_reason": reason,
            "agent_id": None, "pages": [{"url": "https://shop.example" + rng.choice(PAGES), "title": "", "at": ""}],
            "last_seen_at": t, "closed_at": closed, "created_at": start, "updated_at": t})
        yield from flush()
    yield from flush(force=True)


async def populate(db_url: str, *, conversations: int, messages_each: int = 10, days: int = 90,
                   now: datetime | None = None, agents: int = 12, articles: int = 40, log=print) -> dict:
    """Write the volume (agents as users, articles, conversations and all that hangs off them)."""
    from accounts.models import User
    from app.db import make_engine, make_sessionmaker
    from chat.models import Conversation
    from knowledge_base.models import Article

    now = now or datetime.now(timezone.utc)
    engine = make_engine(db_url)
    sm = make_sessionmaker(engine)
    names = ["Alex", "Sam", "Maria", "Nikos", "Jonas", "Eleni", "Tom", "Ana", "Lena", "Petros", "Kim", "Ola"]
    async with sm() as db:
        await db.execute(insert(User), [
            {"email": f"bench{i}@agents.example", "display_name": names[i % len(names)] + ("" if i < len(names) else str(i)),
             "role": "agent", "password_hash": "x", "active": True, "max_chats": 3, "priority": 50,
             "accepting_chats": True, "status": "offline", "password_changed_at": now, "created_at": now}
            for i in range(agents)])
        await db.execute(insert(Article), [
            {"title": f"Article {i}: {p.strip('/') or 'home'}", "body": "text", "category": "General",
             "questions": [], "tags": [], "language": "en", "status": "published", "revision": 1,
             "created_at": now, "updated_at": now}
            for i, p in enumerate(PAGES * (articles // len(PAGES) + 1)) if i < articles])
        await db.commit()
        agent_ids = list(await db.scalars(select(User.id).where(User.email.like("bench%"))))
        article_ids = list(await db.scalars(select(Article.id)))
    started, counts = time.monotonic(), {}
    async with engine.begin() as conn:
        for table, rows in generate(conversations, messages_each, days, now, agent_ids, article_ids):
            await conn.execute(insert(table), rows)
            counts[table.__tablename__] = counts.get(table.__tablename__, 0) + len(rows)
    await engine.dispose()
    log(f"  wrote {counts} in {time.monotonic() - started:.0f} s")
    return counts


SECTIONS = ("bot", "queue", "agents", "activity")
PERIODS = ("today", "7d", "30d", "90d")


async def measure(db_url: str, runs: int, sections=SECTIONS, periods=PERIODS) -> list[dict]:
    import httpx

    from accounts import service as accounts
    from accounts.models import User
    from app.db import utcnow
    from app.main import create_app
    from app.settings import Settings

    app = create_app(Settings(database_url=db_url, time_zone="Europe/Athens"))
    ctx = app.ctx
    async with ctx.sessionmaker() as db:
        admin = await db.scalar(select(User).where(User.email == "bench-admin@example.com"))  # --db-url: there
        if admin is None:
            admin = User(email="bench-admin@example.com", display_name="Admin", role="admin", password_hash="x")
            db.add(admin)
            await db.commit()
        token = await accounts.create_session(db, admin.id, now=utcnow())
        agent = await db.scalar(select(User.id).where(User.email == "bench0@agents.example"))
    cases = [(s, p, {}) for s in sections for p in periods]
    if "90d" in periods:
        cases += [(s, "90d", f) for s in sections for f in ({"agent": agent}, {"language": "el"})]
    rows = []
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000",
                                 cookies={"shopchat_session": token}, timeout=60) as client:
        for section, period, filters in cases:
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                r = await client.get(f"/api/reports/{section}", params={"period": period, **filters})
                times.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, r.text
            ordered = sorted(times)
            rows.append({"section": section, "period": period, "filter": ",".join(f"{k}={v}" for k, v in filters.items()) or "-",
                         "p50_ms": round(statistics.median(times)), "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1]),
                         "max_ms": round(ordered[-1])})
    await ctx.engine.dispose()
    return rows


def run(conversations: int, messages_each: int, runs: int, use_postgres: bool, use_sqlite: bool = True,
        log=print, sections=SECTIONS, periods=PERIODS, keep: bool = False, db_url: str | None = None) -> list[dict]:
    from tests.support import TestDatabase, postgres_available

    def measured(kind: str, url: str) -> None:
        for row in asyncio.run(measure(url, runs, sections, periods)):
            table.append({"db": kind, **row})
            log(f"  {kind:8} {row['section']:9} {row['period']:6} {row['filter']:14} p50 {row['p50_ms']:5} ms"
                f"  p95 {row['p95_ms']:5} ms  max {row['max_ms']:5} ms")

    table: list[dict] = []
    if db_url:  # written before (--keep): migrate it to the code's schema, then measure
        from app.cli import migrate

        migrate(db_url)
        kind = "sqlite" if db_url.startswith("sqlite") else "postgres"
        if kind == "postgres":
            asyncio.run(_analyze(db_url))
        measured(kind, db_url)
        return table
    kinds = (["sqlite"] if use_sqlite else []) + (["postgres"] if use_postgres and postgres_available() else [])
    with tempfile.TemporaryDirectory(prefix="shopchat-reports-") as tmp:
        if keep:
            tmp = tempfile.mkdtemp(prefix="shopchat-reports-kept-")
        for kind in kinds:
            db = TestDatabase(kind, Path(tmp)).create()
            try:
                log(f"{kind}: writing {conversations:,} conversations, {conversations * messages_each:,} messages")
                asyncio.run(populate(db.url, conversations=conversations, messages_each=messages_each, log=log))
                filled = asyncio.run(_fill_rollup(db.url))
                log(f"  rollup filled from scratch (once, as after the upgrade): {filled:.1f} s")
                if kind == "postgres":
                    asyncio.run(_analyze(db.url))
                measured(kind, db.url)
            finally:
                if keep:
                    log(f"  kept: {db.url}")
                else:
                    db.drop()
    return table


async def _fill_rollup(db_url: str) -> float:
    from app.db import make_engine, make_sessionmaker
    from insights import rollups

    engine = make_engine(db_url)
    started = time.monotonic()
    async with make_sessionmaker(engine)() as db:
        await rollups.refresh(db)
    await engine.dispose()
    return time.monotonic() - started


async def _analyze(db_url: str) -> None:
    """What autovacuum does a minute after a bulk load; the benchmark does not wait for it."""
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(db_url)
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages-each", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--periods", default=",".join(PERIODS))
    parser.add_argument("--keep", action="store_true", help="leave the databases in place")
    parser.add_argument("--db-url", help="measure this database (written with --keep) without writing the volume")
    args = parser.parse_args()
    sections, periods = tuple(args.sections.split(",")), tuple(args.periods.split(","))
    unknown = [x for x in sections if x not in SECTIONS] + [x for x in periods if x not in PERIODS]
    if unknown:
        parser.error(f"unknown section or period: {', '.join(unknown)}")
    rows = run(args.conversations, args.messages_each, args.runs, not args.no_postgres, not args.no_sqlite,
               sections=sections, periods=periods, keep=args.keep, db_url=args.db_url)
    print()
    print(f"{'db':8} {'section':9} {'period':6} {'filter':14} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for r in rows:
        print(f"{r['db']:8} {r['section']:9} {r['period']:6} {r['filter']:14} {r['p50_ms']:7} {r['p95_ms']:7} {r['max_ms']:7}")
    worst = max(rows, key=lambda r: r["p95_ms"])
    print(f"\nslowest p95: {worst['p95_ms']} ms ({worst['db']} {worst['section']} {worst['period']} {worst['filter']})")


if __name__ == "__main__":
    main()
