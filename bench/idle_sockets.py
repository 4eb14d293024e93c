"""How many idle visitor sockets one app process holds: memory per connection, and the CPU the idle
connections cost (Engine.IO pings) (docs/benchmarks.md, "Idle visitor sockets").

    .venv/bin/python -m bench.idle_sockets [--steps 1000,2000,3000,4000,5000] [--clients 4] [--settle-s 5]

One app process (`shopchat serve`, a fresh SQLite database with the demo content, no Rasa: idle
visitors never reach it) and several client processes, each its own event loop, so the client side
is not the limit. Each connection is what the widget opens: Socket.IO over websocket, then
`session_request` with `extensions: true` (a new conversation in the database and its room). At
each step the clients grow to the step's count, then wait `settle-s`; the app's resident set and
its CPU over `idle-s` are read from /proc. The open-file limit is raised to its hard limit (the app
and the clients inherit it)."""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from app.settings import ROOT
from bench.stack import free_port, proc_cpu_seconds, proc_rss_mb, wait_healthy

TARGET_CONNECTIONS, TARGET_RSS_MB = 5000, 1024


def log(msg: str = "") -> None:
    print(msg, flush=True)


# ---- the client processes ------------------------------------------------------------------------
async def _client_loop(url: str, conn) -> None:
    from bench.roundtrip import SocketVisitor

    visitors: list[SocketVisitor] = []
    errors: Counter = Counter()
    dropped = [0]
    gate = asyncio.Semaphore(40)  # connects in flight at once per client process

    async def one() -> None:
        v = SocketVisitor(url, timeout_s=60)
        v.sio.on("disconnect", lambda *a: dropped.__setitem__(0, dropped[0] + 1))
        async with gate:
            try:
                await v.connect()
                visitors.append(v)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors[type(exc).__name__] += 1
                await v.close()

    loop = asyncio.get_running_loop()
    while True:
        cmd, n = await loop.run_in_executor(None, conn.recv)
        if cmd == "grow":
            await asyncio.gather(*(one() for _ in range(max(0, n - len(visitors)))))
            conn.send((len(visitors), dict(errors), dropped[0], time.process_time()))
        elif cmd == "status":
            conn.send((len(visitors), dict(errors), dropped[0], time.process_time()))
        else:  # stop
            await asyncio.gather(*(v.close() for v in visitors))
            conn.send((0, dict(errors), dropped[0], time.process_time()))
            return


def client_process(url: str, conn) -> None:
    import logging

    # Engine.IO's client says "packet queue is empty, aborting" for every socket it closes at the end.
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    asyncio.run(_client_loop(url, conn))


# ---- the app process ------------------------------------------------------------------------------
def start_app(workdir: Path) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ,
           "SHOPCHAT_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'idle.sqlite3'}",
           "SHOPCHAT_HOST": "127.0.0.1", "SHOPCHAT_PORT": str(port), "SHOPCHAT_PUBLIC_URL": "",
           "SHOPCHAT_RASA_URL": f"http://127.0.0.1:{free_port()}"}  # nobody there: idle visitors ask nothing
    for key in ("SHOPCHAT_REDIS_URL",):
        env.pop(key, None)
    out = subprocess.run([sys.executable, "-m", "app.cli", "load-demo"], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"load-demo failed:\n{out.stdout}\n{out.stderr}")
    app_log = workdir / "app.log"
    with open(app_log, "ab") as f:
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve"], cwd=ROOT, env=env, stdout=f,
                                stderr=subprocess.STDOUT, start_new_session=True)
    wait_healthy(f"{url}/health", proc, app_log, 300)
    return proc, url, app_log


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.idle_sockets", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="1000,2000,3000,4000,5000")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--settle-s", type=float, default=5.0)
    parser.add_argument("--idle-s", type=float, default=20.0, help="CPU measured over this long at each step")
    args = parser.parse_args(argv)
    steps = [int(x) for x in args.steps.split(",") if x.strip()]
    nofile = raise_fd_limit()
    if nofile < max(steps) + 1000:
        log(f"open-file limit {nofile} is below {max(steps) + 1000}: raise the hard limit (ulimit -Hn)")
        return 1
    log(f"bench.idle_sockets: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, open-file limit {nofile}")
    ctx = multiprocessing.get_context("spawn")
    rows = []
    with tempfile.TemporaryDirectory(prefix="shopchat-idle-") as tmp:
        app, url, app_log = start_app(Path(tmp))
        clients = []
        try:
            time.sleep(2)
            base_rss = proc_rss_mb(app.pid)
            log(f"app up on {url}: RSS {base_rss:.0f} MB with no connection")
            for _ in range(args.clients):
                parent, child = ctx.Pipe()
                p = ctx.Process(target=client_process, args=(url, child), daemon=True)
                p.start()
                clients.append((p, parent))
            for step in steps:
                share = [step // args.clients + (1 if i < step % args.clients else 0) for i in range(args.clients)]
                t0 = time.monotonic()
                for (_, pipe), n in zip(clients, share):
                    pipe.send(("grow", n))
                states = [pipe.recv() for _, pipe in clients]
                took = time.monotonic() - t0
                time.sleep(args.settle_s)
                cpu0, c0 = proc_cpu_seconds(app.pid), time.monotonic()
                time.sleep(args.idle_s)
                cpu1, c1 = proc_cpu_seconds(app.pid), time.monotonic()
                for _, pipe in clients:
                    pipe.send(("status", 0))
                states = [pipe.recv() for _, pipe in clients]
                open_now = sum(s[0] for s in states) - sum(s[2] for s in states)
                errors = Counter()
                for s in states:
                    errors.update(s[1])
                rss = proc_rss_mb(app.pid)
                row = {"connections": step, "open": open_now, "rss_mb": rss, "growth_mb": rss - base_rss,
                       "kb_per_conn": (rss - base_rss) * 1024 / max(1, open_now),
                       "idle_cpu": (cpu1 - cpu0) / (c1 - c0), "connect_s": took,
                       "errors": dict(errors), "dropped": sum(s[2] for s in states)}
                rows.append(row)
                log(f"  {step:>6} asked, {open_now:>6} open: RSS {rss:6.0f} MB (+{row['growth_mb']:.0f}), "
                    f"{row['kb_per_conn']:.1f} KB a connection, idle CPU {row['idle_cpu'] * 100:.1f}% of a core, "
                    f"connected in {took:.0f} s{', errors ' + str(dict(errors)) if errors else ''}"
                    f"{', dropped ' + str(row['dropped']) if row['dropped'] else ''}")
        finally:
            for p, pipe in clients:
                try:
                    pipe.send(("stop", 0))
                    pipe.recv() if pipe.poll(60) else None
                except (OSError, EOFError):
                    pass
                p.join(5)
                if p.is_alive():
                    p.terminate()
            app.terminate()
            try:
                app.wait(30)
            except subprocess.TimeoutExpired:
                app.kill()
    log("\n| connections open | app RSS MB | growth MB | KB a connection | idle CPU (share of a core) | errors |")
    log("| ---: | ---: | ---: | ---: | ---: | --- |")
    for r in rows:
        log(f"| {r['open']:,} | {r['rss_mb']:.0f} | {r['growth_mb']:.0f} | {r['kb_per_conn']:.1f} | "
            f"{r['idle_cpu'] * 100:.1f}% | {sum(r['errors'].values()) + r['dropped']} |")
    last = rows[-1] if rows else None
    if last:
        per = last["kb_per_conn"] / 1024
        fits = int((TARGET_RSS_MB - base_rss) / per) if per > 0 else 0
        ok = last["open"] >= TARGET_CONNECTIONS and last["rss_mb"] <= TARGET_RSS_MB
        log(f"\nbase RSS {base_rss:.0f} MB; at this rate one process holds about {fits:,} idle connections "
            f"within {TARGET_RSS_MB} MB; target {TARGET_CONNECTIONS:,} within {TARGET_RSS_MB} MB: "
            f"{'PASS' if ok else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
