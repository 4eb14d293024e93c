"""With nobody online, a request for a person goes straight to the offline form: no name and e-mail
questions first (the form asks for them, prefilled with what the chat already knows) and no "I'm
finding a person" that nobody will answer. chat/flows.py calls this as a handoff starts."""
from __future__ import annotations

import contextvars

from app.context import AppContext
from app.db import utcnow
from bot.answers import Reply
from bot.rasa_client import RasaUnavailable
from chat.models import Conversation
from handoff import routing

# The conversation whose handoff this task just sent to the offline form: the rest of that turn's
# handoff (the form's first question, the queue step) is dropped. Reset at every handoff's start.
_offered: contextvars.ContextVar[str | None] = contextvars.ContextVar("offline_offered", default=None)


async def nobody_online(ctx: AppContext) -> bool:
    async with ctx.sessionmaker() as db:
        timeout = (await routing.get_settings(db))["presence_timeout_s"]
        return await routing.online_agent_count(db, timeout, utcnow()) == 0


async def starts_offline(ctx: AppContext, conversation_id: str, reply: Reply) -> bool:
    """At a handoff's `requested` step: True when nobody is online (Rasa's form is ended; the caller
    offers the offline form now)."""
    offline = await nobody_online(ctx)
    _offered.set(conversation_id if offline else None)
    if offline:
        try:
            await ctx.rasa.end_form(conversation_id)
        except RasaUnavailable:
            pass  # Rasa down: there is no form to end
    return offline


def moot(conversation_id: str, reply: Reply) -> bool:
    """A later step of a handoff that went to the offline form in this turn: the form's question
    (it carries the Skip button) or the queue step."""
    if _offered.get() != conversation_id:
        return False
    return reply.handoff == "queue" or any(isinstance(q, dict) and q.get("payload") == "skip"
                                           for q in reply.quick_replies or [])


def known_visitor(conv: Conversation) -> dict:
    """What the offline form is prefilled with (the visitor's own details, for their own tabs)."""
    return {"name": conv.visitor_name or "", "email": conv.visitor_email or ""}
