"""HTTP routes of attachments (docs/attachments.md, docs/protocol.md "Attachments"):

- POST /api/attachments: a visitor sends a file (raw body; `X-Session-Id`, optional `X-File-Name`
  percent-encoded and `X-Client-Id` for retries) while waiting for or chatting with a person;
- POST /api/console/conversations/{cid}/attachments: the chat's agent (or an admin) sends one
  (login cookie, `X-Requested-With: shopchat`);
- GET /api/attachments/{id} and /api/attachments/{id}/thumb: the file, for the conversation's
  visitor (`X-Session-Id`, or the `sig` of the file's URL, bound to the session), the agents who may
  read the chat and admins. Images are served as themselves, every other file as a download; never
  as HTML (nosniff, a sandboxing CSP)."""
from __future__ import annotations

import hmac
import time
from collections import deque
from urllib.parse import quote, unquote

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from sqlalchemy import select

from accounts.models import CHAT_ROLES, User
from accounts.web import ApiError, ApiRoute, require_csrf, session_user
from app.db import utcnow
from attachments import service
from attachments.models import Attachment
from attachments.sniff import Refused
from attachments.storage import Store
from chat import flows
from chat import service as chat_service
from chat.models import Conversation
from handoff import routing
from handoff.agent_ns import can_read, can_write

ID = Path(min_length=32, max_length=32, pattern=r"^[a-f0-9]{32}$")
CONVERSATION_ID = Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$")
# A visitor sends files only to a person (the bot cannot read them).
VISITOR_STATES = ("queued", "assigned")
# Uploads per conversation per minute (each is a decode and a store write).
UPLOADS_PER_MIN = 10
DOWNLOAD_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
STATUS = {"empty_file": 422, "unsupported_type": 415, "image_too_large": 413, "bad_image": 422}


def disposition(kind: str, filename: str) -> str:
    how = "inline" if kind == "image" else "attachment"
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    return f"{how}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def make_router(ctx, store: Store) -> APIRouter:
    router = APIRouter(prefix="/api", route_class=ApiRoute)
    settings = ctx.settings
    recent: dict[str, deque] = {}

    def check_rate(conversation_id: str) -> None:
        window = recent.setdefault(conversation_id, deque())
        now = time.monotonic()
        while window and now - window[0] > 60:
            window.popleft()
        if len(window) >= UPLOADS_PER_MIN:
            raise ApiError(429, "rate_limited", "too many files; wait a minute")
        window.append(now)
        if len(recent) > 10_000:  # forget idle conversations
            for cid in [c for c, w in recent.items() if not w]:
                del recent[cid]

    async def read_body(request: Request) -> bytes:
        """The body, refused as soon as it passes the limit (a lying Content-Length too)."""
        limit = settings.attachments_max_bytes
        too_large = ApiError(413, "file_too_large", f"a file can be at most {limit // (1024 * 1024) or 1} MB"
                             if limit >= 1024 * 1024 else f"a file can be at most {limit} bytes")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def header_str(request: Request, name: str, max_len: int) -> str | None:
        value = request.headers.get(name)
        if value is None:
            return None
        value = unquote(value, errors="replace")
        if len(value) > max_len or "\x00" in value:
            raise ApiError(422, "bad_field", f"{name} is longer than {max_len} characters or holds NUL", name)
        return value

    async def check_content(data: bytes):
        try:
            return await service.check_file(data, settings.attachments_max_pixels)
        except Refused as exc:
            raise ApiError(STATUS.get(exc.code, 422), exc.code, exc.message) from None

    @router.post("/attachments")
    async def visitor_upload(request: Request):
        token = request.headers.get("x-session-id")
        if not token or len(token) > 100:
            raise ApiError(401, "no_session", "send the session id in the X-Session-Id header")
        async with ctx.sessionmaker() as db:
            conv = await chat_service.find_by_token(db, token)
        if conv is None:
            raise ApiError(401, "unknown_session", "unknown session")
        if conv.state not in VISITOR_STATES:
            raise ApiError(409, "not_with_person", "files can be sent while you wait for or chat with a person")
        name = header_str(request, "x-file-name", 500)
        client_id = header_str(request, "x-client-id", 64)
        check_rate(conv.id)
        data = await read_body(request)
        checked = await check_content(data)
        async with ctx.sessionmaker() as db:
            try:
                stored = await service.store_upload(db, store, conversation_id=conv.id, token_hash=conv.token_hash,
                                                    data=data, filename=name, checked=checked, sender="visitor",
                                                    client_id=client_id)
            except chat_service.ClientIdTaken as e:
                raise ApiError(409, e.code, e.message) from None
            if not stored.duplicate and stored.state == "assigned":
                await routing.note_activity(db, conv.id, sender="visitor", now=utcnow())
        if not stored.duplicate:
            await flows.emit_message(ctx, stored.message)
        return {"ok": True, "duplicate": stored.duplicate, "message": chat_service.message_dict(stored.message)}

    @router.post("/console/conversations/{cid}/attachments")
    async def agent_upload(request: Request, cid: str = CONVERSATION_ID):
        require_csrf(request)
        user = await session_user(request)
        if user is None:
            raise ApiError(401, "unauthorized", "log in first")
        if user.role not in CHAT_ROLES:
            raise ApiError(403, "forbidden", "only agents and admins send files in chats")
        async with ctx.sessionmaker() as db:
            conv = await db.get(Conversation, cid)
        if conv is None:
            raise ApiError(404, "not_found", "no such conversation")
        if not can_write(user, conv):
            raise ApiError(403, "not_owner", "this chat is not yours")
        if conv.state != "assigned":
            raise ApiError(409, "not_assigned", "this chat is not with an agent; take it over first")
        name = header_str(request, "x-file-name", 500)
        client_id = header_str(request, "x-client-id", 64)
        check_rate(conv.id)
        data = await read_body(request)
        checked = await check_content(data)
        async with ctx.sessionmaker() as db:
            try:
                stored = await service.store_upload(
                    db, store, conversation_id=cid, token_hash=conv.token_hash, data=data, filename=name,
                    checked=checked, sender="agent", agent_id=user.id, client_id=client_id,
                    owner_id=None if user.role == "admin" else user.id)
            except chat_service.NotOwner:
                raise ApiError(403, "not_owner", "this chat is not yours") from None
            except chat_service.ClientIdTaken as e:
                raise ApiError(409, e.code, e.message) from None
            if not stored.duplicate:
                await routing.note_activity(db, cid, sender="agent", now=utcnow())
        if not stored.duplicate:
            await flows.emit_message(ctx, stored.message, agent_name=user.display_name)
        message = service.strip_sig(chat_service.message_dict(stored.message))
        return {"ok": True, "duplicate": stored.duplicate,
                "message": {**message, "conversation_id": cid, "agent_name": user.display_name}}

    async def readable(request: Request, aid: str) -> Attachment:
        """The attachment, if the caller may read it: 404 for everyone else (a visitor learns
        nothing about other conversations' files), 403 for an agent who may not read that chat."""
        async with ctx.sessionmaker() as db:
            row = (await db.execute(select(Attachment, Conversation.token_hash, Conversation)
                                    .join(Conversation, Conversation.id == Attachment.conversation_id)
                                    .where(Attachment.id == aid))).first()
        not_found = ApiError(404, "not_found", "no such file")
        if row is None:
            raise not_found
        att, token_hash, conv = row
        token = request.headers.get("x-session-id")
        if token and len(token) <= 100 and hmac.compare_digest(chat_service.hash_token(token), token_hash):
            return att
        sig = request.query_params.get("sig")
        if sig and hmac.compare_digest(sig.encode(), service.visitor_sig(token_hash, aid).encode()):
            return att
        user: User | None = await session_user(request) if request.cookies else None
        if user is not None and user.role in CHAT_ROLES:
            if can_read(user, conv):
                return att
            raise ApiError(403, "not_owner", "this chat is with another agent")
        raise not_found

    def file_response(data: bytes, content_type: str, kind: str, filename: str) -> Response:
        return Response(data, media_type=content_type, headers={
            "Content-Disposition": disposition(kind, filename),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": DOWNLOAD_CSP,
            "Cross-Origin-Resource-Policy": "cross-origin",  # plain Rasa clients on the shop's origin
        })

    @router.get("/attachments/{aid}")
    async def download(request: Request, aid: str = ID):
        att = await readable(request, aid)
        data = await store.get(att.storage_key)
        if data is None:
            raise ApiError(404, "not_found", "no such file")
        return file_response(data, att.content_type, att.kind, att.filename)

    @router.get("/attachments/{aid}/thumb")
    async def thumbnail(request: Request, aid: str = ID):
        att = await readable(request, aid)
        data = await store.get(att.thumb_key) if att.thumb_key else None
        if data is None:
            raise ApiError(404, "not_found", "this file has no thumbnail")
        return file_response(data, att.thumb_type, "image", "thumb-" + att.filename)

    return router
