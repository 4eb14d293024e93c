"""Database functions for conversations and messages (no Socket.IO, no HTTP here)."""
from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta, timezone

from sqlalchemy import and_, case, func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from chat.models import BOT_ANSWERS_IN, Conversation, Message, Transition


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
    language: str | None = None  # and its language then (the bot's turn needs both)
    # A visitor question the bot owes an answer: the claim token when this store also claimed the
    # conversation's bot turn (the caller runs it), and the questions waiting, this one included.
    turn: str | None = None
    pending: int = 0


# ---- the bot's turn: one claim per conversation at a time, across processes (chat/turns.py) ------
# A lease on the conversation row: owner (a claim token) and expiry, by PostgreSQL's clock (one
# clock for every machine); SQLite is one file on one machine, so its host's clock is the same.

# The message path's UPDATEs (the sequence number and claim, the end of the bot's turn) are Core
# statements on the tables: as ORM statements they also searched the session for objects to update
# in memory and built ORM compile state, about a fifth of their CPU (docs/benchmarks.md, "Scaling out").
_C = Conversation.__table__.c
_M = Message.__table__.c


def db_now(db: AsyncSession):
    return func.now() if db.bind.dialect.name == "postgresql" else utcnow()


def _lease_until(db: AsyncSession, lease_s: float):
    return db_now(db) + timedelta(seconds=lease_s)


def _turn_free(db: AsyncSession):
    return or_(_C.bot_turn_owner.is_(None), _C.bot_turn_until < db_now(db))


class TurnLost(Exception):
    """The claim ran out and another one took the turn over (or answered this question): nothing of
    this turn was stored."""


async def _next_seq(db: AsyncSession, conversation_id: str, claim: tuple[str, float] | None = None) -> tuple:
    # One atomic statement: concurrent writers each get their own number, with no gaps. With `claim`
    # (a visitor message) the same statement counts the question the bot owes (in a bot state) and
    # claims the bot's turn when it is free, so the message path gains no round trip. SET reads the
    # row as it was: `owes` and the free lease are the old row's.
    values: dict = {"last_seq": _C.last_seq + 1}
    returning = [_C.last_seq, _C.state, _C.language]
    if claim is not None:
        token, lease_s = claim
        owes = _C.state.in_(BOT_ANSWERS_IN)
        take = and_(owes, _turn_free(db))
        values.update(bot_pending=_C.bot_pending + case((owes, 1), else_=0),
                      bot_turn_owner=case((take, token), else_=_C.bot_turn_owner),
                      bot_turn_until=case((take, _lease_until(db, lease_s)), else_=_C.bot_turn_until))
        returning += [_C.bot_pending, _C.bot_turn_owner]
    row = (await db.execute(
        update(Conversation.__table__).where(_C.id == conversation_id).values(**values).returning(*returning)
    )).one()
    return tuple(row)


async def claim_turn(db: AsyncSession, conversation_id: str, token: str, lease_s: float, *,
                     replacing: str | None = None) -> bool:
    """Claim the conversation's bot turn when nobody holds it (the holder's lease ran out, or it is
    `replacing`, a process known dead): one atomic UPDATE, so of several trying at once one wins."""
    free = _turn_free(db) if replacing is None else or_(_turn_free(db), Conversation.bot_turn_owner == replacing)
    row = (await db.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, free)
        .values(bot_turn_owner=token, bot_turn_until=_lease_until(db, lease_s))
        .returning(Conversation.id)
    )).first()
    await db.commit()
    return row is not None


async def release_turn(db: AsyncSession, conversation_id: str, token: str, *, repair: bool = False,
                       force: bool = False) -> bool:
    """Give the turn up unless questions still wait (checked on the row itself, so a question stored
    meanwhile keeps the turn held and is answered by its holder). True: released. `repair`: no
    question was found twice although the count says some wait: recount them (nothing released).
    `force`: release whatever waits (the turn failed; recovery tries again)."""
    mine = and_(Conversation.id == conversation_id, Conversation.bot_turn_owner == token)
    if repair:
        count = (select(func.count()).select_from(Message)
                 .where(Message.conversation_id == conversation_id, Message.answered == False)  # noqa: E712
                 .scalar_subquery())
        await db.execute(update(Conversation).where(mine).values(bot_pending=count))
        await db.commit()
        return False
    row = (await db.execute(
        update(Conversation).where(mine, true() if force else Conversation.bot_pending <= 0)
        .values(bot_turn_owner=None, bot_turn_until=None)
        .returning(Conversation.id)
    )).first()
    await db.commit()
    return row is not None


async def renew_turns(db: AsyncSession, held: dict[str, str], lease_s: float) -> int:
    """Extend the leases this process holds ({conversation_id: token}), in one statement."""
    if not held:
        return 0
    result = await db.execute(
        update(Conversation)
        .where(Conversation.id.in_(list(held)), Conversation.bot_turn_owner.in_(list(held.values())))
        .values(bot_turn_until=_lease_until(db, lease_s))
    )
    await db.commit()
    return result.rowcount


async def next_question(db: AsyncSession, conversation_id: str) -> tuple[Message | None, str | None, str | None]:
    """The oldest question waiting for the bot in this conversation, and the conversation's state
    and language."""
    row = (await db.execute(
        select(Message, Conversation.state, Conversation.language)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.conversation_id == conversation_id, Message.answered == False)  # noqa: E712 (the index)
        .order_by(Message.seq).limit(1)
    )).first()
    await db.commit()
    return (row[0], row[1], row[2]) if row else (None, None, None)


async def waiting_conversations(db: AsyncSession, limit: int = 500) -> list[tuple[str, str | None, bool]]:
    """Conversations with questions waiting for the bot: (id, the turn's holder, whether its lease
    is free), for recovery. Served by the small unanswered-messages index."""
    waiting = (select(Message.conversation_id)
               .where(Message.answered == False).distinct().scalar_subquery())  # noqa: E712
    rows = (await db.execute(
        select(Conversation.id, Conversation.bot_turn_owner, _turn_free(db).label("free"))
        .where(Conversation.id.in_(waiting)).limit(limit)
    )).all()
    await db.commit()
    return [(r.id, r.bot_turn_owner, bool(r.free)) for r in rows]


class NotOwner(Exception):
    """The chat is not (or no longer) with the agent who tried to write in it."""


class ClientIdTaken(Exception):
    """A client_id already used in this conversation by another writer (another sender, or another
    agent): never answer with that message (its text, id or seq) as if it were this caller's retry."""
    code, message = "bad_payload", "this client_id belongs to another message"


def _retry_of(existing: Message, sender: str, agent_id: int | None) -> "Stored":
    """The first answer to a retry, if the stored message is the caller's own."""
    if existing.sender != sender or existing.agent_id != agent_id:
        raise ClientIdTaken()
    return Stored(existing, duplicate=True)


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
    claim: tuple[str, float] | None = None,
) -> Stored:
    """Store a message with the next sequence number and commit (`commit=False`: flush only, the
    caller commits). A client_id seen before in this conversation stores nothing and returns the
    message stored the first time, if the same writer stored it (else raises ClientIdTaken). With `owner_id`, only while the chat is assigned to that agent,
    checked under the conversation's row lock (so a transfer or close committed meanwhile wins;
    raises NotOwner, nothing stored). With `claim` (token, lease seconds; visitor messages), a
    question the bot owes is counted and the bot's turn claimed when free (`Stored.turn`)."""
    if client_id is not None and owner_id is not None:
        # An agent's retry gets the first answer even after the chat moved on; other retries are
        # caught by the unique (conversation, client_id) at the commit, one statement less.
        existing = await _by_client_id(db, conversation_id, client_id)
        if existing is not None:
            return _retry_of(existing, sender, agent_id)
    seq, state, language, *turn = await _next_seq(db, conversation_id, claim)  # takes the conversation's row lock
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
        # Only a question (stored with a claim) while the bot speaks for the chat waits for its answer.
        answered=claim is None or state not in BOT_ANSWERS_IN,
    )
    db.add(msg)
    if not commit:
        await db.flush()  # the message's id, for the caller's events after its commit
        return Stored(msg, duplicate=False, state=state, language=language)
    try:
        await db.commit()
    except IntegrityError:  # a client_id stored before (a retry, or a race with another connection)
        await db.rollback()
        existing = await _by_client_id(db, conversation_id, client_id)
        if existing is None:
            raise
        return _retry_of(existing, sender, agent_id)
    if turn:
        pending, owner = turn
        return Stored(msg, duplicate=False, state=state, language=language,
                      turn=owner if owner == claim[0] else None, pending=pending)
    return Stored(msg, duplicate=False, state=state, language=language)


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


@dataclass
class TurnEnd:
    failures: int  # the bot's fallbacks in a row (0 when the turn did not count them)
    held: bool  # questions still wait: the claim is kept (and renewed) for the next one


async def end_bot_turn(db: AsyncSession, conversation_id: str, message_id: int, *, failed: bool | None,
                       turn: str, lease_s: float) -> TurnEnd:
    """The visitor's message is answered, by the holder of the turn `turn`; with `failed` (the turn
    ended in an "I'm not sure" or not; None: it ended otherwise, a handoff) count the bot's fallbacks
    in a row, reset by any confident answer. Commits what the session holds (the answers, the
    question's log) only if the question was still unanswered and the claim still this one; else
    rolls all of it back and raises TurnLost, so a question is never answered twice. The same
    statement releases the turn when no other question waits, or renews it."""
    done = await db.execute(update(Message.__table__).where(_M.id == message_id, _M.answered == False)  # noqa: E712
                            .values(answered=True))
    last = _C.bot_pending <= 1
    values: dict = {"bot_pending": case((last, 0), else_=_C.bot_pending - 1),
                    "bot_turn_owner": case((last, None), else_=_C.bot_turn_owner),
                    "bot_turn_until": case((last, None), else_=_lease_until(db, lease_s))}
    if failed is not None:
        values["bot_failures"] = _C.bot_failures + 1 if failed else 0
    row = (await db.execute(
        update(Conversation.__table__).where(_C.id == conversation_id, _C.bot_turn_owner == turn)
        .values(**values).returning(_C.bot_failures, _C.bot_pending)
    )).first() if done.rowcount == 1 else None
    if row is None:
        await db.rollback()
        raise TurnLost()
    await db.commit()
    return TurnEnd(failures=row.bot_failures if failed is not None else 0, held=row.bot_pending > 0)


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
