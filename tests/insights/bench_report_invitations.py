"""The invitations report's speed (docs/reports.md, "Speed"): 100,000 invitations over 90 days (8
rules, 5 agents) written in bulk into a fresh database, then the section alone (no HTTP) asked 10
times for each period, unfiltered and for one agent. Not a test (pytest does not collect it):
`.venv/bin/python -m tests.insights.bench_report_invitations sqlite|postgres`."""
from __future__ import annotations

import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert

from accounts.models import User
from app.db import make_engine, make_sessionmaker
from engage.models import InvitationEvent, InvitationRule
from insights.reports import Report
from insights.reports_invitations import invitations
from insights.reports_period import Filters, parse_period, shop_zone
from tests.support import TestDatabase

async def run(kind, db):
    engine = make_engine(db.url); sm = make_sessionmaker(engine)
    now = datetime(2026, 12, 3, 8, tzinfo=timezone.utc); rnd = random.Random(1)
    async with sm() as s:
        for i in range(5):
            s.add(User(email=f"a{i}@x.t", display_name=f"A{i}", role="agent", password_hash="x"))
        for i in range(8):
            s.add(InvitationRule(name=f"rule {i}", messages={"en": "hi"}))
        await s.commit()
        rows = []
        for n in range(100_000):
            at = now - timedelta(seconds=rnd.randrange(90 * 86400))
            agent = rnd.random() < 0.2
            base = dict(key=f"k{n:015d}", visitor_id=f"visitor-{n:010d}", source="agent" if agent else "rule",
                        rule_id=None if agent else rnd.randrange(1, 9), agent_id=rnd.randrange(1, 6) if agent else None)
            rows.append({**base, "kind": "shown", "at": at})
            r = rnd.random()
            if r < 0.3:
                rows.append({**base, "kind": "accepted", "at": at + timedelta(seconds=20)})
                if rnd.random() < 0.5:
                    rows.append({**base, "kind": "chat_started", "at": at + timedelta(seconds=60)})
            elif r < 0.7:
                rows.append({**base, "kind": "dismissed", "at": at + timedelta(seconds=5)})
        for i in range(0, len(rows), 5000):
            await s.execute(insert(InvitationEvent), rows[i:i + 5000])
        await s.commit()
        print(kind, "events", len(rows))
    zone = shop_zone("Europe/Athens")
    for period in ("today", "7d", "30d", "90d"):
        for f in (Filters(), Filters(agent_id=1)):
            times = []
            for _ in range(10):
                async with sm() as s:
                    t = time.perf_counter()
                    body = await invitations(Report(s, parse_period(period, None, None, zone, now), f))
                    times.append((time.perf_counter() - t) * 1000)
            times.sort()
            print(kind, period, "agent=1" if f.agent_id else "", "shown", body["shown"],
                  "p50 %.0f p95 %.0f ms" % (statistics.median(times), times[9]))
    await engine.dispose()

db = TestDatabase(sys.argv[1], Path(tempfile.mkdtemp())).create()
asyncio.run(run(sys.argv[1], db)); db.drop()
