"""Faults of the reference stack, measured (docs/production.md, "Faults, measured"): nginx, two app
processes, two Rasa servers, on a PostgreSQL cluster and a Redis server started for the run only
(the machine's are never restarted). The scenarios are tests/deploy/faults.py's, the same the
tests run:

- kill -9 (and SIGTERM) of app1 while 50 visitors (10 of them with agents) and 4 agents chat;
- Redis, then PostgreSQL, stopped for 3 s and started again while 20 visitors ask questions and a
  visitor on app1 and an agent on app2 write to each other.

    .venv/bin/python -m bench.faults [--runs 1] [--down-s 3]

Prints one table row per fault. Logs of every process stay in .run/faults-stack/."""
from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys

from app.settings import RUN_DIR
from deploy.stack import ScaledStack, nginx_binary
from tests.conftest import rasa_model
from tests.deploy.faults import kill_app_under_load, restart_under_load
from tests.deploy.routed import routes
from tests.deploy.services import PrivatePostgres, PrivateRedis

COLUMNS = ("fault", "acked", "lost", "stored twice", "answered twice", "unanswered", "two owners",
           "queued at kill / forgotten", "refused acks", "recovery s", "events back s", "events missed")


def kill_row(name: str, run) -> list:
    r = run.report
    return [name, r["acked"] + r["agent_acked"], r["lost"] + r["agent_lost"],
            r["stored_twice"] + r["agent_stored_twice"], r["answered_twice"], r["unanswered"] + r["no_answer_seen"],
            r["two_owners"] + r["agent_mismatch"], f"{r['queued_at_kill']} / {r['forgotten']}", 0,
            f"{run.next_answer_s:.1f}", "", ""]


def restart_row(r: dict) -> list:
    return [f"{r['service']} down {r['down_s']} s", r["acked"], r["lost"], r["stored_twice"], r["answered_twice"],
            r["unanswered"] + r["no_answer_seen"], "", "", r["refused_acks"], r["recovery_s"], r["events_back_s"],
            r["events_missed"]]


async def scenarios(stack, pg, redis, runs: int, down_s: float) -> list[list]:
    rows = []
    for _ in range(runs):
        for sig, visitors, agents in ((signal.SIGKILL, 50, 4), (signal.SIGTERM, 50, 4)):
            route = await asyncio.to_thread(routes, stack, 80)
            try:
                run = await kill_app_under_load(stack, route, sig, visitors=visitors, agents=agents,
                                                persons=visitors // 5)
            finally:
                await asyncio.to_thread(stack.restart, "app1")
            print(f"  {signal.Signals(sig).name}: {run.report}; problems {run.problems}", flush=True)
            rows.append(kill_row(f"{signal.Signals(sig).name} app1, {visitors} visitors + {agents} agents", run))
            await asyncio.sleep(12)  # nginx takes app1 back after its fail_timeout (10 s)
        route = await asyncio.to_thread(routes, stack, 80)
        for name, stop, start in (("redis", redis.stop, redis.start), ("postgresql", pg.stop, pg.start)):
            r = await restart_under_load(stack, route, name, stop, start, down_s=down_s)
            print(f"  {name}: {r}", flush=True)
            rows.append(restart_row(r))
    return rows


def table(rows: list[list]) -> str:
    cells = [list(COLUMNS)] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(COLUMNS))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--down-s", type=float, default=3.0, help="how long Redis and PostgreSQL stay down")
    args = parser.parse_args(argv)
    if not (PrivatePostgres.available() and PrivateRedis.available() and nginx_binary()):
        print("needs nginx, PostgreSQL's initdb and redis-server", file=sys.stderr)
        return 2
    pg, redis = PrivatePostgres(), PrivateRedis()
    run_dir = RUN_DIR / "faults-stack"
    shutil.rmtree(run_dir, ignore_errors=True)
    try:
        pg.start()
        redis.start()
        with ScaledStack(rasa_model(), db_name="shopchat_faults", pg_admin_dsn=pg.dsn, redis_url=redis.url,
                         show_upstream=True, run_dir=run_dir) as stack:
            rows = asyncio.run(scenarios(stack, pg, redis, args.runs, args.down_s))
    finally:
        redis.stop()
        pg.destroy()
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
