"""Database functions for the knowledge base, and the live search index every process keeps."""
from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge_base.models import Article, KbVersion
from knowledge_base.search import Doc, Hit, SearchIndex

log = logging.getLogger(__name__)


async def bump_version(db: AsyncSession) -> None:
    """Call inside every transaction that changes articles."""
    updated = await db.execute(update(KbVersion).where(KbVersion.id == 1).values(version=KbVersion.version + 1))
    if updated.rowcount == 0:
        db.add(KbVersion(id=1, version=1))


async def current_version(db: AsyncSession) -> int:
    return await db.scalar(select(KbVersion.version).where(KbVersion.id == 1)) or 0


async def article_count(db: AsyncSession) -> int:
    return len((await db.scalars(select(Article.id))).all())


async def published_docs(db: AsyncSession) -> list[Doc]:
    rows = await db.scalars(select(Article).where(Article.status == "published", Article.deleted_at.is_(None))
                            .order_by(Article.id))
    return [Doc(a.id, a.title, a.body, a.category, tuple(a.questions), tuple(a.tags), a.language) for a in rows]


class LiveIndex:
    """The search index of one process. A watcher (`watch`, started with the app) checks the
    database's knowledge-base version every `check_every_s` and rebuilds in a thread when another
    process, the CLI or an editor changed articles: changes reach the bot without a restart.
    Searches never wait for a rebuild (they use the previous index until the new one is swapped
    in), except the very first one; an editor's change in this process is awaited (`refresh(force=True)`)."""

    def __init__(self, sessionmaker: async_sessionmaker, check_every_s: float = 0.25):
        self._sessionmaker = sessionmaker
        self._check_every_s = check_every_s
        self._index = SearchIndex([])
        self._docs: dict[int, Doc] = {}
        self._version = -1
        self._checked_at = 0.0
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task | None = None

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
                    index = await asyncio.to_thread(SearchIndex, docs)
                    self._index, self._docs, self._version = index, {d.id: d for d in docs}, version
            self._checked_at = time.monotonic()

    async def watch(self) -> None:
        """Run for the app's lifetime: pick up other processes' changes within about a second."""
        while True:
            try:
                await self.refresh()
            except Exception:  # noqa: BLE001 - a database hiccup must not end the watcher
                log.exception("knowledge-base refresh failed; retrying")
            await asyncio.sleep(self._check_every_s)

    async def _current(self) -> None:
        if self._version < 0:
            await self.refresh()  # nothing to answer from yet
        elif self._pending is None or self._pending.done():
            # Without a watcher (scripts, tests) a search still notices changes, without waiting.
            self._pending = asyncio.create_task(self.refresh())

    async def search(self, query: str, k: int = 3) -> list[Hit]:
        await self._current()
        return self._index.search(query, k=k)

    async def doc(self, article_id: int) -> Doc | None:
        await self._current()
        return self._docs.get(article_id)

    @property
    def index(self) -> SearchIndex:
        return self._index
