"""HTTP routes of engage/: the loader's beat (public, any shop origin), the console's live visitors
and "Invite to chat", the admins' invitation rules and invitation report, the pre-chat form's and
the appearance's settings (engage/appearance.py: the loader's /engage/launcher, the chat's
/engage/appearance)."""
from __future__ import annotations

import json
import time
from datetime import timedelta

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from accounts.models import User
from accounts.web import ApiError, ApiRoute, client_key, json_object, read_body, require_roles
from app.db import utcnow
from chat import visitor_events
from chat.models import Conversation
from chat import service as chat_service
from engage import appearance, prechat
from engage import rules as rules_mod
from engage import service
from engage.models import InvitationRule, LiveVisitor
from handoff.agent_ns import agent_names, can_read, conversation_dict
from handoff.notify import iso

MAX_BEAT = 8_000
# Beats one address may send a minute (a shop's visitors behind one NAT share it).
BEATS_PER_MIN = 600
CORS = {"Access-Control-Allow-Origin": "*"}
REF = Path(min_length=16, max_length=16, pattern=r"^[0-9a-f]+$")
RULE_ID = Path(ge=1, le=2**31 - 1)


class Limiter:
    """At most `per_min` hits a key per minute, counted in this process (a fixed window)."""

    def __init__(self, per_min: int):
        self.per_min, self.window, self.counts = per_min, 0, {}

    def allow(self, key: str) -> bool:
        window = int(time.monotonic() // 60)
        if window != self.window:
            self.window, self.counts = window, {}
        self.counts[key] = self.counts.get(key, 0) + 1
        return self.counts[key] <= self.per_min


def _rule_json(rule: InvitationRule) -> dict:
    return {"id": rule.id, "name": rule.name, "enabled": rule.enabled, "position": rule.position,
            "url_pattern": rule.url_pattern, "min_time_on_page_s": rule.min_time_on_page_s,
            "min_pages_seen": rule.min_pages_seen, "visitor": rule.visitor,
            "referrer_contains": rule.referrer_contains, "when": rule.when, "messages": rule.messages,
            "cap_hours": rule.cap_hours, "updated_at": iso(rule.updated_at)}


def _rule_error(exc: rules_mod.RuleError) -> ApiError:
    return ApiError(422, "bad_field", exc.message, exc.field)


STATUS = {"not_on_site": 404, "chatting": 409, "empty_message": 422, "message_too_long": 422}


def make_router(ctx) -> APIRouter:
    router = APIRouter(route_class=ApiRoute)
    agent = require_roles("admin", "agent")
    admin = require_roles("admin")
    limiter = Limiter(BEATS_PER_MIN)
    last_purge = [0.0]

    @router.post("/engage/beat", include_in_schema=False)
    async def beat(request: Request):
        """The loader's page view, heartbeat, goodbye or invitation event. A simple CORS request
        (text/plain, no cookies), so a beat costs no preflight."""
        if not limiter.allow(client_key(request)):
            return JSONResponse({"error": {"code": "rate_limited", "message": "too many beats"}}, 429, headers=CORS)
        try:
            data = json.loads(await read_body(request, MAX_BEAT))
            checked = service.check_beat(data)
        except ApiError as exc:
            return JSONResponse({"error": exc.detail}, exc.status_code, headers=CORS)
        except (ValueError, RecursionError):
            return JSONResponse({"error": {"code": "bad_json", "message": "the body must be JSON"}}, 400, headers=CORS)
        except service.BeatError as exc:
            return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, 422, headers=CORS)
        async with ctx.sessionmaker() as db:
            try:
                out = await service.beat(db, checked, now=utcnow(), heartbeat_s=ctx.settings.engage_heartbeat_s)
            except service.BeatError as exc:
                return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, 403, headers=CORS)
        return JSONResponse(out, headers=CORS)

    @router.get("/api/console/visitors")
    async def visitors(user: User = Depends(agent)):
        """Who is on the site now (heard from within a minute): current page, pages seen this visit,
        referrer, time on site and on the page, new or returning, and their chat if any. Chats whose
        visitor has no loader (a Rasa client on its own page) are listed while connected here."""
        now = utcnow()
        async with ctx.sessionmaker() as db:
            if time.monotonic() - last_purge[0] > 600:
                last_purge[0] = time.monotonic()
                await service.forget_gone(db, now=now)
            live = await service.live_visitors(db, now=now)
            ids = [v.visitor_id for v in live] or ["-"]
            convs = {}
            for c in await db.scalars(select(Conversation).where(Conversation.visitor_id.in_(ids),
                                                                Conversation.state.in_(service.OPEN_STATES))
                                      .order_by(Conversation.created_at)):
                convs[c.visitor_id] = c  # the newest open chat of each visitor
            # Chats connected to this process whose visitor sends no beats, or was active just now.
            local = _connected_conversations(ctx)
            others = list(await db.scalars(select(Conversation).where(
                Conversation.state.in_(service.OPEN_STATES),
                Conversation.id.in_(local or ["-"]) | (Conversation.updated_at >= now - service.GONE_AFTER)
                | (Conversation.last_seen_at >= now - service.GONE_AFTER)).limit(200)))
            # A visitor the loader reports on is on the site exactly while its beats say so.
            beating = set(await db.scalars(select(LiveVisitor.visitor_id).where(
                LiveVisitor.visitor_id.in_([c.visitor_id for c in others if c.visitor_id] or ["-"]))))
            others = [c for c in others if c.visitor_id not in beating]
            names = await agent_names(db, [c.agent_id for c in [*convs.values(), *others]])
        rows = [_visitor_row(v, convs.get(v.visitor_id), names, user, now) for v in live]
        rows += [_chat_row(c, names, user, now) for c in others]
        return {"now": iso(now), "visitors": rows}

    @router.post("/api/console/visitors/{ref}/invite")
    async def invite(request: Request, ref: str = REF, user: User = Depends(agent)):
        body = await json_object(request)
        message = body.get("message")
        if not isinstance(message, str):
            raise ApiError(422, "bad_field", "message must be text", "message")
        async with ctx.sessionmaker() as db:
            try:
                return await service.invite(db, ref=ref, message=message, agent_id=user.id,
                                            agent_name=user.display_name, now=utcnow())
            except service.BeatError as exc:
                raise ApiError(STATUS.get(exc.code, 400), exc.code, exc.message) from None

    # ---- invitation rules (admins) ----------------------------------------------------------
    @router.get("/api/engage/rules")
    async def list_rules(_: User = Depends(admin)):
        async with ctx.sessionmaker() as db:
            rules = await db.scalars(select(InvitationRule).order_by(InvitationRule.position, InvitationRule.id))
            return {"rules": [_rule_json(r) for r in rules]}

    @router.post("/api/engage/rules", status_code=201)
    async def create_rule(request: Request, _: User = Depends(admin)):
        try:
            values = rules_mod.check_rule(await json_object(request))
        except rules_mod.RuleError as exc:
            raise _rule_error(exc) from None
        async with ctx.sessionmaker() as db:
            rule = InvitationRule(**values)
            db.add(rule)
            await db.commit()
            return _rule_json(rule)

    @router.put("/api/engage/rules/{rule_id}")
    async def update_rule(request: Request, rule_id: int = RULE_ID, _: User = Depends(admin)):
        try:
            values = rules_mod.check_rule(await json_object(request))
        except rules_mod.RuleError as exc:
            raise _rule_error(exc) from None
        async with ctx.sessionmaker() as db:
            rule = await db.get(InvitationRule, rule_id)
            if rule is None:
                raise ApiError(404, "not_found", "no such rule")
            for key, value in values.items():
                setattr(rule, key, value)
            await db.commit()
            return _rule_json(rule)

    @router.delete("/api/engage/rules/{rule_id}")
    async def delete_rule(rule_id: int = RULE_ID, _: User = Depends(admin)):
        async with ctx.sessionmaker() as db:
            rule = await db.get(InvitationRule, rule_id)
            if rule is None:
                raise ApiError(404, "not_found", "no such rule")
            await db.delete(rule)
            await db.commit()
        return {"ok": True}

    @router.get("/api/engage/report")
    async def report(days: int = Query(30, ge=1, le=366), _: User = Depends(admin)):
        """Invitations shown, accepted, dismissed and chats started over the last `days` days."""
        now = utcnow()
        async with ctx.sessionmaker() as db:
            counts = await service.invitation_counts(db, since=now - timedelta(days=days), until=now)
        return {"days": days, **counts}

    # ---- the pre-chat form (engage/prechat.py) -------------------------------------------------
    @router.get("/api/engage/prechat")
    async def get_prechat(_: User = Depends(admin)):
        async with ctx.sessionmaker() as db:
            return await prechat.get_config(db)

    @router.put("/api/engage/prechat")
    async def put_prechat(request: Request, _: User = Depends(admin)):
        try:
            config = prechat.check_config(await json_object(request))
        except rules_mod.RuleError as exc:
            raise _rule_error(exc) from None
        async with ctx.sessionmaker() as db:
            return await prechat.put_config(db, config)

    # ---- the widget's appearance (engage/appearance.py) ---------------------------------------
    @router.get("/api/engage/appearance")
    async def get_appearance(_: User = Depends(admin)):
        async with ctx.sessionmaker() as db:
            return await appearance.get_config(db)

    @router.put("/api/engage/appearance")
    async def put_appearance(request: Request, _: User = Depends(admin)):
        try:
            config = appearance.check_config(await json_object(request, 64_000))
        except rules_mod.RuleError as exc:
            raise _rule_error(exc) from None
        async with ctx.sessionmaker() as db:
            return await appearance.put_config(db, config)

    @router.get("/engage/appearance", include_in_schema=False)
    async def public_appearance():
        """The chat iframe's (same origin): everything, the custom CSS included."""
        async with ctx.sessionmaker() as db:
            config = await appearance.get_config(db)
        return JSONResponse(config, headers={"Cache-Control": "public, max-age=60"})

    @router.get("/engage/launcher", include_in_schema=False)
    async def public_launcher():
        """The loader's, from any shop's page (a simple CORS GET, no cookies): the launcher only.
        Browsers keep it a minute, so most page views do not ask again."""
        async with ctx.sessionmaker() as db:
            part = appearance.launcher_part(await appearance.get_config(db))
        return JSONResponse(part, headers={**CORS, "Cache-Control": "public, max-age=60"})

    @router.get("/engage/prechat", include_in_schema=False)
    async def public_prechat():
        """What the chat shows (the admins' settings hold nothing secret)."""
        async with ctx.sessionmaker() as db:
            return await prechat.get_config(db)

    @router.post("/engage/prechat", include_in_schema=False)
    async def answer_prechat(request: Request):
        """A visitor's answers, for their own conversation (named by its secret session id)."""
        body = await json_object(request, 8_000)
        token = body.get("session_id")
        if not isinstance(token, str) or not 0 < len(token) <= 100:
            raise ApiError(422, "bad_field", "session_id is missing", "session_id")
        async with ctx.sessionmaker() as db:
            conv = await chat_service.find_by_token(db, token)
            if conv is None:
                raise ApiError(404, "unknown_session", "unknown session")
            try:
                answers = prechat.check_answers(await prechat.get_config(db), body.get("answers"))
            except rules_mod.RuleError as exc:
                raise _rule_error(exc) from None
            await prechat.save_answers(db, conv, answers)
        # mode `person`: the handoff that brought the form goes on (engage/prechat.py)
        handoff = await prechat.continue_handoff(ctx, conv.id, body.get("handoff"))
        return {"ok": True, "answers": answers, "handoff": handoff}

    return router


def _connected_conversations(ctx) -> list[str]:
    """Conversations with a visitor socket on this process now (rooms of chat/visitor_events.py)."""
    rooms = ctx.sio.manager.rooms.get("/", {})
    prefixes = (visitor_events.ext_room(""), visitor_events.plain_room(""))
    out = {name.split(":", 1)[1] for name, members in rooms.items()
           if members and isinstance(name, str) and name.startswith(prefixes)}
    return sorted(out)[:500]


def _chat_part(conv: Conversation | None, names: dict, user: User) -> dict:
    if conv is None:
        return {"conversation_id": None, "state": None, "chatting": False, "can_open": False,
                "can_take_over": False, "agent_name": None, "visitor": {}}
    row = conversation_dict(conv, names)
    return {"conversation_id": conv.id, "state": conv.state, "chatting": True, "agent_name": row["agent_name"],
            "visitor": row["visitor"], "can_open": can_read(user, conv),
            "can_take_over": conv.state in ("bot", "queued", "offline_form")}


def _visitor_row(v, conv, names, user, now) -> dict:
    started = service._aware(v.visit_started_at)
    page_at = service._aware(v.page_started_at)
    chat = _chat_part(conv, names, user)
    return {**chat, "ref": v.ref, "page_url": v.page_url, "page_title": v.page_title,
            "pages": [{"url": p.get("u"), "title": p.get("t"), "at": p.get("at")} for p in v.pages or []],
            "pages_seen": v.pages_seen, "referrer": v.referrer, "language": v.language,
            "returning": v.visit_no > 1, "visit_no": v.visit_no,
            "time_on_site_s": max(0, round((now - started).total_seconds())) if started else None,
            "time_on_page_s": max(0, round((now - page_at).total_seconds())) if page_at else None,
            "invited": bool(v.invite), "can_invite": not chat["chatting"]}


def _chat_row(conv, names, user, now) -> dict:
    """A chat whose visitor sends no beats: what the conversation itself knows."""
    chat = _chat_part(conv, names, user)
    pages = conv.pages if isinstance(conv.pages, list) else []
    first = service._aware(conv.created_at)
    return {**chat, "ref": None, "page_url": conv.page_url, "page_title": conv.page_title, "pages": pages[-20:],
            "pages_seen": len(pages), "referrer": conv.referrer, "language": conv.language, "returning": None,
            "visit_no": None, "time_on_site_s": max(0, round((now - first).total_seconds())) if first else None,
            "time_on_page_s": None, "invited": False, "can_invite": False}
