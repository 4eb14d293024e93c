"""Unit tests of the visitor protocol's input checks and of how Rasa's messages become replies."""
import pytest

from chat.flows import reply_from_rasa
from chat.visitor_ns import BadInput, check_after_seq, check_message, check_object, check_page


@pytest.mark.parametrize(
    "data, code",
    [
        ({}, "bad_payload"),
        ({"message": 42}, "bad_payload"),
        ({"message": ["hi"]}, "bad_payload"),
        ({"message": "   "}, "empty_message"),
        ({"message": "x" * 2001}, "message_too_long"),
        ({"message": "x" * 1_000_000}, "message_too_long"),
        ({"message": "hi", "client_id": 7}, "bad_payload"),
        ({"message": "hi", "client_id": "c" * 65}, "bad_payload"),
    ],
)
def test_bad_messages_are_refused_with_a_code(data, code):
    with pytest.raises(BadInput) as err:
        check_message(data, 2000)
    assert err.value.code == code


def test_good_message_is_trimmed_and_keeps_its_button_title():
    assert check_message({"message": "  hello  ", "client_id": "c1"}, 2000) == ("hello", "c1", None)
    assert check_message({"message": "/affirm", "display": "Yes, thanks"}, 2000) == ("/affirm", None, "Yes, thanks")


@pytest.mark.parametrize("bad", ["text", 5, [1]])
def test_payload_must_be_an_object(bad):
    with pytest.raises(BadInput):
        check_object(bad)
    assert check_object(None) == {}


def test_page_and_after_seq_checks():
    assert check_page({"url": "https://shop/x", "title": "X"}) == {"url": "https://shop/x", "title": "X", "referrer": None}
    for bad in ({"url": 5}, "https://shop"):
        with pytest.raises(BadInput):
            check_page(bad)
    assert check_after_seq({"after_seq": 3}) == 3
    for bad in (-1, "3", 1.5, True):
        with pytest.raises(BadInput):
            check_after_seq({"after_seq": bad})


def test_rasa_messages_become_replies():
    canned = reply_from_rasa({"recipient_id": "x", "text": "Hi!", "buttons": [{"title": "Talk to a person", "payload": "/human_handoff"}]})
    assert canned.text == "Hi!" and canned.quick_replies == [{"content_type": "text", "title": "Talk to a person", "payload": "/human_handoff"}]
    custom = reply_from_rasa({"recipient_id": "x", "custom": {"shopchat": {"text": "A", "kb": {"article_id": 1, "title": "T", "score": 0.9}}}})
    assert custom.kb["article_id"] == 1
    handoff = reply_from_rasa({"custom": {"shopchat": {"text": "Connecting", "handoff_reason": "visitor_request"}}})
    assert handoff.handoff_reason == "visitor_request"
    assert reply_from_rasa({"recipient_id": "x", "image": "http://x"}) is None
