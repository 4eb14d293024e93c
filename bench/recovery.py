"""Recovery after a crash (issue 17): visitors ask questions, the app is killed with SIGKILL while bot
turns are in flight (a slow Rasa stand-in holds them open), and restarted on the same database. Every
acknowledged question must then get exactly one answer, in order, and a retried client_id no second
one. Prints the time from the restart to the last answer owed from before the crash.

    .venv/bin/python -m bench.recovery [--visitors 20] [--questions 10] [--db sqlite|postgres] [--runs 3]

tests/chat/test_recovery.py runs the same scenario, smaller."""
from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path

from sqlalchemy import select

from tests.chat.slow_rasa import ANSWER_PREFIX, SlowRasa
from tests.chat.visitor_client import Visitor
from tests.support import LiveApp, TestDatabase, free_port

APOLOGY_START = "Sorry for the delay"


@dataclass
class Outcome:
    questions: int = 0  # acknowledged in all
    acked_at_kill: int = 0
    owed_at_kill: int = 0  # acknowledged and not answered when the process died
    ready_s: float = 0.0  # restart -> /health answers
    last_answer_s: float = 0.0  # restart -> the last answer owed from before the crash
    retry_duplicate: bool | None = None  # the retried client_id was acknowledged as a duplicate
    apologies: int = 0
    without_rasa: int = 0  # answers the app gave on its own (Rasa's stand-in too slow to connect)
    problems: list[str] = field(default_factory=list)


def question(v: int, i: int) -> str:
    return f"visitor {v} question {i}"


async def _ask(visitor: Visitor, v: int, questions: int, start: int, acked: list, pause_s: float) -> int:
    """Ask questions start.. one after another (not waiting for answers); the first not acknowledged
    (the app died) is returned, to be asked again with the same client_id after the restart."""
    for i in range(start, questions):
        try:
            ack = await visitor.say(question(v, i), client_id=f"q{i}")
        except Exception:  # noqa: BLE001 - the app died under the call
            return i
        if not ack.get("ok"):
            return i
        acked.append((v, i))
        await asyncio.sleep(pause_s)
    return questions


async def unanswered(db_url: str) -> list[tuple[str, str]]:
    from app.db import make_engine, make_sessionmaker
    from chat.models import Message

    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            rows = await db.execute(select(Message.conversation_id, Message.text)
                                    .where(Message.sender == "visitor", Message.answered == False))  # noqa: E712
            return [tuple(r) for r in rows]
    finally:
        await engine.dispose()


async def check_transcripts(db_url: str, expected: dict[str, list[str]], out: Outcome | None = None) -> list[str]:
    """Each conversation: sequence numbers 1..n without gaps, every expected question stored once and
    answered, and exactly one bot answer per question, in question order (an answer from the Rasa
    stand-in quotes its question), each after its question."""
    from app.db import make_engine, make_sessionmaker
    from chat.models import Message

    problems = []
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            for cid, wanted in expected.items():
                msgs = list(await db.scalars(select(Message).where(Message.conversation_id == cid).order_by(Message.seq)))
                if [m.seq for m in msgs] != list(range(1, len(msgs) + 1)):
                    problems.append(f"{cid}: sequence gaps {[m.seq for m in msgs]}")
                asked = [(m.seq, m.text) for m in msgs if m.sender == "visitor"]
                if [t for _, t in asked] != wanted:
                    problems.append(f"{cid}: questions stored {[t for _, t in asked]}, expected {wanted}")
                if any(not m.answered for m in msgs):
                    problems.append(f"{cid}: unanswered {[m.text for m in msgs if not m.answered]}")
                # One bot answer per question (an apology aside). An answer quotes its question, or,
                # when Rasa did not answer in time (a loaded machine), is the app's own.
                answers = [(m.seq, m.text) for m in msgs if m.sender == "bot" and not m.text.startswith(APOLOGY_START)]
                if len(answers) != len(asked):
                    problems.append(f"{cid}: {len(answers)} answers {[t for _, t in answers]} "
                                    f"for {len(asked)} questions {[t for _, t in asked]}")
                for (q_seq, q), (a_seq, a) in zip(asked, answers):
                    if a_seq < q_seq or (a.startswith(ANSWER_PREFIX) and a != ANSWER_PREFIX + q):
                        problems.append(f"{cid}: answer {a!r} (seq {a_seq}) in the place of {q!r} (seq {q_seq})")
                    if out is not None and not a.startswith(ANSWER_PREFIX):
                        out.without_rasa += 1
                if out is not None:
                    out.apologies += sum(m.sender == "bot" and m.text.startswith(APOLOGY_START) for m in msgs)
    finally:
        await engine.dispose()
    return problems


async def answered_at(db_url: str, texts: set[str]) -> float:
    """The newest created_at (epoch seconds) of the answers to these questions."""
    from app.db import make_engine, make_sessionmaker
    from chat.models import Message

    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as db:
            stamps = await db.scalars(select(Message.created_at).where(
                Message.sender == "bot", Message.text.in_([ANSWER_PREFIX + t for t in texts])))
            return max((s if s.tzinfo else s.replace(tzinfo=timezone.utc)).timestamp() for s in stamps)
    finally:
        await engine.dispose()


async def crash_and_recover(db_url: str, rasa_url: str, *, visitors: int = 5, questions: int = 4,
                            kill_fraction: float = 0.34, pause_s: float = 0.05, env: dict | None = None,
                            restart_env: dict | None = None, timeout_s: float = 60,
                            start_timeout_s: float = 120) -> Outcome:
    out = Outcome()
    app = LiveApp(db_url, rasa_url=rasa_url, env=env)
    clients: list[Visitor] = []
    acked: list = []
    try:
        app.start(timeout_s=start_timeout_s)
        clients = [Visitor(app.url) for _ in range(visitors)]
        for c in clients:
            assert (await c.connect())["ok"]
        sessions = [c.session_id for c in clients]
        conversations = [c.conversation_id for c in clients]
        tasks = [asyncio.create_task(_ask(c, v, questions, 0, acked, pause_s)) for v, c in enumerate(clients)]
        while len(acked) < kill_fraction * visitors * questions:
            await asyncio.sleep(0.005)
        app.kill()  # SIGKILL: bot turns in flight, answers owed
        out.acked_at_kill = len(acked)
        resume = await asyncio.gather(*tasks)
        for c in clients:
            await c.close()
        owed = await unanswered(db_url)
        out.owed_at_kill = len(owed)
        owed_texts = {t for _, t in owed}

        restarted = LiveApp(db_url, port=app.port, rasa_url=rasa_url, env={**(env or {}), **(restart_env or {})})
        t0 = time.time()
        app = restarted  # stopped in `finally` even if it does not come up
        app.start(timeout_s=start_timeout_s)
        out.ready_s = time.time() - t0
        clients = [Visitor(app.url) for _ in range(visitors)]
        for c, sid in zip(clients, sessions):
            assert (await c.connect(session_id=sid))["ok"]
        # A client retries an acknowledged, unanswered question while recovery answers it.
        retry = next(((v, t) for v in range(visitors) for t in [question(v, i) for i in range(questions)]
                      if t in owed_texts), None)
        if retry is not None:
            v, text = retry
            ack = await clients[v].say(text, client_id=f"q{int(text.rsplit(' ', 1)[1])}")
            out.retry_duplicate = bool(ack.get("ok") and ack.get("duplicate"))
        # The clients ask what they had not got acknowledged (same client_id) and the rest.
        await asyncio.gather(*[_ask(c, v, questions, resume[v], acked, pause_s) for v, c in enumerate(clients)])
        out.questions = len(acked)
        deadline = time.monotonic() + timeout_s
        while await unanswered(db_url):
            if time.monotonic() > deadline:
                out.problems.append(f"still unanswered after {timeout_s} s: {await unanswered(db_url)}")
                break
            await asyncio.sleep(0.1)
        if owed_texts:
            out.last_answer_s = await answered_at(db_url, owed_texts) - t0
        expected = {cid: [question(v, i) for i in range(questions)] for v, cid in enumerate(conversations)}
        out.problems += await check_transcripts(db_url, expected, out)
        return out
    finally:
        for c in clients:
            await c.close()
        app.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=20)
    parser.add_argument("--questions", type=int, default=10)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rasa-delay", type=float, default=0.3, help="seconds the Rasa stand-in takes per answer")
    parser.add_argument("--demo", action="store_true", help="load the demo knowledge base (a realistic start time)")
    args = parser.parse_args()
    rasa = SlowRasa(free_port(), args.rasa_delay)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.runs):
                db = TestDatabase(args.db, Path(tmp)).create()
                try:
                    if args.demo:
                        from app.cli import load_demo
                        load_demo(db.url)
                    rows.append(asyncio.run(crash_and_recover(db.url, rasa.url, visitors=args.visitors,
                                                              questions=args.questions)))
                finally:
                    db.drop()
    finally:
        rasa.stop()
    print(f"{args.visitors} visitors x {args.questions} questions, {args.db}, Rasa stand-in {args.rasa_delay} s "
          f"an answer, SIGKILL after a third was acknowledged; load average at the end "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"{'run':>3} {'acked':>6} {'owed at kill':>12} {'ready s':>8} {'last owed answer s':>19} "
          f"{'retry dup':>9} {'no Rasa':>7} {'problems':>8}")
    for n, r in enumerate(rows, 1):
        print(f"{n:>3} {r.questions:>6} {r.owed_at_kill:>12} {r.ready_s:>8.2f} {r.last_answer_s:>19.2f} "
              f"{str(r.retry_duplicate):>9} {r.without_rasa:>7} {len(r.problems):>8}")
        for p in r.problems[:5]:
            print("    ", p)


if __name__ == "__main__":
    main()
