"""Answer-quality evaluation: the knowledge base goes through the product's own import path into a
temporary SQLite database, then every question of the set is searched and decided on exactly as the
bot does (bot.answers.is_confident / looks_like_handoff, or Rasa's intent with --rasa-url).

    .venv/bin/python -m eval.run [--language en|el] [--set eval/questions.yaml] [--kb knowledge_base/demo/articles.yaml]
                                 [--rasa-url http://127.0.0.1:5005] [--min-top1 0.9] [--max-wrong 0.05]
                                 [--min-handoff 0.95] [--min-fallback 0.9] [--verbose]

--language el: the Greek test set (eval/questions_el.yaml) against the demo shop in both languages
(articles.yaml + articles_el.yaml), searching the Greek articles as the bot does for a Greek
conversation. Exit status 1 when a measure is below (wrong answers: above) its floor."""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from app.db import Base, all_models, make_engine, make_sessionmaker
from bot.answers import is_confident, looks_like_handoff
from knowledge_base import service, transfer
from knowledge_base.importer import load_file
from knowledge_base.search import Doc, SearchIndex


DEFAULTS = {"en": ("eval/questions.yaml", ["knowledge_base/demo/articles.yaml"]),
            "el": ("eval/questions_el.yaml", ["knowledge_base/demo/articles.yaml", "knowledge_base/demo/articles_el.yaml"])}


async def load_docs(kb_path: str | list[str]) -> list[Doc]:
    """Import the file(s) through the product's import path and read back the published articles."""
    paths = [kb_path] if isinstance(kb_path, str) else kb_path
    with tempfile.TemporaryDirectory() as tmp:
        all_models()
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'kb.sqlite3'}")
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        async with make_sessionmaker(engine)() as db:
            for path in paths:
                await transfer.import_articles(db, load_file(path), replace=False)
            docs = await service.published_docs(db)
        await engine.dispose()
    return docs


class Decider:
    """Handoff or not, and the intent passed to is_confident: from Rasa, or the local detector."""

    def __init__(self, rasa_url: str | None):
        # Rasa's HTTP API answers only with its auth token (bot/server.py start_rasa).
        token = os.environ.get("SHOPCHAT_RASA_AUTH_TOKEN")
        self.client = httpx.Client(base_url=rasa_url, timeout=10, params={"token": token} if token else None) \
            if rasa_url else None

    def intent(self, text: str) -> tuple[str | None, float]:
        if self.client is None:
            return ("human_handoff", 1.0) if looks_like_handoff(text) else (None, 0.0)
        intent = self.client.post("/model/parse", json={"text": text}).raise_for_status().json().get("intent") or {}
        return intent.get("name"), float(intent.get("confidence") or 0.0)


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def scaled_docs(docs: list[Doc], n: int) -> list[Doc]:
    """The real articles plus filler articles recombined from their sentences, up to n in all: a
    realistic vocabulary for measuring search latency at a larger knowledge base."""
    rng = random.Random(0)
    sentences = [s for d in docs for s in d.body.replace("\n", " ").split(". ") if s.strip()]
    phrasings = [q for d in docs for q in d.questions]
    out = list(docs)
    language = docs[0].language if docs else "en"
    for i in range(len(docs), n):
        words = rng.choice(docs).title.split()
        out.append(Doc(10_000 + i, f"{' '.join(rng.sample(words, len(words)))} {i}", ". ".join(rng.sample(sentences, 8)),
                       "Filler", tuple(rng.sample(phrasings, 4)), (), language))
    return out


def evaluate(index: SearchIndex, qset: dict, decider: Decider, verbose: bool, language: str | None = None) -> dict:
    r: dict = {"latency_ms": [], "misses": []}

    def run(text: str):
        t0 = time.perf_counter()
        hits = index.search(text, k=3, language=language)
        r["latency_ms"].append((time.perf_counter() - t0) * 1000)
        intent, conf = decider.intent(text)
        handoff = intent == "human_handoff"
        return hits, handoff, (not handoff) and is_confident(hits, intent, conf)

    counts = dict(top1=0, top3=0, answered=0, wrong=0, false_handoff_in=0, fallback=0, false_handoff_oos=0, handoff=0)
    for item in qset.get("in_scope", []):
        hits, handoff, confident = run(item["q"])
        titles = [h.title for h in hits]
        top1 = bool(titles) and titles[0] == item["article"]
        counts["top1"] += top1
        counts["top3"] += item["article"] in titles
        counts["answered"] += top1 and confident
        counts["wrong"] += confident and not top1
        counts["false_handoff_in"] += handoff
        if not (top1 and confident):
            r["misses"].append(("in_scope", item["q"], item["article"], hits, "handoff" if handoff else
                                "wrong answer" if confident else "not confident" if top1 else "no answer, wrong top-1"))
    for text in qset.get("out_of_scope", []):
        hits, handoff, confident = run(text)
        counts["fallback"] += not confident
        counts["false_handoff_oos"] += handoff
        if confident or handoff:
            r["misses"].append(("out_of_scope", text, None, hits, "handoff" if handoff else "answered"))
    for text in qset.get("handoff", []):
        hits, handoff, confident = run(text)
        counts["handoff"] += handoff
        if not handoff:
            r["misses"].append(("handoff", text, None, hits, "answered" if confident else "fallback"))
    n_in, n_oos, n_h = (len(qset.get(k, [])) for k in ("in_scope", "out_of_scope", "handoff"))
    rate = lambda c, n: c / n if n else float("nan")  # noqa: E731
    r["rows"] = [
        ("in_scope", "top-1 accuracy", counts["top1"], n_in, rate(counts["top1"], n_in)),
        ("in_scope", "top-3 accuracy", counts["top3"], n_in, rate(counts["top3"], n_in)),
        ("in_scope", "answered correctly (top-1 and confident)", counts["answered"], n_in, rate(counts["answered"], n_in)),
        ("in_scope", "WRONG answer (confident, wrong article)", counts["wrong"], n_in, rate(counts["wrong"], n_in)),
        ("in_scope", "false handoff", counts["false_handoff_in"], n_in, rate(counts["false_handoff_in"], n_in)),
        ("out_of_scope", "fallback (not confident)", counts["fallback"], n_oos, rate(counts["fallback"], n_oos)),
        ("out_of_scope", "false handoff", counts["false_handoff_oos"], n_oos, rate(counts["false_handoff_oos"], n_oos)),
        ("handoff", "handoff recall", counts["handoff"], n_h, rate(counts["handoff"], n_h)),
    ]
    r["top1"] = rate(counts["top1"], n_in)
    r["wrong"] = rate(counts["wrong"], n_in)
    r["fallback"] = rate(counts["fallback"], n_oos)
    r["handoff"] = rate(counts["handoff"], n_h)
    return r


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--language", default="en", choices=sorted(DEFAULTS),
                    help="the conversation's language: its articles are searched (default set and kb follow it)")
    ap.add_argument("--set", default=None)
    ap.add_argument("--kb", action="append", default=None, help="knowledge-base file (repeat for several)")
    ap.add_argument("--rasa-url", default=None, help="classify intents with Rasa (POST /model/parse)")
    ap.add_argument("--min-top1", type=float, default=0.9)
    ap.add_argument("--max-wrong", type=float, default=1.0, help="highest acceptable wrong-answer rate")
    ap.add_argument("--min-handoff", type=float, default=0.0)
    ap.add_argument("--min-fallback", type=float, default=0.0, help="lowest out-of-scope fallback rate")
    ap.add_argument("--scale", type=int, default=1000, help="also time the search at this many articles (0: skip)")
    ap.add_argument("--verbose", action="store_true", help="list every miss with the top-3 and scores")
    args = ap.parse_args(argv)
    args.set = args.set or DEFAULTS[args.language][0]
    args.kb = args.kb or DEFAULTS[args.language][1]

    docs = asyncio.run(load_docs(args.kb))
    qset = yaml.safe_load(Path(args.set).read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    index = SearchIndex(docs)
    build_ms = (time.perf_counter() - t0) * 1000
    try:
        r = evaluate(index, qset, Decider(args.rasa_url), args.verbose, args.language)
    except httpx.HTTPError as exc:
        print(f"Rasa at {args.rasa_url} did not answer: {exc}", file=sys.stderr)
        return 2

    n_lang = sum(d.language == args.language for d in docs)
    print(f"set {args.set}   kb {', '.join(args.kb)} ({len(docs)} published articles, {n_lang} in {args.language!r})   "
          f"intents: {'Rasa ' + args.rasa_url if args.rasa_url else 'local handoff detector (Rasa down)'}")
    print(f"\n{'set':<13} {'measure':<42} {'count':>9} {'rate':>7}")
    for group, name, c, n, rate in r["rows"]:
        print(f"{group:<13} {name:<42} {f'{c}/{n}':>9} {rate:>7.3f}")
    lat = r["latency_ms"]
    print(f"\nsearch latency, {len(docs)} articles: p50 {percentile(lat, 50):.2f} ms, p99 {percentile(lat, 99):.2f} ms "
          f"({len(lat)} queries; index built in {build_ms:.0f} ms)")
    if args.scale:
        big = scaled_docs([d for d in docs if d.language == args.language], args.scale)
        t0 = time.perf_counter()
        big_index = SearchIndex(big)
        build_ms = (time.perf_counter() - t0) * 1000
        texts = [i["q"] for i in qset.get("in_scope", [])] + qset.get("out_of_scope", []) + qset.get("handoff", [])
        from knowledge_base import semantic

        semantic._QUERY_VECTORS._data.clear()  # the questions were embedded above: make the first pass cold
        times = []
        for text in texts * 3:
            t0 = time.perf_counter()
            big_index.search(text, k=3, language=args.language)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"search latency, {len(big)} articles: p50 {percentile(times, 50):.2f} ms, p99 {percentile(times, 99):.2f} ms "
              f"({len(times)} queries; index built in {build_ms:.0f} ms)")
        # The question's embedding is cached per text: the passes after the first show the search's
        # own cost, the first pass adds one model run per question.
        cold, warm = times[:len(texts)], times[len(texts):]
        print(f"  first pass (question embedded): p50 {percentile(cold, 50):.2f} ms, p99 {percentile(cold, 99):.2f} ms; "
              f"embedding cached: p50 {percentile(warm, 50):.2f} ms, p99 {percentile(warm, 99):.2f} ms")

    if args.verbose and r["misses"]:
        print("\nmisses:")
        for group, text, expected, hits, outcome in r["misses"]:
            print(f"- [{group}] {text!r}: {outcome}" + (f" (expected {expected!r})" if expected else ""))
            for h in hits:
                print(f"      {h.score:.3f}  {h.title}")
    checks = [("top-1", r["top1"], ">=", args.min_top1), ("wrong answers", r["wrong"], "<=", args.max_wrong),
              ("handoff recall", r["handoff"], ">=", args.min_handoff),
              ("out-of-scope fallback", r["fallback"], ">=", args.min_fallback)]
    ok = True
    print()
    for name, value, op, floor in checks:
        good = value <= floor if op == "<=" else value >= floor
        ok = ok and (good or value != value)  # nan: the set has no such questions
        if value != value:  # nan: the set has no such questions
            print(f"{name}: no such questions in the set")
            continue
        print(f"{name} {value:.3f} {op if good else ('>' if op == '<=' else '<')} {floor}: {'PASS' if good else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
