import asyncio
from eval.run import load_docs
from eval.tune import pseudo_queries
from knowledge_base.search import SearchIndex
docs = asyncio.run(load_docs("knowledge_base/demo/articles.yaml"))
for kept, held in pseudo_queries(docs):
    idx = SearchIndex(kept)
    for q, t in held:
        h = idx.search(q, 3)
        if not h or h[0].title != t:
            print(f"{q!r} -> {t!r}\n      " + " | ".join(f"{x.score:.2f} {x.title}" for x in h))
