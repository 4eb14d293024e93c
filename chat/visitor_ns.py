"""The visitor Socket.IO namespace (docs/protocol.md). `check_*` functions validate untrusted
input and raise BadInput; handlers then act through chat.service and chat.flows."""
from __future__ import annotations

import asyncio
import hmac
import time
from collections import deque

import socketio

from app.context import AppContext
from chat import flows, service
from chat.models import Conversation


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
    text = raw.strip()
    if not text:
        raise BadInput("empty_message", "the message is empty")
    client_id = check_str(data, "client_id", max_len=64)
    display = check_str(data, "display", max_len=200)
    return text, client_id, (display.strip() or None) if display else None


def check_after_seq(data: dict) -> int:
    value = data.get("after_seq", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadInput("bad_payload", "field 'after_seq' must be a non-negative integer")
    return value


class VisitorNamespace(socketio.AsyncNamespace):
    def __init__(self, ctx: AppContext):
        super().__init__("/")
        self.ctx = ctx
        self._recent: dict[str, deque] = {}
        self._tasks: set[asyncio.Task] = set()

    # -- plumbing ---------------------------------------------------------------------------
    async def trigger_event(self, event: str, *args):
        """Every handler's BadInput becomes an `error` event (and a failed ack); nothing changed."""
        try:
            return await super().trigger_event(event, *args)
        except BadInput as exc:
            sid = args[0]
            await self.emit("error", {"code": exc.code, "message": exc.message, "event": event}, to=sid)
            return {"ok": False, "error": {"code": exc.code, "message": exc.message}}

    async def _bind(self, sid: str, conv: Conversation, token: str) -> None:
        await self.save_session(sid, {"conversation_id": conv.id, "token": token})
        await self.enter_room(sid, flows.room(conv.id))

    async def _conversation_id(self, sid: str, data: dict) -> str:
        """The conversation this connection speaks for. A payload naming another session is refused;
        a connection that skipped session_request may name its own session in the payload."""
        claimed = check_str(data, "session_id", max_len=100)
        session = await self.get_session(sid)
        if session.get("conversation_id"):
            if claimed is not None and not hmac.compare_digest(claimed, session["token"]):
                raise BadInput("session_mismatch", "this connection belongs to another session")
            return session["conversation_id"]
        if not claimed:
            raise BadInput("no_session", "send session_request first")
        async with self.ctx.sessionmaker() as db:
            conv = await service.find_by_token(db, claimed)
        if conv is None:
            raise BadInput("unknown_session", "unknown session; request a new one with session_id null")
        await self._bind(sid, conv, claimed)
        return conv.id

    def _check_rate(self, sid: str) -> None:
        window = self._recent.setdefault(sid, deque())
        now = time.monotonic()
        while window and now - window[0] > 10:
            window.popleft()
        if len(window) >= self.ctx.settings.message_rate_per_10s:
            raise BadInput("rate_limited", "too many messages; wait a few seconds")
        window.append(now)

    # -- events -----------------------------------------------------------------------------
    async def on_connect(self, sid, environ, auth=None):
        return True

    async def on_disconnect(self, sid, reason=None):
        self._recent.pop(sid, None)

    async def on_session_request(self, sid, data=None, *_):
        data = check_object(data)
        token = check_str(data, "session_id", max_len=100)
        page = check_page(data.get("page"))
        language = check_str(data, "language", max_len=16)
        async with self.ctx.sessionmaker() as db:
            if token:
                conv = await service.find_by_token(db, token)
                if conv is None:
                    raise BadInput("unknown_session", "unknown session; request a new one with session_id null")
                await service.note_page(db, conv.id, page)
            else:
                conv, token = await service.create_conversation(db, language=language, page=page)
        await self._bind(sid, conv, token)
        await self.emit("session_confirm", token, to=sid)
        state = {"session_id": token, "conversation_id": conv.id, "state": conv.state, "last_seq": conv.last_seq}
        await self.emit("session_state", state, to=sid)
        return {"ok": True, **state}

    async def on_user_uttered(self, sid, data=None, *_):
        data = check_object(data)
        text, client_id, display = check_message(data, self.ctx.settings.max_message_chars)
        conversation_id = await self._conversation_id(sid, data)
        self._check_rate(sid)
        async with self.ctx.sessionmaker() as db:
            stored = await service.add_message(
                db, conversation_id=conversation_id, sender="visitor", text=display or text,
                payload=text if display else None, client_id=client_id,
            )
        msg = stored.message
        if not stored.duplicate:
            await flows.emit_message(self.ctx, msg, skip_sid=sid)  # the visitor's other tabs
        if not msg.answered:
            task = asyncio.create_task(flows.answer_visitor(self.ctx, conversation_id, msg))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return {"ok": True, "id": msg.id, "seq": msg.seq, "client_id": msg.client_id, "duplicate": stored.duplicate}

    async def on_resync(self, sid, data=None, *_):
        data = check_object(data)
        after_seq = check_after_seq(data)
        conversation_id = await self._conversation_id(sid, data)
        async with self.ctx.sessionmaker() as db:
            conv = await db.get(Conversation, conversation_id)
            messages = await service.messages_after(db, conversation_id, after_seq)
        return {"ok": True, "messages": [service.message_dict(m) for m in messages],
                "state": conv.state, "last_seq": conv.last_seq}
