"""Which of the bot's languages a visitor's message is clearly written in, if any.

Greek script is easy: most of the letters are Greek. Greeklish (Greek typed in Latin letters, "pou
einai i paraggelia mou") and English share an alphabet, so a small scorer counts words that are
typical of each; a message is called one language only when that one clearly wins (two words and
at least twice the other's count; one very Greeklish word in a message of at most three words).
Short or mixed messages ("ok", "hi", "agent please", an order number) are None: the
conversation keeps its language."""
from __future__ import annotations

import re
import unicodedata

_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)
_LATIN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")

# Words that are Greeklish and not English (a few spellings each). Ambiguous ones ("i", "to", "me",
# "na", "ti", "o") are left out.
GREEKLISH = frozenset("""
pou poy pu einai ine eimai ime eisai ise eiste paraggelia paragelia paraggelies paraggelias parangelia mou moy
sou soy sas mas tou toy tis kai ke den dn thelo thelw 8elw 8elo thela exo exw exei exete exoume ego egw
pws pos pote giati gt poso posa poia poio poios tha ftasei ftanei erthei erxetai irthe dema demata paketo
epistrofi epistrofes epistrepso epistrepsw lefta xrimata kalimera kalispera kalinixta kalinyxta geia gia sas
efxaristo efxaristw euxaristo euxaristw eyxaristo eyxaristw efharisto nai oxi ochi entaksei entaxei kapoion
kapoios kapoia anthropo anthrwpo anthropos milisw miliso milao milaw mporo mporw mporei mporeite metaforika
apostoli apostolis akyrosi akirosi kouponi timologio karta kartas pliromi plirwmi plirosa plirwsa
akoma akomi simera avrio xthes tora twra parakalo parakalw afto auto ayto ekei edo tipota kati kanena
voitheia voithia voithise leei lene thelete eixa ixa pira elava steilate stelnete kanete kanw kano
ypallilo ekprosopo eksypiretisi exypiretisi katastima lathos spasmeno xalasmeno argei kathysterisi
""".split())

# Common English words that are not Greeklish.
ENGLISH = frozenset("""
the is are was were be been my your our their where when what why how which who whom can could would
should will shall do does did done have has had not no yes please want need get got order orders ordered
delivery deliver delivered shipping ship shipped return returns returned refund refunds money payment pay
paid card parcel package item items arrive arrived arriving still yet with without from about this that
these those there here it its and or but if for of in on at by an you he she they we us them i'm i've
don't doesn't didn't can't won't isn't it's hello thanks thank hi hey bye talk speak someone person
human agent help long much many time today tomorrow week days address change cancel track tracking
""".split())


def greek_share(text: str) -> float:
    """The share of the letters that are Greek (0 when there are none)."""
    letters = _LETTERS.findall(text)
    if not letters:
        return 0.0
    greek = sum(1 for c in letters if "GREEK" in unicodedata.name(c, ""))
    return greek / len(letters)


def scores(text: str) -> tuple[int, int]:
    """(Greeklish words, English words) of a Latin-letter text."""
    words = _LATIN_WORD.findall(text.lower().replace("\u2019", "'"))
    return sum(w in GREEKLISH for w in words), sum(w in ENGLISH for w in words)


def detect(text: str) -> str | None:
    """"el", "en", or None when the message does not say clearly (short, mixed, a payload)."""
    t = (text or "").strip()
    if not t or t.startswith("/"):
        return None  # button payloads: /affirm, /human_handoff...
    letters = _LETTERS.findall(t)
    if len(letters) < 2:
        return None
    share = greek_share(t)
    if share >= 0.5:
        return "el"
    if share > 0.1:
        return None  # half and half: not clear
    greeklish, english = scores(t)
    n_words = len(_LATIN_WORD.findall(t.lower()))
    if greeklish >= 2 and greeklish >= 2 * english:
        return "el"
    if greeklish == 1 and english == 0 and n_words <= 3:
        return "el"  # "efxaristo", "kalimera sas", "oxi"
    if english >= 2 and english >= 2 * greeklish:
        return "en"
    return None
