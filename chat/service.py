"""Database functions for conversations and messages (no Socket.IO, no HTTP here)."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timezone

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chat.models import Conversation, Message, Transition


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_conversation(
    db: AsyncSession, *, language: str | None = None, page: dict | None = None
) -> tuple[Conversation, str]:
    """A new conversation and the visitor's secret session id (returned once, stored hashed)."""
    token = secrets.token_urlsafe(32)
    page = page or {}
    conv = Conversation(
        id=uuid.uuid4().hex,
        token_hash=hash_token(token),
        language=language,
        page_url=page.get("url"),
        page_title=page.get("title"),
        referrer=page.get("referrer"),
    )
    db.add(conv)
    await db.commit()
    return conv, token


async def find_by_token(db: AsyncSession, token: str) -> Conversation | None:
    return await db.scalar(select(Conversation).where(Conversation.token_hash == hash_token(token)))


async def note_page(db: AsyncSession, conversation_id: str, page: dict | None) -> None:
    if not page:
        return
    await db.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(page_url=page.get("url"), page_title=page.get("title"))
    )
    await db.commit()


async def note_visitor(db: AsyncSession, conversation_id: str, visitor: dict) -> None:
    """Keep what the bot collected (name, e-mail, order number); a blank never erases a value."""
    values = {}
    for key, column, limit in (("name", "visitor_name", 100), ("email", "visitor_email", 254),
                               ("order_number", "order_number", 64)):
        value = visitor.get(key)
        if isinstance(value, str) and value.strip():
            values[column] = value.strip()[:limit]
    if values:
        await db.execute(update(Conversation).where(Conversation.id == conversation_id).values(**values))
        await db.commit()


@dataclass
class Stored:
    message: Message
    duplicate: bool
    state: str | None = None  # the conversation's state when the message was stored (not for duplicates)


async def _next_seq(db: AsyncSession, conversation_id: str) -> tuple[int, str]:
    # One atomic statement: concurrent writers each get their own number, with no gaps.
    row = (await db.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_seq=Conversation.last_seq + 1)
        .returning(Conversation.last_seq, Conversation.state)
    )).one()
    return row.last_seq, row.state


class NotOwner(Exception):
    """The chat is not (or no longer) with the agent who tried to write in it."""


async def add_message(
    db: AsyncSession,
    *,
    conversation_id: str,
    sender: str,
    text: str,
    payload: str | None = None,
    extra: dict | None = None,
    client_id: str | None = None,
    agent_id: int | None = None,
    owner_id: int | None = None,
    commit: bool = True,
) -> Stored:
    """Store a message with the next sequence number and commit (`commit=False`: flush only, the
    caller commits). A client_id seen before in this conversation stores nothing and returns the
    message stored the first time. With `owner_id`, only while the chat is assigned to that agent,
    checked under the conversation's row lock (so a transfer or close committed meanwhile wins;
    raises NotOwner, nothing stored)."""
    if client_id is not None and owner_id is not None:
        # An agent's retry gets the first answer even after the chat moved on; other retries are
        # caught by the unique (conversation, client_id) at the commit, one statement less.
        existing = await _by_client_id(db, conversation_id, client_id)
        if existing is not None:
            return Stored(existing, duplicate=True)
    seq, state = await _next_seq(db, conversation_id)  # takes the conversation's row lock
    if owner_id is not None:
        owner = await db.scalar(select(Conversation.agent_id).where(Conversation.id == conversation_id,
                                                                    Conversation.state == "assigned"))
        if owner != owner_id:
            await db.rollback()
            raise NotOwner()
    msg = Message(
        conversation_id=conversation_id,
        seq=seq,
        sender=sender,
        text=text,
        payload=payload,
        extra=extra or {},
        client_id=client_id,
        agent_id=agent_id,
        answered=sender != "visitor",
    )
    db.add(msg)
    if not commit:
        await db.flush()  # the message's id, for the caller's events after its commit
        return Stored(msg, duplicate=False, state=state)
    try:
        await db.commit()
    except IntegrityError:  # a client_id stored before (a retry, or a race with another connection)
        await db.rollback()
        existing = await _by_client_id(db, conversation_id, client_id)
        if existing is None:
            raise
        return Stored(existing, duplicate=True)
    return Stored(msg, duplicate=False, state=state)


async def _by_client_id(db: AsyncSession, conversation_id: str, client_id: str) -> Message | None:
    return await db.scalar(
        select(Message).where(Message.conversation_id == conversation_id, Message.client_id == client_id)
    )


async def messages_after(db: AsyncSession, conversation_id: str, after_seq: int, *,
                         include_notes: bool = False) -> list[Message]:
    """The transcript after a sequence number; agents' internal notes only when asked (agents)."""
    q = select(Message).where(Message.conversation_id == conversation_id, Message.seq > after_seq)
    if not include_notes:
        q = q.where(Message.sender != "note")
    return list(await db.scalars(q.order_by(Message.seq)))


async def set_state(
    db: AsyncSession, conversation_id: str, *, to_state: str, actor: str, reason: str
) -> str | None:
    """Move the conversation to `to_state` and record the transition; returns the previous state,
    or None when it was already there (nothing recorded)."""
    conv = await db.get(Conversation, conversation_id, with_for_update=True)
    if conv is None or conv.state == to_state:
        return None
    previous = conv.state
    conv.state = to_state
    db.add(Transition(conversation_id=conversation_id, from_state=previous, to_state=to_state, actor=actor, reason=reason))
    await db.commit()
    return previous


async def end_bot_turn(db: AsyncSession, conversation_id: str, message_id: int, *, failed: bool | None) -> int:
    """The visitor's message is answered; with `failed` (the turn ended in an "I'm not sure" or
    not; None: it ended otherwise, a handoff) count the bot's fallbacks in a row, reset by any
    confident answer. Commits what the session holds (the question's log). Returns the count."""
    await db.execute(update(Message).where(Message.id == message_id).values(answered=True))
    count = 0
    if failed is not None:
        count = await db.scalar(
            update(Conversation).where(Conversation.id == conversation_id)
            .values(bot_failures=Conversation.bot_failures + 1 if failed else 0).returning(Conversation.bot_failures))
    await db.commit()
    return count


async def reset_bot_failures(db: AsyncSession, conversation_id: str) -> None:
    await db.execute(update(Conversation).where(Conversation.id == conversation_id).values(bot_failures=0))
    await db.commit()


def message_dict(msg: Message) -> dict:
    """A message as the protocol sends it (docs/protocol.md)."""
    created = msg.created_at
    if created.tzinfo is None:  # SQLite drops the zone; we always store UTC
        created = created.replace(tzinfo=timezone.utc)
    out = {
        "id": msg.id,
        "seq": msg.seq,
        "sender": msg.sender,
        "text": msg.text,
        "created_at": created.isoformat().replace("+00:00", "Z"),
    }
    if msg.client_id:
        out["client_id"] = msg.client_id
    out.update(msg.extra or {})
    return out
