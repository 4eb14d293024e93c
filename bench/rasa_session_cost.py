"""What one turn costs inside Rasa 3.6.21 as its session grows, in process (no HTTP). Run by Rasa's
venv, never imported by the app; bench/session_cost.py runs it and prints the table:

    .venv-rasa/bin/python bench/rasa_session_cost.py MODEL [TURNS ...]

For sessions of TURNS answered questions (the events of a real turn repeated: action_listen, the
user's message with its parse, action_answer_question, the bot's message): the median time of one
policy prediction (`processor._predict_next_with_tracker`, what runs two or three times a turn),
of building and serialising the body Rasa POSTs to the action server, of SQLTrackerStore.retrieve
on SQLite (once a turn) and of InMemoryTrackerStore retrieve + save. Prints one JSON line per size,
then one for 100 turns cut into sessions of 10 (bot/actions.py roll_session)."""
import asyncio
import json
import logging
import os
import sys
import tempfile
import time

logging.disable(logging.WARNING)

from rasa.core.agent import Agent  # noqa: E402
from rasa.core.channels import UserMessage  # noqa: E402
from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore  # noqa: E402
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered  # noqa: E402
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity  # noqa: E402

T0 = 1_700_000_000.0
ANSWER = {"custom": {"shopchat": {"text": "x" * 400, "kb": {"article_id": 3, "title": "Tracking your order", "score": 0.8},
                                  "quick_replies": [{"content_type": "text", "title": "Yes, thanks", "payload": "/affirm"}] * 5}}}


def turn(pd: dict, t: float) -> list:
    return [ActionExecuted("action_listen", timestamp=t),
            UserUttered(pd["text"], pd["intent"], pd["entities"], pd, timestamp=t + 0.001),
            ActionExecuted("action_answer_question", timestamp=t + 0.002),
            BotUttered(ANSWER["custom"]["shopchat"]["text"], ANSWER, timestamp=t + 0.003)]


def session(pd: dict, turns: int, every: int = 0) -> list:
    events = [ActionExecuted("action_session_start", timestamp=T0), SessionStarted(timestamp=T0)]
    for i in range(turns):
        if every and i and i % every == 0:
            t = T0 + 0.5 + i
            events += [ActionExecuted("action_session_start", timestamp=t), SessionStarted(timestamp=t)]
        events += turn(pd, T0 + 1 + i)
    return events + [ActionExecuted("action_listen", timestamp=T0 + 1 + turns),
                     UserUttered(pd["text"], pd["intent"], pd["entities"], pd, timestamp=T0 + 1.5 + turns)]


def median_ms(f, n: int = 15) -> float:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[n // 2] * 1000


async def amedian_ms(f, n: int = 9) -> float:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        await f()
        ts.append(time.perf_counter() - t0)
    return sorted(ts)[n // 2] * 1000


async def main(model: str, sizes: list) -> None:
    agent = Agent.load(model)
    domain, proc = agent.domain, agent.processor
    pd = (await proc.parse_message(UserMessage("where is my parcel")))
    tmp = tempfile.mkdtemp(prefix="rasa-session-cost-")
    for turns, every in [(n, 0) for n in sizes] + [(max(sizes), 10)]:
        tracker = DialogueStateTracker.from_events("s", session(pd, turns, every), domain.slots)
        sql = SQLTrackerStore(domain, dialect="sqlite", db=os.path.join(tmp, f"{turns}-{every}.db"))
        await sql.save(tracker)
        loaded = await sql.retrieve("s")
        mem = InMemoryTrackerStore(domain)
        await mem.save(tracker)

        async def mem_turn():
            await mem.save(await mem.retrieve("s"))

        body_path = os.path.join(tmp, f"body-{turns}-{every}.json")  # what the app is sent, for its side
        with open(body_path, "w") as f:
            json.dump({"next_action": "action_answer_question", "sender_id": "s", "version": "3.6.21",
                       "tracker": loaded.current_state(EventVerbosity.ALL), "domain": domain.as_dict()}, f)
        print(json.dumps({"body_path": body_path,
            "turns": turns, "session_every": every, "events_stored": len(tracker.events),
            "events_loaded": len(loaded.events),
            "body_kb": len(json.dumps(loaded.current_state(EventVerbosity.ALL))) / 1024,
            "predict_ms": median_ms(lambda: proc._predict_next_with_tracker(loaded)),
            "body_ms": median_ms(lambda: json.dumps({"tracker": loaded.current_state(EventVerbosity.ALL),
                                                      "domain": domain.as_dict()})),
            "sql_retrieve_ms": await amedian_ms(lambda: sql.retrieve("s")),
            "memory_retrieve_save_ms": await amedian_ms(mem_turn),
        }), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], [int(a) for a in sys.argv[2:]] or [10, 25, 50, 100]))
