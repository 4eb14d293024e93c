from sqlalchemy import update

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
