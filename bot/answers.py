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
# How much the lead of the top article over the runner-up counts next to its own score.
MARGIN_WEIGHT = 1.0
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
    """Answer with the top article only when it is both a good match and clearly ahead of the
    runner-up: a close second means the question is ambiguous or the right article is missing, and
    a wrong answer costs more than an honest "I'm not sure" (docs/answer-quality.md)."""
    if not hits:
        return False
    threshold = ANSWER_THRESHOLD
    if intent == "out_of_scope" and intent_confidence >= OUT_OF_SCOPE_CONFIDENCE:
        threshold += OUT_OF_SCOPE_MARGIN
    margin = hits[0].score - (hits[1].score if len(hits) > 1 else 0.0)
    return hits[0].score + MARGIN_WEIGHT * margin >= threshold


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


# A request for a person, recognised without Rasa (Rasa down). Whole messages like "agent pls" or
# "customer service", or a request verb followed by someone on our side; never the courier, the
# neighbour or the person a gift came from.
_WHO = (
    r"(humans?|persons?|people|agents?|operators?|representatives?|reps?|staff|employees?|colleagues?|"
    r"advis[eo]rs?|consultants?|managers?|supervisors?|boss|owner|team ?members?|(your|the) team|support( team)?|helpline|hotline|"
    r"customer (service|services|support|care)|support (staff|desk)|help ?desk|service desk|"
    r"live (chat|agent|support|person|human)|(real|actual|proper|living) (one|person|human|people|guy|man|woman|someone|somebody)|"
    r"human being|(someone|somebody|anyone|anybody|one) (real|from (your|the) \w+|(at|in|on) (your|the) (team|company|shop|store|office|support))|"
    r"medewerker|iemand|mitarbeiter\w*|mensch|berater\w*|humain|conseiller\w*|personne|ανθρωπο\w*|υπαλληλο\w*|εκπροσωπο\w*)"
)
_ASK = (
    r"(talk|speak|chat|connect|transfer|forward|put|get|give|need|want|reach|contact|escalate|message|"
    r"deal|take over|take me|hand|pass|switch|rather|prefer|bring|call|phone|ring|email|have|touch|let me|is there|are there|any|"
    r"like|wanna|gimme|request|ask for|find)"
)
_NOT_US = re.compile(
    r"\b(courier|driver|postman|postwoman|mailman|delivery (person|guy|man|woman|driver)|neighbou?rs?|"
    r"(someone|somebody|anyone|anybody|person) else|sign\w*|pick\w*|collect\w*|deliver\w*|"
    r"(person|people|someone|somebody) (who|that) (bought|ordered|sent|gave))\b"
)
_REQUESTS = [
    re.compile(rf"\b{_ASK}\b.*\b{_WHO}\b"),
    re.compile(rf"^\W*((an?|the|some|your|my|one) )?{_WHO}\W*((please|pls|plz|now|asap|thanks?|here)\W*)*$"),
    re.compile(rf"\b{_WHO}\b.*\b(take over|takes over|step in|jump in|join|help me|call me|contact me|ring me|look at|look into|check|handle|sort)\b"),
    re.compile(rf"\b{_WHO}\W*(please|pls|plz|now|asap|on)\W*$"),
    re.compile(r"\b(talk|speak|chat|message|connect|transfer|forward|put me|get me|give me|need|want|reach|contact|touch|"
               r"email|hand me|pass me|take me)\w*\b.*\b(some|any)(one|body)\b(?! (else|as))|\b(can|could|will) (some|any)(one|body) (help|assist|call|contact)\b"),
]
_ALWAYS = [  # any of these alone is enough, whatever else the message says
    re.compile(r"\bescalat\w*|^\W*(please )?(transfer|connect|forward) me\b|\b(any(one|body)|some(one|body)|a human) (there|here|around|online)\W*$"
               r"|\b(phone|call|ring) (you|us|me back|someone)\b|\b(phone|telephone) number\b|\bcall ?back\b|\bhelpline\b|\bhotline\b"
               r"|\b(contact|reach|email|call|phone) (you|your (shop|store|company|team|office))\b|\bcomplain\w*|\bcomplaint"
               r"|\b(not|isn'?t|doesn'?t|wasn'?t|no) (helping|helpful|help)\b|\b(get|let) me out\b"
               r"|\b(any(one|body)|some(one|body)) (available|online|around)\b"),
    re.compile(r"\b(not|no more|stop|useless|stupid|hate|enough|pointless|sick of|tired of|done with|bypass|skip|quit|off|"
               r"dont|don't|do not|no|never)\b"
               r".*\b(bot|robot|machine(?! wash)|chatbot|automated|ai)\b"),
    re.compile(r"\b(bot|robot|machine(?! wash)|chatbot|automated|ai)\b.*\b(off|useless|stupid|pointless|not helping|no help)\b"),
]
# Typos are fixed only towards these distinctive words ("stuff" must not become "staff").
_HANDOFF_WORDS = sorted({"speak", "agent", "human", "person", "operator", "representative", "someone", "somebody",
                         "customer", "service", "support", "employee", "colleague", "transfer", "connect", "manager"})


def _fix_typos(text: str) -> str:
    """'speek to agant' -> 'speak to agent': one slip in a word of the requests above."""
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    out = []
    for w in text.split():
        core = w.strip(".,!?;:'\"()")
        if len(core) >= 5 and core.isalpha() and core not in _HANDOFF_WORDS:
            found = process.extractOne(core, _HANDOFF_WORDS, scorer=OSA.distance, score_cutoff=1)
            if found and found[0][0] == core[0]:
                w = w.replace(core, found[0])
        out.append(w)
    return " ".join(out)


_STRONG_WHO = re.compile(r"\b(humans?|agents?|operators?|representatives?|staff|employees?|colleagues?|medewerker|mitarbeiter|"
                         r"customer (service|support|care)|live (chat|agent|support|person)|real (person|human|people)|human being)\b")


def _short_request(t: str) -> bool:
    """A short message naming someone on our side: "a real person would be nice", "human agent"."""
    return len(t.split()) <= 6 and bool(_STRONG_WHO.search(t)) and not _NOT_US.search(t)


def looks_like_handoff(text: str) -> bool:
    """A request for a person, recognised without Rasa (used only while Rasa is down)."""
    t = fold(text).replace("\u2019", "'").strip()
    if t == "/human_handoff":
        return True
    t = _fix_typos(t)
    if any(p.search(t) for p in _ALWAYS) or _short_request(t):
        return True  # "bot off", "this bot is useless", "human agent"
    if _NOT_US.search(t):
        return False  # "can someone else pick up my parcel" is a question, not a request for a person
    return any(p.search(t) for p in _REQUESTS)
