"""Invitation rules: what an admin may write and which rule invites on a page view."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from engage.rules import RuleError, Visit, applies, check_rule, message_for, pick, url_matches

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


def rule(**kw):
    values = check_rule({"name": "r", "messages": {"en": "Need help?"}, **{k: v for k, v in kw.items() if k != "id"}})
    return SimpleNamespace(id=kw.get("id", 1), **values)


def visit(url="https://shop.test/products/socks", pages=1, returning=False, referrer="", language="en"):
    return Visit(url=url, pages_seen=pages, returning=returning, referrer=referrer, language=language)


def test_defaults():
    r = check_rule({"name": " Checkout help ", "messages": {"EN": " Need help? "}})
    assert r == {"name": "Checkout help", "url_pattern": "", "referrer_contains": "", "enabled": True,
                 "visitor": "any", "when": "online", "min_time_on_page_s": 0, "min_pages_seen": 0,
                 "cap_hours": 24, "position": 0, "messages": {"en": "Need help?"}}


@pytest.mark.parametrize("data, field", [
    ({"messages": {"en": "x"}}, "name"),
    ({"name": "r"}, "messages"),
    ({"name": "r", "messages": {}}, "messages"),
    ({"name": "r", "messages": {"english": "x"}}, "messages"),
    ({"name": "r", "messages": {"en": " "}}, "messages"),
    ({"name": "r", "messages": {"en": "x" * 301}}, "messages"),
    ({"name": "r", "messages": {"en": "x"}, "min_time_on_page_s": -1}, "min_time_on_page_s"),
    ({"name": "r", "messages": {"en": "x"}, "min_time_on_page_s": 3601}, "min_time_on_page_s"),
    ({"name": "r", "messages": {"en": "x"}, "min_pages_seen": "3"}, "min_pages_seen"),
    ({"name": "r", "messages": {"en": "x"}, "cap_hours": 0}, "cap_hours"),
    ({"name": "r", "messages": {"en": "x"}, "cap_hours": True}, "cap_hours"),
    ({"name": "r", "messages": {"en": "x"}, "visitor": "old"}, "visitor"),
    ({"name": "r", "messages": {"en": "x"}, "when": "never"}, "when"),
    ({"name": "r", "messages": {"en": "x"}, "enabled": "yes"}, "enabled"),
    ({"name": "r", "messages": {"en": "x"}, "url": "/x"}, "url"),
    ({"name": "x" * 101, "messages": {"en": "x"}}, "name"),
])
def test_bad_rules_name_the_field(data, field):
    with pytest.raises(RuleError) as err:
        check_rule(data)
    assert err.value.field == field


@pytest.mark.parametrize("patterns, url, expected", [
    ("", "https://shop.test/anything", True),
    ("/checkout", "https://shop.test/checkout", True),
    ("/checkout", "https://shop.test/checkout/pay", False),
    ("/checkout*", "https://shop.test/checkout/pay", True),
    ("/products/*", "https://shop.test/products/socks?c=red", True),
    ("/products/*", "https://shop.test/about", False),
    ("*sale*", "https://shop.test/winter-SALE/hats", True),
    ("https://shop.test/*", "https://other.test/shop.test/", False),
    ("/a /b*", "https://shop.test/bee", True),
    ("/a.b", "https://shop.test/aXb", False),  # no regular expressions: a dot is a dot
])
def test_url_patterns(patterns, url, expected):
    assert url_matches(patterns, url) is expected


def test_each_condition():
    online = dict(agents_online=True, last_shown=None, now=NOW)
    assert applies(rule(), visit(), **online)
    assert not applies(rule(enabled=False), visit(), **online)
    assert not applies(rule(), visit(), agents_online=False, last_shown=None, now=NOW)
    assert applies(rule(when="always"), visit(), agents_online=False, last_shown=None, now=NOW)
    assert not applies(rule(min_pages_seen=3), visit(pages=2), **online)
    assert applies(rule(min_pages_seen=3), visit(pages=3), **online)
    assert not applies(rule(visitor="returning"), visit(returning=False), **online)
    assert applies(rule(visitor="returning"), visit(returning=True), **online)
    assert not applies(rule(visitor="new"), visit(returning=True), **online)
    assert applies(rule(referrer_contains="Google."), visit(referrer="https://www.google.com/search"), **online)
    assert not applies(rule(referrer_contains="google."), visit(referrer=""), **online)
    assert not applies(rule(url_pattern="/checkout*"), visit(), **online)


def test_at_most_once_per_n_hours():
    r = rule(cap_hours=6)
    assert not applies(r, visit(), agents_online=True, last_shown=NOW - timedelta(hours=5, minutes=59), now=NOW)
    assert applies(r, visit(), agents_online=True, last_shown=NOW - timedelta(hours=6), now=NOW)


def test_pick_takes_the_first_by_position_and_skips_capped_ones():
    a, b = rule(id=1, position=2, name="a"), rule(id=2, position=1, name="b")
    assert pick([a, b], visit(), agents_online=True, last_shown={}, now=NOW).id == 2
    assert pick([a, b], visit(), agents_online=True, last_shown={2: NOW}, now=NOW).id == 1
    assert pick([a, b], visit(), agents_online=True, last_shown={1: NOW, 2: NOW}, now=NOW) is None


def test_message_in_the_visitors_language():
    messages = {"en": "Need help?", "el": "Χρειάζεστε βοήθεια;", "pt": "Ajuda?"}
    assert message_for(messages, "el") == "Χρειάζεστε βοήθεια;"
    assert message_for(messages, "pt-br") == "Ajuda?"
    assert message_for(messages, "de") == "Need help?"
    assert message_for({"el": "Γεια"}, "de") == "Γεια"
