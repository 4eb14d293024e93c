"""Restoring an old revision brings its content back, not its status: a live article restored to a
revision that was saved as a draft stays published, unless the editor chooses a status."""
import pytest

from knowledge_base import articles

ARTICLE = {"title": "Gift wrapping", "body": "We wrap gifts for free.", "category": "Orders",
           "questions": ["do you gift wrap"], "tags": ["gifts"], "language": "en", "status": "draft"}


async def draft_then_published(db):
    a = await articles.create(db, articles.checked(ARTICLE), None)  # revision 1: a draft
    a = await articles.save(db, a.id, articles.checked({**ARTICLE, "body": "We wrap gifts for free, with a card.",
                                                        "status": "published"}), a.revision, None)  # 2: live
    return a


async def test_restoring_a_draft_revision_keeps_a_live_article_published(sessionmaker):
    async with sessionmaker() as db:
        a = await draft_then_published(db)
        a = await articles.revert(db, a.id, 1, a.revision, None)
        assert (a.revision, a.status, a.body) == (3, "published", "We wrap gifts for free.")
        a = await articles.revert(db, a.id, 2, a.revision, None, status="draft")  # the editor chose
        assert (a.revision, a.status, a.body) == (4, "draft", "We wrap gifts for free, with a card.")
        a = await articles.revert(db, a.id, 3, a.revision, None)
        assert a.status == "draft"  # unchanged again: the current status, whatever the revision had


async def test_a_bad_status_changes_nothing(sessionmaker):
    async with sessionmaker() as db:
        a = await draft_then_published(db)
        with pytest.raises(articles.ArticleError) as exc:
            await articles.revert(db, a.id, 1, a.revision, None, status="deleted")
        assert exc.value.code == "bad_field" and exc.value.field == "status"
        assert (await articles.get(db, a.id)).revision == 2
