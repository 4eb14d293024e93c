"""HTTP routes of visitors' data requests and the privacy settings (docs/privacy.md). Admins only:
agents and editors get 403. The visitor is named in the body of a POST (never in a URL, which
access logs keep): `{"email": ...}`, `{"visitor_id": ...}` or `{"conversation_id": ...}`.

- `POST /api/privacy/find`: the conversations and conversions found, to check before acting.
- `POST /api/privacy/export`: everything stored about the visitor, one JSON file (audited).
- `POST /api/privacy/erase`: deletes it everywhere, Rasa's tracker store included (audited; idempotent).
- `GET /api/privacy/audit`: the data requests and retention runs (no personal data in them).
- `GET|PUT /api/privacy/settings`: retention period (days, null = off) and the privacy-notice link.
- `GET /api/privacy/notice`: the privacy-notice link for the widget (public)."""
from __future__ import annotations

import json
import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from accounts.models import User
from accounts.web import ApiError, ApiRoute, json_object, require_roles
from app.db import utcnow
from chat.models import Conversation
from privacy import requests, trackers
from privacy.models import PrivacyAudit, PrivacySettings
from privacy.retention import settings_row

URL = re.compile(r"https?://[^\s<>\"'\\]{1,490}")
MAX_RETENTION_DAYS = 3650


def _subject(body: dict) -> requests.Subject:
    try:
        return requests.check_subject(body)
    except requests.BadRequest as exc:
        raise ApiError(422, "bad_field", str(exc), exc.field) from None


def check_settings(body: dict) -> dict:
    allowed = {"retention_days", "privacy_notice_url"}
    for key in body:
        if key not in allowed:
            raise ApiError(422, "bad_field", f"unknown field '{key}'", key)
    out = {}
    if "retention_days" in body:
        days = body["retention_days"]
        if days is not None and (not isinstance(days, int) or isinstance(days, bool)
                                 or not 1 <= days <= MAX_RETENTION_DAYS):
            raise ApiError(422, "bad_field", f"retention_days: a whole number of days from 1 to {MAX_RETENTION_DAYS}, "
                                             "or null to keep conversations", "retention_days")
        out["retention_days"] = days
    if "privacy_notice_url" in body:
        url = body["privacy_notice_url"]
        if isinstance(url, str) and not url.strip():
            url = None
        if url is not None and (not isinstance(url, str) or not URL.fullmatch(url.strip())):
            raise ApiError(422, "bad_field", "privacy_notice_url: an http(s) address of up to 500 characters, "
                                             "or empty for no link", "privacy_notice_url")
        out["privacy_notice_url"] = url.strip() if url else None
    return out


def settings_dict(row) -> dict:
    return {"retention_days": row.retention_days, "privacy_notice_url": row.privacy_notice_url}


def make_router(ctx) -> APIRouter:
    router = APIRouter(route_class=ApiRoute, prefix="/api/privacy")
    admin = require_roles("admin")

    def tracker_urls() -> list[str]:
        return trackers.store_urls(ctx.settings)

    @router.post("/find")
    async def find(request: Request, _: User = Depends(admin)):
        subject = _subject(await json_object(request))
        async with ctx.sessionmaker() as db:
            found = await requests.find(db, subject)
            convs = list(await db.scalars(select(Conversation).where(Conversation.id.in_(found.conversation_ids))
                                          .order_by(Conversation.created_at))) if found.conversation_ids else []
            browser = await requests.browser_rows(db, found.visitor_ids)
            return {"conversations": requests.summary(convs), "conversions": len(found.conversion_ids),
                    "browser_rows": sum(len(rows) for rows in browser.values())}

    @router.post("/export")
    async def export(request: Request, user: User = Depends(admin)):
        subject = _subject(await json_object(request))
        async with ctx.sessionmaker() as db:
            document = await requests.export(db, subject, tracker_urls=tracker_urls())
            requests.audit(db, "export", subject.kind, user.id,
                           requests.Erased(len(document["conversations"]), len(document["conversions"]),
                                           len(document["rasa_tracker_events"])))
            await db.commit()
        name = f"visitor-data-{utcnow():%Y%m%d-%H%M%S}.json"
        return Response(json.dumps(document, ensure_ascii=False, indent=1), media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @router.post("/erase")
    async def erase(request: Request, user: User = Depends(admin)):
        subject = _subject(await json_object(request))
        async with ctx.sessionmaker() as db:
            try:
                done = await requests.erase(db, subject, tracker_urls=tracker_urls(), user_id=user.id)
            except OSError as exc:  # the tracker store unreachable: nothing was deleted
                raise ApiError(503, "tracker_store_unreachable", f"Rasa's tracker store could not be reached "
                                                                 f"({type(exc).__name__}); nothing was erased, try again") from None
        return {"erased": {"conversations": done.conversations, "conversions": done.conversions,
                           "tracker_events": done.tracker_events, "browser_rows": done.browser_rows}}

    @router.get("/audit")
    async def audit(_: User = Depends(admin)):
        async with ctx.sessionmaker() as db:
            rows = await db.scalars(select(PrivacyAudit).order_by(PrivacyAudit.id.desc()).limit(200))
            return {"entries": [{"at": requests._plain(a.at), "user_id": a.user_id, "action": a.action,
                                 "found_by": a.found_by, "conversations": a.conversations,
                                 "conversions": a.conversions, "tracker_events": a.tracker_events} for a in rows]}

    @router.get("/settings")
    async def get_settings(_: User = Depends(admin)):
        async with ctx.sessionmaker() as db:
            return settings_dict(await db.get(PrivacySettings, 1) or PrivacySettings())

    @router.put("/settings")
    async def put_settings(request: Request, user: User = Depends(admin)):
        values = check_settings(await json_object(request))
        async with ctx.sessionmaker() as db:
            row = await settings_row(db)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_by_id, row.updated_at = user.id, utcnow()
            await db.commit()
            return settings_dict(row)

    @router.get("/notice")
    async def notice():
        async with ctx.sessionmaker() as db:
            row = await db.get(PrivacySettings, 1)
            return {"url": row.privacy_notice_url if row else None}

    return router
