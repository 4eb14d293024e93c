"""Does a long conversation cost more per message than a short one? (issue 18, docs/benchmarks.md)

    .venv/bin/python -m bench.long_conversation [--model PATH] [--session-max-events 0,40] [--turns 100]
        [--conversations 3] [--visitors 50] [--questions 8,40] [--warmup-s 30] [--steady-s 60] [--skip-load]
        [--plot docs/img/long_conversation.png]

For each value of --session-max-events (the app's SHOPCHAT_BOT_SESSION_MAX_EVENTS: 0 = one Rasa
session for the whole conversation, as before; 40 = a new session every ~10 questions,
bot/actions.py roll_session) a fresh stack (bench/stack.py), all up at once, and:

1. One visitor keeps one conversation for --turns questions, one after another (pause 0.2 s); each
   turn is asked through the app's visitor socket and, right after, the same text straight at
   Rasa's REST webhook (its own sender, also kept for the whole run), so both paths see the same
   texts and the same machine load; the stacks take turns, so the settings see the same load too. Repeated for --conversations conversations. After each turn,
   not timed: how many events Rasa's current session of each conversation holds (what Rasa loads,
   featurizes and sends to the app's custom action). The app's share of a turn is socket minus
   webhook of that same turn.
2. 50 visitors pausing 2 s (bench/roundtrip.py, socket path), once with conversations of 8
   questions and once of 40; each visitor's first conversation has a random length and the
   warm-up lasts at least one whole conversation, so conversations of every age (1 to 8, 1 to 40)
   are under way while it measures ("mean turn" in the table: about (q + 1) / 2).

Prints one table per setting and the targets, writes bench/out/long_conversation.json and the plot."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from app.settings import ROOT
from bench.roundtrip import SocketVisitor, ask_webhook, load_questions, percentile, pick_text

OUT = ROOT / "bench" / "out"
BLOCK = 10
# The targets.
TURN_RATIO, LOAD_RATIO, SHARE_SPREAD_MS = 1.2, 1.2, 5.0


def log(msg: str = "") -> None:
    print(msg, flush=True)


async def session_events(http, sender: str, token: str | None) -> int | None:
    """Events in the sender's current Rasa session (after the last session_started), from Rasa's
    HTTP API; None when the API does not answer."""
    try:
        r = await http.get(f"/conversations/{sender}/tracker", params={"token": token} if token else None)
        events = r.json()["events"] if r.status_code == 200 else None
    except Exception:  # noqa: BLE001 - a figure of the table, not the measurement
        return None
    if events is None:
        return None
    starts = [i for i, e in enumerate(events) if e.get("event") == "session_started"]
    return len(events) - (starts[-1] if starts else 0)


async def one_conversation(stacks: list, turns: int, pause_s: float, rng: random.Random, questions,
                           smalltalk) -> list[dict]:
    """One conversation on every stack, turn by turn (the stacks take turns, first one then the
    other, so each sees the same background load): socket and webhook round trips (ms), and Rasa's
    session events of each conversation after the turn."""
    import httpx

    outs = [{"socket": [], "webhook": [], "socket_events": [], "webhook_events": [], "errors": {}} for _ in stacks]
    visitors = [SocketVisitor(stack.app_url) for stack in stacks]
    senders = [f"bench-long-{uuid.uuid4().hex}" for _ in stacks]
    https = [httpx.AsyncClient(base_url=stack.rasa_url, timeout=30) for stack in stacks]
    try:
        for visitor in visitors:
            await visitor.connect()
        for turn in range(turns):
            text = pick_text(rng, questions, smalltalk)
            order = list(range(len(stacks)))
            for k in order if turn % 2 == 0 else order[::-1]:
                stack, out, visitor, http = stacks[k], outs[k], visitors[k], https[k]
                rtt, _ack, error = await visitor.ask(text)
                wrtt, werror = await ask_webhook(http, senders[k], text)
                for e in (error, werror):
                    if e:
                        out["errors"][e] = out["errors"].get(e, 0) + 1
                out["socket"].append(None if rtt is None else rtt * 1000)
                out["webhook"].append(None if wrtt is None else wrtt * 1000)
                token = getattr(stack.rasa, "auth_token", None)
                out["socket_events"].append(await session_events(http, visitor.conversation_id, token))
                out["webhook_events"].append(await session_events(http, senders[k], token))
            await asyncio.sleep(pause_s * rng.uniform(0.8, 1.2))
    finally:
        for visitor in visitors:
            await visitor.close()
        for http in https:
            await http.aclose()
    return outs


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def blocks(convs: list[dict], turns: int) -> list[dict]:
    """Per block of BLOCK turns, over every conversation: medians of socket, webhook, the app's
    share (socket minus webhook of the same turn) and the session events."""
    rows = []
    for start in range(0, turns, BLOCK):
        idx = range(start, min(turns, start + BLOCK))
        pick = lambda key: [c[key][i] for c in convs for i in idx]  # noqa: E731
        share = [c["socket"][i] - c["webhook"][i] for c in convs for i in idx
                 if c["socket"][i] is not None and c["webhook"][i] is not None]
        rows.append({"turns": f"{start + 1}-{idx[-1] + 1}", "socket": _median(pick("socket")),
                     "webhook": _median(pick("webhook")), "share": _median(share),
                     "socket_events": _median(pick("socket_events")), "webhook_events": _median(pick("webhook_events")),
                     "socket_events_max": max((v for v in pick("socket_events") if v is not None), default=None)})
    return rows


def per_turn_medians(convs: list[dict], key: str) -> list[float | None]:
    return [_median([c[key][i] for c in convs]) for i in range(len(convs[0][key]))]


def run(args, model: Path, settings: list[int]) -> list[dict]:
    """A stack per setting, all up at once: the long conversations run on them turn by turn, then
    each stack gets its 50-visitor runs (8 questions, then 40, back to back)."""
    from bench.roundtrip import LoadGenerator
    from bench.stack import Stack

    questions, smalltalk = load_questions()
    results = [{"session_max_events": m, "loadavg_before": os.getloadavg(), "conversations": [], "load": {}}
               for m in settings]
    with contextlib.ExitStack() as cleanup:
        stacks = []
        for max_events in settings:
            os.environ["SHOPCHAT_BOT_SESSION_MAX_EVENTS"] = str(max_events)  # the app (a child process) reads it
            log(f"SHOPCHAT_BOT_SESSION_MAX_EVENTS={max_events}:")
            tmp = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="shopchat-long-"))
            stacks.append(cleanup.enter_context(Stack(model, Path(tmp), log=log)))
        cpu0, t0 = [s.cpu_seconds() for s in stacks], time.monotonic()
        for n in range(args.conversations):
            log(f"  conversation {n + 1}/{args.conversations}: {args.turns} turns, socket and webhook, "
                f"on {len(stacks)} stack(s) turn by turn ...")
            outs = asyncio.run(one_conversation(stacks, args.turns, args.pause, random.Random(1000 + n),
                                                questions, smalltalk))
            for r, out in zip(results, outs):
                r["conversations"].append(out)
        cpu1, t1 = [s.cpu_seconds() for s in stacks], time.monotonic()
        ours = sum(c1[k] - c0[k] for c0, c1 in zip(cpu0, cpu1) for k in ("app", "rasa"))
        for r, c0, c1 in zip(results, cpu0, cpu1):
            r["blocks"] = blocks(r["conversations"], args.turns)
            r["cpu_long"] = {k: (c1[k] - c0[k]) / (t1 - t0) for k in c0}
            # everything else the machine ran meanwhile (other helpers' tests, the load generator)
            r["cpu_long"]["other"] = max(0.0, (c1["all"] - c0["all"] - ours) / (t1 - t0))
            r["loadavg_long"] = os.getloadavg()
            log(f"  SHOPCHAT_BOT_SESSION_MAX_EVENTS={r['session_max_events']}:")
            for row in r["blocks"]:
                log(f"    turns {row['turns']:>7}: socket {_f(row['socket'])} ms, webhook {_f(row['webhook'])} ms, "
                    f"app share {_f(row['share'])} ms, session events {_f(row['socket_events'])}")
        if not args.skip_load:
            gen = LoadGenerator(args.workers)
            try:
                for r, stack in zip(results, stacks):
                    for q in args.questions:
                        # At least one whole visit (q questions, 2 s apart) before measuring: with the first
                        # visits' random lengths, conversations of every age from 1 to q are then under way.
                        warmup = max(args.warmup_s, q * 2.1)
                        log(f"  SHOPCHAT_BOT_SESSION_MAX_EVENTS={r['session_max_events']}: {args.visitors} visitors, "
                            f"{q} questions a conversation, {warmup:g} s warm-up + {args.steady_s:g} s ...")
                        sc = gen.run(stack, "socket", args.visitors, 2.0, warmup, args.steady_s,
                                     messages_per_visit=q, stagger=True)
                        r["load"][str(q)] = {**sc.as_dict(), "loadavg": os.getloadavg()}
                        log(f"    {sc.rate:.1f} msg/s, p50 {sc.p50:.0f} ms, p99 {sc.p99:.0f} ms, mean turn "
                            f"{sc.mean_turn:.1f}, errors {sc.errors or 0}; CPU app {sc.cpu['app']:.0%}, "
                            f"rasa {sc.cpu['rasa']:.0%}, other {sc.cpu['other']:.0%}")
            finally:
                gen.close()
        for r, stack in zip(results, stacks):
            r["rasa_fallbacks"] = stack.rasa_fallbacks()
            r["loadavg_after"] = os.getloadavg()
    return results


def _f(v, digits: int = 0) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def verdicts(r: dict) -> dict:
    b = r["blocks"]
    first, last = b[0], b[-1]
    shares = [row["share"] for row in b if row["share"] is not None]
    out = {"turn_ratio": last["socket"] / first["socket"] if first["socket"] else None,
           "webhook_ratio": last["webhook"] / first["webhook"] if first["webhook"] else None,
           "share_spread_ms": max(shares) - min(shares) if shares else None}
    load = r.get("load") or {}
    if len(load) >= 2:
        keys = sorted(load, key=int)
        short, long = load[keys[0]], load[keys[-1]]
        out["load_p50_ratio"] = long["p50"] / short["p50"] if short["p50"] else None
        out["load_p99_ratio"] = long["p99"] / short["p99"] if short["p99"] else None
    return out


def report(results: dict) -> str:
    lines = [f"# Long conversations ({results['date']})", "",
             f"{results['turns']} turns a conversation, {results['conversations']} conversations; machine: "
             f"{os.cpu_count()} cores, shared (load average before each setting below). Medians per block of "
             f"{BLOCK} turns; 'app share' = socket minus webhook of the same turn.", ""]
    for r in results["settings"]:
        v = verdicts(r)
        name = "one Rasa session per conversation" if not r["session_max_events"] else \
            f"a new Rasa session past {r['session_max_events']} events"
        lines += [f"## SHOPCHAT_BOT_SESSION_MAX_EVENTS={r['session_max_events']} ({name}); load average "
                  f"{r['loadavg_before'][0]:.2f} before, {r['loadavg_after'][0]:.2f} after", "",
                  "| turns | socket p50 ms | webhook p50 ms | app share p50 ms | Rasa session events (median / max) |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for row in r["blocks"]:
            lines.append(f"| {row['turns']} | {_f(row['socket'])} | {_f(row['webhook'])} | {_f(row['share'])} | "
                         f"{_f(row['socket_events'])} / {_f(row['socket_events_max'])} |")
        errors: dict = {}
        for c in r["conversations"]:
            for k, n in c["errors"].items():
                errors[k] = errors.get(k, 0) + n
        cpu = r["cpu_long"]
        lines += ["", f"Turns {r['blocks'][-1]['turns']} / turns 1-{BLOCK} through the app: "
                  f"x{_f(v['turn_ratio'], 2)} (target <= {TURN_RATIO}: {_ok(v['turn_ratio'], TURN_RATIO)}); "
                  f"webhook x{_f(v['webhook_ratio'], 2)}; app share spread {_f(v['share_spread_ms'], 1)} ms "
                  f"(target <= {SHARE_SPREAD_MS:g}: {_ok(v['share_spread_ms'], SHARE_SPREAD_MS)}). "
                  f"Errors {errors or 0}; CPU app {cpu['app']:.0%}, Rasa {cpu['rasa']:.0%} of a core, everything else "
                  f"on the machine {cpu['other']:.0%}; load average after the conversations "
                  f"{r['loadavg_long'][0]:.2f}.", ""]
        load = r.get("load") or {}
        if load:
            lines += ["| 50 visitors, 2 s pause | msgs/s | p50 ms | p95 ms | p99 ms | mean turn | errors | CPU app / Rasa / other | load average after |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
            for q in sorted(load, key=int):
                s = load[q]
                lines.append(f"| {q} questions a conversation | {s['rate']:.1f} | {s['p50']:.0f} | {s['p95']:.0f} | "
                             f"{s['p99']:.0f} | {s['mean_turn']:.1f} | {sum(s['errors'].values())} | "
                             f"{s['cpu']['app']:.0%} / {s['cpu']['rasa']:.0%} / {s['cpu']['other']:.0%} | "
                             f"{s['loadavg'][0]:.2f} |")
            if "load_p50_ratio" in v:
                lines += ["", f"Longest / shortest conversations: p50 x{_f(v['load_p50_ratio'], 2)}, p99 "
                          f"x{_f(v['load_p99_ratio'], 2)} (target <= {LOAD_RATIO}: "
                          f"{_ok(max(v['load_p50_ratio'] or 99, v['load_p99_ratio'] or 99), LOAD_RATIO)})."]
            lines.append("")
    return "\n".join(lines)


def _ok(value, limit) -> str:
    return "-" if value is None else ("PASS" if value <= limit else "FAIL")


def _name(r: dict) -> str:
    return "one session" if not r["session_max_events"] else f"new session past {r['session_max_events']} events"


def plot(results: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("  (matplotlib missing: no plot; pip install -e '.[bench]')")
        return False
    settings = results["settings"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [2.2, 1]})
    ax = axes[0]
    colors = ["tab:red", "tab:blue", "tab:green", "tab:purple"]
    for r, color in zip(settings, colors):
        label = _name(r)
        x = [sum(int(t) for t in row["turns"].split("-")) / 2 for row in r["blocks"]]
        ax.plot(x, [row["socket"] for row in r["blocks"]], "-o", color=color, label=f"socket, {label}")
        ax.plot(x, [row["webhook"] for row in r["blocks"]], "--s", color=color, alpha=0.7, label=f"webhook, {label}")
        ax.plot(x, [row["share"] for row in r["blocks"]], ":^", color=color, alpha=0.7, label=f"app share, {label}")
        turns = per_turn_medians(r["conversations"], "socket")
        ax.plot(range(1, len(turns) + 1), turns, color=color, alpha=0.15, linewidth=1)
    ax.set_xlabel("turn of the conversation")
    ax.set_ylabel(f"round trip, ms (median of each block of {BLOCK} turns)")
    ax.set_title(f"One conversation of {results['turns']} turns")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax = axes[1]
    width = 0.8 / max(1, len(settings))
    for k, (r, color) in enumerate(zip(settings, colors)):
        load = r.get("load") or {}
        qs = sorted(load, key=int)
        xs = [i + k * width for i in range(len(qs))]
        ax.bar([x - width / 4 for x in xs], [load[q]["p50"] for q in qs], width / 2, color=color, alpha=0.5,
               label=f"p50, {_name(r)}")
        ax.bar([x + width / 4 for x in xs], [load[q]["p99"] for q in qs], width / 2, color=color,
               label=f"p99, {_name(r)}")
        ax.set_xticks([i + (len(settings) - 1) * width / 2 for i in range(len(qs))],
                      [f"{q} questions" for q in qs])
    ax.set_ylabel("round trip through the app, ms")
    ax.set_title("50 visitors, 2 s pause")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="trained Rasa model (default: scripts/train_bot.sh)")
    ap.add_argument("--session-max-events", default="0,40",
                    help="comma-separated SHOPCHAT_BOT_SESSION_MAX_EVENTS values, each its own stack (0 = off)")
    ap.add_argument("--turns", type=int, default=100)
    ap.add_argument("--conversations", type=int, default=3)
    ap.add_argument("--pause", type=float, default=0.2)
    ap.add_argument("--visitors", type=int, default=50)
    ap.add_argument("--questions", default="8,40")
    ap.add_argument("--warmup-s", type=float, default=30.0)
    ap.add_argument("--steady-s", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-load", action="store_true", help="only the single long conversations")
    ap.add_argument("--plot", type=Path, default=OUT / "long_conversation.png")
    args = ap.parse_args(argv)
    args.questions = [int(q) for q in args.questions.split(",") if q]
    settings = [int(v) for v in args.session_max_events.split(",") if v != ""]
    if args.model is None:
        from bench.run import train_model

        args.model = train_model()
    log(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} cores, shared)")
    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "model": args.model.name,
               "turns": args.turns, "conversations": args.conversations, "settings": []}
    results["settings"] = run(args, args.model, settings)
    text = report(results)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "long_conversation.json").write_text(json.dumps(results, indent=1))
    (OUT / "long_conversation.md").write_text(text + "\n")
    log("")
    log(text)
    if plot(results, args.plot):
        log(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
