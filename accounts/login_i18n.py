"""The login page in English and Greek. Nobody is logged in yet, so the page's language is, in order:
`?lang=en|el` (the EN / ΕΛ links on the page; a link a shop sends its staff), the `shopchat_lang`
cookie (the last choice in this browser: set by those links, by logging in as a user who chose a
language for the staff pages, and by that user's EN / ΕΛ switch), the browser's Accept-Language (its
most preferred language the pages have), else English. README "Agent console" says so for shop owners.
tests/staff_i18n/test_login_language.py checks both languages have every text."""
from __future__ import annotations

from accounts.models import STAFF_LANGUAGES

LANG_COOKIE = "shopchat_lang"
LANG_COOKIE_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie (Chromium caps at 400 days)

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Log in - shopchat",
        "heading": "Log in to shopchat",
        "email": "E-mail",
        "password": "Password",
        "submit": "Log in",
        "language": "Language",
        "bad_credentials": "Wrong e-mail or password.",
        "throttled": "Too many failed logins. Wait 15 minutes, then try again.",
        "missing": "Enter your e-mail and password.",
        "too_large": "The form is too large.",
        "cross_site": "This login form was sent from another site; open the login page again.",
        "cross_site_logout": "This logout was sent from another site.",
    },
    "el": {
        "title": "Σύνδεση - shopchat",
        "heading": "Σύνδεση στο shopchat",
        "email": "E-mail",
        "password": "Κωδικός πρόσβασης",
        "submit": "Σύνδεση",
        "language": "Γλώσσα",
        "bad_credentials": "Λάθος e-mail ή κωδικός πρόσβασης.",
        "throttled": "Πάρα πολλές αποτυχημένες συνδέσεις. Περιμένετε 15 λεπτά και δοκιμάστε ξανά.",
        "missing": "Συμπληρώστε το e-mail και τον κωδικό πρόσβασής σας.",
        "too_large": "Η φόρμα είναι πολύ μεγάλη.",
        "cross_site": "Η φόρμα σύνδεσης στάλθηκε από άλλον ιστότοπο· ανοίξτε ξανά τη σελίδα σύνδεσης.",
        "cross_site_logout": "Η αποσύνδεση στάλθηκε από άλλον ιστότοπο.",
    },
}
# the same in both languages on purpose (the word Greek staff use too)
SAME = {"email"}


def supported(value: str | None) -> str | None:
    return value if value in STAFF_LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The most preferred of the browser's languages that the pages have: "fr, el;q=0.8" is Greek,
    "en-GB,el;q=0.9" English; ties keep the browser's order; q=0 means "not this one"."""
    ranked = []
    for i, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            name, _, value = p.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        base = tag.strip().lower().split("-")[0]
        if q > 0 and base in STAFF_LANGUAGES:
            ranked.append((-q, i, base))
    return min(ranked)[2] if ranked else None


def choose(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    return supported(query) or supported(cookie) or from_accept_language(accept_language) or "en"
