"""What the bot says: the decision between a knowledge-base answer, an honest "I'm not sure" and a
handoff, and the texts and quick replies of each. Pure functions: the custom-action endpoint (Rasa
up) and the local path (Rasa down) both call them, and so does the evaluation script."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from bot.texts import bot_language, quick_reply, say
from knowledge_base.search import ANSWER_THRESHOLD, Doc, Hit
from knowledge_base.synonyms_el import loose
from knowledge_base.text import fold, greeklish_to_greek, sound

# When Rasa is fairly sure the question is off-topic, a knowledge-base hit must be this much
# stronger before the bot trusts it over Rasa.
OUT_OF_SCOPE_MARGIN = 0.15
OUT_OF_SCOPE_CONFIDENCE = 0.6
# How much the lead of the top article over the runner-up counts next to its own score.
MARGIN_WEIGHT = 1.0
# English hits carry the confidence model's answer score (knowledge_base.search.SearchIndex.ANSWER_MODEL),
# which decides instead of score + MARGIN_WEIGHT * lead once that sum is at least ANSWER_FLOOR
# (docs/answer-quality.md, "Confidence model"; eval.tune --answer-model).
ANSWER_FLOOR = 0.30
# An "I'm not sure" answer offers articles scoring at least this fraction of the threshold.
SUGGEST_FRACTION = 0.6

TALK_TO_PERSON = {"content_type": "text", "title": "Talk to a person", "payload": "/human_handoff"}
YES = {"content_type": "text", "title": "Yes, thanks", "payload": "/affirm"}
NO = {"content_type": "text", "title": "No", "payload": "/deny"}


def talk_to_person(language: str = "en") -> dict:
    return quick_reply("talk_to_person", language, "/human_handoff")


def _article_button(hit: Hit) -> dict:
    return {"content_type": "text", "title": hit.title, "payload": f'/ask_question{{"article_id": "{hit.article_id}"}}'}


# Reply.handoff values: the two moments of a handoff the bot tells the app about.
HANDOFF_REQUESTED = "requested"  # the visitor asked for a person: the app says so at once, the form follows
HANDOFF_QUEUE = "queue"          # name and e-mail collected or skipped: the app queues the chat now
HANDOFF_STATES = (HANDOFF_REQUESTED, HANDOFF_QUEUE)
# Reply.handoff_reason values the bot produces (the app may inject others, e.g. bot_failed).
REASON_VISITOR_ASKED = "visitor_asked"  # typed a request for a person
REASON_BUTTON = "button"                # pressed "Talk to a person" (payload exactly /human_handoff)
REASON_BOT_FAILED = "bot_failed"        # the app injected /human_handoff{"handoff_reason":"bot_failed"}
VISITOR_KEYS = ("name", "email", "order_number")


@dataclass
class Reply:
    text: str
    quick_replies: list[dict] = field(default_factory=list)
    kb: dict | None = None
    fallback: bool = False
    handoff_reason: str | None = None
    # None, HANDOFF_REQUESTED or HANDOFF_QUEUE (module constants above)
    handoff: str | None = None
    # With HANDOFF_QUEUE: {"name", "email", "order_number"}, each a string or None (unknown/skipped)
    visitor: dict | None = None
    # With a fallback: the best article the bot considered and rejected ({"article_id", "title",
    # "score"}), for the editors' knowledge gaps; never shown to the visitor.
    tried: dict | None = None

    def extras(self) -> dict:
        """What a message carries besides its text (docs/protocol.md). Only what the visitor's
        `bot_uttered` may show: the handoff keys are instructions to the app, not message content."""
        out: dict = {}
        if self.quick_replies:
            out["quick_replies"] = self.quick_replies
        if self.kb:
            out["kb"] = self.kb
        if self.fallback:
            out["fallback"] = True
        return out

    def shopchat(self) -> dict:
        """The whole message as a custom action sends it in `custom.shopchat` (docs/bot.md): `text`
        (left out when empty, as in the `requested` message), the extras, and `handoff`,
        `handoff_reason`, `visitor` when set."""
        out: dict = {"text": self.text} if self.text else {}
        out.update(self.extras())
        if self.handoff:
            out["handoff"] = self.handoff
        if self.handoff_reason:
            out["handoff_reason"] = self.handoff_reason
        if self.visitor is not None:
            out["visitor"] = {k: self.visitor.get(k) for k in VISITOR_KEYS}
        if self.tried:
            out["tried"] = self.tried
        return out

    @classmethod
    def from_shopchat(cls, c: dict) -> "Reply":
        """The inverse of shopchat(), tolerant of missing or mistyped keys."""
        visitor = c.get("visitor")
        handoff = c.get("handoff")
        reason = c.get("handoff_reason")
        return cls(
            text=str(c.get("text") or ""),
            quick_replies=[q for q in c.get("quick_replies") or [] if isinstance(q, dict)],
            kb=c.get("kb") if isinstance(c.get("kb"), dict) else None,
            fallback=bool(c.get("fallback")),
            handoff_reason=reason if isinstance(reason, str) and reason else None,
            handoff=handoff if handoff in HANDOFF_STATES else None,
            visitor={k: _str_or_none(visitor.get(k)) for k in VISITOR_KEYS} if isinstance(visitor, dict) else None,
            tried=c.get("tried") if isinstance(c.get("tried"), dict) else None,
        )


def _str_or_none(value) -> str | None:
    return value if isinstance(value, str) and value else None


def is_confident(hits: list[Hit], intent: str | None = None, intent_confidence: float = 0.0) -> bool:
    """Answer with the top article only when it is both a good match and clearly ahead of the
    runner-up: a close second means the question is ambiguous or the right article is missing, and
    a wrong answer costs more than an honest "I'm not sure" (docs/answer-quality.md)."""
    return bool(hits) and decision(hits, intent, intent_confidence)["answers"]


def decision(hits: list[Hit], intent: str | None = None, intent_confidence: float = 0.0) -> dict:
    """The numbers behind is_confident, for editors ("try the bot"): the top score, its lead over
    the runner-up, the effective score (the confidence model's answer score for English hits,
    else score + MARGIN_WEIGHT * lead), and the threshold it must reach."""
    threshold = ANSWER_THRESHOLD
    if intent == "out_of_scope" and intent_confidence >= OUT_OF_SCOPE_CONFIDENCE:
        threshold += OUT_OF_SCOPE_MARGIN
    top = hits[0].score if hits else 0.0
    lead = top - (hits[1].score if len(hits) > 1 else 0.0)
    effective = top + MARGIN_WEIGHT * lead
    if hits and hits[0].answer_score is not None and effective >= ANSWER_FLOOR:
        # English: the search's confidence model (knowledge_base.search.SearchIndex.ANSWER_MODEL)
        # weighs the lead and both views' agreement, on the same threshold's scale. Below
        # ANSWER_FLOOR the old score decides (and is under the threshold): the model learnt on
        # on-topic questions only, so a weak match that merely stands out is not its call.
        effective = hits[0].answer_score
    return {"score": round(top, 4), "lead": round(lead, 4), "effective": round(effective, 4),
            "threshold": round(threshold, 4), "answers": bool(hits) and effective >= threshold}


def answer_from_kb(doc: Doc, hit_score: float, related: list[Hit], language: str = "en") -> Reply:
    quick = [quick_reply("yes", language, "/affirm"), quick_reply("no", language, "/deny")]
    quick += [_article_button(h) for h in related[:2]]
    quick.append(talk_to_person(language))
    return Reply(
        text=f"{doc.body}\n\n{say('did_it_help', language)}",
        quick_replies=quick,
        kb={"article_id": doc.id, "title": doc.title, "score": round(hit_score, 3)},
    )


def not_sure(suggestions: list[Hit], language: str = "en") -> Reply:
    # Near misses are worth a button; the best of a random text's hits are noise.
    quick = [_article_button(h) for h in suggestions[:2] if h.score >= ANSWER_THRESHOLD * SUGGEST_FRACTION]
    quick.append(talk_to_person(language))
    return Reply(
        text=say("not_sure", language),
        quick_replies=quick,
        fallback=True,
        tried={"article_id": suggestions[0].article_id, "title": suggestions[0].title,
               "score": round(suggestions[0].score, 3)} if suggestions else None,
    )


def only_in_other_language(offers: list[Hit], language: str, tried: list[Hit] = ()) -> Reply:
    """Nothing in the visitor's language answers the question, but articles in another language
    (with no translation into theirs) are on its topic: say so honestly and offer them as buttons.
    An offer, not an answer: it counts as a fallback (the editors' knowledge gaps show the missing
    translation) and names the best article tried in the visitor's own language, if any."""
    best = tried[0] if tried else offers[0]
    return Reply(
        text=say("only_other_language", language),
        quick_replies=[*(_article_button(h) for h in offers[:2]), talk_to_person(language)],
        fallback=True,
        tried={"article_id": best.article_id, "title": best.title, "score": round(best.score, 3)},
    )


SMALL_TALK = ("greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge")


def small_talk(intent: str, language: str = "en") -> Reply:
    """The answer to a small-talk intent (action_small_talk), in the visitor's language."""
    if intent == "greet":
        return Reply(say("greet", language), quick_replies=[
            quick_reply("greet_order", language, say("greet_order", language)),
            quick_reply("greet_return", language, say("greet_return_payload", language)),
            talk_to_person(language)])
    if intent in ("deny", "bot_challenge"):
        return Reply(say(intent, language), quick_replies=[talk_to_person(language)])
    return Reply(say(intent if intent in SMALL_TALK else "greet", language))


def handoff_requested(reason: str) -> Reply:
    """The first message of a handoff, before any question: no text, the app announces it."""
    return Reply(text="", handoff=HANDOFF_REQUESTED, handoff_reason=reason)


def handoff_started(reason: str, *, order_number: str | None = None, language: str = "en") -> Reply:
    """A handoff without the form (Rasa down: the form is Rasa's): one `queue` Reply, nothing known
    about the visitor but perhaps the order number."""
    return handoff_queue(reason, order_number=order_number, language=language)


def handoff_queue(reason: str, *, name: str | None = None, email: str | None = None,
                  order_number: str | None = None, language: str = "en") -> Reply:
    """The last message of a handoff: the app queues the chat with what the bot learnt."""
    return Reply(
        text=say("queue_named", language, name=name) if name else say("queue", language),
        handoff=HANDOFF_QUEUE,
        handoff_reason=reason,
        visitor={"name": name, "email": email, "order_number": order_number},
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


# Greek and Greeklish. The message is folded (no accents, σ for ς) and its Latin words put in Greek
# letters (greeklish_to_greek: "thelw na milisw" -> θελω να μιλισω); every pattern below is written
# once in plain folded Greek and compiled with synonyms_el.loose, so it accepts any spelling by sound
# (η/ι/υ/ει/οι, ο/ω, ε/αι, doubled letters single): "μιλισω", "ypallhlo", "εκπρωσοπο" all match.
# A request is a want/contact verb with someone on our side as its object, a short message naming
# them, someone on our side as the one who helps, answers or looks at the shopper's matter ("μπορεί
# κάποιος υπάλληλος να δει το θέμα μου"), a call-back or the shop's phone, or anger at the bot.
# "Someone" counts only as the object of a contact verb ("μιλήσω με κάποιον") or the subject of a
# serving verb, never as the subject of a delivery ("μπορεί κάποιος να παραλάβει"); "υπεύθυνος" only
# as an object ("ποιος είναι υπεύθυνος αν χαθεί" is a question); "my manager/colleague" is theirs.
def _el(pattern: str) -> re.Pattern:
    return re.compile(loose(pattern))


# Someone on our side (stems; "αντηρωπ" is Greeklish "anthrwpo" read n-t-h).
_EL_STAFF = (r"(?:ανθρωπ\w*|αντηρωπ\w*|υπαλληλ\w*|εκπροσωπ\w*|χειριστ\w*|αρμοδι\w*|"
             r"(?:(?:συναδελφ|συνεργατ|διευθυντ|υπευθυν|προισταμεν)\w*|πωλητ(?:η|ησ|εσ|ων|ρια|ριεσ)|συμβουλ(?:ο|οσ|ου|ουσ))\b(?! μου\b)|"  # "ο προϊστάμενός μου": theirs; "πωλείτε" is selling
             r"τεχνικ(?:ο|ον|οσ|ουσ)\b(?! (?:προβλημ|θεμ|ζητημ|λαθ|σφαλμ|χαρακτηρ))|"
             r"(?:πραγματικ|αληθιν|ζωντανο|κανονικ)\w* (?:προσωπ|ατομ)\w*|προσωπικο\b(?! μου)|"
             r"καποι(?:ον|α|οσ) (?:πραγματικ|αληθιν|ζωντανο|κανονικ)\w*|"  # "θέλω κάποιον πραγματικό"
             r"(?:τμημα )?εξυπηρετηση\w*(?: (?:πελατ\w*|σασ))?|(?:τμημα )?υποστηριξη\w*|ομαδα σασ|"
             r"οπερατορ|αγεντ|μαναγερ|μανατζερ|σαπορτ)")
# ... and, after a contact verb only, anyone: "μιλήσω με κάποιον", "σε ένα άτομο".
# "κάποιον" alone or before "από/για/να...", not before a noun ("σύνδεση με κάποιον λογαριασμό").
_EL_SOMEONE = (r"(?:καποι(?:ον|ο|α|οσ)|ατομο|καν(?:εισ|εναν|ενασ|ενα))\b(?! (?!(?:απο|απ|για|να|σασ|που|τωρα|παρακαλω|"
               r"ρε|αμεσα|γρηγορα|σε|μεσω|στο|στη|στην|τηλεφωνικα|ζωντανα|ι|η)\b)\w)")
_EL_ANYONE = rf"(?:{_EL_STAFF}|{_EL_SOMEONE})"
_EL_FILL = (r"(?:(?:ενα|εναν|ενασ|μια|τον|την|τη|το|τουσ|τα|θν|ο|η|καποιο|καποιον|καποια|καποιοσ|αλλον|αλλο|"
            r"κανονικο|κανονικοσ|πραγματικο|αληθινο|ζωντανο|σωστο|αρμοδιο|σασ|σου|μου|ρε|σε|με|στον|στην|στο|μαζι) )")
# Wanting: first/second person and imperatives ("θέλει" is the courier wanting a signature).
_EL_WANT = (r"(?:θελω|θελουμε|θα ηθελα|θα θελα|χρειαζομαι|χρειαζομαστε|ζητ(?:ω|αω)|προτιμ(?:ω|αω)|"
            r"(?:μου )?δωσ(?:ε|τε|ετε|εισ)(?: μου)?|φερ(?:ε|τε)(?: μου)?|βαλ(?:ε|τε)(?: μου)?|βρε(?:σ|ιτε)(?: μου)?|"
            r"υπαρχει|εχετε|μπορω να εχω|βοηθεια απο)")
# Reaching someone: talk, chat, contact, connect, transfer, put in touch.
_EL_CONTACT = (r"(?:μιλ(?:ησ|α|ισ)\w*|συνομιλ\w*|συζητ\w*|κουβεντ\w*|επικοινων\w*|συνδεσ\w*|συνδεθ\w*|συνδεστε|μεταφερ\w*|"
               r"προωθ\w*|περασ(?:τε|ε) ?με|γυρισ\w* με|σε επαφη|γραψω|απευθυνθ\w*)")
# The bot; a machine or computer only as what one talks to ("όχι στη μηχανή" is about washing).
_EL_BOT = (r"(?:μποτ|χατμποτ|ρομποτ|ροβοτ|(?:με|σε|απο|μια|ενα) (?:μηχαν(?:η|ημα)\w*|υπολογιστ\w*)|"
           r"αυτοματ(?:ο|οσ|ου)\b|αυτοματ\w* απαντησ\w*|τεχνητ\w* νοημοσυν\w*)")
# What someone on our side would do for the shopper: help, serve, call, answer; or look at, deal with
# the shopper's own matter ("να το δει", "να δει το θέμα μου"; "να δει τη διαφορά" is eyesight).
_EL_SERVE = (r"(?:(?:(?:με|μασ|μου|το|τη|την|τα) )?(?:βοηθησ\w*|εξυπηρετησ\w*|καλεσ\w*|παρ\w* τηλεφων\w*|τηλεφωνησ\w*|"
             r"αναλαβ\w*|απαντησ\w*|μιλησ\w*|εξηγησ\w*|επικοινωνησ\w*)|"
             r"(?:(?:το|τη|την|τα|μου) (?:LOOK)|(?:LOOK)(?= (?:\w+ ){0,5}(?:μου|μασ)\b)))"
             .replace("LOOK", r"δ(?:ει|ουν)\b|κοιταξ\w*|ασχοληθ\w*|ελεγξ\w*|τσεκαρ\w*"))
# The shop itself as the one to talk to: "θέλω να μιλήσω με το κατάστημα / το τμήμα πωλήσεων / εσάς".
# Only with talking verbs not in the past ("μίλησα με το κατάστημα" reports, "μεταφέρω στο κατάστημα"
# moves a parcel).
_EL_TALK_NOW = (r"(?:μιλ(?:ησω|ησουμε|αω|ω|αμε|ησετε)|συνομιλησω|επικοινωνησ(?:ω|ουμε)|επικοινωνω|"
                r"ερθω σε επαφη|ερθουμε σε επαφη|απευθυνθω)")
_EL_US = r"(?:(?:το |την |τη )?(?:καταστημα|εταιρει\w*|τμημα \w+|λογιστηριο)|εσασ|εναν? απο εσασ|μαζι σασ)"
_EL_REQUEST = [
    _el(rf"\b{_EL_TALK_NOW} (?:με )?{_EL_US}(?: \w+)?\W*$|\b{_EL_TALK_NOW} με (?:εσασ|εναν? απο εσασ)\b"),
    # "με ποιον μπορώ να μιλήσω;", "ποιος μπορεί να με βοηθήσει;" (the whole message); "με ποιον μιλάω;" asks what the bot is
    _el(r"\b(?:με|σε) ποι(?:ον|α|ουσ) (?:\w+ ){0,2}να (?:μιλησ(?:ω|ουμε)|επικοινωνησ(?:ω|ουμε)|απευθυνθω)\b"),  # not "με ποιον μιλάω;"
    _el(r"^\W*ποιοσ (?:\w+ )?(?:μπορει|θα μπορουσε|θα) (?:να )?(?:με|μασ) (?:βοηθησ|εξυπηρετησ)\w*\W*(?:παρακαλω\W*)?$"),
    # "υπάρχει κανείς;", "ela kapoios?"
    _el(r"^\W*(?:υπαρχει|ειναι|ελα|εκει|ε) (?:καποι(?:οσ|α)|κανεισ|κανενασ)(?: (?:εκει|εδω))?\W*$"),
    # "πες στον υπεύθυνο να με πάρει"
    _el(rf"\b(?:πεσ|πειτε|ενημερωσ(?:ε|τε)|ειδοποιησ(?:ε|τε)) (?:στον |στην |στο |τον |την )?{_EL_STAFF}"),
    _el(rf"\b{_EL_WANT} {_EL_FILL}{{0,3}}{_EL_STAFF}"),                   # θέλω (έναν κανονικό) άνθρωπο
    _el(rf"\b{_EL_WANT} (?:καποιον|καποια|ενα ατομο|ατομο) (?:να (?:με|μασ|μου|μιλησω|μιλησουμε)|απο)\b"),  # θέλω κάποιον να με...
    _el(rf"\b{_EL_CONTACT} (?:\w+ ){{0,3}}(?:με|σε|στον|στην|στο|απο)\b {_EL_FILL}{{0,3}}{_EL_ANYONE}"),  # μιλήσω με κάποιον
    _el(rf"\b(?:καποι\w*|ατομο|ανθρωπ\w*) απο (?:την |το |τη |θν )?(?:υποστηριξη|εξυπηρετηση|ομαδα|καταστημα|εταιρεια|"
        rf"τμημα|προσωπικο|εσασ|σασ)\b"),                                     # κάποιος από την ομάδα σας
    _el(rf"\b(?:καποι\w*|{_EL_STAFF}) (?:\w+ )?να {_EL_SERVE}"),  # κάποιος υπάλληλος να δει
    _el(rf"\bνα {_EL_SERVE} {_EL_FILL}{{0,2}}(?:καποι\w*|{_EL_STAFF})"),  # να με βοηθήσει κάποιος
    # "ποιος είναι υπεύθυνος εδώ; θέλω να του μιλήσω": the person named first, then asked for
    _el(rf"\b{_EL_STAFF}.*\b(?:{_EL_WANT}|μπορω) να (?:του|τησ|τουσ) (?:μιλησ|τηλεφωνησ|γραψ)\w*"),
    _el(rf"\b{_EL_WANT} {_EL_FILL}{{0,3}}(?:καποιον|καποια|ατομο)\W*$"),  # δώστε μου κάποιον
    _el(r"\b(?:υπαρχει|ειναι|εισαι|εισαστε|ειστε) (?:καποι\w*|καν(?:εισ|εναν|ενασ|ενα)\b) (?:ζωντανοσ |ανθρωποσ )?"
        r"(?:εκει|εδω|διαθεσιμ\w*|ζωντανοσ|ονλινε)\b"),                     # υπάρχει κανείς εκεί;
]
# Call me back / the shop's phone (never the courier's: see _EL_NOT_US).
_EL_CALL = [
    _el(r"\b(?:με|μου) (?:καλεσ\w*|παρ\w* (?:\w+ )?(?:ενα )?(?:τηλεφων\w*|θλεφων\w*)|τηλεφωνησ\w*|καλειτε|τηλεφωνειτε)|"
        r"\b(?:καλεσ\w*|παρτε|παρε) με\b|\bτηλεφωνησ(?:τε|ε) μου\b"),
    # ("νούμερο" alone is also a size: only a phone or contact number counts; "ο αριθμός τηλεφώνου μου" is theirs)
    _el(r"\b(?:τηλεφων|θλεφων)\w* (?:τησ |του |θσ )?(?:εξυπηρετησ\w*|επικοινωνι\w*|καταστηματ\w*|σασ|να σασ)|"
        r"\b(?:νουμερ|αριθμ)\w* (?:τηλεφων\w*|επικοινωνι\w*|εξυπηρετησ\w*)\b(?! μου)|\bνα σασ (?:παρω|καλεσω|τηλεφωνησω)\b|\bτι τηλεφωνο\b|"
        r"\b(?:τι|ποιο) τηλεφωνο (?:παιρνω|καλω)\b|\b(?:εμαιλ|ιμειλ|μειλ) (?:επικοινωνι\w*|σασ|εξυπηρετησ\w*)|"
        r"^\W*(?:ενα |το )?(?:τηλεφωνο|νουμερο)(?: (?:σασ|επικοινωνιασ))?\W*(?:παρακαλω\W*)?$"),
    _el(r"\bπωσ (?:(?:μπορω να )?επικοινωνησω|επικοινωνω|(?:θα |να )?σασ (?:βρω|βρισκω))\b(?! με (?:τον |την |το )?(?:κουριερ|διανομε|ταχυδρομ|γειτον))"),
]
# Anger at the bot, complaints: enough whatever else the message says.
_EL_ANGRY = [
    _el(rf"\b(?:οχι|δεν θελω|δε θελω|σταματα|κλεισε|ασε|αφησε|βαρεθηκα|μπουχτισα|φτανει|παρακαμψη|χωρισ)\b.*\b{_EL_BOT}"),
    _el(rf"\b(?:αχρηστ\w*|γελοι\w*|ηλιθι\w*|χαζ(?:ο|οσ|η)) (?:\w+ )?{_EL_BOT}"),
    _el(rf"\b{_EL_BOT}.*\b(?:αχρηστ\w*|χαζ(?:ο|οσ|η)\b|ηλιθι\w*|γελοι\w*|δεν (?:καταλαβαιν|βοηθα|απαντα|ξερ)\w*|"
        r"δεν μου κανει)"),
    _el(r"\b(?:εισαι|εισαστε|ειστε|πολυ|τελειωσ) (?:τελειωσ |εντελωσ |πολυ )?(?:αχρηστ\w*|χαζ(?:ο|οσ|η)\b|ηλιθι\w*|γελοι\w*)|^\W*(?:\w+ ){0,2}(?:αχρηστ|γελοι)\w*\W*$"),
    _el(r"\bπαραπον\w*|\bκαταγγελ\w*|\bδεν (?:με )?βοηθα(?:σ|τε|ει)\b|\bδεν (?:καταλαβαιν|απαντα|ξερ)(?:εισ|ετε|σ)\b|"
        r"\bχανω τον χρονο μου|\bδεν βγαζ\w* (?:πουθενα|ακρη)|\bβαρεθηκα να (?:γραφω|ρωταω|ρωτω|επαναλαμβανω|εξηγω)"),
]
# "can someone else pick up my parcel", "the courier called me": not us.
_EL_NOT_US = _el(r"(?:κουριερ|κουριε|διανομε\w*|ταχυδρομ\w*|γειτον\w*|οδηγο\w*|"
                 r"\b(?:ελτα|ακσ|σπιντεξ|σπεεδεχ|φεδεχ|ουψ|μποχ ?νοω|μποξ ?ναου)\b|"  # carriers: "ο υπάλληλος της ACS"
                 r"\bδουλει\w*|\bβιογραφικ\w*|\bπροσληψ\w*|\bπροσλαμβαν\w*|\bθεσ(?:η|εισ) (?:εργασι|πωλητ|υπαλληλ)\w*|"  # a job
                 r"\b(?:ψαχν(?:ετε|ει|ουν)|ζητ(?:ουνται|ειται|ατε|ανε|ουν)|χρειαζεστε|θελετε) (?:\w+ )?"
                 r"(?:υπαλληλ|πωλητ|προσωπικ|ατομα|συνεργατ)\w*|"  # "ψάχνετε υπαλλήλους;"
                 r"\bαλλ(?:οσ|ον|ο|η|ου) (?:ανθρωπ|ατομ|προσωπ)\w*|\bκαποι\w* αλλ\w*|"
                 r"(?:ανθρωπ|ατομο|προσωπ)\w* που (?:μου |το |τα |μασ )?(?:εκανε|εστειλε|αγορασε|πηρε|εδωσε|παρηγγειλε))")
# The shopper's own people calling them ("ο άντρας μου θα με πάρει τηλέφωνο", "η φίλη μου με καλεί"):
# someone of theirs as the subject of a call in the third person is not our call.
_EL_THEIR_OWN = _el(r"\b(?:ο|η) \w+ μου (?:\w+ ){0,3}(?:με|μου) (?:καλεσει|καλει|παρει|παιρνει|τηλεφωνησει|τηλεφωναει|"
                    r"τηλεφωνει)\b")
_EL_QUESTION = _el(r"^\W*(?:ποσ\w*|ποι\w*|τι|πωσ|γιατι|ποτε|που|εισαι|ειστε|εισαστε)\b")


# Slips beyond spelling ("ανθρποο", "μλησω", "εκροσωπο"): a word one edit (two from 8 letters) from
# one of these, by sound and with the same first letter, is read as it. Only these distinctive words.
_EL_KEYWORDS = {sound(w): w for w in ("ανθρωπο", "ανθρωποσ", "υπαλληλο", "υπαλληλοσ", "εκπροσωπο", "εκπροσωποσ",
                                      "χειριστη", "μιλησω", "μιλησουμε", "επικοινωνησω", "συνδεστε", "εξυπηρετηση")}
_EL_KEY_STEMS = tuple(sound(s) for s in ("ανθρωπ", "υπαλληλ", "εκπροσωπ", "χειρ", "μιλ", "επικοινων", "συνδ", "εξυπηρετ"))


def _fix_greek_typos(g: str) -> str:
    from rapidfuzz import process
    from rapidfuzz.distance import OSA

    out = []
    for w in g.split():
        core = w.strip(".,!?;:'\"()")
        s = sound(core)
        if len(s) >= 5 and "α" <= s[0] <= "ω" and not s.startswith(_EL_KEY_STEMS):
            found = process.extractOne(s, _EL_KEYWORDS.keys(), scorer=OSA.distance, score_cutoff=1 if len(s) < 8 else 2)
            if found and found[0][0] == s[0]:
                w = w.replace(core, _EL_KEYWORDS[found[0]])
        out.append(w)
    return " ".join(out)


# English names for the shop's people inside a Greek message ("θα ήθελα να μιλήσω με το customer
# service", "support παρακαλώ") read as their Greek words. Only with Greek letters in the message:
# a wholly Latin message is the English detector's ("does it support klarna" is not a request).
_EN_NAMES_IN_GREEK = [
    (re.compile(r"\b(?:customer (?:service|services|care|support)|help ?desk|call ?cent(?:er|re)|live (?:chat|agent|support)|"
                r"support(?: team)?)\b"), "εξυπηρετηση"),
    (re.compile(r"\bsupervisor\b"), "προισταμενο"),
]
_GREEK_LETTER = re.compile(r"[α-ω]")
_GREEKLISH_U = re.compile(r"(?<![oae])u")


def _greek_request(t: str) -> bool:
    """A request for a person in Greek or Greeklish (t: folded)."""
    if _GREEK_LETTER.search(t):
        for english, greek in _EN_NAMES_IN_GREEK:
            t = english.sub(greek, t)
    # Greeklish "u" alone is υ ("upallilo", "upeu8uno"); ou, au, eu stay as they are
    g = _fix_greek_typos(greeklish_to_greek(_GREEKLISH_U.sub("y", t)))
    if any(p.search(g) for p in _EL_ANGRY):
        return True
    if _EL_NOT_US.search(g):
        return False
    if any(p.search(g) for p in _EL_REQUEST):
        return True
    if any(p.search(g) for p in _EL_CALL) and not _EL_THEIR_OWN.search(g):
        return True
    # A short message naming someone on our side: "εκπρόσωπος", "ένα υπάλληλο παρακαλώ", "ela re, anthrwpo!!",
    # but not a question about people ("είσαι άνθρωπος;", "πόσους υπαλλήλους έχετε;") nor a clause
    # about becoming one ("θέλω να γίνω καλύτερος άνθρωπος").
    return (len(g.split()) <= 5 and bool(_EL_SHORT.search(g)) and not _EL_QUESTION.search(g)
            and not re.search(r"\bνα\b", g) and not _EL_HUMAN_OR_BOT.search(g))


_EL_SHORT = _el(rf"\b{_EL_STAFF}")
# "απαντάει άνθρωπος ή bot;" asks what the bot is (Rasa's bot_challenge), it does not ask for a person.
_EL_HUMAN_OR_BOT = _el(r"\b(?:η|ι) (?:μποτ|ρομποτ|προγραμμα|μηχανη|αυτοματο)\b|\b(?:μποτ|ρομποτ|προγραμμα|μηχανη) (?:η|ι) ")


def looks_like_handoff(text: str) -> bool:
    """A request for a person, recognised without Rasa (while Rasa is down, and for requests its
    classifier let slip), in English, Greek and Greeklish."""
    t = fold(text).replace("\u2019", "'").replace("ς", "σ").strip()
    if t == "/human_handoff":
        return True
    if _greek_request(t):
        return True
    t = _fix_typos(t)
    if any(p.search(t) for p in _ALWAYS) or _short_request(t):
        return True  # "bot off", "this bot is useless", "human agent"
    if _NOT_US.search(t):
        return False  # "can someone else pick up my parcel" is a question, not a request for a person
    return any(p.search(t) for p in _REQUESTS)


# ---- the handoff form: what the bot asks before queueing, and how it reads the answers ----------
# Rasa's handoff_form fills visitor_name / visitor_email with the whole text of the answer;
# validate_handoff_form (bot/actions.py) calls check_name / check_email through form_step.
# A skipped slot holds SKIPPED so that the form moves on; everything reports it as unknown.

SKIPPED = "__skipped__"
NAME_MAX = 100
EMAIL_MAX = 254
SKIP = {"content_type": "text", "title": "Skip", "payload": "skip"}


def skip_button(language: str = "en") -> dict:
    """The form's Skip button; its payload is the plain word "skip" in every language."""
    return quick_reply("skip", language, "skip")

# Why the form asks a slot again (the handoff_retry slot). One re-ask per slot: a second answer
# that does not fit skips the slot, so the visitor is never stuck.
RETRY_NAME_QUESTION = "name_question"  # answered "What's your name?" with a question
RETRY_NAME_EMAIL = "name_email"        # answered it with an e-mail address (kept as the e-mail)
RETRY_NAME_INVALID = "name_invalid"    # empty, too long, no letters
RETRY_EMAIL_INVALID = "email_invalid"

# The text (bot/texts.py key) of each question, by why it is asked (again).
_ASK_NAME = {None: "ask_name", RETRY_NAME_QUESTION: "ask_name_question", RETRY_NAME_EMAIL: "ask_name_email",
             RETRY_NAME_INVALID: "ask_name_invalid"}
_ASK_EMAIL = {None: "ask_email", RETRY_EMAIL_INVALID: "ask_email_invalid"}


def ask_name(retry: str | None = None, language: str = "en") -> Reply:
    return Reply(text=say(_ASK_NAME.get(retry, "ask_name"), language), quick_replies=[skip_button(language)])


def ask_email(retry: str | None = None, language: str = "en") -> Reply:
    return Reply(text=say(_ASK_EMAIL.get(retry, "ask_email"), language), quick_replies=[skip_button(language)])


def known(value) -> str | None:
    """A slot's value as the visitor gave it, or None when unknown or skipped."""
    return value if isinstance(value, str) and value and value != SKIPPED else None


_SKIP_ANSWER = re.compile(
    r"^(ok(ay)?,? |no,? |sorry,? |um+,? |please |pls )*"
    r"(skip( it| this| that| for now| please)?|pass|no|nope|nah|none|nothing|not now|not telling|anonymous|anon|"
    r"no thanks?|no thank you|no name|no e-?mail( address)?|i don'?t have (one|an? e-?mail)|n/?a|-+|\.+|"
    r"(i'?d |i would )?(rather|prefer) not( to)?( say| tell| share| give (it|that|one))?( it| that)?|"
    r"(i )?(don'?t|do not) want to( say| tell| share| give (it|that|one))?( it| that)?|"
    r"(that'?s )?none of your business|private)"
    r"( thanks?| thank you| please| sorry)?$"
)
# Greek and Greeklish, folded: "παράλειψη", "όχι ευχαριστώ", "δεν θέλω να το πω", "oxi"...
_SKIP_ANSWER_EL = re.compile(
    r"^((οχι|οκ|συγγνωμη|ευχαριστω|παρακαλω|μμ+|oxi|ok|sygnomi|parakalo),? )*"
    r"(παραλειψη|παρελειψε|προσπερασε|προσπεραση|επομενο|οχι|οχι τωρα|μπα|οχι,? ευχαριστω( πολυ)?|"
    r"(δεν|δε) (θελω|θα ηθελα)( να (το |τo )?(πω|δωσω|πω το ονομα μου|δωσω το e-?mail μου))?|"
    r"(προτιμω|καλυτερα) (να μην (το )?(πω|δωσω)|οχι)|ασ ?'? ?το|αστο|τιποτα|κανενα|κανενασ|ανωνυμ\w*|ιδιωτικο|"
    r"(δεν|δε) (εχω|σασ αφορα)( e-?mail| email| μειλ| ονομα)?|"
    r"paraleipsi|paralipsi|paraleipsh|oxi|ochi|oxi tora|oxi twra|ba|oxi,? (efxaristo|euxaristw|eyxaristo)|"
    r"den thel[ow]( na (to )?(pw|po|doso|dwsw))?|protim[ow] na min (to )?(po|pw)|asto|tipota|kanena|anonym\w*|"
    r"den exo|den exw)"
    r"( ευχαριστω| παρακαλω| συγγνωμη| efxaristo| euxaristw| parakalo)?$"
)


def _plain(text: str) -> str:
    t = fold(text).replace("\u2019", "'").strip()
    return re.sub(r"\s+", " ", t.strip(" \t.!,;:\"")).strip()


def is_skip(text: str) -> bool:
    """The visitor does not want to answer: the Skip button, "skip", "no thanks", "I'd rather not"...
    A button payload (a text starting with "/", e.g. an old "Talk to a person") counts too."""
    t = (text or "").strip()
    plain = _plain(t)
    return t.startswith("/") or bool(_SKIP_ANSWER.match(plain) or _SKIP_ANSWER_EL.match(plain.replace("ς", "σ")))


_EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}(?![\w@-])")


def find_email(text: str) -> str | None:
    """The first e-mail address in a text ("it's maria@example.com" -> "maria@example.com")."""
    m = _EMAIL.search(text or "")
    if not m or len(m.group(0)) > EMAIL_MAX or ".." in m.group(0):
        return None
    return m.group(0)


_NAME_PREFIX = re.compile(
    r"^((hi|hello|hey|sure|ok(ay)?|yes)\b[\s,!.]*)?"
    r"(my name is|my name'?s|name is|name:|the name is|i am|i'?m|it is|it'?s|this is|call me|you can call me|they call me)\s+",
    re.IGNORECASE,
)
_NAME_SUFFIX = re.compile(r"[\s,]+(here|thanks?|thank you|please)$", re.IGNORECASE)
# Greek and Greeklish, matched on the folded text: "με λένε Μαρία", "είμαι η Μαρία", "το όνομά μου είναι..."
_NAME_PREFIX_EL = re.compile(
    r"^((γεια( σασ| σου)?|καλημερα|καλησπερα|ναι|βεβαιωσ|οκ|geia( sas)?|kalimera|kalispera|nai|ok)\b[\s,!.]*)?"
    r"(με λενε|λεγομαι|ονομαζομαι|το ονομα μου ειναι|ονομα μου ειναι|ονομα:|ειμαι (ο|η)|ειμαι|"
    r"me lene|legomai|onomazomai|to onoma mou einai|eimai (o|i)|eimai)\s+"
)
_NAME_SUFFIX_EL = re.compile(r"[\s,]+(εδω|ευχαριστω|παρακαλω|edo|efxaristo|euxaristw|parakalo)$")
# Words of a support question, never of a name: "where is my parcel" answers "What's your name?"
# with a question.
_QUESTION_WORDS = re.compile(
    r"\b(where|when|what|why|how|which|who|order|orders|ordered|deliver\w*|shipping|ship|shipped|parcel|package|"
    r"refund\w*|return\w*|payment|paid|invoice|track\w*|discount|voucher|coupon|exchange|cancel\w*|"
    r"broken|damaged|missing|arrive\w*|account|password|help|problem|issue|question|"
    # Greek and Greeklish (folded)
    r"που|ποτε|πωσ|γιατι|ποι\w+|ποσ\w+|παραγγελ\w*|αποστολ\w*|δεμα\w*|πακετ\w*|επιστροφ\w*|χρηματ\w*|λεφτα|"
    r"πληρωμ\w*|πληρωσ\w*|τιμολογ\w*|κουπον\w*|εκπτωσ\w*|ακυρ\w*|προβλημα|βοηθεια|ερωτηση|θελω|μπορω|"
    r"pou|pote|pws|pos|giati|paragg?eli\w*|apostol\w*|dema|paketo|epistrof\w*|xrimata|lefta|pliromi|thel[ow]|mpor[ow])\b"
)


_NOT_NAMES = {"hi", "hello", "hey", "hiya", "yo", "yes", "yeah", "yep", "ok", "okay", "sure", "fine", "thanks", "thank you",
              "ty", "bye", "goodbye", "idk", "dunno", "huh", "what", "why", "name", "my name", "test", "me", "human",
              "person", "agent",
              "γεια", "γεια σασ", "γεια σου", "καλημερα", "καλησπερα", "ναι", "οκ", "ενταξει",
              "ευχαριστω", "τι", "ονομα", "ανθρωποσ", "ανθρωπο", "υπαλληλο", "εγω", "geia", "geia sas", "kalimera",
              "nai", "entaksei", "efxaristo", "euxaristw", "ego", "egw", "onoma"}


def _strip_name_prefix_el(raw: str) -> str:
    """"με λένε Μαρία" -> "Μαρία": the Greek prefix is matched on the folded text, and cut from the
    text as typed (folding keeps one character per letter) so the name keeps its accents."""
    folded = fold(raw).replace("ς", "σ")
    m = _NAME_PREFIX_EL.match(folded)
    if m and len(folded) == len(raw):
        raw, folded = raw[m.end():], folded[m.end():]
    s = _NAME_SUFFIX_EL.search(folded)
    if s and len(folded) == len(raw):
        raw = raw[:s.start()]
    return raw


def check_name(text: str, *, intent: str | None = None, confidence: float = 0.0) -> tuple[str, str | None]:
    """Read an answer to "What's your name?". Returns (verdict, value): ("ok", name), ("skip", None),
    ("email", address) when an e-mail address was given instead, ("question", None) when the visitor
    asked something instead (a support question, or a request for a person), ("invalid", None)."""
    raw = re.sub(r"\s+", " ", (text or "").strip())
    if is_skip(raw):
        return "skip", None
    email = find_email(raw)
    if email:
        return "email", email
    if "@" in raw:
        return "invalid", None
    plain = _plain(raw)
    # Rasa's intent of a bare name is noise (there is no "my name is" intent: "Maria" reads as
    # out_of_scope 0.71, "call me Al" as human_handoff 0.8), so it only counts when very sure and
    # the text does not start like a name ("my name is", "call me"...).
    says_name = bool(_NAME_PREFIX.match(raw) or _NAME_PREFIX_EL.match(plain.replace("ς", "σ")))
    sure = not says_name and confidence >= 0.9
    wants_person = looks_like_handoff(raw) or (sure and intent == "human_handoff")
    # words of what follows "my name is" / "το όνομά μου είναι", when the text starts like that
    n_words = len(_plain(_strip_name_prefix_el(_NAME_PREFIX.sub("", raw))).split()) if says_name else len(plain.split())
    asks = (
        "?" in raw
        or any(c.isdigit() for c in raw)
        or bool(_QUESTION_WORDS.search(plain))
        or n_words > 5
        or (sure and n_words >= 3 and intent == "ask_question")
    )
    if wants_person:
        # "just get me a person": the visitor wants no questions, so the slot is skipped
        return "skip", None
    name = _strip_name_prefix_el(_NAME_SUFFIX.sub("", _NAME_PREFIX.sub("", raw))).strip(" \t.!,;:\"'")
    if asks:
        return "question", None
    if not name or len(name) > NAME_MAX or not any(c.isalpha() for c in name):
        return "invalid", None
    if re.search(r"[<>{}\[\]\\|=_*#$%^~`]", name) or _plain(name).replace("ς", "σ") in _NOT_NAMES:
        return "invalid", None
    return "ok", name


def check_email(text: str) -> tuple[str, str | None]:
    """Read an answer to "What's your e-mail address?": ("ok", address), ("skip", None) or
    ("invalid", None)."""
    raw = (text or "").strip()
    if is_skip(raw) or ((not raw or "@" not in raw) and looks_like_handoff(raw)):
        return "skip", None
    email = find_email(raw)
    return ("ok", email) if email else ("invalid", None)


_CONNECTORS = re.compile(r"\b(and|my|e-?mail|address|is|it'?s)\b|[:;,&+/()]", re.IGNORECASE)


def form_step(slot: str, answer, *, retry: str | None = None, email_known: bool = False,
              intent: str | None = None, confidence: float = 0.0) -> dict:
    """The slot values (and the handoff_retry slot) after the visitor answered the question for
    `slot` ("visitor_name" or "visitor_email"). `retry` is the current handoff_retry: a second
    answer that does not fit skips the slot instead of asking a third time."""
    if not isinstance(answer, str) or answer == SKIPPED:
        return {slot: answer}
    second_try = bool(retry) and retry.startswith("name_" if slot == "visitor_name" else "email_")
    if slot == "visitor_name":
        verdict, value = check_name(answer, intent=intent, confidence=confidence)
        out: dict = {}
        if verdict == "email":
            if not email_known:
                out["visitor_email"] = value
            # "Maria, maria@example.com": both at once
            rest = _CONNECTORS.sub(" ", _EMAIL.sub(" ", answer))
            verdict, value = check_name(rest)
            if verdict != "ok":
                verdict = RETRY_NAME_EMAIL
        elif verdict in ("question", "invalid"):
            verdict = RETRY_NAME_QUESTION if verdict == "question" else RETRY_NAME_INVALID
    else:
        verdict, value = check_email(answer)
        out = {}
        if verdict == "invalid":
            verdict = RETRY_EMAIL_INVALID
    if verdict == "ok":
        return {**out, slot: value, "handoff_retry": None}
    if verdict == "skip" or second_try:
        return {**out, slot: SKIPPED, "handoff_retry": None}
    return {**out, slot: None, "handoff_retry": verdict}


# Order numbers in what the visitor typed: "#10234", "order 10234", "order number ABC-12345",
# "my order no. is 10234". At least three digits in a row, so "order 2 mugs" is not one.
_ORDER_NUMBER = re.compile(
    r"(?:#\s?|\border(?:[\s-]*(?:number|num|nr|no|id|ref|reference|code))?\.?\s*(?:is\s+|was\s+|[:=]\s*)?#?\s?)"
    r"([A-Za-z]{0,6}-?\d{3,}(?:[A-Za-z0-9]|-(?=[A-Za-z0-9]))*)\b",
    re.IGNORECASE,
)


def find_order_number(texts) -> str | None:
    """The order number the visitor mentioned last (upper-cased, without '#'), or None."""
    found = None
    for text in texts:
        if not isinstance(text, str) or text.strip().startswith("/"):
            continue  # button payloads
        for m in _ORDER_NUMBER.finditer(text):
            found = m.group(1).upper()
    return found


_REASON = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_HANDOFF_PAYLOAD = re.compile(r"^/human_handoff\s*(\{.*\})?\s*$", re.DOTALL)


def handoff_reason_of(text: str, entities=()) -> str:
    """Why this handoff started, from the message that asked for it: the `handoff_reason` entity
    the app injects (/human_handoff{"handoff_reason":"bot_failed"}), REASON_BUTTON for the
    "Talk to a person" button (payload exactly /human_handoff), REASON_VISITOR_ASKED otherwise."""
    for e in entities or ():
        value = e.get("value") if isinstance(e, dict) and e.get("entity") == "handoff_reason" else None
        if isinstance(value, str) and _REASON.match(value):
            return value
    t = (text or "").strip()
    if t == "/human_handoff":
        return REASON_BUTTON
    m = _HANDOFF_PAYLOAD.match(t)
    if m and m.group(1):  # the entity did not arrive (Rasa down): read the payload itself
        try:
            value = json.loads(m.group(1)).get("handoff_reason")
        except (ValueError, AttributeError):
            value = None
        if isinstance(value, str) and _REASON.match(value):
            return value
        return REASON_BUTTON
    return REASON_VISITOR_ASKED


def is_handoff_payload(text: str) -> bool:
    return bool(_HANDOFF_PAYLOAD.match((text or "").strip()))
