"""Fit the search's few weights on the knowledge base itself, not on a question set: each article's
alternative questions are split into folds; for fold j, the index is built without every article's
j-th question, and those questions are the queries (leave-one-out pseudo-queries). The dev set is
printed beside it as a check, never as the objective.

    .venv/bin/python -m eval.tune [--kb knowledge_base/demo/articles.yaml] [--dev eval/dev.yaml]"""
from __future__ import annotations

import argparse
import asyncio
import itertools
from dataclasses import replace
from pathlib import Path

import yaml

from eval.run import load_docs
from knowledge_base import search
from knowledge_base.search import Doc, SearchIndex

GRID = {
    "PAIR": [0.0, 0.25, 0.5, 1.0],
    "DOC_WEIGHT": [0.7, 0.8],
    "K1": [2.0],
    "BROADER": [0.3, 0.5],
}


def pseudo_queries(docs: list[Doc]) -> list[tuple[list[Doc], list[tuple[str, str]]]]:
    folds = max(len(d.questions) for d in docs)
    out = []
    for j in range(folds):
        held = [(d.questions[j], d.title) for d in docs if len(d.questions) > j]
        kept = [replace(d, questions=d.questions[:j] + d.questions[j + 1:]) for d in docs]
        out.append((kept, held))
    return out


def accuracy(index: SearchIndex, queries: list[tuple[str, str]]) -> tuple[int, int]:
    top1 = top3 = 0
    for q, title in queries:
        titles = [h.title for h in index.search(q, k=3)]
        top1 += bool(titles) and titles[0] == title
        top3 += title in titles
    return top1, top3


def apply(params: dict) -> None:
    cls = search._LanguageIndex
    for name, value in params.items():
        if name.startswith("FIELDS."):
            field = name.split(".", 1)[1]
            cls.FIELDS = {**cls.FIELDS, field: (value, cls.FIELDS[field][1])}
        else:
            setattr(cls, name, value)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kb", default="knowledge_base/demo/articles.yaml")
    ap.add_argument("--dev", default="eval/dev.yaml")
    args = ap.parse_args()
    docs = asyncio.run(load_docs(args.kb))
    folds = pseudo_queries(docs)
    n_pseudo = sum(len(h) for _, h in folds)
    dev = [(i["q"], i["article"]) for i in yaml.safe_load(Path(args.dev).read_text())["in_scope"]]
    rows = []
    for values in itertools.product(*GRID.values()):
        params = dict(zip(GRID, values))
        apply(params)
        loo = [sum(x) for x in zip(*(accuracy(SearchIndex(kept), held) for kept, held in folds))]
        d1, d3 = accuracy(SearchIndex(docs), dev)
        rows.append((loo[0] / n_pseudo, loo[1] / n_pseudo, d1 / len(dev), d3 / len(dev), params))
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    print(f"{'LOO top1':>8} {'LOO top3':>8} {'dev top1':>8} {'dev top3':>8}  params ({n_pseudo} pseudo-queries)")
    for r in rows[:15]:
        print(f"{r[0]:8.3f} {r[1]:8.3f} {r[2]:8.3f} {r[3]:8.3f}  {r[4]}")


if __name__ == "__main__":
    main()
