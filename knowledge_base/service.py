"""Database functions for the knowledge base, and the live search index every process keeps."""
from __future__ import annotations

import asyncio
import time

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge_base.importer import ArticleIn
from knowledge_base.models import Article, CannedResponse, KbVersion
from knowledge_base.search import Doc, Hit, SearchIndex


async def bump_version(db: AsyncSession) -> None:
    """Call inside every transaction that changes articles."""
    updated = await db.execute(update(KbVersion).where(KbVersion.id == 1).values(version=KbVersion.version + 1))
    if updated.rowcount == 0:
        db.add(KbVersion(id=1, version=1))


async def current_version(db: AsyncSession) -> int:
    return await db.scalar(select(KbVersion.version).where(KbVersion.id == 1)) or 0


async def import_articles(db: AsyncSession, articles: list[ArticleIn], *, replace: bool) -> dict[str, int]:
    """Add the articles, updating those with the same title and language; with `replace`, the
    file becomes the whole knowledge base. One transaction: all or nothing."""
    counts = {"added": 0, "updated": 0, "removed": 0}
    if replace:
        result = await db.execute(delete(Article))
        counts["removed"] = result.rowcount or 0
    existing = {} if replace else {(a.title.casefold(), a.language): a for a in await db.scalars(select(Article))}
    for a in articles:
        fields = dict(title=a.title, body=a.body, category=a.category, questions=list(a.questions),
                      tags=list(a.tags), language=a.language, status=a.status)
        row = existing.get((a.title.casefold(), a.language))
        if row is None:
            db.add(Article(**fields))
            counts["added"] += 1
        else:
            for k, v in fields.items():
                setattr(row, k, v)
            counts["updated"] += 1
    await bump_version(db)
    await db.commit()
    return counts


async def article_count(db: AsyncSession) -> int:
    return len((await db.scalars(select(Article.id))).all())


async def published_docs(db: AsyncSession) -> list[Doc]:
    rows = await db.scalars(select(Article).where(Article.status == "published").order_by(Article.id))
    return [Doc(a.id, a.title, a.body, a.category, tuple(a.questions), tuple(a.tags), a.language) for a in rows]


async def import_canned(db: AsyncSession, items: list[dict]) -> int:
    """Upsert canned responses by shortcut."""
    existing = {c.shortcut: c for c in await db.scalars(select(CannedResponse))}
    for item in items:
        row = existing.get(item["shortcut"]) or CannedResponse(shortcut=item["shortcut"])
        row.title, row.text, row.category = item["title"], item["text"], item.get("category", "General")
        db.add(row)
    await db.commit()
    return len(items)


class LiveIndex:
    """The search index of one process. Before a search it checks (at most every
    `check_every_s`) the database's knowledge-base version and rebuilds when another process,
    the CLI or an editor changed articles: changes reach the bot without a restart."""

    def __init__(self, sessionmaker: async_sessionmaker, check_every_s: float = 0.5):
        self._sessionmaker = sessionmaker
        self._check_every_s = check_every_s
        self._index = SearchIndex([])
        self._docs: dict[int, Doc] = {}
        self._version = -1
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    async def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked_at < self._check_every_s:
            return
        async with self._lock:
            if not force and time.monotonic() - self._checked_at < self._check_every_s:
                return
            async with self._sessionmaker() as db:
                version = await current_version(db)
                if force or version != self._version:
                    docs = await published_docs(db)
                    # Building is CPU work; keep the event loop free for other visitors.
                    self._index = await asyncio.to_thread(SearchIndex, docs)
                    self._docs = {d.id: d for d in docs}
                    self._version = version
            self._checked_at = time.monotonic()

    async def search(self, query: str, k: int = 3) -> list[Hit]:
        await self.refresh()
        return self._index.search(query, k=k)

    async def doc(self, article_id: int) -> Doc | None:
        await self.refresh()
        return self._docs.get(article_id)

    @property
    def index(self) -> SearchIndex:
        return self._index
