"""Offline messages (tickets): left through the widget's contact form while nobody could chat,
followed up by agents by e-mail. Database functions plus the e-mails they send; no Socket.IO here
(callers emit the stored transcript messages).

A ticket is linked to its conversation, and the transcript gets a message for it, so agents see
the offline message in the chat's history next to what the bot said before."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import User
from app.db import utcnow
from app.settings import Settings
from chat import service
from chat.models import Conversation, Message
from handoff import mailer
from handoff.models import Ticket

log = logging.getLogger(__name__)

# A visitor may leave this many offline messages per conversation per window.
MAX_PER_WINDOW = 3
WINDOW = timedelta(hours=1)
# The states in which the contact form is offered (the queue too: a visitor tired of waiting).
FORM_STATES = ("offline_form", "queued")
MAX_NAME, MAX_MESSAGE, MAX_REPLY = 100, 4000, 4000
# Confirmation e-mails go to an address anyone can type: without a cap the contact form would let a
# stranger mail-bomb a victim through the shop's SMTP server (new conversations each time). Per
# window: this many to one address, this many in all. The tickets are stored either way.
CONFIRMATIONS_PER_ADDRESS = 3
CONFIRMATIONS_IN_ALL = 100


class TicketError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Created:
    ticket: Ticket
    message: Message  # the transcript's note of it (sender "visitor")


def transcript_text(ticket: Ticket) -> str:
    who = f"{ticket.name} <{ticket.email}>" if ticket.name else ticket.email
    return f"Offline message #{ticket.id} from {who}:\n{ticket.message}"


async def _lock_conversation(db: AsyncSession, conversation_id: str, now: datetime) -> Conversation | None:
    """Start the transaction with a write on the conversation row: a row lock on PostgreSQL, the
    write lock on SQLite, so the checks below cannot race a second tab."""
    await db.execute(update(Conversation).where(Conversation.id == conversation_id).values(updated_at=now))
    return await db.get(Conversation, conversation_id, populate_existing=True)


async def create(db: AsyncSession, conversation_id: str, *, name: str, email: str, message: str,
                 now: datetime | None = None) -> Created:
    """Store the ticket and its transcript message in one transaction. Input must be checked
    already (chat.visitor_ns.check_offline_message); the state and the rate limit are checked here."""
    now = now or utcnow()
    conv = await _lock_conversation(db, conversation_id, now)
    if conv is None:
        await db.rollback()
        raise TicketError("unknown_session", "no such conversation")
    if conv.state not in FORM_STATES:
        await db.rollback()
        raise TicketError("not_offline", "a message can be left only while nobody is available to chat")
    recent = await db.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.conversation_id == conversation_id, Ticket.created_at > now - WINDOW))
    if recent >= MAX_PER_WINDOW:
        await db.rollback()
        raise TicketError("rate_limited", f"you can leave at most {MAX_PER_WINDOW} messages an hour; "
                                          "we will answer the ones you sent")
    ticket = Ticket(conversation_id=conversation_id, name=name, email=email, message=message, status="open",
                    created_at=now)
    db.add(ticket)
    if not conv.visitor_name and name:
        conv.visitor_name = name
    if not conv.visitor_email:
        conv.visitor_email = email
    await db.flush()  # the ticket's id, for the transcript's text
    # add_message takes the next sequence number and commits the ticket with it: both or neither.
    stored = await service.add_message(db, conversation_id=conversation_id, sender="visitor",
                                       text=transcript_text(ticket),
                                       extra={"ticket": {"id": ticket.id, "email": email}})
    return Created(ticket, stored.message)


async def may_confirm(db: AsyncSession, ticket: Ticket, now: datetime | None = None) -> bool:
    """Whether this ticket may get its confirmation e-mail (the caps above, over the tickets of the
    last WINDOW, this one included)."""
    since = (now or utcnow()) - WINDOW
    same = await db.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.created_at > since, func.lower(Ticket.email) == ticket.email.lower(), Ticket.id <= ticket.id))
    if same > CONFIRMATIONS_PER_ADDRESS:
        return False
    every = await db.scalar(select(func.count()).select_from(Ticket).where(Ticket.created_at > since,
                                                                           Ticket.id <= ticket.id))
    return every <= CONFIRMATIONS_IN_ALL


async def send_confirmation(settings: Settings, ticket: Ticket, language: str | None = None) -> bool:
    """The visitor's "we got your message" e-mail (when e-mail is configured)."""
    subject, body = mailer.confirmation(ticket, language)
    return await mailer.send(settings, ticket.email, subject, body, automatic=True)


@dataclass
class Replied:
    ticket: Ticket
    message: Message  # the agent's reply in the transcript (the caller emits it)
    emailed: bool


async def reply(db: AsyncSession, ticket_id: int, agent_id: int, text: str, settings: Settings, *,
                now: datetime | None = None) -> Replied:
    """An agent answers an offline message: the reply goes into the chat's transcript (an agent
    message, so the visitor sees it on their next visit too) and, when e-mail is configured, to the
    address the visitor left. A failed e-mail is logged; the reply is stored either way. Refused
    (nothing stored, nothing sent) for a closed ticket (`ticket_closed`) and, for agents, while the
    conversation is assigned to another agent (`not_owner`; admins may, as in chats)."""
    text = (text or "").strip()
    if not text:
        raise TicketError("empty_message", "the reply is empty")
    if len(text) > MAX_REPLY:
        raise TicketError("message_too_long", f"a reply can be at most {MAX_REPLY} characters")
    ticket = await db.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:
        raise TicketError("not_found", "no such ticket")
    agent = await db.get(User, agent_id)
    if agent is None:
        raise TicketError("not_found", "no such agent")
    # The same ownership rule as chat messages (chat.service.add_message owner_id), checked under the
    # conversation's lock so a takeover or a close committed meanwhile wins.
    conv = await _lock_conversation(db, ticket.conversation_id, now or utcnow())
    ticket = await db.get(Ticket, ticket_id, populate_existing=True, with_for_update=True)
    if ticket.status == "closed":
        await db.rollback()
        raise TicketError("ticket_closed", "this offline message is closed and takes no more replies")
    if conv.state == "assigned" and conv.agent_id != agent_id and agent.role != "admin":
        await db.rollback()
        raise TicketError("not_owner", "this visitor is chatting with another agent; they answer in the chat")
    ticket.handled_by = agent_id
    stored = await service.add_message(db, conversation_id=ticket.conversation_id, sender="agent", text=text,
                                       agent_id=agent_id,
                                       extra={"agent_name": agent.display_name, "ticket": {"id": ticket.id}})
    subject, body = mailer.reply(ticket, text, agent.display_name, conv.language if conv else None)
    emailed = await mailer.send(settings, ticket.email, subject, body)
    return Replied(ticket, stored.message, emailed)


async def close(db: AsyncSession, ticket_id: int, agent_id: int, *, now: datetime | None = None) -> Ticket:
    """Mark a ticket done. Closing a closed ticket changes nothing."""
    ticket = await db.get(Ticket, ticket_id, populate_existing=True, with_for_update=True)  # waits for a reply
    if ticket is None:
        raise TicketError("not_found", "no such ticket")
    if ticket.status != "closed":
        ticket.status, ticket.closed_at = "closed", now or utcnow()
        ticket.handled_by = ticket.handled_by or agent_id
        await db.commit()
    return ticket


async def list_open(db: AsyncSession, *, limit: int = 200) -> list[Ticket]:
    """Open tickets, oldest first (the order to follow them up in)."""
    return list(await db.scalars(
        select(Ticket).where(Ticket.status == "open").order_by(Ticket.created_at, Ticket.id).limit(limit)))


def ticket_dict(ticket: Ticket) -> dict:
    from handoff.notify import iso

    return {"id": ticket.id, "conversation_id": ticket.conversation_id, "name": ticket.name,
            "email": ticket.email, "message": ticket.message, "status": ticket.status,
            "handled_by": ticket.handled_by, "created_at": iso(ticket.created_at),
            "closed_at": iso(ticket.closed_at)}
