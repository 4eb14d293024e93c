"""HTTP JSON routes of the agent console (docs/protocol.md, "Agent console HTTP API"): the chat
overview, customer history and search, canned responses, offline messages (tickets), ratings, the
admins' ranking and routing settings. Live work (offers, chats, typing) is on the `/agent` Socket.IO
namespace (handoff/agent_ns.py); these are the reads and the slower actions around it.

Every route needs a logged-in agent or admin (accounts.web.require_roles); state-changing requests
carry `X-Requested-With: shopchat` (checked by accounts.web.current_user). Errors are
`{"error": {"code", "message"}}`. Who may read a conversation is agent_ns.can_read: a chat with an
agent is its owner's and the admins' only."""
from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import func, or_, select

from accounts.models import User
from accounts.web import ApiError, ApiRoute, json_object, require_roles
from app.db import utcnow
from chat import flows
from chat.models import Conversation, Message, Transition
from handoff import notify, ratings, routing, tickets
from handoff.agent_ns import (agent_names, agents_list, can_read, can_write, conversation_dict, queue_view,
                              transcript)
from handoff.models import Assignment, Rating, Ticket
from handoff.notify import iso
from knowledge_base.models import CannedResponse

# A visitor counts as on the site while their widget was seen this recently.
LIVE_WINDOW = timedelta(minutes=10)
# Seen this recently: still on the site now.
STILL_HERE = timedelta(minutes=2)
OPEN_STATES = ("bot", "queued", "assigned", "offline_form")
MAX_ROWS = 200
CONVERSATION_ID = Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$")
TICKET_STATUS = {"not_found": 404, "empty_message": 422, "message_too_long": 422, "not_owner": 403,
                 "ticket_closed": 409}


def snippet(text: str | None, around: str | None = None, width: int = 140) -> str:
    text = " ".join((text or "").split())
    if around:
        i = text.lower().find(around.lower())
        if i > width // 2:
            text = "…" + text[i - width // 3:]
    return text if len(text) <= width else text[:width - 1] + "…"


async def conversation_summaries(db, convs: list[Conversation]) -> list[dict]:
    """Short rows for history and search: who, when, state, the first visitor line, rating."""
    ids = [c.id for c in convs] or ["-"]
    firsts: dict[str, str] = {}
    for cid, text in await db.execute(
            select(Message.conversation_id, Message.text).where(Message.conversation_id.in_(ids),
                                                                 Message.sender == "visitor")
            .order_by(Message.conversation_id, Message.seq)):
        firsts.setdefault(cid, text)
    stars = {cid: s for cid, s in await db.execute(select(Rating.conversation_id, Rating.stars)
                                                    .where(Rating.conversation_id.in_(ids)))}
    # The agents who served each chat (the last one first).
    served: dict[str, list[int]] = {}
    for cid, aid in await db.execute(select(Assignment.conversation_id, Assignment.agent_id)
                                     .where(Assignment.conversation_id.in_(ids))
                                     .order_by(Assignment.started_at.desc())):
        served.setdefault(cid, [])
        if aid not in served[cid]:
            served[cid].append(aid)
    names = await agent_names(db, [a for v in served.values() for a in v] + [c.agent_id for c in convs])
    out = []
    for c in convs:
        out.append({**conversation_dict(c, names), "first_message": snippet(firsts.get(c.id)),
                    "stars": stars.get(c.id), "agents": [names.get(a) for a in served.get(c.id, [])]})
    return out


def make_router(ctx) -> APIRouter:
    router = APIRouter(prefix="/api/console", route_class=ApiRoute)
    agent = require_roles("admin", "agent")
    admin = require_roles("admin")

    async def readable(db, user: User, cid: str) -> Conversation:
        conv = await db.get(Conversation, cid)
        if conv is None:
            raise ApiError(404, "not_found", "no such conversation")
        if not can_read(user, conv):
            raise ApiError(403, "not_owner", "this chat is with another agent")
        return conv

    @router.get("/overview")
    async def overview(user: User = Depends(agent)):
        """Every visitor on the site now: their page, pages seen, time on site, referrer, language and
        the chat's state (with the bot, queued, with an agent)."""
        now = utcnow()
        cut = now - LIVE_WINDOW
        async with ctx.sessionmaker() as db:
            convs = list(await db.scalars(
                select(Conversation).where(Conversation.state.in_(OPEN_STATES),
                                           or_(Conversation.last_seen_at >= cut, Conversation.updated_at >= cut,
                                               Conversation.state.in_(("queued", "assigned"))))
                .order_by(Conversation.created_at.desc()).limit(MAX_ROWS)))
            names = await agent_names(db, [c.agent_id for c in convs])
        visitors = []
        for c in convs:
            row = conversation_dict(c, names)
            first = routing.aware(c.created_at)
            last = max(t for t in (routing.aware(c.last_seen_at), routing.aware(c.updated_at), first) if t)
            if now - last < STILL_HERE:  # the widget is open now: the clock runs
                last = now
            row["time_on_site_s"] = max(0, round((last - first).total_seconds())) if first else None
            row["can_take_over"] = c.state in ("bot", "queued", "offline_form")
            row["can_open"] = can_read(user, c)
            visitors.append(row)
        return {"now": iso(now), "visitors": visitors}

    @router.get("/queue")
    async def queue(_: User = Depends(agent)):
        async with ctx.sessionmaker() as db:
            return {"entries": await queue_view(db, utcnow())}

    @router.get("/agents")
    async def agents(_: User = Depends(agent)):
        async with ctx.sessionmaker() as db:
            return {"agents": await agents_list(db, utcnow())}

    @router.get("/conversations/{cid}")
    async def conversation(cid: str = CONVERSATION_ID, user: User = Depends(agent)):
        """A transcript with the bot's part, notes, the handoff reason and the state history."""
        async with ctx.sessionmaker() as db:
            conv = await readable(db, user, cid)
            messages = await transcript(db, cid)
            names = await agent_names(db, [conv.agent_id])
            transitions = list(await db.scalars(select(Transition).where(Transition.conversation_id == cid)
                                                .order_by(Transition.at, Transition.id)))
            rating = await db.get(Rating, cid)
            linked = list(await db.scalars(select(Ticket).where(Ticket.conversation_id == cid).order_by(Ticket.id)))
        return {
            "chat": {**conversation_dict(conv, names),
                     "can_write": can_write(user, conv) and conv.state == "assigned"},
            "messages": messages,
            "transitions": [{"from": t.from_state, "to": t.to_state, "actor": t.actor, "reason": t.reason,
                             "at": iso(t.at)} for t in transitions],
            "rating": {"stars": rating.stars, "comment": rating.comment, "created_at": iso(rating.created_at)}
            if rating else None,
            "tickets": [tickets.ticket_dict(t) for t in linked],
        }

    @router.get("/conversations/{cid}/history")
    async def history(cid: str = CONVERSATION_ID, user: User = Depends(agent)):
        """Earlier conversations of the same visitor: the same browser or the same e-mail. A chat
        linked only by the e-mail (which the visitor typed, so anyone may have typed it) is marked
        `"linked_by": "email", "unverified": true`; the console says so."""
        async with ctx.sessionmaker() as db:
            conv = await readable(db, user, cid)
            keys = []
            if conv.visitor_id:
                keys.append(Conversation.visitor_id == conv.visitor_id)
            if conv.visitor_email:
                keys.append(func.lower(Conversation.visitor_email) == conv.visitor_email.lower())
            earlier = []
            if keys:
                earlier = [c for c in await db.scalars(
                    select(Conversation).where(or_(*keys), Conversation.id != cid)
                    .order_by(Conversation.created_at.desc()).limit(50)) if can_read(user, c)]
            rows = await conversation_summaries(db, earlier)
            same_browser = {c.id for c in earlier if conv.visitor_id and c.visitor_id == conv.visitor_id}
            for row in rows:
                browser = row["conversation_id"] in same_browser
                row["linked_by"], row["unverified"] = ("browser", False) if browser else ("email", True)
            return {"conversations": rows}

    @router.get("/search")
    async def search(q: str = Query(min_length=2, max_length=200), user: User = Depends(agent)):
        """Past conversations whose messages (or the visitor's name, e-mail, order number) contain
        the words, newest first."""
        q = " ".join(q.split())
        if len(q) < 2:
            raise ApiError(422, "bad_field", "q: type at least 2 characters", "q")
        async with ctx.sessionmaker() as db:
            hits: dict[str, str] = {}
            for cid, text in await db.execute(
                    select(Message.conversation_id, Message.text)
                    .where(Message.text.icontains(q, autoescape=True))
                    .order_by(Message.id.desc()).limit(MAX_ROWS * 5)):
                hits.setdefault(cid, text)
            by_visitor = select(Conversation.id).where(or_(
                Conversation.visitor_name.icontains(q, autoescape=True),
                Conversation.visitor_email.icontains(q, autoescape=True),
                Conversation.order_number.icontains(q, autoescape=True))).limit(MAX_ROWS)
            ids = set(hits) | set(await db.scalars(by_visitor))
            convs = [c for c in await db.scalars(
                select(Conversation).where(Conversation.id.in_(list(ids) or ["-"]))
                .order_by(Conversation.created_at.desc()).limit(MAX_ROWS)) if can_read(user, c)]
            rows = await conversation_summaries(db, convs)
        for row in rows:
            row["match"] = snippet(hits.get(row["conversation_id"]), around=q) if row["conversation_id"] in hits else None
        return {"q": q, "conversations": rows}

    @router.get("/canned")
    async def canned(_: User = Depends(agent)):
        async with ctx.sessionmaker() as db:
            rows = await db.scalars(select(CannedResponse).order_by(CannedResponse.category, CannedResponse.shortcut))
            return {"canned": [{"id": c.id, "shortcut": c.shortcut, "title": c.title, "category": c.category,
                                "text": c.text} for c in rows],
                    "shop_name": ctx.settings.shop_name}

    # ---- offline messages ----------------------------------------------------------------------

    @router.get("/tickets")
    async def open_tickets(_: User = Depends(agent)):
        async with ctx.sessionmaker() as db:
            rows = await tickets.list_open(db)
            convs = {c.id: c for c in await db.scalars(select(Conversation).where(
                Conversation.id.in_([t.conversation_id for t in rows] or ["-"])))}
        return {"tickets": [{**tickets.ticket_dict(t), "visitor": notify.visitor_summary(convs[t.conversation_id])
                             if t.conversation_id in convs else None} for t in rows]}

    @router.post("/tickets/{ticket_id}/reply")
    async def reply_ticket(request: Request, ticket_id: int = Path(ge=1, le=2**31 - 1),
                           user: User = Depends(agent)):
        body = await json_object(request)
        text = body.get("text")
        if not isinstance(text, str):
            raise ApiError(422, "bad_field", "text must be a string", "text")
        async with ctx.sessionmaker() as db:
            try:
                done = await tickets.reply(db, ticket_id, user.id, text, ctx.settings)
            except tickets.TicketError as exc:
                field = "text" if exc.code in ("empty_message", "message_too_long") else None
                raise ApiError(TICKET_STATUS.get(exc.code, 400), exc.code, exc.message, field) from None
        await flows.emit_message(ctx, done.message)
        await notify.tickets_changed(ctx, ticket_id)
        return {"ok": True, "ticket": tickets.ticket_dict(done.ticket), "emailed": done.emailed,
                "message_seq": done.message.seq}

    @router.post("/tickets/{ticket_id}/close")
    async def close_ticket(ticket_id: int = Path(ge=1, le=2**31 - 1), user: User = Depends(agent)):
        async with ctx.sessionmaker() as db:
            try:
                ticket = await tickets.close(db, ticket_id, user.id)
            except tickets.TicketError as exc:
                raise ApiError(TICKET_STATUS.get(exc.code, 400), exc.code, exc.message) from None
        await notify.tickets_changed(ctx, ticket_id)
        return {"ok": True, "ticket": tickets.ticket_dict(ticket)}

    # ---- ratings ---------------------------------------------------------------------------------

    @router.get("/ratings/mine")
    async def my_ratings(user: User = Depends(agent)):
        """The agent's own ratings: a summary and the latest 50 with their comments."""
        async with ctx.sessionmaker() as db:
            all_stars = list(await db.scalars(select(Rating.stars).where(Rating.agent_id == user.id)))
            latest = list(await db.execute(
                select(Rating, Conversation.visitor_name).join(Conversation, Conversation.id == Rating.conversation_id)
                .where(Rating.agent_id == user.id).order_by(Rating.created_at.desc()).limit(50)))
        n = len(all_stars)
        return {
            "summary": {"ratings": n, "avg_stars": round(sum(all_stars) / n, 2) if n else None,
                        "csat": round(sum(1 for s in all_stars if s >= 4) / n, 4) if n else None},
            "ratings": [{"conversation_id": r.conversation_id, "stars": r.stars, "comment": r.comment,
                         "created_at": iso(r.created_at), "visitor_name": name} for r, name in latest],
        }

    @router.get("/ranking")
    async def ranking(days: int = Query(30, ge=1, le=3660), _: User = Depends(admin)):
        async with ctx.sessionmaker() as db:
            rows = await ratings.agent_ranking(db, utcnow() - timedelta(days=days))
        return {"days": days, "agents": rows}

    # ---- routing settings ------------------------------------------------------------------------

    @router.get("/settings")
    async def get_settings(_: User = Depends(agent)):
        async with ctx.sessionmaker() as db:
            return {"settings": await routing.get_settings(db), "strategies": list(routing.STRATEGIES)}

    @router.put("/settings")
    async def put_settings(request: Request, _: User = Depends(admin)):
        """Change the strategy and timers; they apply to the next decision, no restart."""
        body = await json_object(request)
        async with ctx.sessionmaker() as db:
            try:
                values, effects = await routing.update_settings(db, body, now=utcnow())
            except routing.RoutingError as exc:
                field = next((k for k in body if f"'{k}'" in exc.message), None)
                raise ApiError(422, exc.code, exc.message, field) from None
        await notify.publish(ctx, effects)
        return {"ok": True, "settings": values}

    return router
