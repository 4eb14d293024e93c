"""Orchestration with side effects: store, then emit. Every real-time event is sent only after the
database commit that it reports."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import AppContext
from app.db import utcnow
from attachments.service import strip_sig  # agents never get the visitor's file capability
from bot.answers import Reply, handoff_queue, handoff_started
from bot.brain import reply_without_rasa
from bot.rasa_client import RasaUnavailable
from bot.texts import bot_language, say
from chat import language as chat_language
from chat import offline_first, service, visitor_events
from chat.models import BOT_ANSWERS_IN, Conversation, Message
from handoff import notify, routing
from knowledge_base import gaps

log = logging.getLogger(__name__)

# Fallbacks in a row after which the bot offers a person by itself (the issue: "fails twice").
BOT_FAILURES_BEFORE_HANDOFF = 2
# What the app tells Rasa so it runs the same handoff path (name and e-mail form) with this reason.
BOT_FAILED_HANDOFF = '/human_handoff{"handoff_reason":"bot_failed"}'
# What the app itself says (bot/texts.py, in the conversation's language): already_waiting,
# already_with_person, and late_apology before the answer to a question that waited longer than
# `late_answer_after_s` (the app was down).


async def emit_message(ctx: AppContext, msg: Message, skip_sid: str | None = None, **extra) -> None:
    """A stored message to the visitor's tabs and to the agents watching the chat (notes: agents only)."""
    data = {**service.message_dict(msg), **extra}
    if msg.sender != "note":
        event = "visitor_uttered" if msg.sender == "visitor" else "bot_uttered"
        await visitor_events.emit(ctx, msg.conversation_id, event, data, skip_sid=skip_sid)
    await ctx.sio.emit("message", {"conversation_id": msg.conversation_id, **strip_sig(data)},
                       room=notify.chat_room(msg.conversation_id), namespace=notify.AGENT_NS)


async def answer_visitor(ctx: AppContext, conversation_id: str, msg: Message, state: str | None = None,
                         stored_language: str | None = None, *, turn: str, late: bool = False) -> bool:
    """The bot's answer to one stored and acknowledged visitor question, by the holder of the
    conversation's bot turn `turn` (chat/turns.py runs the questions in order). `state`: the
    conversation's state when the question was read, `stored_language` its language read with it.
    `late`: it waited long (the app was down), an apology comes first. Returns whether the turn is still held (more questions wait); raises
    service.TurnLost, nothing stored, when another claim took the turn over."""
    lease_s = ctx.settings.bot_turn_lease_s
    lock = ctx.conversation_lock(conversation_id)
    if lock.locked():
        state = None  # a claim of this process ran out mid-turn and this one followed: read again after it
    async with lock:
        if state is None:
            async with ctx.sessionmaker() as db:
                row = (await db.execute(select(Conversation.state, Conversation.language, Message.answered)
                                        .join(Message, Message.conversation_id == Conversation.id)
                                        .where(Conversation.id == conversation_id, Message.id == msg.id))).first()
            if row is None or row.answered:
                return True  # answered already: the caller reads the next question
            state, stored_language = row.state, row.language
        if state not in BOT_ANSWERS_IN:
            # A person owns the chat (or it ended): the bot is silent.
            async with ctx.sessionmaker() as db:
                if state == "assigned":
                    await routing.note_activity(db, conversation_id, sender="visitor", now=utcnow())
                return (await service.end_bot_turn(db, conversation_id, msg.id, failed=None, turn=turn,
                                                   lease_s=lease_s)).held
        await visitor_events.emit(ctx, conversation_id, "bot_typing", {"typing": True})
        verdict = gaps.feedback_of(msg.text, msg.payload)
        if verdict:  # an answer to "Did that answer your question?"
            async with ctx.sessionmaker() as db:
                await gaps.note_feedback(db, conversation_id, msg.seq, verdict)
        language = await chat_language.for_turn(ctx, conversation_id, msg.text, msg.payload, stored_language)
        replies = await _bot_replies(ctx, conversation_id, msg.payload or msg.text, language=language)
        if late:
            quoted = msg.text if len(msg.text) <= 80 else msg.text[:79] + "…"
            replies = [Reply(say("late_apology", language, q=quoted)), *replies]
        plain = not any(r.handoff for r in replies)
        if not plain:  # a handoff: its events and queue steps, each in its own order
            for reply in replies:
                await _deliver(ctx, conversation_id, reply, language)
        # Plain answers are stored in the transaction that ends the turn (with the question's log):
        # one commit, then the events.
        async with ctx.sessionmaker() as db:
            answers = await _store_answers(db, conversation_id, replies) if plain else []
            if not verdict:
                _log_question(db, conversation_id, msg, replies)
            ended = await service.end_bot_turn(db, conversation_id, msg.id, turn=turn, lease_s=lease_s,
                                               failed=any(r.fallback for r in replies) if answers else None)
            failures = ended.failures
        for answer in answers:
            await emit_message(ctx, answer)
        if failures >= BOT_FAILURES_BEFORE_HANDOFF:
            # Two honest "I'm not sure" in a row: offer a person without being asked.
            async with ctx.sessionmaker() as db:
                await service.reset_bot_failures(db, conversation_id)
            for reply in await _bot_replies(ctx, conversation_id, BOT_FAILED_HANDOFF, fallback_reason="bot_failed",
                                            language=language):
                await _deliver(ctx, conversation_id, reply, language)
        await visitor_events.emit(ctx, conversation_id, "bot_typing", {"typing": False})
        return ended.held


async def _store_answers(db: AsyncSession, conversation_id: str, replies: list[Reply]) -> list[Message]:
    """The bot's answers, flushed for the caller's commit; none if a person took the chat while
    Rasa was thinking (read under the conversation's row lock, which the first store takes): the
    bot is silent in an agent's chat, it does not ask for an e-mail the agent can ask for."""
    answers = []
    for r in replies:
        stored = await service.add_message(db, conversation_id=conversation_id, sender="bot", text=r.text,
                                           extra=r.extras(), commit=False)
        if stored.state not in BOT_ANSWERS_IN:
            await db.rollback()
            return []
        answers.append(stored.message)
    return answers


def _log_question(db: AsyncSession, conversation_id: str, msg: Message, replies: list[Reply]) -> None:
    """The question and how the knowledge base served it (knowledge gaps, article usefulness)."""
    for r in replies:
        if r.kb or r.fallback:
            found = r.kb or r.tried or {}
            gaps.record(db, conversation_id, msg.seq, msg.text, article_id=found.get("article_id"),
                        score=found.get("score"), fallback=r.fallback,
                        from_button=(msg.payload or "").startswith("/ask_question"))
            return


async def _bot_replies(ctx: AppContext, conversation_id: str, text: str,
                       fallback_reason: str | None = None, language: str = "en") -> list[Reply]:
    try:
        # The custom actions read the language from the message's metadata (bot/actions.py).
        answers = await ctx.rasa.send(conversation_id, text, metadata={"language": language})
    except RasaUnavailable as exc:
        log.warning("Rasa unavailable, answering from the knowledge base alone: %s", exc)
        return await _replies_without_rasa(ctx, text, fallback_reason, language)
    replies = [r for r in (reply_from_rasa(a) for a in answers) if r is not None]
    if not replies:
        # Rasa is up but gave nothing to say: its custom action failed (a wrong action token, the
        # app unreachable from Rasa, an exception), and Rasa's webhook then answers `[]`. The visitor
        # still gets the app's own answer; health reports the action path as failing.
        ctx.rasa.note_actions(ok=False)
        log.warning("Rasa answered %r: its custom action failed; answering from the knowledge base alone",
                    answers)
        return await _replies_without_rasa(ctx, text, fallback_reason, language)
    if any(isinstance(a.get("custom"), dict) for a in answers):
        ctx.rasa.note_actions(ok=True)  # only our custom actions send `custom`
    return replies


async def _replies_without_rasa(ctx: AppContext, text: str, fallback_reason: str | None,
                                language: str = "en") -> list[Reply]:
    reply = (handoff_started(fallback_reason, language=language) if fallback_reason
             else await reply_without_rasa(ctx.kb, text, language=language))
    if reply.handoff == "queue":  # no name form without Rasa: announce, then queue at once
        return [Reply("", handoff="requested", handoff_reason=reply.handoff_reason), reply]
    return [reply]


def reply_from_rasa(message: dict) -> Reply | None:
    """One message of Rasa's REST channel as a Reply: our custom actions send `custom.shopchat`,
    the domain's canned responses send `text` and `buttons`."""
    custom = message.get("custom")
    if isinstance(custom, dict) and isinstance(custom.get("shopchat"), dict):
        return Reply.from_shopchat(custom["shopchat"])
    text = message.get("text")
    if not isinstance(text, str) or not text:
        return None
    buttons = message.get("buttons") or []
    quick = [{"content_type": "text", "title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
             for b in buttons if isinstance(b, dict)]
    return Reply(text=text, quick_replies=quick)


async def _deliver(ctx: AppContext, conversation_id: str, reply: Reply, language: str = "en") -> None:
    if reply.handoff == "requested" and await offline_first.starts_offline(ctx, conversation_id, reply):
        # Nobody online: the offline form at once, prefilled (chat/offline_first.py).
        await start_handoff(ctx, conversation_id, reason=reply.handoff_reason or "visitor_asked", bot_text="",
                            language=language)
        return
    if reply.handoff == "requested" and await offline_first.starts_prechat(ctx, conversation_id):
        # The pre-chat form before a person (mode `person`): the widget shows it; its answers go on
        # with the handoff (continue_after_prechat), the bot asks nothing.
        await visitor_events.emit(ctx, conversation_id, "handoff",
                                  {"state": "prechat", "reason": reply.handoff_reason or "visitor_asked"})
        return
    if offline_first.moot(conversation_id, reply):
        return
    if reply.handoff == "requested":
        # Before any question the bot asks (name, e-mail), the widget learns a handoff started.
        await visitor_events.emit(ctx, conversation_id, "handoff", {"state": "requested", "reason": reply.handoff_reason})
        await _notify_agents_requested(ctx, conversation_id, reply.handoff_reason)
        if not reply.text:
            return
    if reply.handoff == "queue":
        await start_handoff(ctx, conversation_id, reason=reply.handoff_reason or "visitor_asked",
                            bot_text=reply.text, visitor=reply.visitor, language=language)
        return
    await add_bot_message(ctx, conversation_id, reply.text, extra=reply.extras())


async def continue_after_prechat(ctx: AppContext, conversation_id: str, reason: str) -> bool:
    """The pre-chat form (mode `person`) was answered: the handoff it stood for goes on, with what the
    form gave (already on the conversation), without the bot's name and e-mail questions. False when
    the conversation is no longer with the bot (ended, or already queued or with a person)."""
    async with ctx.conversation_lock(conversation_id):
        async with ctx.sessionmaker() as db:
            conv = await db.get(Conversation, conversation_id)
        if conv is None or conv.state != "bot":
            return False
        language = bot_language(conv.language)
        reply = handoff_queue(reason, name=conv.visitor_name, email=conv.visitor_email,
                              order_number=conv.order_number, language=language)
        if not await offline_first.nobody_online(ctx):  # else start_handoff offers the offline form
            await visitor_events.emit(ctx, conversation_id, "handoff", {"state": "requested", "reason": reason})
            await _notify_agents_requested(ctx, conversation_id, reason)
        await start_handoff(ctx, conversation_id, reason=reason, bot_text=reply.text, visitor=reply.visitor,
                            language=language)
    return True


async def add_bot_message(ctx: AppContext, conversation_id: str, text: str, extra: dict | None = None) -> None:
    async with ctx.sessionmaker() as db:
        stored = await service.add_message(db, conversation_id=conversation_id, sender="bot", text=text, extra=extra)
    await emit_message(ctx, stored.message)


async def _notify_agents_requested(ctx: AppContext, conversation_id: str, reason: str | None) -> None:
    await ctx.sio.emit("chat_state", {"conversation_id": conversation_id, "state": "bot", "reason": reason,
                                      "handoff_requested": True}, room=notify.AGENTS_ROOM, namespace=notify.AGENT_NS)


async def start_handoff(ctx: AppContext, conversation_id: str, *, reason: str, bot_text: str,
                        visitor: dict | None = None, language: str = "en") -> None:
    """Queue the chat for a person (or offer the offline form when nobody is online). The widget
    got `handoff requested` already, before the bot asked for a name."""
    async with ctx.sessionmaker() as db:
        conv = await db.get(Conversation, conversation_id)
        if conv is None:
            return
        if conv.state in ("queued", "assigned"):
            already = True
        else:
            already = False
            await service.note_visitor(db, conversation_id, visitor or {})
        offline_before = conv.state == "offline_form"
    if already:
        await add_bot_message(ctx, conversation_id,
                              say("already_waiting" if conv.state == "queued" else "already_with_person", language))
        return
    async with ctx.sessionmaker() as db:
        effects = await routing.enqueue(db, conversation_id, reason=reason, actor="visitor"
                                        if reason in ("visitor_asked", "button") else "bot", now=utcnow())
        await gaps.note_handoff(db, conversation_id)
        conv = await db.get(Conversation, conversation_id, populate_existing=True)
    offline = conv.state == "offline_form"
    if bot_text and not offline:  # "I'm finding a person" only when there is one to find
        await add_bot_message(ctx, conversation_id, bot_text)
    elif offline and offline_before:
        # Asked again while the offline form is out: a reply, not silence (a plain client saw the
        # "nobody is available" text once already and would otherwise get nothing at all).
        await add_bot_message(ctx, conversation_id, say("still_offline", language))
    await notify.publish(ctx, effects)
    if offline:  # the visitor's own tabs prefill the offline form with what is known
        await visitor_events.emit(ctx, conversation_id, "handoff",
                                  {"state": "offline", "visitor": offline_first.known_visitor(conv)})
