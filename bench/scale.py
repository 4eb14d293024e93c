"""Scaling out on one machine: the bot round trip through nginx with 2 app + 2 Rasa processes against
1 app + 1 Rasa, in the same run, and Rasa's bare REST webhook as the reference (docs/benchmarks.md,
"Scaling out").

    .venv/bin/python -m bench.scale [--model PATH] [--rounds 3] [--steady-s 20] [--levels 10,25,50,100,200]
                                    [--level-s 10] [--workers 3] [--plot docs/img/scale.png]

Both stacks are deploy/stack.py's `ScaledStack` (nginx, the app processes, the Rasa servers with
their tracker store on PostgreSQL and lock store on Redis, the app's rooms on Redis), each with its
own databases and Redis channel, started side by side and measured one at a time: every scenario
runs on 1+1, then on 2+2, then straight at the 1+1 stack's Rasa webhook (whose custom actions still
call that stack's app through nginx), so machine noise hits the three alike.

Scenarios: 50 visitors pausing 2 s between questions, then no pause at rising concurrency. The
first runs in `--rounds` rounds, each measuring the three paths one after another, starting with a
different one each round; each path's samples of all rounds are pooled. On a shared machine the
load of other programs drifts over minutes: measured in one block each, a path that happened to run
while something else was busy looked up to twice as slow at the tail; interleaved, the drift hits the
three alike. Each round's own overhead is printed too, so the spread is visible. The
visitors come from many loopback addresses (127.0.1.x): the shipped nginx configuration is sticky by
client address, so from 127.0.0.1 alone every visitor would land on one app process.

Per scenario: p50/p95/p99 of the round trip (emit to first `bot_uttered`), messages a second,
errors, and the CPU each kind of process used (from /proc, the Rasa launcher's child included) over
the measured window; "app CPU a message" is the app processes' CPU divided by the messages answered.
The table goes to stdout and bench/out/scale.md, the figures to bench/out/scale.json, the plot to
bench/out/scale.png (and --plot)."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from app.settings import ROOT
from bench import roundtrip
from bench.stack import proc_cpu_seconds, proc_rss_mb, system_busy_seconds, system_steal_seconds

OUT = ROOT / "bench" / "out"
CONFIGS = (("1+1", 1, 1), ("2+2", 2, 2))


def log(msg: str = "") -> None:
    print(msg, flush=True)


# ---- the process trees ---------------------------------------------------------------------------
def descendants(pid: int) -> list[int]:
    """pid and every process below it (the Rasa launcher runs Rasa as its child)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


class Target:
    """One ScaledStack as bench.roundtrip.LoadGenerator sees it: the socket path through nginx, the
    webhook path at its first Rasa server, CPU by kind of process."""

    def __init__(self, label: str, stack):
        self.label, self.stack = label, stack
        self.app_url = stack.url
        self.rasa_url = stack.of("rasa")[0].url
        self._pids = {kind: [q for p in stack.of(k) for q in descendants(p.proc.pid)]
                      for kind, k in (("app", "app"), ("rasa", "rasa"), ("nginx", "balancer"))}

    def cpu_seconds(self) -> dict[str, float]:
        out = {kind: sum(proc_cpu_seconds(p) for p in pids) for kind, pids in self._pids.items()}
        out["all"], out["steal"] = system_busy_seconds(), system_steal_seconds()
        return out

    def rss_mb(self) -> dict[str, float]:
        return {kind: round(sum(proc_rss_mb(p) for p in pids)) for kind, pids in self._pids.items()}

    def rasa_fallbacks(self) -> int:
        """How often an app process gave up on Rasa and answered from the knowledge base alone."""
        n = 0
        for p in self.stack.of("app"):
            try:
                n += p.log.read_text(errors="replace").count("Rasa unavailable")
            except OSError:
                pass
        return n


# ---- visitors from many addresses ----------------------------------------------------------------
class SpreadSocketVisitor(roundtrip.SocketVisitor):
    """A visitor connecting from its own loopback address (127.0.1.1-254), as shoppers come from
    their own addresses: nginx's `hash $remote_addr` then spreads them over the app processes."""

    def __init__(self, url: str, timeout_s: float = 30.0):
        import aiohttp

        super().__init__(url, timeout_s)
        source = (f"127.0.1.{random.randint(1, 254)}", 0)
        self.sio.eio.http_factory = lambda: aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=source))


def run_worker_spread(spec: roundtrip.WorkerSpec) -> roundtrip.WorkerResult:
    """bench.roundtrip.run_worker with SpreadSocketVisitor for the visitors (in the worker process)."""
    roundtrip.SocketVisitor = SpreadSocketVisitor
    return asyncio.run(roundtrip._worker(spec))


def measure(gen, target: Target, mode: str, visitors: int, pause_s: float, warmup_s: float,
            measure_s: float, seed: int) -> dict:
    cpu0 = target.cpu_seconds()
    sc = gen.run(target, mode, visitors, pause_s, warmup_s, measure_s, seed=seed)
    out = sc.as_dict()
    # The whole run's nginx share is small; the window's own app CPU is what a message costs.
    app_core_s = sc.cpu["app"] * measure_s
    out["app_cpu_ms_per_msg"] = app_core_s / sc.count * 1000 if sc.count else None
    out["rasa_cpu_ms_per_msg"] = sc.cpu["rasa"] * measure_s / sc.count * 1000 if sc.count else None
    cpu1 = target.cpu_seconds()
    out["nginx_cpu_s_whole_scenario"] = cpu1["nginx"] - cpu0["nginx"]
    out["label"] = target.label if mode == "socket" else "webhook"
    out["samples"] = [(rtt, ack) for _, rtt, ack, _ in gen.last_window]
    out["app_core_s"] = app_core_s
    return out


def pooled(runs: list[dict]) -> dict:
    """One path's rounds as one scenario: percentiles over every round's samples, rates and CPU
    over the total measured time."""
    first, total_s = runs[0], sum(r["measure_s"] for r in runs)
    samples = [s for r in runs for s in r["samples"]]
    rtts = [rtt * 1000 for rtt, _ in samples]
    acks = [ack * 1000 for _, ack in samples if ack >= 0]
    errors: dict = {}
    for r in runs:
        for k, n in (r["errors"] or {}).items():
            errors[k] = errors.get(k, 0) + n
    count = len(rtts)
    out = {**first, "measure_s": total_s, "count": count, "rate": count / total_s, "errors": errors,
           "rounds": len(runs), "samples": []}
    if rtts:
        out.update(p50=roundtrip.percentile(rtts, 50), p95=roundtrip.percentile(rtts, 95),
                   p99=roundtrip.percentile(rtts, 99), max=max(rtts))
    if acks:
        out.update(ack_p50=roundtrip.percentile(acks, 50), ack_p99=roundtrip.percentile(acks, 99))
    out["cpu"] = {k: sum(r["cpu"][k] * r["measure_s"] for r in runs) / total_s for k in first["cpu"]}
    app_core_s = sum(r["app_core_s"] for r in runs)
    out["app_core_s"] = app_core_s
    out["app_cpu_ms_per_msg"] = app_core_s / count * 1000 if count else None
    rasa_s = sum((r["rasa_cpu_ms_per_msg"] or 0) * r["count"] / 1000 for r in runs)
    out["rasa_cpu_ms_per_msg"] = rasa_s / count * 1000 if count else None
    out["nginx_cpu_s_whole_scenario"] = sum(r["nginx_cpu_s_whole_scenario"] for r in runs)
    return out


def line(r: dict) -> str:
    err = f", errors {r['errors']}" if r["errors"] else ""
    app = f"{r['app_cpu_ms_per_msg']:.1f}" if r["app_cpu_ms_per_msg"] is not None else "-"
    ack = f", ack p50 {r['ack_p50']:.0f} / p99 {r['ack_p99']:.0f} ms" if r.get("ack_p50") is not None else ""
    return (f"{r['label']:>7}: {r['rate']:6.1f} msg/s, p50 {r['p50']:5.0f}, p95 {r['p95']:5.0f}, "
            f"p99 {r['p99']:5.0f} ms{ack}{err}; CPU app {r['cpu']['app'] * 100:.0f}% rasa {r['cpu']['rasa'] * 100:.0f}% "
            f"loadgen {r['cpu']['load generator'] * 100:.0f}% other {r['cpu']['other'] * 100:.0f}% "
            f"stolen {r['cpu'].get('steal', 0) * 100:.0f}%; "
            f"app {app} ms CPU a message")


# ---- the table and the plot ----------------------------------------------------------------------
def table(res: dict) -> str:
    rows = ["| scenario | path | msgs/s | p50 ms | p95 ms | p99 ms | errors | CPU app / Rasa / other / stolen (share of a core) | app CPU a message |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | ---: |"]

    def row(name: str, r: dict) -> str:
        errors = roundtrip.errors_of(r["errors"] or {})
        cpu = r["cpu"]
        app = f"{r['app_cpu_ms_per_msg']:.1f} ms" if r["app_cpu_ms_per_msg"] is not None else "-"
        path = {"1+1": "1 app + 1 Rasa", "2+2": "2 apps + 2 Rasa", "webhook": "Rasa webhook (1+1's Rasa)"}[r["label"]]
        return (f"| {name} | {path} | {r['rate']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} | {errors} | "
                f"{cpu['app'] * 100:.0f}% / {cpu['rasa'] * 100:.0f}% / {cpu['other'] * 100:.0f}% / "
                f"{cpu.get('steal', 0) * 100:.0f}% | {app} |")

    for r in res["steady"]:
        rows.append(row(f"{r['visitors']} visitors, {r['pause_s']:g} s pause", r))
    for level in res["ramp"]:
        for r in level["runs"]:
            rows.append(row(f"{level['visitors']} visitors, no pause", r))
    return "\n".join(rows)


def ratios(runs: list[dict]) -> dict[str, str]:
    """label -> "xA / xB / xC": the socket path's p50, p95, p99 over the bare webhook's."""
    by = {r["label"]: r for r in runs}
    hook, out = by.get("webhook"), {}
    for label in ("1+1", "2+2"):
        r = by.get(label)
        if r and hook and hook["count"] and r["count"]:
            out[label] = " / ".join(f"x{r[p] / hook[p]:.2f}" for p in ("p50", "p95", "p99"))
    return out


def overhead(res: dict) -> str:
    lines = [f"gateway overhead {label} (socket through nginx / bare webhook), p50 / p95 / p99: {text}"
             + (" (all rounds pooled)" if res.get("rounds") else "")
             for label, text in ratios(res["steady"]).items()]
    for i, runs in enumerate(res.get("rounds") or [], 1):
        lines.append(f"  round {i}: " + "; ".join(f"{label} {text}" for label, text in ratios(runs).items()))
    return "\n".join(lines)


def plot(res: dict, path: Path) -> bool:
    try:
        import matplotlib
    except ImportError:
        log("  (matplotlib is not installed: no plot; pip install -e '.[bench]')")
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    style = {"1+1": ("tab:blue", "1 app + 1 Rasa"), "2+2": ("tab:orange", "2 apps + 2 Rasa"),
             "webhook": ("tab:gray", "Rasa's webhook alone")}
    for label, (color, name) in style.items():
        pts = [(lv["visitors"], r) for lv in res["ramp"] for r in lv["runs"] if r["label"] == label and r["count"]]
        if not pts:
            continue
        xs = [v for v, _ in pts]
        left.plot(xs, [r["p50"] for _, r in pts], "o-", color=color, label=f"{name} p50")
        left.plot(xs, [r["p99"] for _, r in pts], "o--", color=color, alpha=0.6, label=f"{name} p99")
        right.plot(xs, [r["rate"] for _, r in pts], "o-", color=color, label=name)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks([lv["visitors"] for lv in res["ramp"]])
        ax.set_xticklabels([str(lv["visitors"]) for lv in res["ramp"]])
        ax.set_xlabel("concurrent visitors, no pause")
        ax.grid(True, alpha=0.3)
    left.set_yscale("log")
    left.set_ylabel("round trip, ms")
    left.legend(fontsize=7)
    right.set_ylabel("answered messages / s")
    right.set_ylim(bottom=0)
    right.legend(fontsize=8)
    fig.suptitle(f"Bot round trip through nginx on {os.cpu_count()} cores "
                 f"({res['when'][:16].replace('T', ' ')} UTC, load {res['machine']['loadavg_at_start'][0]:.1f} at start)",
                 fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ---- the run -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    from bench.run import machine, train_model

    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="the trained Rasa model (default: scripts/train_bot.sh, a no-op when trained)")
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--pause", type=float, default=2.0)
    parser.add_argument("--warmup-s", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the paced scenario, interleaving the paths")
    parser.add_argument("--steady-s", type=float, default=20.0, help="measured seconds a path a round")
    parser.add_argument("--levels", default="10,25,50,100,200")
    parser.add_argument("--level-warmup-s", type=float, default=3.0)
    parser.add_argument("--level-s", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=3, help="load-generator processes")
    parser.add_argument("--plot", help="also copy the plot here (e.g. docs/img/scale.png)")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]

    from deploy.stack import PG_ADMIN_DSN, ScaledStack, _pg_admin

    model = Path(args.model) if args.model else train_model()
    # The per-connection rate limit would throttle the no-pause runs (bench/stack.py does the same).
    os.environ["SHOPCHAT_MESSAGE_RATE_PER_10S"] = "100000"
    res: dict = {"when": datetime.now(timezone.utc).isoformat(), "machine": machine(), "model": model.name,
                 "args": vars(args), "steady": [], "rounds": [], "ramp": []}
    log(f"bench.scale: {res['machine']['cores']} cores, load {os.getloadavg()[0]:.2f}, model {model.name}")
    # The pool pickles the function by name: bench.scale's, which the workers import (not __main__).
    from bench import scale

    roundtrip.run_worker = scale.run_worker_spread
    gen = roundtrip.LoadGenerator(args.workers)
    stacks: list[ScaledStack] = []
    tmp = Path(tempfile.mkdtemp(prefix="shopchat-scale-"))
    try:
        targets = []
        for label, apps, rasas in CONFIGS:
            log(f"starting {label}: nginx, {apps} app, {rasas} Rasa (PostgreSQL, Redis) ...")
            db_name = f"shopchat_scale_{apps}x{rasas}"
            # Left by an interrupted run: every run starts from empty databases.
            asyncio.run(_pg_admin(PG_ADMIN_DSN, [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
                                                 for name in (db_name, f"{db_name}_rasa")]))
            stack = ScaledStack(model, apps=apps, rasas=rasas, db_name=db_name,
                                drop_databases=True, run_dir=tmp / label, log=log)
            stacks.append(stack)
            stack.start()
            targets.append(Target(label, stack))
        res["idle_rss_mb"] = {t.label: t.rss_mb() for t in targets}
        order = [(t, "socket") for t in targets] + [(targets[0], "webhook")]

        log(f"\n{args.visitors} visitors pausing {args.pause:g} s, {args.rounds} rounds "
            f"({args.warmup_s:g} s warm-up, {args.steady_s:g} s measured a path a round)")
        for i in range(max(1, args.rounds)):
            runs = []
            for target, mode in order[i % len(order):] + order[:i % len(order)]:
                r = measure(gen, target, mode, args.visitors, args.pause, args.warmup_s, args.steady_s, seed=1 + i)
                runs.append(r)
                log(f"  round {i + 1} " + line(r))
            res["rounds"].append(runs)
        res["steady"] = [pooled([r for runs in res["rounds"] for r in runs if r["label"] == label])
                         for label in ("1+1", "2+2", "webhook")]
        for r in res["steady"]:
            log("  pooled  " + line(r))
        for level in levels:
            log(f"\nno pause, {level} visitors ({args.level_warmup_s:g} s warm-up, {args.level_s:g} s measured)")
            runs = []
            for target, mode in order:
                r = measure(gen, target, mode, level, 0.0, args.level_warmup_s, args.level_s, seed=level)
                r.pop("samples")
                runs.append(r)
                log("  " + line(r))
            res["ramp"].append({"visitors": level, "runs": runs})
        res["rss_mb_after"] = {t.label: t.rss_mb() for t in targets}
        res["rasa_fallbacks"] = {t.label: t.rasa_fallbacks() for t in targets}
        res["loadavg_at_end"] = os.getloadavg()
    finally:
        gen.close()
        for stack in reversed(stacks):
            stack.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    OUT.mkdir(parents=True, exist_ok=True)
    md = (f"bench.scale, {res['when'][:16]} UTC, {res['machine']['cores']} cores ({res['machine']['cpu']}), "
          f"load {res['machine']['loadavg_at_start'][0]:.2f} at start, {res['loadavg_at_end'][0]:.2f} at end\n\n"
          f"{table(res)}\n\n{overhead(res)}\n\n"
          f"RSS idle (MB): {res['idle_rss_mb']}; after: {res['rss_mb_after']}; "
          f"answers without Rasa: {res['rasa_fallbacks']}\n")
    log("\n" + md)
    (OUT / "scale.md").write_text(md, encoding="utf-8")
    for r in res["steady"] + [r for runs in res["rounds"] for r in runs]:
        r.pop("samples", None)  # thousands of numbers: the percentiles are kept
    (OUT / "scale.json").write_text(json.dumps(res, indent=1), encoding="utf-8")
    if plot(res, OUT / "scale.png"):
        log(f"plot: {OUT / 'scale.png'}")
        if args.plot:
            shutil.copyfile(OUT / "scale.png", args.plot)
            log(f"plot copied to {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
