import asyncio, sys, yaml
from eval.run import load_docs
from knowledge_base.search import SearchIndex
docs = asyncio.run(load_docs("knowledge_base/demo/articles.yaml"))
idx = SearchIndex(docs)
d = yaml.safe_load(open(sys.argv[1] if len(sys.argv) > 1 else "eval/dev.yaml"))
rows = []
for it in d["in_scope"]:
    h = idx.search(it["q"], 3)
    ok = h and h[0].title == it["article"]
    rows.append(("IN-OK" if ok else "IN-BAD", h[0].score if h else 0, (h[0].score - h[1].score) if len(h) > 1 else 0))
for q in d["out_of_scope"] + d["handoff"]:
    h = idx.search(q, 3)
    rows.append(("OOS" if q in d["out_of_scope"] else "HO", h[0].score if h else 0, (h[0].score - h[1].score) if len(h) > 1 else 0))
for kind in ("IN-OK", "IN-BAD", "OOS", "HO"):
    xs = sorted(r[1:] for r in rows if r[0] == kind)
    print(kind, len(xs), " ".join(f"{s:.2f}/{m:.2f}" for s, m in xs))
