"""Every event to a visitor's connections goes out through emit() here, in the shape each connection
asked for (docs/protocol.md, "Plain Rasa clients and extensions"):

- extended connections (the product's widget: `session_request` with `"extensions": true`) sit in the
  room `conv:<id>` and get every event as the protocol describes it;
- plain connections (any client written for Rasa's socket.io channel, e.g. rasa-webchat) sit in
  `rasa:<id>` and get only what Rasa's channel sends: `session_confirm` and `bot_uttered` carrying
  exactly `{"text"}` or `{"text", "quick_replies"}`. rasa-webchat draws a message by its exact set of
  keys, so one key more (`id`, `seq`, `kb`, ...) is an empty bubble. An agent's message becomes a
  text prefixed by the agent's name; a handoff state becomes a text the visitor can read."""
from __future__ import annotations

import re
from collections import OrderedDict

from sqlalchemy import select

from app.context import AppContext
from chat.models import Conversation

# customData.language and the `language` of session_request: a language tag such as "el" or "pt-BR".
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$")
# Conversations whose last handoff text is remembered (so the queue's 30 s refresh is not repeated
# to plain clients); the oldest are forgotten first.
MAX_REMEMBERED = 10_000
QUICK_REPLY_KEYS = ("content_type", "title", "payload")

TEXTS = {
    "en": {
        "queued": "You're number {n} in line.",
        "queued_est": "You're number {n} in line (about {m} min).",
        "queued_unknown": "You're in line for a person. You can keep asking me questions meanwhile.",
        "assigned": "{name} joined the chat.",
        "assigned_team": "A person from our support team joined the chat.",
        "offline": "Nobody is available to chat right now. You can keep asking me questions.",
        "bot": "You're chatting with the assistant again.",
        "closed": "This chat has ended. Thank you!",
    },
    "el": {
        "queued": "Είστε νούμερο {n} στη σειρά.",
        "queued_est": "Είστε νούμερο {n} στη σειρά (περίπου {m} λεπτά).",
        "queued_unknown": "Περιμένετε έναν άνθρωπο. Μπορείτε να συνεχίσετε να μου κάνετε ερωτήσεις στο μεταξύ.",
        "assigned": "{name} μπήκε στη συνομιλία.",
        "assigned_team": "Ένα μέλος της ομάδας υποστήριξης μπήκε στη συνομιλία.",
        "offline": "Κανείς δεν είναι διαθέσιμος για συνομιλία αυτή τη στιγμή. Μπορείτε να συνεχίσετε να μου κάνετε ερωτήσεις.",
        "bot": "Συνομιλείτε ξανά με τον βοηθό.",
        "closed": "Η συνομιλία τελείωσε. Ευχαριστούμε!",
    },
}

_said: OrderedDict[str, tuple] = OrderedDict()  # conversation id -> key of the last handoff text


def ext_room(conversation_id: str) -> str:
    """Extended connections. Nothing else names a visitor room: every visitor event goes through emit()."""
    return f"conv:{conversation_id}"


def plain_room(conversation_id: str) -> str:
    return f"rasa:{conversation_id}"


def room(conversation_id: str, extended: bool) -> str:
    return ext_room(conversation_id) if extended else plain_room(conversation_id)


def language_tag(value: object) -> str | None:
    return value if isinstance(value, str) and len(value) <= 16 and LANGUAGE_RE.match(value) else None


def custom_language(data: dict) -> str | None:
    """The visitor's language from Rasa's `customData` (rasa-webchat sends it with every message).
    Like Rasa's channel, a missing, malformed or unknown customData is ignored, never an error."""
    custom = data.get("customData")
    return language_tag(custom.get("language")) if isinstance(custom, dict) else None


async def emit(ctx: AppContext, conversation_id: str, event: str, data: dict, *,
               skip_sid: str | None = None) -> None:
    """One visitor event, to the conversation's extended connections as it is and to its plain
    connections as Rasa's channel would say it (or not at all)."""
    await ctx.sio.emit(event, data, room=ext_room(conversation_id), skip_sid=skip_sid)
    plain = await plain_message(ctx, conversation_id, event, data)
    if plain is not None:
        await ctx.sio.emit("bot_uttered", plain, room=plain_room(conversation_id), skip_sid=skip_sid)


async def plain_message(ctx: AppContext, conversation_id: str, event: str, data: dict) -> dict | None:
    if event == "bot_uttered":
        return plain_bot_uttered(data, ctx.settings.base_url)
    if event == "handoff":
        return await _plain_handoff(ctx, conversation_id, data)
    # visitor_uttered (Rasa does not echo the visitor), bot_typing, agent_typing: extensions only
    return None


def plain_bot_uttered(data: dict, base_url: str = "") -> dict | None:
    """A stored bot, agent or system message as Rasa's socket.io channel sends a text
    (`{"text"}`) or a text with buttons (`{"text", "quick_replies"}`), and nothing else; an image
    an agent sent as Rasa's `send_image_url` does (`{"attachment": {"type": "image", "payload":
    {"src"}}}`), any other file as a text with its link. The URLs carry the visitor's `sig`."""
    att = data.get("attachment")
    if isinstance(att, dict) and isinstance(att.get("id"), str) and isinstance(att.get("sig"), str):
        url = f"{base_url.rstrip('/')}/api/attachments/{att['id']}?sig={att['sig']}"
        if att.get("kind") == "image":
            return {"attachment": {"type": "image", "payload": {"src": url}}}
        data = {**data, "text": f"{att.get('name') or 'file'}: {url}"}
    text = data.get("text")
    if not isinstance(text, str) or not text:
        return None
    name = data.get("agent_name")
    if data.get("sender") == "agent" and isinstance(name, str) and name:
        text = f"{name}: {text}"
    out: dict = {"text": text}
    quick = [{k: str(q.get(k, "text" if k == "content_type" else "")) for k in QUICK_REPLY_KEYS}
             for q in data.get("quick_replies") or [] if isinstance(q, dict)]
    if quick:
        out["quick_replies"] = quick
    return out


def handoff_text(data: dict, language: str | None) -> tuple[tuple, str] | None:
    """(key, text) of a `handoff` event for a plain client, or None when it has nothing to say
    (`requested`: the bot's own message says it; `offline` after a message was left; a rating)."""
    t = TEXTS["el" if (language or "").lower().startswith("el") else "en"]
    state = data.get("state")
    if state == "queued":
        n, est = data.get("position"), data.get("estimated_wait_s")
        if not isinstance(n, int) or n < 1:
            return ("queued", None), t["queued_unknown"]
        if isinstance(est, int) and est >= 60:
            return ("queued", n), t["queued_est"].format(n=n, m=round(est / 60))
        return ("queued", n), t["queued"].format(n=n)
    if state == "assigned":
        name = (data.get("agent") or {}).get("name")
        return ("assigned", name), t["assigned"].format(name=name) if name else t["assigned_team"]
    if state == "offline" and not data.get("message_left"):
        return ("offline",), t["offline"]
    if state == "bot":
        return ("bot",), t["bot"]
    if state == "closed" and data.get("rating_requested"):
        return ("closed",), t["closed"]
    return None


async def _plain_handoff(ctx: AppContext, conversation_id: str, data: dict) -> dict | None:
    said = handoff_text(data, None)
    if said is None or _said.get(conversation_id) == said[0]:
        return None  # the queue is re-announced every 30 s: a plain client hears only changes
    _said[conversation_id] = said[0]
    _said.move_to_end(conversation_id)
    while len(_said) > MAX_REMEMBERED:
        _said.popitem(last=False)
    async with ctx.sessionmaker() as db:
        language = await db.scalar(select(Conversation.language).where(Conversation.id == conversation_id))
    return {"text": handoff_text(data, language)[1]}
