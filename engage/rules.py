"""Invitation rules: what an admin may write (`check_rule`) and which rule invites a visitor on a
page view (`pick`). Pure functions of their arguments, so tests need no app and no database.

A rule invites when all its conditions hold: the page's URL matches one of its patterns (`*` is any
run of characters; a pattern starting with `/` is matched against the path and query, any other
against the whole URL; no pattern: every page), the visitor has seen at least `min_pages_seen`
pages this visit, is returning (`visitor` = returning: a second or later visit of this browser) or
new as asked, came from a referrer containing `referrer_contains`, agents are online unless the rule
says `always`, and the rule did not invite this visitor in the last `cap_hours`. The time on page
(`min_time_on_page_s`) is waited out by the loader: the invitation pops after that many seconds on
the page, and not at all when the visitor left it before."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

VISITORS = ("any", "returning", "new")
WHEN = ("online", "always")
LANG_RE = re.compile(r"^[a-z]{2}(-[a-z0-9]{2,8})?$")
MAX_MESSAGE = 300
MAX_PATTERNS = 20
LIMITS = {"min_time_on_page_s": (0, 3600), "min_pages_seen": (0, 1000), "cap_hours": (1, 24 * 365),
          "position": (0, 10_000)}


class RuleError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _text(data: dict, key: str, max_len: int, *, required: bool = False, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str):
        raise RuleError(key, f"{key} must be text")
    value = value.strip()
    if len(value) > max_len:
        raise RuleError(key, f"{key} is longer than {max_len} characters")
    if required and not value:
        raise RuleError(key, f"{key} is empty")
    return value


def check_messages(value: object, field: str = "messages") -> dict[str, str]:
    """{language: text}: at least one, each 1-300 characters; languages like en, el, pt-br."""
    if not isinstance(value, dict) or not value:
        raise RuleError(field, "give the message in at least one language, e.g. {\"en\": \"Need help?\"}")
    out = {}
    for lang, text in value.items():
        lang = str(lang).strip().lower()
        if not LANG_RE.match(lang):
            raise RuleError(field, f"{lang!r} is not a language code like en, el or pt-br")
        if not isinstance(text, str) or not text.strip():
            raise RuleError(field, f"the {lang} message is empty")
        if len(text.strip()) > MAX_MESSAGE:
            raise RuleError(field, f"the {lang} message is longer than {MAX_MESSAGE} characters")
        out[lang] = text.strip()
    return out


def check_rule(data: dict) -> dict:
    """The rule's fields from an admin's JSON, or RuleError naming the first bad field."""
    if not isinstance(data, dict):
        raise RuleError("rule", "a rule is a JSON object")
    unknown = set(data) - {"id", "name", "enabled", "url_pattern", "referrer_contains", "visitor", "when",
                           "messages", *LIMITS}
    if unknown:
        raise RuleError(sorted(unknown)[0], f"unknown field {sorted(unknown)[0]!r}")
    rule = {"name": _text(data, "name", 100, required=True),
            "url_pattern": " ".join(_text(data, "url_pattern", 500).split()),
            "referrer_contains": _text(data, "referrer_contains", 200)}
    if len(rule["url_pattern"].split()) > MAX_PATTERNS:
        raise RuleError("url_pattern", f"at most {MAX_PATTERNS} URL patterns")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RuleError("enabled", "enabled must be true or false")
    rule["enabled"] = enabled
    for key, choices in (("visitor", VISITORS), ("when", WHEN)):
        value = data.get(key, choices[0])
        if value not in choices:
            raise RuleError(key, f"{key} must be one of {', '.join(choices)}")
        rule[key] = value
    for key, (low, high) in LIMITS.items():
        value = data.get(key, {"cap_hours": 24}.get(key, 0))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise RuleError(key, f"{key} must be a whole number from {low} to {high}")
        rule[key] = value
    rule["messages"] = check_messages(data.get("messages"))
    return rule


@lru_cache(maxsize=512)
def _pattern(glob: str) -> re.Pattern:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in glob) + r"\Z", re.IGNORECASE)


def url_matches(patterns: str, url: str) -> bool:
    if not patterns.strip():
        return True
    parts = urlsplit(url or "")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    for glob in patterns.split():
        subject = path if glob.startswith("/") else (url or "")
        if _pattern(glob).match(subject):
            return True
    return False


def message_for(messages: dict, language: str | None) -> str:
    """The message in the visitor's language (pt-br, then pt), else English, else the first."""
    lang = (language or "").lower()
    for key in (lang, lang.split("-")[0], "en"):
        if key and messages.get(key):
            return messages[key]
    return next(iter(messages.values()), "")


@dataclass(frozen=True)
class Visit:
    url: str
    pages_seen: int
    returning: bool
    referrer: str
    language: str | None


def applies(rule, visit: Visit, *, agents_online: bool, last_shown: datetime | None, now: datetime) -> bool:
    """Whether `rule` (an InvitationRule or anything with its attributes) invites on this page view;
    its time on page is left to the loader."""
    if not rule.enabled:
        return False
    if rule.when == "online" and not agents_online:
        return False
    if rule.visitor == "returning" and not visit.returning or rule.visitor == "new" and visit.returning:
        return False
    if visit.pages_seen < rule.min_pages_seen:
        return False
    if rule.referrer_contains and rule.referrer_contains.lower() not in (visit.referrer or "").lower():
        return False
    if last_shown is not None and now - last_shown < timedelta(hours=rule.cap_hours):
        return False
    return url_matches(rule.url_pattern, visit.url)


def pick(rules, visit: Visit, *, agents_online: bool, last_shown: dict[int, datetime], now: datetime):
    """The first rule (by position, then id) that invites on this page view, or None."""
    for rule in sorted(rules, key=lambda r: (r.position, r.id)):
        if applies(rule, visit, agents_online=agents_online, last_shown=last_shown.get(rule.id), now=now):
            return rule
    return None
