"""The agents' report takes its medians and 90th percentiles in SQL (row_number over the values,
insights/reports.py `ranked`) and groups its time series by label in SQL (`label_ranges`): the
figures must be exactly what `percentile` over the values and `Period.label` over the buckets give,
for any count of values (ranks, ties), with a half-hour time zone and on the day clocks go back
(an hour seen twice is one point). SQLite and PostgreSQL."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from accounts.service import create_user
from chat import service as chat
from insights.reports import Report, percentile
from insights.reports_period import Filters, Period
from insights.rollups import BUCKET_S, EPOCH, ReportFact


async def test_sql_ranked_percentiles_and_labels_are_the_python_ones(sessionmaker):
    rng = random.Random(7)
    async with sessionmaker() as db:
        agents = [(await create_user(db, email=f"a{i}@shop.example", display_name=f"Agent {i}", role="agent",
                                     password="correct horse battery")).id for i in range(4)]
        conv, _ = await chat.create_conversation(db)
        cases = [(ZoneInfo("Europe/Athens"), date(2026, 10, 25), date(2026, 10, 25)),  # clocks go back: 03:00 twice
                 (ZoneInfo("Asia/Kolkata"), date(2026, 11, 1), date(2026, 11, 30))]   # +05:30, days
        facts = []
        for zone, first, last in cases:
            period = Period(first, last, zone)
            span = int((period.end - period.start).total_seconds())
            for n, agent in zip((1, 2, 10, 37), agents):  # ranks at the edges and in between
                for _ in range(n):
                    at = period.start + timedelta(seconds=rng.randrange(span))
                    for kind in ("first_response", "handling"):
                        facts.append({"conversation_id": conv.id, "created_at": at, "kind": kind, "agent_id": agent,
                                      "bucket": int((at - EPOCH).total_seconds()) // BUCKET_S,
                                      "value": float(rng.choice([5, 5, 12.5, 30, 61.25, rng.randrange(1, 900)]))})
        # the repeated hour: one value in each of the two 03:00 hours of 25 October in Athens
        for at in (datetime(2026, 10, 25, 0, 10, tzinfo=timezone.utc), datetime(2026, 10, 25, 1, 10, tzinfo=timezone.utc)):
            facts.append({"conversation_id": conv.id, "created_at": at, "kind": "first_response", "agent_id": agents[0],
                          "bucket": int((at - EPOCH).total_seconds()) // BUCKET_S, "value": 100.0 if at.hour else 1.0})
        await db.execute(insert(ReportFact), facts)
        await db.commit()

        for zone, first, last in cases:
            period = Period(first, last, zone)
            got = await Report(db, period, Filters()).agents()
            mine = [f for f in facts if period.start <= f["created_at"] < period.end]
            for row in got["agents"]:
                values = {k: [f["value"] for f in mine if f["kind"] == k and f["agent_id"] == row["agent_id"]]
                          for k in ("first_response", "handling")}
                assert values["first_response"]
                assert (row["first_response_median_s"], row["first_response_p90_s"], row["handling_median_s"]) == (
                    percentile(values["first_response"], 50), percentile(values["first_response"], 90),
                    percentile(values["handling"], 50)), (zone, row)
            points: dict = {}
            for f in mine:
                if f["kind"] == "first_response":
                    label = period.label(datetime.fromtimestamp(f["bucket"] * BUCKET_S, zone))
                    points.setdefault((f["agent_id"], label), []).append(f["value"])
            assert {(p["agent_id"], p["at"]): p["first_response_median_s"] for p in got["series"]} == {
                key: percentile(values, 50) for key, values in points.items()}
            if period.step == "hour":
                repeated = [p for p in got["series"] if p["agent_id"] == agents[0] and p["at"] == "2026-10-25T03:00"]
                assert len(repeated) == 1 and len(points[(agents[0], "2026-10-25T03:00")]) >= 2
