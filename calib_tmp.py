import asyncio, yaml
from eval.run import load_docs
from eval.tune import pseudo_queries
from knowledge_base.search import SearchIndex
docs = asyncio.run(load_docs("knowledge_base/demo/articles.yaml"))
pts = []  # (s1, margin, label) label: 1 correct top1, 0 wrong top1 (in scope), -1 no right answer exists
def feats(idx, q):
    h = idx.search(q, 3)
    s1 = h[0].score if h else 0; s2 = h[1].score if len(h) > 1 else 0
    return h, s1, s1 - s2
for kept, held in pseudo_queries(docs):
    idx = SearchIndex(kept)
    for q, t in held:
        h, s1, m = feats(idx, q); pts.append((s1, m, 1 if h and h[0].title == t else 0))
for d in docs:
    idx = SearchIndex([x for x in docs if x is not d])
    for q in d.questions:
        h, s1, m = feats(idx, q); pts.append((s1, m, -1))
dev = yaml.safe_load(open("eval/dev.yaml")); idx = SearchIndex(docs)
devp = []
for it in dev["in_scope"]:
    h, s1, m = feats(idx, it["q"]); devp.append((s1, m, 1 if h and h[0].title == it["article"] else 0))
for q in dev["out_of_scope"]:
    h, s1, m = feats(idx, q); devp.append((s1, m, -1))
def evals(P, lam, th):
    ok = sum(1 for s, m, l in P if l == 1 and s + lam * m >= th)
    wrong = sum(1 for s, m, l in P if l == 0 and s + lam * m >= th)
    neg = [(s, m) for s, m, l in P if l == -1]
    fb = sum(1 for s, m in neg if s + lam * m < th)
    n_in = sum(1 for p in P if p[2] >= 0)
    return ok / n_in, wrong / n_in, fb / max(len(neg), 1)
for lam in (0, 0.5, 1, 2):
    for th in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6):
        a = evals(pts, lam, th); b = evals(devp, lam, th)
        print(f"lam {lam} th {th}: pseudo ok {a[0]:.2f} wrong {a[1]:.2f} fb {a[2]:.2f} | dev ok {b[0]:.2f} wrong {b[1]:.2f} oosfb {b[2]:.2f}")
