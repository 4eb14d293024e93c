"""Orchestration with side effects: store, then emit. Every real-time event is sent only after the
database commit that it reports."""
from __future__ import annotations

import logging

from app.context import AppContext
from bot.answers import Reply
from bot.brain import reply_without_rasa
from bot.rasa_client import RasaUnavailable
from chat import service
from chat.models import Conversation, Message
from handoff.service import request_handoff

log = logging.getLogger(__name__)

# The bot keeps answering while the visitor waits for a person; it is silent once one took over.
BOT_ANSWERS_IN = ("bot", "queued", "offline_form")


def room(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


async def emit_message(ctx: AppContext, msg: Message, skip_sid: str | None = None) -> None:
    data = service.message_dict(msg)
    event = "visitor_uttered" if msg.sender == "visitor" else "bot_uttered"
    await ctx.sio.emit(event, data, room=room(msg.conversation_id), skip_sid=skip_sid)


async def answer_visitor(ctx: AppContext, conversation_id: str, msg: Message) -> None:
    """The bot's turn after a visitor message was stored and acknowledged."""
    async with ctx.conversation_lock(conversation_id):
        async with ctx.sessionmaker() as db:
            conv = await db.get(Conversation, conversation_id)
            fresh = await db.get(Message, msg.id)
            if conv is None or fresh is None or fresh.answered:
                return  # answered already (a retried message)
            if conv.state not in BOT_ANSWERS_IN:
                await service.mark_answered(db, msg.id)
                return
        await ctx.sio.emit("bot_typing", {"typing": True}, room=room(conversation_id))
        replies = await _bot_replies(ctx, conversation_id, msg)
        for reply in replies:
            await _deliver(ctx, conversation_id, reply)
        async with ctx.sessionmaker() as db:
            await service.mark_answered(db, msg.id)
            if replies and not any(r.handoff_reason for r in replies):
                await service.count_bot_failure(db, conversation_id, failed=any(r.fallback for r in replies))
        await ctx.sio.emit("bot_typing", {"typing": False}, room=room(conversation_id))


async def _bot_replies(ctx: AppContext, conversation_id: str, msg: Message) -> list[Reply]:
    text = msg.payload or msg.text
    try:
        answers = await ctx.rasa.send(conversation_id, text)
    except RasaUnavailable as exc:
        log.warning("Rasa unavailable, answering from the knowledge base alone: %s", exc)
        return [await reply_without_rasa(ctx.kb, text)]
    return [r for r in (reply_from_rasa(a) for a in answers) if r is not None]


def reply_from_rasa(message: dict) -> Reply | None:
    """One message of Rasa's REST channel as a Reply: our custom actions send `custom.shopchat`,
    the domain's canned responses send `text` and `buttons`."""
    custom = message.get("custom")
    if isinstance(custom, dict) and isinstance(custom.get("shopchat"), dict):
        c = custom["shopchat"]
        return Reply(
            text=str(c.get("text", "")),
            quick_replies=list(c.get("quick_replies") or []),
            kb=c.get("kb"),
            fallback=bool(c.get("fallback")),
            handoff_reason=c.get("handoff_reason"),
        )
    text = message.get("text")
    if not isinstance(text, str) or not text:
        return None
    buttons = message.get("buttons") or []
    quick = [{"content_type": "text", "title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
             for b in buttons if isinstance(b, dict)]
    return Reply(text=text, quick_replies=quick)


async def _deliver(ctx: AppContext, conversation_id: str, reply: Reply) -> None:
    if reply.handoff_reason:
        await start_handoff(ctx, conversation_id, reason=reply.handoff_reason, bot_text=reply.text)
        return
    async with ctx.sessionmaker() as db:
        stored = await service.add_message(db, conversation_id=conversation_id, sender="bot", text=reply.text,
                                           extra=reply.extras())
    await emit_message(ctx, stored.message)


async def start_handoff(ctx: AppContext, conversation_id: str, *, reason: str, bot_text: str) -> None:
    """The visitor wants a person: `handoff requested` first, then the bot's words, then `queued`."""
    async with ctx.sessionmaker() as db:
        started = await request_handoff(db, conversation_id, reason=reason)
    r = room(conversation_id)
    if not started:
        async with ctx.sessionmaker() as db:
            stored = await service.add_message(
                db, conversation_id=conversation_id, sender="bot",
                text="You're already waiting for a person; they'll join this chat as soon as they can.")
        await emit_message(ctx, stored.message)
        return
    await ctx.sio.emit("handoff", {"state": "requested", "reason": reason}, room=r)
    async with ctx.sessionmaker() as db:
        stored = await service.add_message(db, conversation_id=conversation_id, sender="bot", text=bot_text)
    await emit_message(ctx, stored.message)
    await ctx.sio.emit("handoff", {"state": "queued", "reason": reason, "position": None}, room=r)
