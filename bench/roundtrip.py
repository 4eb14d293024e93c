"""Bot round trip under load: simulated visitors over Socket.IO (through the app) and, driven the
same way, straight at Rasa's REST webhook.

Each visitor is its own `socketio.AsyncClient` on the websocket transport: it connects, sends
`session_request`, then asks questions one after another: emit `user_uttered` (with a client_id),
wait for the first `bot_uttered` (that is the round trip), wait for the end of the bot's turn
(`bot_typing` false), pause, next question. After a few questions the visitor leaves and a new one
arrives (new connection, new conversation), as on a real shop; this also keeps Rasa's trackers
short. The webhook visitor does the same with `POST /webhooks/rest/webhook {sender, message}`, one
sender id per visit.

The visitors are spread over several worker processes (each with its own event loop) so the load
generator is not the bottleneck; every process reports its samples with CLOCK_MONOTONIC stamps,
which are comparable across processes on Linux."""
from __future__ import annotations

import asyncio
import multiprocessing
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import yaml

from app.settings import ROOT

SMALLTALK_EXTRA = ["hi", "hello", "good morning", "hey there", "thanks!", "thank you so much"]


def load_questions() -> tuple[list[str], list[str]]:
    """(questions, smalltalk): the demo articles' phrasings and eval/dev.yaml's in-scope questions;
    greetings and thanks from eval/dev.yaml's smalltalk. Requests for a person are left out: they
    change the conversation's state (the handoff), which is not what this measures."""
    from bot.answers import looks_like_handoff

    articles = yaml.safe_load((ROOT / "knowledge_base" / "demo" / "articles.yaml").read_text(encoding="utf-8"))
    dev = yaml.safe_load((ROOT / "eval" / "dev.yaml").read_text(encoding="utf-8"))
    questions = [q for a in articles for q in a.get("questions", [])]
    questions += [item["q"] for item in dev.get("in_scope", [])]
    questions = [q for q in dict.fromkeys(questions) if not looks_like_handoff(q)]
    smalltalk = [item["q"] for item in dev.get("smalltalk", [])] + SMALLTALK_EXTRA
    return questions, smalltalk


@dataclass
class WorkerSpec:
    mode: str  # "socket" or "webhook"
    url: str  # the app (socket) or Rasa (webhook)
    visitors: int
    pause_s: float
    start_at: float  # CLOCK_MONOTONIC
    end_at: float
    questions: list[str]
    smalltalk: list[str]
    seed: int
    messages_per_visit: int = 8
    smalltalk_share: float = 0.15
    timeout_s: float = 30.0


@dataclass
class WorkerResult:
    # (sent_at, round_trip_s, ack_s or -1): one per answered message
    samples: list[tuple[float, float, float]] = field(default_factory=list)
    connects: list[float] = field(default_factory=list)  # connect + session_request, seconds
    errors: Counter = field(default_factory=Counter)
    cpu_s: float = 0.0


PREFIXES = ["", "", "", "hi, ", "hello! ", "quick question: ", "hey, ", "sorry to bother you, ", "excuse me, "]
SUFFIXES = ["", "", "", "?", " please", " thanks", "!", " :)", " asap", " thank you"]


def vary(q: str, rng: random.Random) -> str:
    """The question as a visitor might type it: a greeting in front, something after, lower case, a
    typo. Real visitors rarely type the same text twice, so caches keyed by the text (Rasa has none;
    the search caches question embeddings) should not make the load look lighter than it is."""
    q = f"{rng.choice(PREFIXES)}{q}{rng.choice(SUFFIXES)}"
    if rng.random() < 0.3:
        q = q.lower()
    if rng.random() < 0.2:
        words = q.split()
        long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if long:
            i = rng.choice(long)
            j = rng.randrange(len(words[i]) - 1)
            w = words[i]
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
            q = " ".join(words)
    return q


def _pick(rng: random.Random, spec: WorkerSpec) -> str:
    if rng.random() < spec.smalltalk_share:
        return rng.choice(spec.smalltalk)
    return vary(rng.choice(spec.questions), rng)


async def _socket_visitor(spec: WorkerSpec, idx: int, rng: random.Random, res: WorkerResult) -> None:
    import socketio

    while time.monotonic() < spec.end_at:
        events: asyncio.Queue = asyncio.Queue()
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("bot_uttered", lambda data: events.put_nowait(("bot", time.monotonic())))
        sio.on("bot_typing", lambda data: data.get("typing") is False and events.put_nowait(("done", time.monotonic())))
        sio.on("error", lambda data: events.put_nowait(("error", data.get("code") if isinstance(data, dict) else data)))
        try:
            t0 = time.monotonic()
            await sio.connect(spec.url, transports=["websocket"], headers={"Origin": spec.url},
                              wait_timeout=spec.timeout_s)
            state = await sio.call("session_request", {"session_id": None}, timeout=spec.timeout_s)
            res.connects.append(time.monotonic() - t0)
            session_id = state["session_id"]
            for _ in range(spec.messages_per_visit):
                if time.monotonic() >= spec.end_at:
                    break
                acked: list[float] = []
                sent_at = time.monotonic()
                await sio.emit("user_uttered", {"message": _pick(rng, spec), "session_id": session_id,
                                                "client_id": uuid.uuid4().hex},
                               callback=lambda *a: acked.append(time.monotonic()))
                answered_at = None
                while True:
                    kind, value = await asyncio.wait_for(events.get(), spec.timeout_s)
                    if kind == "bot" and answered_at is None:
                        answered_at = value
                    elif kind == "done":
                        break
                    elif kind == "error":
                        res.errors[f"error:{value}"] += 1
                        break
                if answered_at is None:
                    res.errors["no_answer"] += 1
                else:
                    ack = acked[0] - sent_at if acked else -1.0
                    res.samples.append((sent_at, answered_at - sent_at, ack))
                if spec.pause_s:
                    await asyncio.sleep(spec.pause_s * rng.uniform(0.8, 1.2))
        except asyncio.TimeoutError:
            res.errors["timeout"] += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported, the visitor comes back
            res.errors[type(exc).__name__] += 1
            await asyncio.sleep(0.5)
        finally:
            try:
                await sio.disconnect()
            except Exception:  # noqa: BLE001
                pass


async def _webhook_visitor(spec: WorkerSpec, idx: int, rng: random.Random, res: WorkerResult, http) -> None:
    while time.monotonic() < spec.end_at:
        sender = f"bench-{uuid.uuid4().hex}"
        for _ in range(spec.messages_per_visit):
            if time.monotonic() >= spec.end_at:
                break
            sent_at = time.monotonic()
            try:
                r = await http.post("/webhooks/rest/webhook", json={"sender": sender, "message": _pick(rng, spec)})
                done = time.monotonic()
                if r.status_code != 200:
                    res.errors[f"http_{r.status_code}"] += 1
                elif not r.json():
                    res.errors["no_answer"] += 1
                else:
                    res.samples.append((sent_at, done - sent_at, -1.0))
            except Exception as exc:  # noqa: BLE001
                res.errors[type(exc).__name__] += 1
                await asyncio.sleep(0.5)
            if spec.pause_s:
                await asyncio.sleep(spec.pause_s * rng.uniform(0.8, 1.2))


async def _worker(spec: WorkerSpec) -> WorkerResult:
    import httpx

    res = WorkerResult()
    rng = random.Random(spec.seed)
    await asyncio.sleep(max(0.0, spec.start_at - time.monotonic()))
    http = None
    if spec.mode == "webhook":
        http = httpx.AsyncClient(base_url=spec.url, timeout=spec.timeout_s,
                                 limits=httpx.Limits(max_connections=200, max_keepalive_connections=200))

    async def visitor(i: int) -> None:
        # Arrivals spread over the first pause (or 0.5 s) so the visitors do not ask in lock step.
        await asyncio.sleep(rng.uniform(0, spec.pause_s or 0.5))
        vr = random.Random(rng.random())
        if spec.mode == "socket":
            await _socket_visitor(spec, i, vr, res)
        else:
            await _webhook_visitor(spec, i, vr, res, http)

    cpu0 = time.process_time()
    try:
        await asyncio.wait_for(asyncio.gather(*(visitor(i) for i in range(spec.visitors))),
                               spec.end_at - time.monotonic() + spec.timeout_s + 5)
    except asyncio.TimeoutError:
        res.errors["worker_timeout"] += 1
    finally:
        if http is not None:
            await http.aclose()
    res.cpu_s = time.process_time() - cpu0
    return res


def run_worker(spec: WorkerSpec) -> WorkerResult:
    return asyncio.run(_worker(spec))


def _warm_up_imports(_=None) -> bool:
    import httpx  # noqa: F401
    import socketio  # noqa: F401

    return True


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0-100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 100)) - 1))
    return s[k]


@dataclass
class Scenario:
    mode: str
    visitors: int
    pause_s: float
    warmup_s: float
    measure_s: float
    count: int = 0
    rate: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    ack_p50: float | None = None
    ack_p99: float | None = None
    connect_p50: float | None = None
    errors: dict = field(default_factory=dict)
    cpu: dict = field(default_factory=dict)  # share of one core, by process
    rasa_fallbacks: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class LoadGenerator:
    """A pool of worker processes reused across scenarios."""

    def __init__(self, workers: int = 2):
        self.workers = workers
        self.pool = multiprocessing.get_context("spawn").Pool(workers)
        self.pool.map(_warm_up_imports, range(workers))
        self.questions, self.smalltalk = load_questions()

    def close(self) -> None:
        """Stops the workers at once, also in the middle of a scenario (Ctrl-C)."""
        self.pool.terminate()
        self.pool.join()

    def run(self, stack, mode: str, visitors: int, pause_s: float, warmup_s: float, measure_s: float,
            seed: int = 1) -> Scenario:
        url = stack.app_url if mode == "socket" else stack.rasa_url
        start_at = time.monotonic() + 1.0
        measure_from = start_at + warmup_s
        end_at = measure_from + measure_s
        split = [visitors // self.workers + (1 if i < visitors % self.workers else 0) for i in range(self.workers)]
        specs = [WorkerSpec(mode, url, n, pause_s, start_at, end_at, self.questions, self.smalltalk, seed * 100 + i)
                 for i, n in enumerate(split) if n]
        fallbacks0 = stack.rasa_fallbacks()
        futures = [self.pool.apply_async(run_worker, (s,)) for s in specs]
        time.sleep(max(0.0, measure_from - time.monotonic()))
        cpu0, t0 = stack.cpu_seconds(), time.monotonic()
        time.sleep(max(0.0, end_at - time.monotonic()))
        cpu1, t1 = stack.cpu_seconds(), time.monotonic()
        results = [f.get() for f in futures]

        sc = Scenario(mode, visitors, pause_s, warmup_s, measure_s)
        window = [s for r in results for s in r.samples if measure_from <= s[0] < end_at]
        rtts = [s[1] * 1000 for s in window]
        if rtts:
            sc.count = len(rtts)
            sc.rate = len(rtts) / measure_s
            sc.p50, sc.p95, sc.p99 = (percentile(rtts, p) for p in (50, 95, 99))
            sc.max = max(rtts)
        acks = [s[2] * 1000 for s in window if s[2] >= 0]
        if acks:
            sc.ack_p50, sc.ack_p99 = percentile(acks, 50), percentile(acks, 99)
        connects = [c * 1000 for r in results for c in r.connects]
        if connects:
            sc.connect_p50 = percentile(connects, 50)
        errors: Counter = Counter()
        for r in results:
            errors.update(r.errors)
        sc.errors = dict(errors)
        span = t1 - t0
        cpu = {k: (cpu1[k] - cpu0[k]) / span for k in cpu0}
        # The workers' CPU over their whole run (warm-up included), as a share of one core.
        loadgen = sum(r.cpu_s for r in results) / (end_at - start_at)
        sc.cpu = {"app": cpu["app"], "rasa": cpu["rasa"], "load generator": loadgen,
                  # whatever else ran on the machine meanwhile (the kernel, other programs)
                  "other": max(0.0, cpu["all"] - cpu["app"] - cpu["rasa"] - loadgen)}
        sc.rasa_fallbacks = stack.rasa_fallbacks() - fallbacks0
        return sc
