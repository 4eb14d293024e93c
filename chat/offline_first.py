"""With nobody online, a request for a person goes straight to the offline form: no name and e-mail
questions first (the form asks for them, prefilled with what the chat already knows) and no "I'm
finding a person" that nobody will answer. chat/flows.py calls this as a handoff starts.

Likewise the pre-chat form in `person` mode (engage/prechat.py): with someone online, a request for
a person in a conversation that has not answered it yet, from the product's widget, goes to that
form instead of the bot's name and e-mail questions; its answers continue the handoff
(flows.continue_after_prechat)."""
from __future__ import annotations

import contextvars

from app.context import AppContext
from app.db import utcnow
from bot.answers import Reply
from bot.rasa_client import RasaUnavailable
from chat import visitor_events
from chat.models import Conversation
from handoff import routing

# The conversation whose handoff this task just sent to the offline form (or the pre-chat form): the
# rest of that turn's handoff (the form's first question, the queue step) is dropped. Reset at every
# handoff's start.
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


async def starts_prechat(ctx: AppContext, conversation_id: str) -> bool:
    """At a handoff's `requested` step (someone online): True when the pre-chat form is due before a
    person (mode `person`, not answered yet) and the visitor's widget can show it (Rasa's form is
    ended; the caller tells the widget). A plain Rasa client (no extended connection) cannot: the
    bot's own name and e-mail questions go on."""
    from engage import prechat  # engage imports chat: import late

    if not widget_connected(ctx, conversation_id):
        return False
    async with ctx.sessionmaker() as db:
        due = await prechat.due_before_person(db, conversation_id)
    if due:
        _offered.set(conversation_id)
        try:
            await ctx.rasa.end_form(conversation_id)
        except RasaUnavailable:
            pass
    return due


def widget_connected(ctx: AppContext, conversation_id: str) -> bool:
    """An extended connection (the product's widget) of this conversation on this process: the one
    whose message started this bot turn (turns are run where the message arrived). With several
    processes a turn taken over elsewhere sees none and keeps the bot's questions: never worse."""
    rooms = getattr(ctx.sio.manager, "rooms", {}).get("/", {})
    return bool(rooms.get(visitor_events.ext_room(conversation_id)))


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
