"""Bot round trip under load: simulated visitors over Socket.IO (through the app) and, driven the
same way, straight at Rasa's REST webhook.

Each visitor is its own `socketio.AsyncClient` on the websocket transport: it connects, sends
`session_request`, then asks questions one after another: emit `user_uttered` (with a client_id),
wait for the first `bot_uttered` (that is the round trip), wait for the end of the bot's turn
(`bot_typing` false), pause, next question. After a few questions (`messages_per_visit`, 8 by
default; bench/long_conversation.py asks 40) the visitor leaves and a new one arrives (new
connection, new conversation), as on a real shop. The webhook visitor does the same with `POST /webhooks/rest/webhook {sender, message}`, one
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


# Not an error: the question went to a person (or the offline form); see SocketVisitor.
HANDED_OVER = "handed_over"


def errors_of(errors: dict) -> int:
    return sum(n for k, n in errors.items() if k != HANDED_OVER)


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
    # Each visitor's first visit asks a random 1..messages_per_visit questions, so conversations of
    # every length are under way from the start (as in a steady state) instead of all starting together.
    stagger: bool = False

    def visit_length(self, rng: random.Random, first: bool) -> int:
        return rng.randint(1, self.messages_per_visit) if first and self.stagger else self.messages_per_visit


@dataclass
class WorkerResult:
    # (sent_at, round_trip_s, ack_s or -1, turn): one per answered message; turn 0 is a visit's first
    samples: list[tuple[float, float, float, int]] = field(default_factory=list)
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


def pick_text(rng: random.Random, questions: list[str], smalltalk: list[str], smalltalk_share: float = 0.15) -> str:
    if rng.random() < smalltalk_share:
        return rng.choice(smalltalk)
    return vary(rng.choice(questions), rng)


def _pick(rng: random.Random, spec: WorkerSpec) -> str:
    return pick_text(rng, spec.questions, spec.smalltalk, spec.smalltalk_share)


class SocketVisitor:
    """One visitor's Socket.IO connection and conversation (the widget's protocol)."""

    def __init__(self, url: str, timeout_s: float = 30.0):
        import socketio

        self.url, self.timeout_s = url, timeout_s
        self.events: asyncio.Queue = asyncio.Queue()
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("bot_uttered", lambda data: self.events.put_nowait(("bot", time.monotonic())))
        self.sio.on("bot_typing", lambda data: data.get("typing") is False
                    and self.events.put_nowait(("done", time.monotonic())))
        # A handoff (the offline form with nobody online) is what the widget shows instead of a
        # message: the turn was answered, by a form, and is counted apart (not an error, no round trip).
        self.sio.on("handoff", lambda data: self.events.put_nowait(("handoff", time.monotonic())))
        self.sio.on("error", lambda data: self.events.put_nowait(
            ("error", data.get("code") if isinstance(data, dict) else data)))
        self.session_id = self.conversation_id = None

    async def connect(self) -> None:
        await self.sio.connect(self.url, transports=["websocket"], headers={"Origin": self.url},
                               wait_timeout=self.timeout_s)
        # As the product's widget asks: the protocol's extensions (bot_typing among them), not the
        # plain Rasa-channel events (docs/protocol.md).
        state = await self.sio.call("session_request", {"session_id": None, "extensions": True},
                                    timeout=self.timeout_s)
        self.session_id, self.conversation_id = state["session_id"], state["conversation_id"]

    async def ask(self, text: str) -> tuple[float | None, float, str | None]:
        """(round trip to the first bot_uttered or None, ack or -1, error code or None); returns at
        the end of the bot's turn (bot_typing false)."""
        acked: list[float] = []
        sent_at = time.monotonic()
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id,
                                             "client_id": uuid.uuid4().hex},
                            callback=lambda *a: acked.append(time.monotonic()))
        answered_at = error = None
        while True:
            kind, value = await asyncio.wait_for(self.events.get(), self.timeout_s)
            if kind == "bot" and answered_at is None:
                answered_at = value
            elif kind == "handoff" and answered_at is None:
                error = HANDED_OVER
            elif kind == "done":
                break
            elif kind == "error":
                error = f"error:{value}"
                break
        return (None if answered_at is None else answered_at - sent_at), (acked[0] - sent_at if acked else -1.0), error

    async def close(self) -> None:
        try:
            await self.sio.disconnect()
        except Exception:  # noqa: BLE001
            pass


async def _socket_visitor(spec: WorkerSpec, idx: int, rng: random.Random, res: WorkerResult) -> None:
    first = True
    while time.monotonic() < spec.end_at:
        visitor = SocketVisitor(spec.url, spec.timeout_s)
        try:
            t0 = time.monotonic()
            await visitor.connect()
            res.connects.append(time.monotonic() - t0)
            for turn in range(spec.visit_length(rng, first)):
                if time.monotonic() >= spec.end_at:
                    break
                sent_at = time.monotonic()
                rtt, ack, error = await visitor.ask(_pick(rng, spec))
                if error:
                    res.errors[error] += 1
                if rtt is not None:
                    res.samples.append((sent_at, rtt, ack, turn))
                elif error != HANDED_OVER:
                    res.errors["no_answer"] += 1
                if spec.pause_s:
                    await asyncio.sleep(spec.pause_s * rng.uniform(0.8, 1.2))
        except asyncio.TimeoutError:
            res.errors["timeout"] += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported, the visitor comes back
            res.errors[type(exc).__name__] += 1
            await asyncio.sleep(0.5)
        finally:
            first = False
            await visitor.close()


async def ask_webhook(http, sender: str, text: str) -> tuple[float | None, str | None]:
    """(round trip of one POST to Rasa's REST webhook or None, error or None)."""
    sent_at = time.monotonic()
    try:
        r = await http.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
        done = time.monotonic()
    except Exception as exc:  # noqa: BLE001
        return None, type(exc).__name__
    if r.status_code != 200:
        return None, f"http_{r.status_code}"
    return (done - sent_at, None) if r.json() else (None, "no_answer")


async def _webhook_visitor(spec: WorkerSpec, idx: int, rng: random.Random, res: WorkerResult, http) -> None:
    first = True
    while time.monotonic() < spec.end_at:
        sender = f"bench-{uuid.uuid4().hex}"
        for turn in range(spec.visit_length(rng, first)):
            if time.monotonic() >= spec.end_at:
                break
            sent_at = time.monotonic()
            rtt, error = await ask_webhook(http, sender, _pick(rng, spec))
            if rtt is not None:
                res.samples.append((sent_at, rtt, -1.0, turn))
            else:
                res.errors[error] += 1
                if error not in ("no_answer",) and not error.startswith("http_"):
                    await asyncio.sleep(0.5)
            if spec.pause_s:
                await asyncio.sleep(spec.pause_s * rng.uniform(0.8, 1.2))
        first = False


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
    messages_per_visit: int = 8
    mean_turn: float = 0.0  # how far into its conversation the average measured message was (1 = first)

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
            seed: int = 1, messages_per_visit: int = 8, stagger: bool = False) -> Scenario:
        url = stack.app_url if mode == "socket" else stack.rasa_url
        start_at = time.monotonic() + 1.0
        measure_from = start_at + warmup_s
        end_at = measure_from + measure_s
        split = [visitors // self.workers + (1 if i < visitors % self.workers else 0) for i in range(self.workers)]
        specs = [WorkerSpec(mode, url, n, pause_s, start_at, end_at, self.questions, self.smalltalk, seed * 100 + i,
                            messages_per_visit=messages_per_visit, stagger=stagger)
                 for i, n in enumerate(split) if n]
        fallbacks0 = stack.rasa_fallbacks()
        futures = [self.pool.apply_async(run_worker, (s,)) for s in specs]
        time.sleep(max(0.0, measure_from - time.monotonic()))
        cpu0, t0 = stack.cpu_seconds(), time.monotonic()
        time.sleep(max(0.0, end_at - time.monotonic()))
        cpu1, t1 = stack.cpu_seconds(), time.monotonic()
        results = [f.get() for f in futures]

        sc = Scenario(mode, visitors, pause_s, warmup_s, measure_s, messages_per_visit=messages_per_visit)
        window = [s for r in results for s in r.samples if measure_from <= s[0] < end_at]
        self.last_window = window  # (sent at, round trip, ack, turn) of each measured message, for a closer look
        rtts = [s[1] * 1000 for s in window]
        if rtts:
            sc.mean_turn = 1 + sum(s[3] for s in window) / len(window)
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
                  # whatever else ran on the machine meanwhile (the kernel, PostgreSQL, Redis, other programs)
                  "other": max(0.0, cpu["all"] - cpu["app"] - cpu["rasa"] - loadgen - cpu.get("steal", 0.0))}
        if "steal" in cpu:  # taken by the hypervisor for other machines (a shared VM): not "other"
            sc.cpu["steal"] = cpu["steal"]
        sc.rasa_fallbacks = stack.rasa_fallbacks() - fallbacks0
        return sc
