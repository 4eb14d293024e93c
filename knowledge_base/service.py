"""Database functions for the knowledge base, and the live search index every process keeps."""
from __future__ import annotations

import asyncio
import gc
import logging
import time

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from knowledge_base.models import Article, KbVersion
from knowledge_base.search import Doc, Hit, SearchIndex

log = logging.getLogger(__name__)


async def bump_version(db: AsyncSession) -> int:
    """Call inside every transaction that changes articles, and stamp the changed articles'
    change_seq with the number it returns. The UPDATE locks the row until the commit, so versions
    are committed in order."""
    new = await db.scalar(update(KbVersion).where(KbVersion.id == 1).values(version=KbVersion.version + 1)
                          .returning(KbVersion.version))
    if new is None:
        db.add(KbVersion(id=1, version=1))
        await db.flush()
        new = 1
    return new


async def current_version(db: AsyncSession) -> int:
    return await db.scalar(select(KbVersion.version).where(KbVersion.id == 1)) or 0


async def article_count(db: AsyncSession) -> int:
    return len((await db.scalars(select(Article.id))).all())


def as_doc(a: Article) -> Doc:
    return Doc(a.id, a.title, a.body, a.category, tuple(a.questions), tuple(a.tags), a.language, a.translation_group)


async def published_docs(db: AsyncSession) -> list[Doc]:
    rows = await db.scalars(select(Article).where(Article.status == "published", Article.deleted_at.is_(None))
                            .order_by(Article.id))
    return [as_doc(a) for a in rows]


async def changes_since(db: AsyncSession, version: int) -> dict[int, Doc | None]:
    """Articles changed after `version`: the article as the bot should see it, or None (draft,
    trash)."""
    rows = await db.scalars(select(Article).where(Article.change_seq > version))
    return {a.id: as_doc(a) if a.status == "published" and a.deleted_at is None else None for a in rows}


def _report_failure(task: asyncio.Task) -> None:
    """A background refresh that failed (the next check retries): logged, never left unretrieved."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("knowledge-base refresh failed: %s", task.exception())


class LiveIndex:
    """The search index of one process, kept current without a restart. A watcher (`watch`, started
    with the app) checks the database's knowledge-base version every `check_every_s`; when another
    process, the CLI or an editor changed articles, the changed ones (kb_articles.change_seq) go into
    a small delta index built on the big one's statistics, searched next to it, with their old
    versions masked in the big one: a change costs about one article's indexing, whatever the size
    of the knowledge base. Past FOLD_AT changed articles (or a change it cannot see, such as a
    direct UPDATE without change_seq) the whole index is rebuilt in a thread. Searches never wait:
    they use the state of the moment; only the very first one waits for the first build. An editor's
    change in this process is awaited (`refresh(force=True)`) before the editor is answered."""

    FOLD_AT = 200

    def __init__(self, sessionmaker: async_sessionmaker, check_every_s: float = 0.25):
        self._sessionmaker = sessionmaker
        self._check_every_s = check_every_s
        # (base index, ids masked in it, delta index or None), swapped as a whole
        self._state: tuple[SearchIndex, frozenset[int], SearchIndex | None] = (SearchIndex([]), frozenset(), None)
        self._base_ids: frozenset[int] = frozenset()
        self._changed: dict[int, Doc | None] = {}  # since the base was built
        self._docs: dict[int, Doc] = {}
        self._version = -1
        self._checked_at = 0.0
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task | None = None
        self._watching = False

    async def refresh(self, force: bool = False) -> None:
        """Catch up with the database (`force`: now, whatever the time since the last check)."""
        if not force and time.monotonic() - self._checked_at < self._check_every_s:
            return
        async with self._lock:
            if not force and time.monotonic() - self._checked_at < self._check_every_s:
                return
            async with self._sessionmaker() as db:
                version = await current_version(db)
                if version != self._version:
                    changed = await changes_since(db, self._version) if self._version >= 0 else {}
                    if changed and len(self._changed.keys() | changed.keys()) <= self.FOLD_AT:
                        await self._apply(changed)
                    else:
                        await self._rebuild(await published_docs(db))
                    self._version = version
            self._checked_at = time.monotonic()

    async def _rebuild(self, docs: list[Doc]) -> None:
        # Building is CPU work; keep the event loop free for other visitors.
        index = await asyncio.to_thread(SearchIndex, docs)
        self._state, self._base_ids, self._changed = (index, frozenset(), None), frozenset(d.id for d in docs), {}
        self._docs = {d.id: d for d in docs}
        if gc.get_freeze_count():
            # The app froze the first index out of the collector's sight (app/main.py); a rebuilt
            # one would otherwise be walked by every full collection again (~100 ms pauses).
            # Rebuilds are rare (a bulk import): one collection now is the cheaper price.
            gc.collect()
            gc.freeze()

    async def _apply(self, changed: dict[int, Doc | None]) -> None:
        self._changed.update(changed)
        base = self._state[0]
        live = [d for d in self._changed.values() if d is not None]
        delta = await asyncio.to_thread(SearchIndex, live, base=base) if live else None
        self._state = (base, frozenset(self._changed.keys() & self._base_ids), delta)
        for article_id, doc in changed.items():
            if doc is None:
                self._docs.pop(article_id, None)
            else:
                self._docs[article_id] = doc

    async def watch(self) -> None:
        """Run for the app's lifetime: pick up other processes' changes within about a second."""
        self._watching = True  # searches then leave the checking to it
        try:
            while True:
                try:
                    await self.refresh()
                except Exception:  # noqa: BLE001 - a database hiccup must not end the watcher
                    log.exception("knowledge-base refresh failed; retrying")
                await asyncio.sleep(self._check_every_s)
        finally:
            self._watching = False

    async def _current(self) -> None:
        if self._version < 0:
            await self.refresh()  # nothing to answer from yet
        elif not self._watching and (self._pending is None or self._pending.done()):
            # Without a watcher (scripts, tests) a search still notices changes, without waiting.
            self._pending = asyncio.create_task(self.refresh())
            self._pending.add_done_callback(_report_failure)

    async def search(self, query: str, k: int = 3, language: str | None = None) -> list[Hit]:
        """The best articles for a question; `language` ("en", "el"): among that language's
        articles only (the conversation's language), None: among all."""
        await self._current()
        # In a worker thread: the question's embedding (ONNX Runtime, most of a search) releases
        # the GIL, so the event loop goes on storing and sending other visitors' messages meanwhile.
        return await asyncio.to_thread(self._search, self._state, query, k, language)

    @staticmethod
    def _search(state: tuple[SearchIndex, frozenset[int], SearchIndex | None], query: str, k: int,
                language: str | None = None) -> list[Hit]:
        base, masked, delta = state
        hits = [h for h in base.search(query, k=k + len(masked), language=language) if h.article_id not in masked][:k]
        if delta is not None:
            hits = sorted(hits + delta.search(query, k=k, language=language), key=lambda h: (-h.rank, h.article_id))[:k]
        return hits

    async def untranslated(self, query: str, language: str, k: int = 2) -> list[Hit]:
        """Articles in other languages, with no published translation into `language`, on the
        question's topic: what the bot can offer ("only in English") when the visitor's language
        has no answer. Matched through the vocabulary's shared concepts (knowledge_base.synonyms),
        so a Greek or Greeklish question finds English articles; offers, never confident answers."""
        await self._current()
        docs = self._docs
        translated = {d.group for d in docs.values() if d.language == language and d.group}
        return await asyncio.to_thread(self._across, self._state, query, language, k,
                                       frozenset(i for i, d in docs.items() if d.group in translated))

    @staticmethod
    def _across(state, query: str, language: str, k: int, exclude: frozenset[int]) -> list[Hit]:
        base, masked, delta = state
        hits = [h for h in base.across_languages(query, language, k=k + len(masked) + len(exclude))
                if h.article_id not in masked and h.article_id not in exclude]
        if delta is not None:
            hits += [h for h in delta.across_languages(query, language, k=k) if h.article_id not in exclude]
        return sorted(hits, key=lambda h: (-h.rank, h.article_id))[:k]

    async def translation(self, article_id: int, language: str) -> Doc | None:
        """The published article in `language` that translates this one, if any."""
        doc = await self.doc(article_id)
        if doc is None or doc.group is None:
            return None
        if doc.language == language:
            return doc
        return next((d for d in self._docs.values() if d.group == doc.group and d.language == language), None)

    async def has_language(self, language: str) -> bool:
        """Whether any published article is in `language`."""
        await self._current()
        return any(d.language == language for d in self._docs.values())

    async def doc(self, article_id: int) -> Doc | None:
        await self._current()
        return self._docs.get(article_id)

    @property
    def index(self) -> SearchIndex:
        return self._state[0]
