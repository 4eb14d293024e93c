"""The conversation's language for each bot turn (docs/bot.md, "Languages").

The conversation starts with the language the widget sends (the visitor's choice in the widget, else
the page's `data-lang` or `<html lang>`, else the browser's); a Rasa client's `customData.language`
sets it too. A message clearly written in another of the bot's languages (bot/language.py: Greek
script, Greeklish, English) switches it, stored on the conversation so agents see it and everything
after (the bot's answers, the handoff texts, e-mails) follows."""
from __future__ import annotations

from sqlalchemy import update

from app.context import AppContext
from bot.language import detect
from bot.texts import bot_language
from chat.models import Conversation


async def for_turn(ctx: AppContext, conversation_id: str, text: str, payload: str | None,
                   current: str | None) -> str:
    """The bot's language ("en", "el") for its answer to this message, switching the conversation's
    when the message is clearly in another language. `current`: the conversation's language, read
    with the message (no round trip of its own on the message path)."""
    found = None if payload and payload.startswith("/") else detect(text)
    if found is None or (current is not None and bot_language(current) == found):
        return bot_language(current)
    async with ctx.sessionmaker() as db:
        await db.execute(update(Conversation).where(Conversation.id == conversation_id).values(language=found))
        await db.commit()
    return found
