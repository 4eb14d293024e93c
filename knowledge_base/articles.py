"""Editing articles (docs/editor.md): every change is a new revision with who made it, saved only
against the revision the editor started from (no silent overwrite), audited, and bumps the
knowledge-base version in the same transaction so every process's search picks it up."""
from __future__ import annotations

import asyncio
import difflib
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import User
from app.db import utcnow
from knowledge_base.importer import ArticleIn, ImportError_, check_article
from knowledge_base.models import Article, ArticleRevision, AuditEntry
from knowledge_base.service import bump_version

log = logging.getLogger(__name__)

TRASH_DAYS = 30
CONTENT = ("title", "body", "category", "questions", "tags", "language", "status")
TEXT_FIELDS = ("title", "body", "category", "language", "status")
LIST_FIELDS = ("questions", "tags")


class ArticleError(Exception):
    """A refused change; nothing was written. `current` is the stored article on a conflict."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None, current: Article | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.current = status, code, message, field, current


def checked(data: object) -> ArticleIn:
    """An article from the API, checked with the import format's rules."""
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k in CONTENT}
    try:
        return check_article(data)
    except ImportError_ as exc:
        raise ArticleError(422, "bad_field", str(exc), exc.field) from None


def content(a: Article | ArticleRevision | ArticleIn) -> dict:
    return {k: (list(getattr(a, k)) if k in LIST_FIELDS else getattr(a, k)) for k in CONTENT}


async def audit(db: AsyncSession, user_id: int | None, action: str, entity: str, entity_id: int | None,
                summary: str) -> None:
    db.add(AuditEntry(user_id=user_id, action=action, entity=entity, entity_id=entity_id, summary=summary[:500]))


async def snapshot(db: AsyncSession, a: Article, action: str, user_id: int | None) -> None:
    db.add(ArticleRevision(article_id=a.id, number=a.revision, action=action, editor_id=user_id, at=utcnow(),
                           **content(a)))
    await audit(db, user_id, action, "article", a.id, f"{action} {a.title!r} (revision {a.revision})")


async def _check_title(db: AsyncSession, title: str, language: str, article_id: int | None) -> None:
    other = await db.scalar(select(Article).where(func.lower(Article.title) == title.lower(),
                                                  Article.language == language, Article.id != (article_id or -1)))
    if other is not None:
        where = " in the trash (restore or rename it)" if other.deleted_at else ""
        raise ArticleError(409, "duplicate_title", f"another article{where} has the title {other.title!r} in "
                           f"language {language!r}", "title")


async def get(db: AsyncSession, article_id: int) -> Article:
    a = await db.get(Article, article_id)
    if a is None:
        raise ArticleError(404, "not_found", f"no article {article_id}")
    return a


async def create(db: AsyncSession, data: ArticleIn, user_id: int | None, *, action: str = "created",
                 commit: bool = True, seq: int | None = None) -> Article:
    """`seq`: the kb_version of a bigger change this is part of (an import); bumped here otherwise."""
    await _check_title(db, data.title, data.language, None)
    a = Article(**content(data), revision=1, updated_by_id=user_id,
                change_seq=seq if seq is not None else await bump_version(db))
    db.add(a)
    await db.flush()
    await snapshot(db, a, action, user_id)
    if commit:
        await db.commit()
    return a


def _action_for(before: str, after: str) -> str:
    if before != after:
        return "published" if after == "published" else "unpublished"
    return "updated"


async def save(db: AsyncSession, article_id: int, data: ArticleIn, base_revision: object, user_id: int | None,
               *, action: str | None = None, commit: bool = True, seq: int | None = None) -> Article:
    """Replace the article's content, if nobody saved since `base_revision`. The compare-and-set is
    one UPDATE ... WHERE revision = base, so two simultaneous saves cannot both win."""
    if not isinstance(base_revision, int) or isinstance(base_revision, bool):
        raise ArticleError(422, "bad_field", "base_revision (the revision you started from) is required", "base_revision")
    a = await get(db, article_id)
    if a.deleted_at is not None:
        raise ArticleError(409, "in_trash", "the article is in the trash; restore it first")
    await _check_title(db, data.title, data.language, article_id)
    before = a.status
    seq = seq if seq is not None else await bump_version(db)
    done = await db.execute(
        update(Article).where(Article.id == article_id, Article.revision == base_revision)
        .values(**content(data), revision=Article.revision + 1, updated_by_id=user_id, updated_at=utcnow(),
                change_seq=seq)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        await db.rollback()
        current = await db.get(Article, article_id, populate_existing=True)
        raise ArticleError(409, "conflict", "someone saved this article after you opened it (revision "
                           f"{current.revision}, yours was {base_revision}); nothing was overwritten", current=current)
    await db.refresh(a)
    await snapshot(db, a, action or _action_for(before, a.status), user_id)
    if commit:
        await db.commit()
    return a


async def _set_deleted(db: AsyncSession, article_id: int, user_id: int | None, deleted: bool) -> Article:
    a = await get(db, article_id)
    if (a.deleted_at is not None) == deleted:
        raise ArticleError(409, "in_trash" if deleted else "not_in_trash",
                           "the article is in the trash already" if deleted else "the article is not in the trash")
    a.deleted_at = utcnow() if deleted else None
    a.revision += 1
    a.updated_by_id = user_id
    a.change_seq = await bump_version(db)
    await db.flush()
    await snapshot(db, a, "deleted" if deleted else "restored", user_id)
    await db.commit()
    return a


async def delete(db: AsyncSession, article_id: int, user_id: int | None) -> Article:
    """To the trash: the bot stops using it at once; restorable for TRASH_DAYS."""
    return await _set_deleted(db, article_id, user_id, True)


async def restore(db: AsyncSession, article_id: int, user_id: int | None) -> Article:
    return await _set_deleted(db, article_id, user_id, False)


async def purge_trash(db: AsyncSession, now: datetime | None = None) -> int:
    """Delete for good what has been in the trash for TRASH_DAYS (revisions go with it)."""
    cutoff = (now or utcnow()) - timedelta(days=TRASH_DAYS)
    old = list(await db.scalars(select(Article).where(Article.deleted_at.is_not(None), Article.deleted_at < cutoff)))
    for a in old:
        await audit(db, None, "purged", "article", a.id, f"purged {a.title!r} after {TRASH_DAYS} days in the trash")
        await db.delete(a)
    if old:
        await db.commit()
    return len(old)


async def purge_trash_forever(sessionmaker, every_s: float = 3600) -> None:
    """Run for the app's lifetime (every process; purging twice is harmless)."""
    while True:
        try:
            async with sessionmaker() as db:
                await purge_trash(db)
        except Exception:  # noqa: BLE001 - try again next time
            log.exception("purging the knowledge-base trash failed")
        await asyncio.sleep(every_s)


async def revisions(db: AsyncSession, article_id: int) -> list[ArticleRevision]:
    await get(db, article_id)
    return list(await db.scalars(select(ArticleRevision).where(ArticleRevision.article_id == article_id)
                                 .order_by(ArticleRevision.number.desc())))


async def revision(db: AsyncSession, article_id: int, number: int) -> ArticleRevision:
    r = await db.scalar(select(ArticleRevision).where(ArticleRevision.article_id == article_id,
                                                      ArticleRevision.number == number))
    if r is None:
        raise ArticleError(404, "not_found", f"article {article_id} has no revision {number}")
    return r


async def revert(db: AsyncSession, article_id: int, number: int, base_revision: object, user_id: int | None,
                 status: object = None) -> Article:
    """The content of an earlier revision becomes the newest one. The article keeps its current
    status (restoring a revision saved as a draft must not take a live article away from the bot)
    unless `status` ("published" or "draft") says otherwise."""
    if status is not None and status not in ("published", "draft"):
        raise ArticleError(422, "bad_field", "status must be 'published' or 'draft' (or left out: unchanged)", "status")
    old = await revision(db, article_id, number)
    data = {k: (tuple(v) if k in LIST_FIELDS else v) for k, v in content(old).items()}
    data["status"] = status or (await get(db, article_id)).status
    return await save(db, article_id, ArticleIn(**data), base_revision, user_id, action="reverted")


async def add_phrasings(db: AsyncSession, article_id: int, questions: list[str], user_id: int | None,
                        *, commit: bool = True) -> tuple[Article, list[str]]:
    """Add the questions the article does not have yet (case and spacing ignored)."""
    a = await get(db, article_id)
    have = {" ".join(q.casefold().split()) for q in a.questions}
    new = []
    for q in questions:
        key = " ".join(q.casefold().split())
        if key and key not in have:
            have.add(key)
            new.append(" ".join(q.split()))
    if not new:
        return a, []
    data = checked({**content(a), "questions": list(a.questions) + new})
    return await save(db, article_id, data, a.revision, user_id, action="phrasings_added", commit=commit), new


def diff(a: ArticleRevision, b: ArticleRevision) -> list[dict]:
    """What changed from revision a to b, field by field (docs/editor.md)."""
    out = []
    for name in CONTENT:
        before, after = getattr(a, name), getattr(b, name)
        if before == after:
            continue
        if name in LIST_FIELDS:
            out.append({"field": name, "added": [x for x in after if x not in before],
                        "removed": [x for x in before if x not in after]})
            continue
        old, new = str(before).split("\n"), str(after).split("\n")
        lines = []
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
            if op == "equal":
                lines += [{"op": "equal", "text": t} for t in old[i1:i2]]
                continue
            lines += [{"op": "delete", "text": t} for t in old[i1:i2]]
            lines += [{"op": "insert", "text": t} for t in new[j1:j2]]
        out.append({"field": name, "lines": lines})
    return out


async def user_names(db: AsyncSession, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: u.display_name for u in await db.scalars(select(User).where(User.id.in_(ids)))}


def iso(t: datetime | None) -> str | None:
    """UTC, with its zone even where the database hands back a naive time (SQLite)."""
    if t is None:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).isoformat()


def who(user_id: int | None, names: dict[int, str]) -> dict | None:
    return {"id": user_id, "name": names.get(user_id, "(deleted user)")} if user_id is not None else None


def article_json(a: Article, names: dict[int, str], *, full: bool = True) -> dict:
    out = {"id": a.id, **content(a), "revision": a.revision, "created_at": iso(a.created_at),
           "updated_at": iso(a.updated_at), "updated_by": who(a.updated_by_id, names),
           "deleted_at": iso(a.deleted_at),
           "purge_at": iso(a.deleted_at + timedelta(days=TRASH_DAYS)) if a.deleted_at else None}
    if not full:
        out["questions_count"] = len(out.pop("questions"))
        out.pop("body")
    return out


def revision_json(r: ArticleRevision, names: dict[int, str], *, full: bool = False) -> dict:
    out = {"number": r.number, "action": r.action, "editor": who(r.editor_id, names), "at": iso(r.at),
           "title": r.title, "status": r.status}
    if full:
        out.update(content(r))
    return out


def as_input(a: Article) -> ArticleIn:
    return ArticleIn(**{k: (tuple(v) if k in LIST_FIELDS else v) for k, v in content(a).items()})

