"""The bot's answers that need the knowledge base: used by the custom actions Rasa calls and,
while Rasa is down, by the app on its own."""
from __future__ import annotations

import json
import re

from bot.answers import (
    Reply, answer_from_kb, find_order_number, handoff_queue, handoff_reason_of, is_confident, is_handoff_payload,
    looks_like_handoff, not_sure, only_in_other_language, talk_to_person,
)
from bot.texts import bot_language, say
from knowledge_base.service import LiveIndex

_ARTICLE_PAYLOAD = re.compile(r'^/ask_question\s*(\{.*\})\s*$')


def affirm(language: str = "en") -> Reply:
    return Reply(say("affirm_alone", language))


def deny(language: str = "en") -> Reply:
    return Reply(say("deny_alone", language), quick_replies=[talk_to_person(language)])


AFFIRM = affirm()
DENY = deny()


async def answer_question(
    kb: LiveIndex, text: str, *, intent: str | None = None, confidence: float = 0.0, article_id: int | None = None,
    language: str = "en",
) -> Reply:
    """The knowledge base's answer in the visitor's `language`: from that language's articles; when
    none answers, articles on the topic that exist only in another language are offered as such
    (bot.answers.only_in_other_language), else an honest "I'm not sure"."""
    language = bot_language(language)
    if article_id is not None:  # a "related article" button names the article itself
        doc = await kb.doc(article_id)
        if doc is not None:
            # a button of an English title pressed by a Greek visitor: its Greek translation if any
            doc = await kb.translation(doc.id, language) or doc if doc.language != language else doc
            hits = [h for h in await kb.search(doc.title, k=3, language=doc.language) if h.article_id != doc.id]
            return answer_from_kb(doc, 1.0, hits, language)
    hits = await kb.search(text, k=3, language=language)
    if is_confident(hits, intent, confidence):
        doc = await kb.doc(hits[0].article_id)
        if doc is not None:
            return answer_from_kb(doc, hits[0].score, hits[1:], language)
    offers = await kb.untranslated(text, language) if intent != "out_of_scope" else []
    if offers:
        return only_in_other_language(offers, language, hits)
    return not_sure(hits, language)


def article_id_from_payload(text: str) -> int | None:
    m = _ARTICLE_PAYLOAD.match(text.strip())
    if not m:
        return None
    try:
        value = json.loads(m.group(1)).get("article_id")
        return int(value)
    except (ValueError, TypeError, AttributeError):
        return None


async def reply_without_rasa(kb: LiveIndex, text: str, *, history: list[str] | tuple[str, ...] = (),
                             language: str = "en") -> Reply:
    """Rasa is down: still answer from the knowledge base, or hand over to a person. The handoff
    skips the name/e-mail form (that is Rasa's) and is one Reply with handoff="queue" and the
    reason (button, bot_failed injected by the app, visitor_asked); `history` (the visitor's
    earlier messages, oldest first, if the caller has them) only feeds the order number."""
    stripped = text.strip()
    if stripped == "/affirm":
        return affirm(language)
    if stripped == "/deny":
        return deny(language)
    if is_handoff_payload(stripped) or looks_like_handoff(stripped):
        return handoff_queue(handoff_reason_of(stripped), order_number=find_order_number([*history, stripped]),
                             language=language)
    return await answer_question(kb, stripped, article_id=article_id_from_payload(stripped), language=language)
