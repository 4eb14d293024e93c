"""Canned responses agents insert with #shortcut: checked, upserted, edited by editors (audited)."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge_base.articles import ArticleError, audit, iso
from knowledge_base.models import CannedResponse

SHORTCUT = re.compile(r"^[a-z0-9_-]{1,50}$")
VARIABLES = ("visitor_name", "agent_name", "shop_name", "order_number")
LIMITS = {"title": 200, "category": 100, "text": 5000}


def check(data: object) -> dict:
    """The fields of a canned response, or ArticleError(422) naming the field."""
    if not isinstance(data, dict):
        raise ArticleError(422, "bad_field", "the body must be an object with shortcut, title, category, text")
    out = {}
    for name in ("shortcut", "title", "category", "text"):
        value = data.get(name, "General" if name == "category" else None)
        if not isinstance(value, str) or not value.strip():
            raise ArticleError(422, "bad_field", f"field {name!r} must be a non-empty string", name)
        out[name] = value.strip()
    out["shortcut"] = out["shortcut"].lstrip("#").lower()
    if not SHORTCUT.match(out["shortcut"]):
        raise ArticleError(422, "bad_field", "field 'shortcut': 1-50 characters of a-z, 0-9, _ and -", "shortcut")
    for name, limit in LIMITS.items():
        if len(out[name]) > limit:
            raise ArticleError(422, "bad_field", f"field {name!r} is longer than {limit} characters", name)
    unknown = sorted(set(re.findall(r"\{(\w+)\}", out["text"])) - set(VARIABLES))
    if unknown:
        raise ArticleError(422, "bad_field", f"field 'text': unknown variable {{{unknown[0]}}}; use "
                           + ", ".join("{" + v + "}" for v in VARIABLES), "text")
    return out


def canned_json(c: CannedResponse) -> dict:
    return {"id": c.id, "shortcut": c.shortcut, "title": c.title, "category": c.category, "text": c.text,
            "updated_at": iso(c.updated_at)}


async def _unique(db: AsyncSession, shortcut: str, canned_id: int | None) -> None:
    other = await db.scalar(select(CannedResponse).where(CannedResponse.shortcut == shortcut,
                                                         CannedResponse.id != (canned_id or -1)))
    if other is not None:
        raise ArticleError(409, "duplicate_shortcut", f"#{shortcut} is taken by {other.title!r}", "shortcut")


async def create(db: AsyncSession, data: object, user_id: int | None) -> CannedResponse:
    fields = check(data)
    await _unique(db, fields["shortcut"], None)
    row = CannedResponse(**fields, updated_by_id=user_id)
    db.add(row)
    await db.flush()
    await audit(db, user_id, "created", "canned", row.id, f"created #{row.shortcut}")
    await db.commit()
    return row


async def update(db: AsyncSession, canned_id: int, data: object, user_id: int | None) -> CannedResponse:
    row = await _get(db, canned_id)
    fields = check(data)
    await _unique(db, fields["shortcut"], canned_id)
    changed = [k for k, v in fields.items() if getattr(row, k) != v]
    for k, v in fields.items():
        setattr(row, k, v)
    row.updated_by_id = user_id
    await audit(db, user_id, "updated", "canned", row.id, f"updated #{row.shortcut}: {', '.join(changed) or 'no change'}")
    await db.commit()
    return row


async def delete(db: AsyncSession, canned_id: int, user_id: int | None) -> None:
    row = await _get(db, canned_id)
    await audit(db, user_id, "deleted", "canned", row.id, f"deleted #{row.shortcut} ({row.title!r}): {row.text[:300]}")
    await db.delete(row)
    await db.commit()


async def _get(db: AsyncSession, canned_id: int) -> CannedResponse:
    row = await db.get(CannedResponse, canned_id)
    if row is None:
        raise ArticleError(404, "not_found", f"no canned response {canned_id}")
    return row


async def import_canned(db: AsyncSession, items: list[dict]) -> int:
    """Upsert canned responses by shortcut (the demo content)."""
    existing = {c.shortcut: c for c in await db.scalars(select(CannedResponse))}
    for item in items:
        row = existing.get(item["shortcut"]) or CannedResponse(shortcut=item["shortcut"])
        row.title, row.text, row.category = item["title"], item["text"], item.get("category", "General")
        db.add(row)
    await db.commit()
    return len(items)
