"""Translations of articles (issue 16, docs/editor.md "Languages"): articles that say the same thing
in different languages share kb_articles.translation_group. Editors see which articles lack a
translation into the shop's other languages, and link or unlink translations; the bot uses the link
to offer an English article to a Greek visitor only when no Greek translation exists."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge_base.articles import ArticleError, audit, get
from knowledge_base.models import Article
from knowledge_base.service import bump_version

LANGUAGE_NAMES = {"en": "English", "el": "Ελληνικά"}


def status(rows: list[Article]) -> dict[int, dict]:
    """Per article (not in the trash): its translations ({id, language, title}) and the shop's
    languages it has none in (`missing`)."""
    live = [a for a in rows if a.deleted_at is None]
    languages = sorted({a.language for a in live})
    groups: dict[str, list[Article]] = {}
    for a in live:
        if a.translation_group:
            groups.setdefault(a.translation_group, []).append(a)
    out = {}
    for a in live:
        others = [b for b in groups.get(a.translation_group or "", ()) if b.id != a.id]
        have = {a.language} | {b.language for b in others}
        out[a.id] = {"translations": [{"id": b.id, "language": b.language, "title": b.title} for b in others],
                     "missing": [lang for lang in languages if lang not in have]}
    return out


async def link(db: AsyncSession, article_id: int, other_id: int, user_id: int | None) -> Article:
    """Make `other_id` a translation of `article_id` (it joins the article's group, or both start
    one). Refused: the same article, the same language, an article in the trash, or a group that
    has that language already."""
    if article_id == other_id:
        raise ArticleError(422, "bad_field", "an article cannot be its own translation", "article_id")
    a, b = await get(db, article_id), await get(db, other_id)
    if a.deleted_at is not None or b.deleted_at is not None:
        raise ArticleError(409, "in_trash", "an article in the trash cannot be linked; restore it first")
    if a.language == b.language:
        raise ArticleError(422, "bad_field", f"both articles are in {a.language!r}: a translation is in another "
                           "language", "article_id")
    group = a.translation_group or b.translation_group or f"article-{a.id}"
    members = list(await db.scalars(select(Article).where(Article.translation_group == group,
                                                          Article.id.not_in([a.id, b.id]))))
    if b.translation_group and a.translation_group and a.translation_group != b.translation_group:
        members += list(await db.scalars(select(Article).where(Article.translation_group == b.translation_group,
                                                               Article.id.not_in([a.id, b.id]))))
    taken = {m.language: m for m in members if m.deleted_at is None}
    for lang, m in taken.items():
        if lang in (a.language, b.language):
            raise ArticleError(409, "translation_exists", f"{m.title!r} is already the {lang!r} translation; "
                               "unlink it first", "article_id")
    seq = await bump_version(db)
    for row in (a, b, *members):
        row.translation_group = group
        row.change_seq = seq
    await audit(db, user_id, "linked", "article", a.id, f"linked {a.title!r} ({a.language}) and {b.title!r} "
                f"({b.language}) as translations")
    await db.commit()
    return a


async def unlink(db: AsyncSession, article_id: int, user_id: int | None) -> Article:
    """The article is no longer a translation of the others in its group."""
    a = await get(db, article_id)
    if not a.translation_group:
        raise ArticleError(409, "not_linked", "the article is not linked to a translation")
    seq = await bump_version(db)
    others = list(await db.scalars(select(Article).where(Article.translation_group == a.translation_group,
                                                         Article.id != a.id)))
    a.translation_group, a.change_seq = None, seq
    if len(others) == 1:  # a group of one links nothing
        others[0].translation_group, others[0].change_seq = None, seq
    await audit(db, user_id, "unlinked", "article", a.id, f"unlinked {a.title!r} from its translations")
    await db.commit()
    return a
