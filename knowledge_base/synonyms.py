"""General shop-support vocabulary: words and phrases visitors and articles use for the same thing.

Domain knowledge any web shop's knowledge base benefits from, not keyed to one shop's articles.
Applied identically to articles and questions, so both sides meet on one canonical term:
- PHRASES rewrite multi-word expressions ("money back" -> "refund") on folded text;
- GROUPS map single words (any inflection: matched by stem) to the group's first word.
Keep a word out of every group when it has two common meanings in support chats ("change",
"receipt", "code"): a wrong merge costs more than a missed one."""
from __future__ import annotations

import re

from knowledge_base import synonyms_el

# (pattern on folded, lower-case text, replacement). Applied in order.
_PHRASES_EN: list[tuple[str, str]] = [
    # chat spelling
    (r"\b(?:tmrw|tmr|tmrow|2moro|2morrow|tomoz|tomorow|tommorow|tommorrow)\b", "tomorrow"),
    (r"\b(?:pkg|pckg|pkge)\b", "package"), (r"\bxmas\b", "christmas"), (r"\bacct\b", "account"),
    (r"\baddr\b", "address"), (r"\bwks?\b", "week"), (r"\b(?:b4|bfore)\b", "before"), (r"\bthru\b", "through"),
    (r"\b(?:recd|rcvd|recvd)\b", "received"), (r"\bw/o\b", "without"), (r"\bmsg\b", "message"),
    (r"\bppl\b", "people"), (r"\bqty\b", "quantity"), (r"\bcc\b", "credit card"), (r"\bdeets\b", "details"),
    (r"\be-(mail|gift|mails)\b", r"e\1"),
    (r"\b(?:how much|what(?: does|'s| is)? (?:it|that) cost)\b", " cost "),
    (r"\bmoney (?:back|returned)\b|\bget (?:my|the) money\b|\breimburs\w*", " refund "),
    (r"\b(?:send|sending|sent|post|posting|ship|shipping|take|taking|bring|bringing|give|giving|mail|mailing)"
     r" (?:[a-z]+ ){0,2}back\b", " return "),
    (r"\bamerican express\b", " amex "),
    (r"\bwhere(?:'s|s| is| are)? (?:my|the|our) (order|parcel|package|delivery|shipment|stuff|things|items?)\b", r" track \1 "),
    (r"\bhow (?:long|many (?:days|weeks)|soon|quickly)\b", " time "),
    (r"\b(?:go|goes|went|gone|going) through\b", " confirmed "),
    (r"\b(?:only|just) (?:received|got|came)\b|\bpart of (?:my|the) order\b|\bincomplete\b|\bhalf (?:of )?(?:my|the) order\b", " missing "),
    (r"\b(?:didn'?t|did not|haven'?t|have not|hasn'?t|has not|never|not) (?:yet )?(?:get|got|gotten|receive|received|come|came|arrive|arrived|turned up|shown up)\b",
     " notreceived "),
    (r"\b(?:hasn'?t|has not|haven'?t|not|no|isn'?t) (?:been )?(?:updated|update|updates|moved|moving|changed)\b", " late "),
    (r"\bcall(?:ed|ing)? (?:it |this |that |one |them )?off\b", " cancel "),
    (r"\b(?:get|gets|getting|got) (?:here|there|to me)\b|\b(?:turn|turns|turned|show|shows|showed) up\b", " arrive "),
    (r"\b(?:stopped|stop|stops|quit|quits) working\b|\b(?:not|isnt|doesnt|dont|wont|isn't|doesn't|don't|won't) work(?:ing|s)?\b"
     r"|\bbroke down\b|\bfell apart\b|\bfalling apart\b|\bcame apart\b", " faulty "),
    (r"\bnext[- ]day\b|\bovernight\b|\bby tomorrow\b", " nextday "),
    (r"\bpick(?:ing|ed|s)?[- ]?up\b|\bclick (?:&|and|n) collect\b", " collect "),
    (r"\bdrop(?:ping|ped|s)?[- ]off\b|\bhand(?:ing|ed|s)? (?:it |them )?in\b", " dropoff "),
    (r"\bgift ?(?:card|voucher|certificate|token)s?\b|\begift(?: card)?s?\b", " giftcard "),
    (r"\bstore credit\b|\bshop credit\b|\bcredit note\b", " storecredit "),
    (r"\btrack ?(?:&|and|n) ?trace\b", " track "),
    (r"\b(?:house|flat|apartment|street) (?:number|no|nr)\b|\bpost ?code\b|\bzip ?code\b", " address "),
    (r"\b(?:united states|the states|u\.s\.a?\.?|america)\b", " usa "),
    (r"\b(?:united kingdom|u\.k\.|great britain)\b", " uk "),
    (r"\b(?:buy now,? pay later|pay(?:ing)? later|pay in (?:instal|install)\w*|spread the (?:cost|payments?))\b", " paylater "),
    (r"\b(?:too|very|really|so) (?:small|tight|big|large|loose|long|short)\b|\bdoesn'?t fit\b|\bdon'?t fit\b", " size "),
    (r"\bsafe (?:place|spot)\b|\bfront door\b|\bback door\b|\bdoor ?step\b|\bletter ?box\b|\bmail ?box\b", " safeplace "),
    (r"\bopening (?:hours|times)\b", " hours "),
    (r"\b(?:charged|paid|billed|debited) (?:twice|two times|double)\b", " double charged "),
    (r"\b(?:two|2|duplicate|double) (?:payments|charges|transactions)\b", " double charged "),
    (r"\b(?:came|come|taken|went|gone) (?:off|out of|from) (?:my|the) (?:account|card|bank)\b", " charged "),
    (r"\b(?:wasn'?t|weren'?t|was not|were not|isn'?t|is not|aren'?t|are not|not) (?:in (?:it|there|the box|the parcel|the package)|inside|included|there)\b",
     " missing "),
    (r"\b(?:can'?t|cannot|can not|not|won'?t) be (?:returned|sent back|exchanged)\b|\bnon[- ]?returnable\b"
     r"|\bnot returnable\b|\bexcluded from returns?\b|\bexempt from returns?\b", " nonreturnable "),
    (r"\b(?:more|extra|longer|additional) time\b", " extend "),
    (r"\bstill (?:nothing|not here|no sign|waiting for (?:my|the|our) (?:order|parcel|package|delivery))\b|\bno sign of\b", " late "),
    (r"\bpost office\b", " point "),
    (r"\bp ?(?:&|and|\+|n) ?p\b", " postage "),
    (r"\beta\b", " time arrive "),
    (r"\b(?:not|isn'?t|aren'?t) here yet\b|\bnever (?:came|arrived|showed up|turned up)\b", " notreceived "),
    (r"\brunning late\b", " late "),
    (r"\bstop (?:my|the|this) order\b|\bdon'?t want (?:it|them|the order|my order) any ?more\b", " cancel "),
    (r"\bfinal sale\b", " nonreturnable "),
    (r"\b(?:missed|past|passed|over|after|beyond|outside|exceeded|expired) (?:the |my )?(?:return |returns )?"
     r"(?:deadline|window|period|time limit|limit)\b", " late deadline "),
    (r"\bsplit (?:the |my )?(?:payment|cost|bill|price)\b", " paylater "),
    (r"\b(?:not|won'?t be|wont be|nobody|no one|noone|never) (?:at )?home\b|\bout at work\b", " nothome "),
    (r"\b(?:settle|pay|paying|clear) (?:the|my|your) (?:bill|invoice)\b", " pay "),
]

# canonical word first; every word is matched by its stem, so list one form per word.
_GROUPS_EN: list[str] = [
    "parcel package packet shipment consignment",
    "ship deliver delivery shipping dispatch dispatched courier carrier postage post send sent sending",
    "cost price fee charge pricing costs rate tariff spend",
    "free complimentary gratis",
    "refund refunded reimbursement repayment money",
    "return returnable returned",
    "extend extended extension",
    "method way option options",
    "cancel cancellation cancelling canceling abort",
    "arrive arrival come coming came",
    "late delayed delay overdue behind stuck",
    "time times when duration long forever ages",
    "lost vanished disappeared stolen",
    "damaged broken smashed shattered cracked crushed dented bent squashed scratched torn ripped",
    "faulty defective defect malfunction died dead",
    "warranty guarantee",
    "exchange swap trade switch",
    "size fit fits sizing bigger smaller larger",
    "colour color",
    "address addresses",
    "redirect reroute divert",
    "track tracking whereabouts",
    "invoice bill",
    "vat tax taxes",
    "duty duties customs import",
    "discount promo coupon voucher promotion",
    "gift present",
    "paylater klarna afterpay clearpay instalment installment",
    "pay payment paying paid settle",
    "declined refused rejected failed failing fails bounced error",
    "double twice duplicate",
    "email mail inbox",
    "confirmation confirm confirmed",
    "collect collection pickup",
    "store shop showroom branch outlet",
    "neighbour neighbor neighbours neighbors",
    "safeplace porch shed garden doorstep",
    "sign signature signed",
    "weekend saturday sunday",
    "nextday tomorrow",
    "express fast faster quick quicker quickly rush urgent asap speedy priority expedited expedite",
    "abroad overseas international worldwide foreign",
    "item product goods article",
    "order ordered ordering buy bought purchase purchased",
    "day days week weeks fortnight month months",
    "personalised personalized custom engraved monogrammed embroidered",
    "clothes clothing garment garments apparel",
    "unworn unused unwashed",
    "tags labels",
    "wrong incorrect mistake typo mistaken accidentally",
    "change amend modify edit alter update",
    "remove delete drop",
    "add extra",
    "country countries",
        "hours open",
    "business company",
]


# "broader: narrower ...": a narrower word keeps its own term and also counts as the broader one
# (a question about "boxers" meets an article about "underwear"; "maestro" still prefers the article
# that names Maestro).
_HYPERNYMS_EN: list[str] = [
    "card: visa mastercard maestro amex americanexpress debit credit",
    "underwear: boxers boxer briefs knickers panties bra bras lingerie socks thong",
    "swimwear: bikini swimsuit trunks",
    "jewellery: jewelry earrings earring necklace bracelet piercing",
    "shoe: boots boot trainers sneakers sandals heels slippers loafers",
    "clothes: coat jacket trousers jeans shirt tshirt dress skirt jumper sweater hoodie shorts pants",
    "homeware: glass glasses mug mugs plate plates vase lamp toaster kettle towel towels cushion candle",
    "bag: handbag backpack purse wallet strap",
    "country: netherlands holland belgium germany france spain italy austria poland portugal ireland denmark sweden "
    "finland greece luxembourg czechia hungary romania bulgaria croatia slovakia slovenia estonia latvia lithuania "
    "cyprus malta uk britain england scotland wales usa canada australia switzerland norway japan china",
    "eu: europe european netherlands holland belgium germany france spain italy austria poland portugal ireland "
    "denmark sweden finland greece luxembourg czechia hungary romania bulgaria croatia slovakia slovenia estonia "
    "latvia lithuania cyprus malta",
    "uk: britain england scotland wales",
    "item: clothes shoe underwear swimwear jewellery homeware bag",
    "day: monday tuesday wednesday thursday friday",
]


def _compile(phrases: list[tuple[str, str]]) -> list[tuple[re.Pattern, str]]:
    return [(re.compile(p), r) for p, r in phrases]


PHRASES = {"en": _compile(_PHRASES_EN), "el": synonyms_el.compiled()}
GROUPS = {"en": [g.split() for g in _GROUPS_EN], "el": [g.split() for g in synonyms_el.GROUPS_EL]}
HYPERNYMS = {"en": _HYPERNYMS_EN, "el": synonyms_el.HYPERNYMS_EL}
