"""Importing and exporting the whole knowledge base (README "Import format", docs/editor.md): a plan
of what would be added, changed and removed, shown as a dry run or applied in one transaction,
with a revision and an audit entry for every article it touches."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from knowledge_base import articles
from knowledge_base.importer import ArticleIn, dump
from knowledge_base.models import Article
from knowledge_base.service import bump_version


def _key(title: str, language: str) -> tuple[str, str]:
    return title.casefold(), language


async def import_articles(db: AsyncSession, incoming: list[ArticleIn], *, replace: bool, dry_run: bool = False,
                          user_id: int | None = None) -> dict:
    """Add the file's articles, updating those with the same title and language (a trashed one is
    restored); with `replace`, every other article goes to the trash. Returns the plan: `added`,
    `changed` (title and field names), `removed` (titles), `unchanged` (a count)."""
    existing = {_key(a.title, a.language): a for a in await db.scalars(select(Article).order_by(Article.id))}
    plan: dict = {"dry_run": dry_run, "added": [], "changed": [], "removed": [], "unchanged": 0}
    work: list[tuple[Article | None, ArticleIn]] = []
    for new in incoming:
        row = existing.pop(_key(new.title, new.language), None)
        if row is None:
            plan["added"].append(new.title)
            work.append((None, new))
            continue
        fields = [k for k, v in articles.content(new).items() if v != articles.content(row)[k]]
        if new.translation_group is not None and new.translation_group != row.translation_group:
            fields.append("translation_group")
        if row.deleted_at is not None:
            fields.append("restored from the trash")
        if fields:
            plan["changed"].append({"title": new.title, "fields": fields})
            work.append((row, new))
        else:
            plan["unchanged"] += 1
    gone = [a for a in existing.values() if a.deleted_at is None] if replace else []
    plan["removed"] = [a.title for a in gone]
    if dry_run:
        return plan
    seq = await bump_version(db)  # one version for the whole import
    for row, new in work:
        if row is None:
            row = await articles.create(db, new, user_id, action="imported", commit=False, seq=seq)
        else:
            row.deleted_at = None
            await db.flush()
            row = await articles.save(db, row.id, new, row.revision, user_id, action="imported", commit=False, seq=seq)
        if new.translation_group is not None:
            row.translation_group = new.translation_group
    for a in gone:
        a.deleted_at = utcnow()
        a.revision += 1
        a.updated_by_id = user_id
        a.change_seq = seq
        await db.flush()
        await articles.snapshot(db, a, "deleted", user_id)
    await articles.audit(db, user_id, "imported", "import", None,
                         f"{'replace' if replace else 'merge'}: {len(plan['added'])} added, "
                         f"{len(plan['changed'])} changed, {len(plan['removed'])} moved to the trash")
    await db.commit()
    return plan


async def export(db: AsyncSession, fmt: str) -> str:
    """Every article not in the trash, drafts included, oldest first."""
    rows = await db.scalars(select(Article).where(Article.deleted_at.is_(None)).order_by(Article.id))
    return dump([replace(articles.as_input(a), translation_group=a.translation_group) for a in rows], fmt)
