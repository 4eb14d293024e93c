"""The bot's answers that need the knowledge base: used by the custom actions Rasa calls and,
while Rasa is down, by the app on its own."""
from __future__ import annotations

import json
import re

from bot.answers import (
    Reply, answer_from_kb, find_order_number, handoff_queue, handoff_reason_of, is_confident, is_handoff_payload,
    looks_like_handoff, not_sure,
)
from knowledge_base.service import LiveIndex

_ARTICLE_PAYLOAD = re.compile(r'^/ask_question\s*(\{.*\})\s*$')

AFFIRM = Reply("Great, glad that helped! Is there anything else I can do for you?")
DENY = Reply(
    "Sorry about that. Try asking in other words, or talk to a person.",
    quick_replies=[{"content_type": "text", "title": "Talk to a person", "payload": "/human_handoff"}],
)


async def answer_question(
    kb: LiveIndex, text: str, *, intent: str | None = None, confidence: float = 0.0, article_id: int | None = None
) -> Reply:
    if article_id is not None:  # a "related article" button names the article itself
        doc = await kb.doc(article_id)
        if doc is not None:
            hits = [h for h in await kb.search(doc.title, k=3) if h.article_id != doc.id]
            return answer_from_kb(doc, 1.0, hits)
    hits = await kb.search(text, k=3)
    if is_confident(hits, intent, confidence):
        doc = await kb.doc(hits[0].article_id)
        if doc is not None:
            return answer_from_kb(doc, hits[0].score, hits[1:])
    return not_sure(hits)


def article_id_from_payload(text: str) -> int | None:
    m = _ARTICLE_PAYLOAD.match(text.strip())
    if not m:
        return None
    try:
        value = json.loads(m.group(1)).get("article_id")
        return int(value)
    except (ValueError, TypeError, AttributeError):
        return None


async def reply_without_rasa(kb: LiveIndex, text: str, *, history: list[str] | tuple[str, ...] = ()) -> Reply:
    """Rasa is down: still answer from the knowledge base, or hand over to a person. The handoff
    skips the name/e-mail form (that is Rasa's) and is one Reply with handoff="queue" and the
    reason (button, bot_failed injected by the app, visitor_asked); `history` (the visitor's
    earlier messages, oldest first, if the caller has them) only feeds the order number."""
    stripped = text.strip()
    if stripped == "/affirm":
        return AFFIRM
    if stripped == "/deny":
        return DENY
    if is_handoff_payload(stripped) or looks_like_handoff(stripped):
        return handoff_queue(handoff_reason_of(stripped), order_number=find_order_number([*history, stripped]))
    return await answer_question(kb, stripped, article_id=article_id_from_payload(stripped))
