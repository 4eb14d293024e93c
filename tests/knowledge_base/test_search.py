from sqlalchemy import select, update

from knowledge_base.importer import parse_articles
from knowledge_base.models import Article
from knowledge_base.search import ANSWER_THRESHOLD, Doc, SearchIndex
from knowledge_base.service import LiveIndex
from knowledge_base.transfer import import_articles

DOCS = [
    Doc(1, "Delivery times", "Standard delivery takes 1-2 working days in the Netherlands.", "Shipping",
        ("How long does delivery take?", "When will my order arrive?"), ("delivery",)),
    Doc(2, "Returns policy", "You can return items within 30 days of delivery.", "Returns",
        ("Can I return something?", "How many days do I have to send it back?"), ("returns",)),
    Doc(3, "Payment methods", "We accept credit cards, PayPal, iDEAL and Klarna.", "Payments",
        ("Which payment methods do you accept?", "Can I pay with PayPal?"), ("payment",)),
    Doc(4, "Επιστροφές χρημάτων", "Η επιστροφή χρημάτων γίνεται σε 5 εργάσιμες ημέρες.", "Refunds",
        ("Πότε θα πάρω πίσω τα χρήματά μου;",), ("επιστροφή",), "el"),
]


def top(index, query):
    hits = index.search(query, k=3)
    return hits[0].article_id if hits else None


def test_ranks_the_right_article_for_plain_questions():
    index = SearchIndex(DOCS)
    assert top(index, "how long will delivery take") == 1
    assert top(index, "can i pay with paypal") == 3
    assert top(index, "can I send it back") == 2


def test_tolerates_typos_case_and_diacritics():
    index = SearchIndex(DOCS)
    assert top(index, "PAYMNET METHODS?") == 3
    assert top(index, "delivrey times") == 1
    # Greek: accents and case never matter
    assert top(index, "ΕΠΙΣΤΡΟΦΕΣ ΧΡΗΜΑΤΩΝ") == 4
    assert top(index, "επιστροφες χρηματων") == 4


def test_confidence_separates_answers_from_nonsense():
    index = SearchIndex(DOCS)
    assert index.search("which payment methods do you accept", k=1)[0].score >= ANSWER_THRESHOLD
    for junk in ("asdfgh", "what's the weather in Paris"):
        hits = index.search(junk, k=1)
        assert not hits or hits[0].score < ANSWER_THRESHOLD, junk
    assert index.search("", k=3) == []


async def test_live_index_sees_changes_made_by_another_process(sessionmaker):
    """An import (CLI) or an editor bumps the version; the bot's index reloads without a restart."""
    live = LiveIndex(sessionmaker, check_every_s=0)
    assert await live.search("payment methods") == []
    articles = parse_articles([{"title": "Payment methods", "body": "Cards and PayPal.", "category": "Payments",
                                "questions": ["Can I pay with PayPal?"], "tags": []}])
    async with sessionmaker() as db:
        await import_articles(db, articles, replace=False)
    await live.refresh()  # what the app's watcher does every 0.25 s
    hits = await live.search("can i pay with paypal")
    assert hits and hits[0].title == "Payment methods"
    async with sessionmaker() as db:  # unpublishing removes it from the answers
        from knowledge_base.service import bump_version

        await db.execute(update(Article).values(status="draft"))
        await bump_version(db)
        await db.commit()
    await live.refresh()
    assert await live.search("can i pay with paypal") == []


async def test_live_index_applies_a_few_changes_as_a_delta_that_scores_like_a_rebuild(sessionmaker):
    """A change reaches search as a small delta index on the big one's statistics (no full rebuild);
    what it answers, and with what confidence, matches a fresh build of the same articles."""
    from app.settings import ROOT
    from knowledge_base import articles
    from knowledge_base.importer import load_file
    from knowledge_base.service import published_docs

    async with sessionmaker() as db:
        await import_articles(db, load_file(ROOT / "knowledge_base" / "demo" / "articles.yaml"), replace=False)
    live = LiveIndex(sessionmaker, check_every_s=0)
    await live.refresh()
    base = live.index
    gift = parse_articles([{"title": "Gift wrapping", "category": "Orders", "tags": ["gifts"],
                            "questions": ["Can you gift wrap my order?"],
                            "body": "Add gift wrapping at checkout for EUR 3.50: recycled paper and a card."}])[0]
    async with sessionmaker() as db:
        created = await articles.create(db, gift, None)
        delivery = await db.scalar(select(Article).where(Article.title == "Delivery times"))
        await articles.save(db, delivery.id, articles.checked({**articles.content(delivery), "status": "draft"}),
                            delivery.revision, None)
    await live.refresh()
    assert live.index is base, "two changes: a delta, not a rebuild"
    questions = ["could you wrap my present", "how long does delivery take", "can I return a gift"]
    async with sessionmaker() as db:
        fresh = SearchIndex(await published_docs(db))
    for q in questions:
        got, want = await live.search(q), fresh.search(q, k=3)
        assert [h.article_id for h in got[:1]] == [h.article_id for h in want[:1]], q
        assert abs(got[0].score - want[0].score) < 0.05, (q, got[0], want[0])
    got = await live.search("could you wrap my present")
    assert got[0].article_id == created.id
    assert delivery.id not in [h.article_id for h in await live.search("how long does delivery take", k=5)]
    assert await live.doc(delivery.id) is None and (await live.doc(created.id)).title == "Gift wrapping"


def test_large_vector_matrices_score_in_int8_like_float32(monkeypatch):
    import numpy as np

    from knowledge_base.semantic import SemanticIndex, Similarities

    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((3000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    monkeypatch.setattr(Similarities, "INT8_FROM", 1000)
    big, small = Similarities(vectors), Similarities(vectors[:500])
    assert big._session is not None and small._session is None
    for _ in range(5):
        q = vectors[rng.integers(3000)] + 0.3 * rng.standard_normal(384).astype(np.float32)
        q /= np.linalg.norm(q)
        exact = vectors @ q
        got = big.dot(q)
        assert got.dtype == np.float32 and got.shape == exact.shape
        assert np.abs(got - exact).max() < 0.005
        assert int(np.argmax(got)) == int(np.argmax(exact))
        assert np.allclose(small.dot(q), exact[:500], atol=1e-6)

    # Through a whole index: the same ranking with the int8 path as without it.
    from knowledge_base.semantic import load_model

    english = [d for d in DOCS if d.language == "en"]
    monkeypatch.setattr(Similarities, "INT8_FROM", 2)
    quantised = SemanticIndex(english, load_model())
    monkeypatch.setattr(Similarities, "INT8_FROM", 10**9)
    exact_index = SemanticIndex(english, load_model())
    assert quantised.phr._session is not None and exact_index.phr._session is None
    for question in ("how long till my stuff gets here", "can i get my money back", "do you take klarna"):
        a, b = quantised.scores(question), exact_index.scores(question)
        assert int(np.argmax(a)) == int(np.argmax(b))
        assert np.abs(a - b).max() < 0.01


def test_a_phrasing_shared_by_articles_is_embedded_once_and_scored_for_each():
    import numpy as np

    from knowledge_base.semantic import SemanticIndex

    class Recording:
        """A stand-in model: a fixed random unit vector per text; records what it is asked."""

        def __init__(self):
            self.asked: list[str] = []
            self._vectors: dict[str, np.ndarray] = {}

        def encode(self, texts):
            self.asked += texts
            rng = np.random.default_rng
            out = [self._vectors.setdefault(t, rng(len(self._vectors)).standard_normal(384).astype(np.float32))
                   for t in texts]
            return np.stack([v / np.linalg.norm(v) for v in out])

    shared = "Where is my parcel?"
    docs = [Doc(1, "Tracking", "Track it online.", "Shipping", (shared, "Track my order"), ()),
            Doc(2, "Late parcels", "Most late parcels arrive within 3 days.", "Shipping", (shared,), ())]
    model = Recording()
    index = SemanticIndex(docs, model)
    assert model.asked.count(shared) == 1
    # both articles hold the question word for word: each gets its row back
    best_phrasing = index.phr_groups.best(index.phr.dot(model.encode([shared])[0]))
    assert np.allclose(best_phrasing, [1.0, 1.0], atol=1e-5)


async def test_a_full_rebuild_in_a_frozen_process_freezes_the_new_index(sessionmaker):
    """The app freezes its first index (gc.freeze in app/main.py); a rebuilt one is frozen too, or
    full collections would walk it again. Without a freeze (scripts, tests) nothing is frozen."""
    import gc

    from app.settings import ROOT
    from knowledge_base.importer import load_file

    async with sessionmaker() as db:
        await import_articles(db, load_file(ROOT / "knowledge_base" / "demo" / "articles.yaml"), replace=False)
    gc.unfreeze()  # whatever an earlier test froze: this one starts from an unfrozen process
    live = LiveIndex(sessionmaker, check_every_s=0)
    await live.refresh()
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        async with sessionmaker() as db:  # a version change no article explains: a full rebuild
            from knowledge_base.service import bump_version

            await bump_version(db)
            await db.commit()
        frozen = gc.get_freeze_count()
        first = live.index
        await live.refresh()
        assert live.index is not first, "a rebuild"
        assert gc.get_freeze_count() > frozen
        assert not any(o is live.index for o in gc.get_objects()), "the new index is out of the collector's sight"
    finally:
        gc.unfreeze()
