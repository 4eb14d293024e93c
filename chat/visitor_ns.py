"""The visitor Socket.IO namespace (docs/protocol.md). `check_*` functions validate untrusted
input and raise BadInput; handlers then act through chat.service and chat.flows."""
from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections import deque

import socketio
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import User
from app.context import AppContext
from app.db import utcnow
from chat import flows, service, turns, visitor_events
from chat.models import Conversation, Transition
from handoff import mailer, notify, ratings, routing, tickets
from handoff.models import Ticket

VISITOR_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Sequence numbers are 32-bit integers in the database; a larger after_seq cannot even be queried.
MAX_SEQ = 2**31 - 1
log = logging.getLogger(__name__)
# Pages kept per conversation for the agents' overview (newest last).
MAX_PAGES = 50
# `typing` events relayed per connection per second; more are dropped.
TYPING_PER_S = 5
# Agents see the visitor's draft only while a person is (or is about to be) with the chat.
TYPING_STATES = ("queued", "assigned")


class BadInput(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def check_object(data: object) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInput("bad_payload", "the payload must be a JSON object")
    return data


def check_str(data: dict, key: str, *, max_len: int, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise BadInput("bad_payload", f"field '{key}' is missing")
        return None
    if not isinstance(value, str):
        raise BadInput("bad_payload", f"field '{key}' must be a string")
    if len(value) > max_len:
        raise BadInput("bad_payload", f"field '{key}' is longer than {max_len} characters")
    return check_nul(value, key)


def check_nul(value: str, key: str) -> str:
    """No text a visitor sends may hold a NUL character (PostgreSQL refuses to store one) or a lone
    surrogate (JSON's "\\ud800": not a character, UTF-8 cannot encode it, no database stores it)."""
    if "\x00" in value:
        raise BadInput("bad_payload", f"field '{key}' contains a NUL character")
    if LONE_SURROGATE.search(value):
        raise BadInput("bad_payload", f"field '{key}' contains a lone surrogate (not a character)")
    return value


def check_page(value: object) -> dict | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadInput("bad_payload", "field 'page' must be an object")
    return {k: check_str(value, k, max_len=2000) for k in ("url", "title", "referrer")}


def check_message(data: dict, max_chars: int) -> tuple[str, str | None, str | None]:
    raw = data.get("message")
    if raw is None:
        raise BadInput("bad_payload", "field 'message' is missing")
    if not isinstance(raw, str):
        raise BadInput("bad_payload", "field 'message' must be a string")
    if len(raw) > max_chars:
        raise BadInput("message_too_long", f"a message can be at most {max_chars} characters")
    text = check_nul(raw, "message").strip()
    if not text:
        raise BadInput("empty_message", "the message is empty")
    client_id = check_str(data, "client_id", max_len=64)
    display = check_str(data, "display", max_len=200)
    return text, client_id, (display.strip() or None) if display else None


def check_visitor_id(data: dict) -> str | None:
    value = check_str(data, "visitor_id", max_len=64)
    if value is not None and not VISITOR_ID_RE.match(value):
        raise BadInput("bad_payload", "field 'visitor_id' must be 16 to 64 characters of A-Z, a-z, 0-9, _ and -")
    return value


def check_draft(data: dict, max_chars: int) -> str:
    return check_str(data, "draft", max_len=max_chars, required=True)


def check_offline_message(data: dict) -> tuple[str, str, str]:
    """(name, email, message) of the offline contact form; the widget mirrors these rules."""
    name = " ".join((check_str(data, "name", max_len=tickets.MAX_NAME) or "").split())
    email = (check_str(data, "email", max_len=254, required=True) or "").strip()
    if not mailer.valid_email(email):
        raise BadInput("bad_email", "enter a valid e-mail address, like name@example.com")
    raw = data.get("message")
    if raw is None:
        raise BadInput("bad_payload", "field 'message' is missing")
    if not isinstance(raw, str):
        raise BadInput("bad_payload", "field 'message' must be a string")
    if len(raw) > tickets.MAX_MESSAGE:
        raise BadInput("message_too_long", f"a message can be at most {tickets.MAX_MESSAGE} characters")
    message = check_nul(raw, "message").strip()
    if not message:
        raise BadInput("empty_message", "the message is empty")
    return name, email, message


def check_rating(data: dict) -> tuple[int, str | None]:
    stars = data.get("stars")
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise BadInput("bad_payload", "field 'stars' must be a whole number from 1 to 5")
    comment = check_str(data, "comment", max_len=ratings.MAX_COMMENT)
    return stars, (comment.strip() or None) if comment else None


def check_after_seq(data: dict) -> int:
    value = data.get("after_seq", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise BadInput("bad_payload", f"field 'after_seq' must be a whole number from 0 to {MAX_SEQ}")
    return value


class VisitorNamespace(socketio.AsyncNamespace):
    def __init__(self, ctx: AppContext):
        super().__init__("/")
        self.ctx = ctx
        self._recent: dict[str, deque] = {}
        self._typing: dict[str, deque] = {}
        self._tasks: set[asyncio.Task] = set()
        # Handlers of one connection run concurrently: session_request and a message sent before it
        # must not both start a conversation.
        self._starting: dict[str, asyncio.Lock] = {}

    # -- plumbing ---------------------------------------------------------------------------
    async def trigger_event(self, event: str, *args):
        """Every handler's BadInput becomes an `error` event (and a failed ack); nothing changed.
        An unexpected exception is logged and answered as `internal_error`, never with silence."""
        try:
            return await super().trigger_event(event, *args)
        except (BadInput, service.ClientIdTaken) as exc:
            code, message = exc.code, exc.message
        except Exception:  # noqa: BLE001 - a bug or an outage: the client must still hear back
            if event in ("connect", "disconnect"):
                raise
            log.exception("visitor event %r failed", event)
            code, message = "internal_error", "something went wrong on our side; please try again"
        await self.emit("error", {"code": code, "message": message, "event": event}, to=args[0])
        return {"ok": False, "error": {"code": code, "message": message}}

    async def _bind(self, sid: str, conv: Conversation, token: str, extended: bool = False) -> None:
        """This connection speaks for `conv` from now on, in the shape it asked for: extended
        connections join the room of the full protocol, the others the room of plain Rasa events
        (chat/visitor_events.py). The flag lives in the Socket.IO session, per connection."""
        previous = await self.get_session(sid)
        room = visitor_events.room(conv.id, extended)
        if previous.get("conversation_id"):  # "start a new chat" (or another shape) on the same connection
            old = visitor_events.room(previous["conversation_id"], previous.get("extended", False))
            if old != room:  # staying in the same room misses nothing said meanwhile
                await self.leave_room(sid, old)
        await self.save_session(sid, {"conversation_id": conv.id, "token": token, "extended": extended})
        await self.enter_room(sid, room)

    async def _conversation_id(self, sid: str, data: dict, start: bool = False) -> str:
        """The conversation this connection speaks for. A payload naming another session is refused;
        a connection that skipped session_request may name its own session in the payload. With
        `start` (a message), a connection with no session at all gets a new conversation."""
        claimed = check_str(data, "session_id", max_len=100)
        session = await self.get_session(sid)
        if session.get("conversation_id"):
            if claimed is not None and not hmac.compare_digest(claimed, session["token"]):
                raise BadInput("session_mismatch", "this connection belongs to another session")
            return session["conversation_id"]
        if not claimed:
            if start:
                async with self._starting.setdefault(sid, asyncio.Lock()):
                    session = await self.get_session(sid)  # session_request may have won the race
                    return session.get("conversation_id") or await self._start_unasked(sid, data)
            raise BadInput("no_session", "send session_request first")
        async with self.ctx.sessionmaker() as db:
            conv = await service.find_by_token(db, claimed)
        if conv is None:
            raise BadInput("unknown_session", "unknown session; request a new one with session_id null")
        await self._bind(sid, conv, claimed)
        return conv.id

    async def _start_unasked(self, sid: str, data: dict) -> str:
        """A message before any session_request: socket.io-client sends what was emitted while
        connecting before its `connect` handlers run, so a shopper who types at once on a slow line
        reaches us this way. Rasa would drop the message; we keep it, start a plain conversation and
        confirm its id. The session_request that follows (session_id null) is given this one."""
        async with self.ctx.sessionmaker() as db:
            conv, token = await service.create_conversation(db, language=visitor_events.custom_language(data),
                                                            page=None)
        await self._bind(sid, conv, token)
        await self.save_session(sid, {**await self.get_session(sid), "unasked": True})
        await self.emit("session_confirm", token, to=sid)
        return conv.id

    async def _note_language(self, sid: str, conversation_id: str, data: dict) -> None:
        """`customData.language` (Rasa clients send customData with every message) becomes the
        conversation's language (agents see it; e-mails and plain handoff texts use it), written
        once per connection and change; everything else in customData is ignored, as Rasa does."""
        language = visitor_events.custom_language(data)
        session = await self.get_session(sid)
        if language is None or session.get("language") == language:
            return
        async with self.ctx.sessionmaker() as db:
            await db.execute(update(Conversation).where(Conversation.id == conversation_id).values(language=language))
            await db.commit()
        await self.save_session(sid, {**session, "language": language})

    def _check_rate(self, sid: str) -> None:
        window = self._recent.setdefault(sid, deque())
        now = time.monotonic()
        while window and now - window[0] > 10:
            window.popleft()
        if len(window) >= self.ctx.settings.message_rate_per_10s:
            raise BadInput("rate_limited", "too many messages; wait a few seconds")
        window.append(now)

    def _typing_allowed(self, sid: str) -> bool:
        window = self._typing.setdefault(sid, deque())
        now = time.monotonic()
        while window and now - window[0] > 1:
            window.popleft()
        if len(window) >= TYPING_PER_S:
            return False
        window.append(now)
        return True

    def _background(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- events -----------------------------------------------------------------------------
    async def on_connect(self, sid, environ, auth=None):
        return True

    async def on_disconnect(self, sid, reason=None):
        self._recent.pop(sid, None)
        self._typing.pop(sid, None)
        self._starting.pop(sid, None)

    async def on_session_request(self, sid, data=None, *_):
        async with self._starting.setdefault(sid, asyncio.Lock()):
            return await self._session_request(sid, data)

    async def _session_request(self, sid, data):
        data = check_object(data)
        token = check_str(data, "session_id", max_len=100)
        page = check_page(data.get("page"))
        language = check_str(data, "language", max_len=16) or visitor_events.custom_language(data)
        visitor_id = check_visitor_id(data)
        extended = data.get("extensions") or False  # null or missing: a plain Rasa client
        if not isinstance(extended, bool):
            raise BadInput("bad_payload", "field 'extensions' must be true or false")
        previous = await self.get_session(sid)
        if token is None and previous.get("unasked"):  # this connection's first message started it
            token = previous["token"]
        async with self.ctx.sessionmaker() as db:
            conv = await service.find_by_token(db, token) if token else None
            if conv is not None:
                await service.note_page(db, conv.id, page)
            else:
                # No id, or one this server does not know (a Rasa client keeps its id across server
                # reinstalls; Rasa accepts any): a new conversation under a new id, confirmed below
                # exactly as for no id, so the answer never tells whether some id exists.
                conv, token = await service.create_conversation(db, language=language, page=page)
        # Join the conversation's room before reading its handoff state: a change made meanwhile is
        # then either in the snapshot or delivered as an event, never lost in between.
        await self._bind(sid, conv, token, extended)
        async with self.ctx.sessionmaker() as db:
            conv = await record_visit(db, conv.id, visitor_id=visitor_id, page=page)
            snapshot = await handoff_snapshot(db, conv)
        await self.emit("session_confirm", token, to=sid)
        state = {"session_id": token, "conversation_id": conv.id, "state": conv.state, "last_seq": conv.last_seq,
                 "handoff": snapshot}
        if extended:
            await self.emit("session_state", state, to=sid)
        return {"ok": True, **state}

    async def on_user_uttered(self, sid, data=None, *_):
        data = check_object(data)
        text, client_id, display = check_message(data, self.ctx.settings.max_message_chars)
        conversation_id = await self._conversation_id(sid, data, start=True)
        self._check_rate(sid)
        await self._note_language(sid, conversation_id, data)
        async with self.ctx.sessionmaker() as db:
            stored = await service.add_message(
                db, conversation_id=conversation_id, sender="visitor", text=display or text,
                payload=text if display else None, client_id=client_id, claim=turns.new_claim(self.ctx),
            )
        msg = stored.message
        if not stored.duplicate:
            await flows.emit_message(self.ctx, msg, skip_sid=sid)  # the visitor's other tabs
        work = turns.after_store(self.ctx, stored)  # the bot's turn (chat/turns.py), if it is ours to run
        if work is not None:
            task = asyncio.create_task(work)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return {"ok": True, "id": msg.id, "seq": msg.seq, "client_id": msg.client_id, "duplicate": stored.duplicate}

    async def on_set_language(self, sid, data=None, *_):
        """The language the visitor chose with the widget's switch: the conversation's from now on
        (the bot answers in it, agents see it) until a message clearly in another one (chat/language.py)."""
        data = check_object(data)
        language = visitor_events.language_tag(check_str(data, "language", max_len=16, required=True))
        if language is None:
            raise BadInput("bad_payload", "field 'language' must be a language tag such as \"el\" or \"en-GB\"")
        conversation_id = await self._conversation_id(sid, data)
        self._check_rate(sid)
        async with self.ctx.sessionmaker() as db:
            await db.execute(update(Conversation).where(Conversation.id == conversation_id).values(language=language))
            await db.commit()
        return {"ok": True, "language": language}

    async def on_resync(self, sid, data=None, *_):
        data = check_object(data)
        after_seq = check_after_seq(data)
        conversation_id = await self._conversation_id(sid, data)
        async with self.ctx.sessionmaker() as db:
            conv = await db.get(Conversation, conversation_id)
            messages = await service.messages_after(db, conversation_id, after_seq)
            snapshot = await handoff_snapshot(db, conv)
            names = await agent_names(db, {m.agent_id for m in messages if m.sender == "agent" and m.agent_id})
        out = []
        for m in messages:
            d = service.message_dict(m)
            if m.sender == "agent" and not d.get("agent_name") and m.agent_id in names:
                d["agent_name"] = names[m.agent_id]  # as the live bot_uttered says it
            out.append(d)
        return {"ok": True, "messages": out, "state": conv.state, "last_seq": conv.last_seq, "handoff": snapshot}

    async def on_leave_queue(self, sid, data=None, *_):
        """Stop waiting for a person (or decline the offline form): back to the bot."""
        data = check_object(data)
        conversation_id = await self._conversation_id(sid, data)
        self._check_rate(sid)
        async with self.ctx.sessionmaker() as db:
            state = await _state(db, conversation_id)
            if state not in ("queued", "offline_form"):
                raise BadInput("not_queued", "you are not waiting for a person")
            effects = await routing.leave_queue(db, conversation_id, now=utcnow())
            state = await _state(db, conversation_id)
        await notify.publish(self.ctx, effects)
        return {"ok": True, "state": state}

    async def on_end_chat(self, sid, data=None, *_):
        """The visitor ends the chat (with the bot, in the queue or with a person)."""
        data = check_object(data)
        conversation_id = await self._conversation_id(sid, data)
        self._check_rate(sid)
        async with self.ctx.sessionmaker() as db:
            if await _state(db, conversation_id) not in routing.OPEN_STATES:
                raise BadInput("not_open", "this chat has ended already")
            effects = await routing.close(db, conversation_id, actor="visitor", now=utcnow(),
                                          reason="visitor ended the chat")
            state = await _state(db, conversation_id)
        await notify.publish(self.ctx, effects)
        return {"ok": True, "state": state}

    async def on_typing(self, sid, data=None, *_):
        """The visitor's draft, live, for the agent (never stored). Relayed only while the chat is
        queued or with a person; more than TYPING_PER_S a second per connection are dropped."""
        data = check_object(data)
        draft = check_draft(data, self.ctx.settings.max_message_chars)
        conversation_id = await self._conversation_id(sid, data)
        if not self._typing_allowed(sid):
            return {"ok": True, "relayed": False}
        async with self.ctx.sessionmaker() as db:
            state = await _state(db, conversation_id)
        if state not in TYPING_STATES:
            return {"ok": True, "relayed": False}
        await self.ctx.sio.emit("visitor_typing", {"conversation_id": conversation_id, "draft": draft},
                                room=notify.chat_room(conversation_id), namespace=notify.AGENT_NS)
        return {"ok": True, "relayed": True}

    async def on_offline_message(self, sid, data=None, *_):
        """The offline contact form: a ticket for the agents, a line in the transcript, and a
        confirmation e-mail when e-mail is configured."""
        data = check_object(data)
        name, email, message = check_offline_message(data)
        conversation_id = await self._conversation_id(sid, data)
        self._check_rate(sid)
        async with self.ctx.sessionmaker() as db:
            try:
                created = await tickets.create(db, conversation_id, name=name, email=email, message=message)
            except tickets.TicketError as exc:
                raise BadInput(exc.code, exc.message) from None
            conv = await db.get(Conversation, conversation_id, populate_existing=True)
        await flows.emit_message(self.ctx, created.message)  # every tab of the visitor, and agents
        await notify.tickets_changed(self.ctx, created.ticket.id)
        if conv.state == "offline_form":
            await visitor_events.emit(self.ctx, conversation_id, "handoff", {"state": "offline", "message_left": True})
        emailing = mailer.enabled(self.ctx.settings)
        if emailing:
            async with self.ctx.sessionmaker() as db:
                emailing = await tickets.may_confirm(db, created.ticket)
        if emailing:
            self._background(tickets.send_confirmation(self.ctx.settings, created.ticket, conv.language))
        return {"ok": True, "ticket_id": created.ticket.id, "id": created.message.id, "seq": created.message.seq,
                "email_confirmation": emailing}

    async def on_rate(self, sid, data=None, *_):
        """1-5 stars and an optional comment, once, after the chat ended."""
        data = check_object(data)
        stars, comment = check_rating(data)
        conversation_id = await self._conversation_id(sid, data)
        self._check_rate(sid)
        async with self.ctx.sessionmaker() as db:
            try:
                rating = await ratings.rate(db, conversation_id, stars=stars, comment=comment)
            except ratings.RatingError as exc:
                raise BadInput(exc.code, exc.message) from None
        await notify.rated(self.ctx, conversation_id, stars, rating.agent_id)
        # the visitor's other tabs stop asking for a rating
        await visitor_events.emit(self.ctx, conversation_id, "handoff",
                                  {"state": "closed", "rating_requested": False, "rated": True})
        return {"ok": True, "state": "rated"}


# ---- database helpers of this namespace -----------------------------------------------------------

async def _state(db: AsyncSession, conversation_id: str) -> str | None:
    return await db.scalar(select(Conversation.state).where(Conversation.id == conversation_id)
                           .execution_options(populate_existing=True))


async def agent_names(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {u.id: u.display_name for u in await db.scalars(select(User).where(User.id.in_(ids)))}


async def record_visit(db: AsyncSession, conversation_id: str, *, visitor_id: str | None,
                       page: dict | None) -> Conversation:
    """On every session_request: last seen now, the page appended to `pages` (capped, a reload of
    the same page not repeated), the browser's visitor id kept when the conversation has none."""
    now = utcnow()
    # Write first: the row (PostgreSQL) or the database (SQLite) is locked for the read-modify-write
    # of `pages`, so two tabs opening at once both get their page in.
    await db.execute(update(Conversation).where(Conversation.id == conversation_id).values(last_seen_at=now))
    conv = await db.get(Conversation, conversation_id, populate_existing=True)
    if visitor_id and not conv.visitor_id:
        conv.visitor_id = visitor_id
    url = (page or {}).get("url")
    if url:
        pages = list(conv.pages or [])
        if not pages or pages[-1].get("url") != url:
            pages.append({"url": url, "title": (page.get("title") or "")[:500], "at": notify.iso(now)})
            conv.pages = pages[-MAX_PAGES:]
    await db.commit()
    return conv


async def handoff_snapshot(db: AsyncSession, conv: Conversation) -> dict:
    """What the widget's banner should show now, in the shape of the live `handoff` event, so a
    reloaded page or a reconnect shows the right thing (docs/protocol.md)."""
    state = conv.state
    if state == "queued":
        entry = next((e for e in await routing.queue_positions(db, now=utcnow())
                      if e["conversation_id"] == conv.id), None)
        return {"state": "queued", "position": entry["position"] if entry else None,
                "estimated_wait_s": entry["estimated_wait_s"] if entry else None}
    if state == "assigned":
        agent = await db.get(User, conv.agent_id) if conv.agent_id else None
        return {"state": "assigned", "agent": {"name": agent.display_name if agent else None}}
    if state == "offline_form":
        since = await db.scalar(select(func.max(Transition.at)).where(
            Transition.conversation_id == conv.id, Transition.to_state == "offline_form"))
        q = select(func.count()).select_from(Ticket).where(Ticket.conversation_id == conv.id)
        if since is not None:
            q = q.where(Ticket.created_at >= since)
        return {"state": "offline", "message_left": bool(await db.scalar(q))}
    if state in ("closed", "rated"):
        rated = state == "rated" or await ratings.is_rated(db, conv.id)
        return {"state": "closed", "rating_requested": not rated, "rated": rated}
    return {"state": "bot"}
