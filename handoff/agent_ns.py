"""The agent Socket.IO namespace `/agent` (docs/protocol.md, "Agent protocol").

A console connects with its login cookie (`shopchat_session`); visitors' session ids are never
accepted here. Every event is checked (`check_*`, BadInput) and every routing decision goes through
handoff/routing.py (one locked transaction) and is then announced by handoff/notify.py. Who may do
what: a chat with an agent is read and written only by that agent and admins; chats with the bot, in
the queue, waiting for the offline form or ended are readable by every agent (take over, customer
history), writable only through the engine (take over)."""
from __future__ import annotations

import asyncio
import logging
from http.cookies import CookieError, SimpleCookie

import socketio
from sqlalchemy import select

from accounts import service as accounts
from accounts.models import CHAT_ROLES, User
from app.context import AppContext
from app.db import utcnow
from attachments.service import strip_sig
from chat import flows, visitor_events
from chat import service as chat_service
from chat.models import Conversation, Message
from chat.visitor_ns import BadInput, check_after_seq, check_object, check_str
from engage import prechat
from handoff import notify, routing
from handoff.models import Assignment, Offer
from handoff.notify import AGENT_NS, AGENTS_ROOM, agent_room, chat_room, iso
from handoff.routing import RoutingError
from knowledge_base import gaps

log = logging.getLogger(__name__)

COOKIE = "shopchat_session"
# States in which any agent may read a chat (take over from the overview, history); a chat with an
# agent ("assigned") is its owner's and the admins' only.
READABLE_BY_ALL = ("bot", "queued", "offline_form", "closed", "rated")
PRESENCE = ("online", "away")


# ---- input checks -----------------------------------------------------------------------------

def check_conversation_id(data: dict) -> str:
    cid = check_str(data, "conversation_id", max_len=32, required=True)
    if not cid or not cid.isalnum():
        raise BadInput("bad_payload", "field 'conversation_id' is not a conversation id")
    return cid


def check_int(data: dict, key: str, *, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise BadInput("bad_payload", f"field '{key}' must be a positive integer")
    return value


def check_bool(data: dict, key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise BadInput("bad_payload", f"field '{key}' must be true or false")
    return value


def check_text(data: dict, max_chars: int) -> str:
    raw = data.get("text")
    if raw is None:
        raise BadInput("bad_payload", "field 'text' is missing")
    if not isinstance(raw, str):
        raise BadInput("bad_payload", "field 'text' must be a string")
    if len(raw) > max_chars:
        raise BadInput("message_too_long", f"a message can be at most {max_chars} characters")
    text = raw.strip()
    if not text:
        raise BadInput("empty_message", "the message is empty")
    return text


def session_token(environ: dict) -> str | None:
    raw = environ.get("HTTP_COOKIE") or ""
    try:
        morsel = SimpleCookie(raw).get(COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel else None


def own_origins(settings) -> set[str]:
    """The console is served by the app itself: only the app's own origin may open /agent (the shops
    of SHOPCHAT_ALLOWED_ORIGINS talk to the visitor namespace only)."""
    own = settings.base_url.rstrip("/")
    return {own, own.replace("127.0.0.1", "localhost"), own.replace("localhost", "127.0.0.1")}


# ---- reads shared with handoff/console_api.py -------------------------------------------------

def can_read(user: User, conv: Conversation) -> bool:
    return user.role == "admin" or conv.agent_id == user.id or conv.state in READABLE_BY_ALL


def can_write(user: User, conv: Conversation) -> bool:
    return user.role == "admin" or (conv.agent_id == user.id and user.role in CHAT_ROLES)


async def agent_names(db, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {u.id: u.display_name for u in await db.scalars(select(User).where(User.id.in_(ids)))}


def conversation_dict(conv: Conversation, names: dict[int, str] | None = None) -> dict:
    """A conversation as the console shows it (never the visitor's secret or browser id)."""
    names = names or {}
    pages = conv.pages if isinstance(conv.pages, list) else []
    return {
        "conversation_id": conv.id,
        "state": conv.state,
        "agent_id": conv.agent_id,
        "agent_name": names.get(conv.agent_id),
        "handoff_reason": conv.handoff_reason,
        "visitor": notify.visitor_summary(conv),
        "referrer": conv.referrer,
        "pages": pages[-50:],
        "pages_seen": len(pages),
        "created_at": iso(conv.created_at),
        "last_seen_at": iso(conv.last_seen_at),
        "closed_at": iso(conv.closed_at),
        "last_seq": conv.last_seq,
    }


def message_view(msg: Message, names: dict[int, str]) -> dict:
    out = strip_sig(chat_service.message_dict(msg))  # an attachment without the visitor's capability
    out["conversation_id"] = msg.conversation_id
    if msg.agent_id is not None:
        out["agent_name"] = names.get(msg.agent_id)
    return out


async def transcript(db, conversation_id: str, after_seq: int = 0) -> list[dict]:
    """Every message after `after_seq`, the bot's part and the agents' notes included."""
    messages = await chat_service.messages_after(db, conversation_id, after_seq, include_notes=True)
    names = await agent_names(db, [m.agent_id for m in messages])
    return [message_view(m, names) for m in messages]


def presence(user: User, settings: dict, now) -> str:
    beat = routing.aware(user.last_heartbeat_at)
    fresh = beat is not None and (now - beat).total_seconds() <= settings["presence_timeout_s"]
    return user.status if fresh and user.status in PRESENCE else "offline"


async def agents_list(db, now) -> list[dict]:
    """Every active agent and admin with presence and load (transfer targets, the admin table)."""
    settings = await routing.get_settings(db)
    running: dict[int, int] = {}
    for (agent_id,) in await db.execute(select(Assignment.agent_id).where(
            Assignment.ended_at.is_(None), Assignment.inactive.is_(False))):
        running[agent_id] = running.get(agent_id, 0) + 1
    users = await db.scalars(select(User).where(User.active.is_(True), User.role.in_(CHAT_ROLES))
                             .order_by(User.display_name))
    return [{"id": u.id, "name": u.display_name, "role": u.role, "presence": presence(u, settings, now),
             "accepting_chats": u.accepting_chats, "max_chats": u.max_chats, "priority": u.priority,
             "running": running.get(u.id, 0)} for u in users]


def me_dict(user: User, settings: dict, now) -> dict:
    return {"id": user.id, "name": user.display_name, "email": user.email, "role": user.role,
            "status": user.status, "presence": presence(user, settings, now),
            "accepting_chats": user.accepting_chats, "max_chats": user.max_chats, "priority": user.priority}


async def queue_view(db, now) -> list[dict]:
    entries = await routing.queue_positions(db, now=now)
    ids = [e["conversation_id"] for e in entries]
    convs = {c.id: c for c in await db.scalars(select(Conversation).where(Conversation.id.in_(ids or ["-"])))}
    for e in entries:
        conv = convs.get(e["conversation_id"])
        e["visitor"] = notify.visitor_summary(conv) if conv is not None else None
    return entries


# ---- the namespace ----------------------------------------------------------------------------

class AgentNamespace(socketio.AsyncNamespace):
    def __init__(self, ctx: AppContext):
        super().__init__(AGENT_NS)
        self.ctx = ctx
        self._tasks: set[asyncio.Task] = set()

    # -- plumbing ---------------------------------------------------------------------------
    async def trigger_event(self, event: str, *args):
        """BadInput and RoutingError become a failed ack (and an `error` event); nothing changed.
        An unexpected exception is logged and answered as `internal_error`, never with silence."""
        try:
            return await super().trigger_event(event, *args)
        except (BadInput, RoutingError, chat_service.ClientIdTaken) as exc:
            code, message = exc.code, exc.message
        except Exception:  # noqa: BLE001 - a bug or an outage: the console must still hear back
            if event in ("connect", "disconnect"):
                raise
            log.exception("agent event %r failed", event)
            code, message = "internal_error", "something went wrong on our side; please try again"
        sid = args[0]
        await self.emit("error", {"code": code, "message": message, "event": event}, to=sid)
        if code == "unauthorized":  # after the ack is on its way
            self._later(self._drop(sid))
        return {"ok": False, "error": {"code": code, "message": message}}

    def _later(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drop(self, sid: str) -> None:
        await asyncio.sleep(0.2)
        await self.disconnect(sid)

    async def _user(self, sid: str, db) -> User:
        """The agent behind this connection, checked again on every event: a logout, a deactivation
        or a role change to editor ends what the socket may do at once."""
        session = await self.get_session(sid)
        user = await accounts.user_for_session(db, session.get("token"), now=utcnow())
        if user is None or user.role not in CHAT_ROLES:
            raise BadInput("unauthorized", "log in again")
        return user

    async def _conversation(self, db, cid: str) -> Conversation:
        conv = await db.get(Conversation, cid, populate_existing=True)
        if conv is None:
            raise BadInput("not_found", "no such chat")
        return conv

    async def _readable(self, db, user: User, cid: str) -> Conversation:
        conv = await self._conversation(db, cid)
        if not can_read(user, conv):
            raise BadInput("not_owner", "this chat is not yours")
        return conv

    async def _writable(self, db, user: User, cid: str) -> Conversation:
        conv = await self._conversation(db, cid)
        if not can_write(user, conv):
            raise BadInput("not_owner", "this chat is not yours")
        if conv.state != "assigned":
            raise BadInput("not_assigned", "this chat is not with an agent; take it over first")
        return conv

    async def _publish(self, effects: routing.Effects) -> None:
        """Tell everyone; notify.publish also moves the chat rooms on every process."""
        await notify.publish(self.ctx, effects)

    # -- connection -------------------------------------------------------------------------
    async def on_connect(self, sid, environ, auth=None):
        origin = (environ.get("HTTP_ORIGIN") or "").rstrip("/")
        if origin and origin not in own_origins(self.ctx.settings):
            raise socketio.exceptions.ConnectionRefusedError("origin not allowed")
        token = session_token(environ)
        async with self.ctx.sessionmaker() as db:
            user = await accounts.user_for_session(db, token, now=utcnow())
        if user is None or user.role not in CHAT_ROLES:
            raise socketio.exceptions.ConnectionRefusedError("unauthorized")
        await self.save_session(sid, {"token": token, "user_id": user.id, "role": user.role})
        await self.enter_room(sid, agent_room(user.id))
        await self.enter_room(sid, AGENTS_ROOM)
        return True

    async def on_disconnect(self, sid, reason=None):
        # Presence comes from heartbeats (another tab may still be open); nothing to do.
        return None

    # -- snapshot and presence --------------------------------------------------------------
    async def on_hello(self, sid, data=None, *_):
        check_object(data)
        now = utcnow()
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            settings = await routing.get_settings(db)
            convs = list(await db.scalars(select(Conversation).where(
                Conversation.agent_id == user.id, Conversation.state == "assigned")
                .order_by(Conversation.updated_at)))
            assignments = {a.conversation_id: a for a in await db.scalars(select(Assignment).where(
                Assignment.agent_id == user.id, Assignment.ended_at.is_(None)))}
            names = await agent_names(db, [user.id])
            offers = list(await db.scalars(select(Offer).where(
                Offer.agent_id == user.id, Offer.status == "pending", Offer.expires_at > now)
                .order_by(Offer.created_at)))
            queue = await queue_view(db, now)
            agents = await agents_list(db, now)
            me = me_dict(user, settings, now)
        chats = []
        for conv in convs:
            await self.enter_room(sid, chat_room(conv.id))
            a = assignments.get(conv.id)
            chats.append({**conversation_dict(conv, names), "inactive": bool(a and a.inactive),
                          "started_at": iso(a.started_at) if a else None})
        return {"ok": True, "now": iso(now), "me": me, "chats": chats,
                "offers": [await notify.offer_dict(self.ctx, o) for o in offers],
                "queue": queue, "settings": settings, "agents": agents}

    async def on_heartbeat(self, sid, data=None, *_):
        data = check_object(data)
        status = data.get("status", "online")
        if status not in PRESENCE:
            raise BadInput("bad_payload", "field 'status' must be 'online' or 'away'")
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            effects = await routing.heartbeat(db, user.id, status=status, now=utcnow())
        await self._publish(effects)
        return {"ok": True, "status": status}

    async def on_sign_off(self, sid, data=None, *_):
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            effects = await routing.sign_off(db, user.id, now=utcnow())
        await self._publish(effects)
        return {"ok": True}

    # -- offers -----------------------------------------------------------------------------
    async def on_accept(self, sid, data=None, *_):
        data = check_object(data)
        offer_id = check_int(data, "offer_id")
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            try:
                effects = await routing.accept(db, offer_id, user.id, now=utcnow())
            except RoutingError as e:
                # A retry whose ack was lost: the offer was accepted by this agent and the chat is theirs.
                offer = await db.get(Offer, offer_id, populate_existing=True)
                if e.code != "offer_gone" or offer is None or offer.agent_id != user.id or offer.status != "accepted":
                    raise
                conv = await db.get(Conversation, offer.conversation_id, populate_existing=True)
                if conv is None or conv.state != "assigned" or conv.agent_id != user.id:
                    raise
                return {"ok": True, "conversation_id": conv.id, "already_accepted": True}
        await self._publish(effects)
        cid = next((c for c, a, _ in effects.assigned if a == user.id), None)
        return {"ok": True, "conversation_id": cid}

    async def on_decline(self, sid, data=None, *_):
        data = check_object(data)
        offer_id = check_int(data, "offer_id")
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            effects = await routing.decline(db, offer_id, user.id, now=utcnow())
        await self._publish(effects)
        return {"ok": True}

    # -- reading a chat ---------------------------------------------------------------------
    async def on_open_chat(self, sid, data=None, *_):
        data = check_object(data)
        cid = check_conversation_id(data)
        after_seq = check_after_seq(data)
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            conv = await self._readable(db, user, cid)
            messages = await transcript(db, cid, after_seq)
            names = await agent_names(db, [conv.agent_id])
            answers = await prechat.answers_for(db, cid)  # the pre-chat form's, all of them
        await self.enter_room(sid, chat_room(cid))
        return {"ok": True, "chat": {**conversation_dict(conv, names), "can_write": can_write(user, conv)
                                     and conv.state == "assigned", "prechat": answers},
                "messages": messages}

    async def on_watch(self, sid, data=None, *_):
        data = check_object(data)
        cid = check_conversation_id(data)
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            await self._readable(db, user, cid)
        await self.enter_room(sid, chat_room(cid))
        return {"ok": True}

    async def on_unwatch(self, sid, data=None, *_):
        data = check_object(data)
        cid = check_conversation_id(data)
        await self.leave_room(sid, chat_room(cid))
        return {"ok": True}

    # -- writing in a chat ------------------------------------------------------------------
    async def on_send(self, sid, data=None, *_):
        data = check_object(data)
        cid = check_conversation_id(data)
        text = check_text(data, self.ctx.settings.max_message_chars)
        client_id = check_str(data, "client_id", max_len=64)
        now = utcnow()
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            await self._writable(db, user, cid)
            names = {user.id: user.display_name}  # read now: a retry's rollback expires `user`
            try:
                stored = await chat_service.add_message(db, conversation_id=cid, sender="agent", text=text,
                                                        client_id=client_id, agent_id=user.id,
                                                        owner_id=None if user.role == "admin" else user.id)
            except chat_service.NotOwner:
                raise BadInput("not_owner", "this chat is not yours") from None
            if not stored.duplicate:
                await routing.note_activity(db, cid, sender="agent", now=now)
        msg = stored.message
        if not stored.duplicate:
            await flows.emit_message(self.ctx, msg, agent_name=names[user.id])
        return {"ok": True, "duplicate": stored.duplicate, "message": message_view(msg, names)}

    async def on_note(self, sid, data=None, *_):
        """An internal note: stored in the transcript, shown to agents only, never to the visitor."""
        data = check_object(data)
        cid = check_conversation_id(data)
        text = check_text(data, self.ctx.settings.max_message_chars)
        client_id = check_str(data, "client_id", max_len=64)
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            conv = await self._conversation(db, cid)
            if not can_write(user, conv):
                raise BadInput("not_owner", "this chat is not yours")
            names = {user.id: user.display_name}  # read now: a retry's rollback expires `user`
            stored = await chat_service.add_message(db, conversation_id=cid, sender="note", text=text,
                                                    client_id=client_id, agent_id=user.id)
        view = message_view(stored.message, names)
        if not stored.duplicate:
            await self.emit("message", view, room=chat_room(cid))
        return {"ok": True, "duplicate": stored.duplicate, "message": view}

    async def on_typing(self, sid, data=None, *_):
        data = check_object(data)
        cid = check_conversation_id(data)
        typing = check_bool(data, "typing")
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            await self._writable(db, user, cid)
        await visitor_events.emit(self.ctx, cid, "agent_typing", {"typing": typing, "agent_name": user.display_name})
        return {"ok": True}

    # -- routing actions on a chat ----------------------------------------------------------
    async def on_take_over(self, sid, data=None, *_):
        data = check_object(data)
        cid = check_conversation_id(data)
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            effects = await routing.take_over(db, cid, user.id, now=utcnow())
            await gaps.note_handoff(db, cid)  # the bot had not served this visitor well enough
        await self._publish(effects)
        return {"ok": True, "conversation_id": cid}

    async def on_transfer(self, sid, data=None, *_):
        data = check_object(data)
        cid = check_conversation_id(data)
        to_agent_id = check_int(data, "to_agent_id", required=False)
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            effects = await routing.transfer(db, cid, user.id, to_agent_id=to_agent_id, now=utcnow(),
                                             is_admin=user.role == "admin")
        await self._publish(effects)
        return {"ok": True, "pending": to_agent_id is not None}

    async def on_return_to_bot(self, sid, data=None, *_):
        data = check_object(data)
        cid = check_conversation_id(data)
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            effects = await routing.return_to_bot(db, cid, user.id, now=utcnow(), is_admin=user.role == "admin")
        await self._publish(effects)
        return {"ok": True}

    @staticmethod
    async def _closed_by(db, user: User, conv: Conversation) -> bool:
        """Whether `user` was the closed chat's last owner (or is an admin)."""
        if user.role == "admin":
            return True
        last = await db.scalar(select(Assignment.agent_id).where(Assignment.conversation_id == conv.id)
                               .order_by(Assignment.started_at.desc(), Assignment.id.desc()).limit(1))
        return last == user.id and user.role in CHAT_ROLES

    async def on_close(self, sid, data=None, *_):
        data = check_object(data)
        cid = check_conversation_id(data)
        async with self.ctx.sessionmaker() as db:
            user = await self._user(sid, db)
            conv = await self._conversation(db, cid)
            if conv.state in ("closed", "rated") and await self._closed_by(db, user, conv):
                # A retry whose first ack was lost (a slow answer, a reconnect): the chat is closed, as asked.
                return {"ok": True, "already_closed": True}
            if not can_write(user, conv):
                raise BadInput("not_owner", "this chat is not yours")
            effects = await routing.close(db, cid, actor=f"agent:{user.id}", agent_id=user.id,
                                          is_admin=user.role == "admin", now=utcnow())
        await self._publish(effects)
        return {"ok": True}
