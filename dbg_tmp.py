import asyncio, sys
from eval.run import load_docs
from knowledge_base.search import SearchIndex
docs = asyncio.run(load_docs("knowledge_base/demo/articles.yaml"))
idx = SearchIndex(docs); li = idx._indexes["en"]
for q in sys.argv[1:]:
    qt = li.query_terms(q)
    print(q, {t: (w, round(li.idf.get(t, -1), 2)) for t, w in qt.items()})
    for h in idx.search(q, 3): print("   ", h.score, h.title)
