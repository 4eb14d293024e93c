"""What the bot says: the decision between a knowledge-base answer, an honest "I'm not sure" and a
handoff, and the texts and quick replies of each. Pure functions: the custom-action endpoint (Rasa
up) and the local path (Rasa down) both call them, and so does the evaluation script."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge_base.search import ANSWER_THRESHOLD, Doc, Hit
from knowledge_base.text import fold

# When Rasa is fairly sure the question is off-topic, a knowledge-base hit must be this much
# stronger before the bot trusts it over Rasa.
OUT_OF_SCOPE_MARGIN = 0.15
OUT_OF_SCOPE_CONFIDENCE = 0.6
# An "I'm not sure" answer offers articles scoring at least this fraction of the threshold.
SUGGEST_FRACTION = 0.6

TALK_TO_PERSON = {"content_type": "text", "title": "Talk to a person", "payload": "/human_handoff"}
YES = {"content_type": "text", "title": "Yes, thanks", "payload": "/affirm"}
NO = {"content_type": "text", "title": "No", "payload": "/deny"}


@dataclass
class Reply:
    text: str
    quick_replies: list[dict] = field(default_factory=list)
    kb: dict | None = None
    fallback: bool = False
    handoff_reason: str | None = None

    def extras(self) -> dict:
        """What a message carries besides its text (docs/protocol.md)."""
        out: dict = {}
        if self.quick_replies:
            out["quick_replies"] = self.quick_replies
        if self.kb:
            out["kb"] = self.kb
        if self.fallback:
            out["fallback"] = True
        return out


def is_confident(hits: list[Hit], intent: str | None = None, intent_confidence: float = 0.0) -> bool:
    if not hits:
        return False
    threshold = ANSWER_THRESHOLD
    if intent == "out_of_scope" and intent_confidence >= OUT_OF_SCOPE_CONFIDENCE:
        threshold += OUT_OF_SCOPE_MARGIN
    return hits[0].score >= threshold


def answer_from_kb(doc: Doc, hit_score: float, related: list[Hit]) -> Reply:
    quick = [YES, NO]
    quick += [{"content_type": "text", "title": h.title, "payload": f'/ask_question{{"article_id": "{h.article_id}"}}'}
              for h in related[:2]]
    quick.append(TALK_TO_PERSON)
    return Reply(
        text=f"{doc.body}\n\nDid that answer your question?",
        quick_replies=quick,
        kb={"article_id": doc.id, "title": doc.title, "score": round(hit_score, 3)},
    )


def not_sure(suggestions: list[Hit]) -> Reply:
    # Near misses are worth a button; the best of a random text's hits are noise.
    quick = [{"content_type": "text", "title": h.title, "payload": f'/ask_question{{"article_id": "{h.article_id}"}}'}
             for h in suggestions[:2] if h.score >= ANSWER_THRESHOLD * SUGGEST_FRACTION]
    quick.append(TALK_TO_PERSON)
    return Reply(
        text="I'm not sure I can answer that. Could you rephrase it, for example with your order, "
             "delivery, return or payment in a few words? Or talk to a person.",
        quick_replies=quick,
        fallback=True,
    )


def handoff_started(reason: str) -> Reply:
    return Reply(
        text="I'm connecting you with a person from our team. Please stay on this page; "
             "you can keep asking me questions while you wait.",
        handoff_reason=reason,
    )


_HUMAN = (
    r"(human|person|people|agent|operator|representative|rep|someone|somebody|staff|employee|"
    r"customer (service|support|care)|support team|real (one|guy|man|woman)|live chat|manager|"
    r"medewerker|ανθρωπο|υπαλληλο|εκπροσωπο)"
)
_HANDOFF_PATTERNS = [
    re.compile(rf"\b(talk|speak|chat|connect|transfer|put me through|get me|give me|need|want|reach|contact)\b.*\b{_HUMAN}"),
    re.compile(rf"^\W*(an? )?(real |live )?{_HUMAN}\W*(please|pls|plz|now|asap)?\W*$"),
    re.compile(r"\b(agent|human|operator|person) (please|pls|plz|now)\b"),
    re.compile(r"\b(not|no more|stop|useless|stupid|hate)\b.*\bbot\b"),
]


def looks_like_handoff(text: str) -> bool:
    """A request for a person, recognised without Rasa (used only while Rasa is down)."""
    t = fold(text).strip()
    if t == "/human_handoff":
        return True
    if re.search(r"\b(pick|picks|picked|sign|signs|signed|collect|deliver)\b", t):
        return False  # "can someone else pick up my parcel" is a question, not a request for a person
    return any(p.search(t) for p in _HANDOFF_PATTERNS)
