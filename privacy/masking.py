"""Masks personal data in visitors' words shown to editors (knowledge gaps): e-mail addresses, phone
numbers and order numbers. Over-masking is the safer mistake: a masked question still reads as a
question ("where is order [order number]?")."""
from __future__ import annotations

import re

EMAIL = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)+")
# "order 10234", "order number: ABC-12345", "#55512" (the bot's own pattern, bot/answers.py).
ORDER = re.compile(
    r"((?:#\s?|\border(?:[\s-]*(?:number|num|nr|no|id|ref|reference|code))?\.?\s*(?:is\s+|was\s+|[:=]\s*)?#?\s?))"
    r"[A-Za-z]{0,6}-?\d[\w-]*",
    re.IGNORECASE,
)
# A run of digits with the separators phone numbers are written with, 7 to 15 digits.
PHONE = re.compile(r"(?<![\w@])\+?\(?\d[\d\s().-]{5,20}\d(?![\w@])")
# Whatever else holds 5 or more digits (a bare order or customer number, an IBAN, a card).
LONG_NUMBER = re.compile(r"\b[\w-]*\d(?:[\w-]*\d){4,}[\w-]*")


def _phone(m: re.Match) -> str:
    digits = sum(c.isdigit() for c in m.group(0))
    return "[phone]" if 7 <= digits <= 15 else m.group(0)


def mask(text: str | None) -> str | None:
    if not text:
        return text
    text = EMAIL.sub("[e-mail]", text)
    text = ORDER.sub(lambda m: m.group(1) + "[order number]", text)
    text = PHONE.sub(_phone, text)
    return LONG_NUMBER.sub("[number]", text)
