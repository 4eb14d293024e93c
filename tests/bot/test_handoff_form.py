"""The handoff form's pure parts: reading the answers, the order number, the reason, the payloads."""
import pytest

from bot.answers import (
    SKIPPED, Reply, check_email, check_name, find_order_number, form_step, handoff_queue, handoff_reason_of,
    handoff_requested,
)
from bot.brain import reply_without_rasa


@pytest.mark.parametrize("text, name", [
    ("Maria", "Maria"), ("  Maria  ", "Maria"), ("my name is Maria", "Maria"), ("I'm Jean-Luc Picard", "Jean-Luc Picard"),
    ("hi, I'm Tom", "Tom"), ("Maria here", "Maria"), ("Ana María", "Ana María"), ("O'Neil", "O'Neil"),
    ("Mary Ann van der Berg", "Mary Ann van der Berg"), ("call me Al", "Al"), ("x" * 100, "x" * 100),
])
def test_names(text, name):
    assert check_name(text) == ("ok", name)


@pytest.mark.parametrize("text", ["skip", "Skip", "no thanks", "No thank you.", "I'd rather not", "rather not say",
                                  "prefer not to say", "nope", "/skip", "/human_handoff", "just get me a person"])
def test_skipping_the_name(text):
    assert check_name(text) == ("skip", None)


@pytest.mark.parametrize("text", ["where is my parcel?", "when will my order arrive", "do you ship to canada",
                                  "order 10234", "i want to return my shoes and get my money back"])
def test_a_question_is_not_a_name(text):
    assert check_name(text) == ("question", None)


@pytest.mark.parametrize("text", ["", "   ", "x" * 101, "hello", "thanks", "<script>", "!!!", "maria@"])
def test_not_a_name(text):
    assert check_name(text) == ("invalid", None)


def test_an_email_is_not_a_name():
    assert check_name("maria@example.com") == ("email", "maria@example.com")


def test_rasa_intent_counts_only_when_very_sure_and_the_text_does_not_give_a_name():
    assert check_name("my name is Sam", intent="out_of_scope", confidence=0.91) == ("ok", "Sam")
    assert check_name("call me Al", intent="human_handoff", confidence=0.8) == ("ok", "Al")
    assert check_name("is it free to send back", intent="ask_question", confidence=0.95) == ("question", None)


@pytest.mark.parametrize("text, verdict", [
    ("maria@example.com", ("ok", "maria@example.com")), ("it's maria.k+shop@mail.example.co.uk.", ("ok", "maria.k+shop@mail.example.co.uk")),
    ("not-an-email", ("invalid", None)), ("maria@example", ("invalid", None)), ("m..x@example.com", ("invalid", None)),
    ("skip", ("skip", None)), ("I'd rather not", ("skip", None)), ("no", ("skip", None)),
])
def test_emails(text, verdict):
    assert check_email(text) == verdict


def test_form_step_re_asks_once_then_skips():
    assert form_step("visitor_email", "nope@") == {"visitor_email": None, "handoff_retry": "email_invalid"}
    assert form_step("visitor_email", "nope@", retry="email_invalid") == {"visitor_email": SKIPPED, "handoff_retry": None}
    # a retry left by the other slot does not count
    assert form_step("visitor_email", "nope@", retry="name_question") == {"visitor_email": None, "handoff_retry": "email_invalid"}
    assert form_step("visitor_name", "where is my parcel?") == {"visitor_name": None, "handoff_retry": "name_question"}
    assert form_step("visitor_name", "and my refund?", retry="name_question") == {"visitor_name": SKIPPED, "handoff_retry": None}
    assert form_step("visitor_name", "a@b.co", email_known=True) == {"visitor_name": None, "handoff_retry": "name_email"}
    assert form_step("visitor_name", SKIPPED) == {"visitor_name": SKIPPED}
    # both at once
    assert form_step("visitor_name", "Maria, maria@example.com") == \
        {"visitor_email": "maria@example.com", "visitor_name": "Maria", "handoff_retry": None}


@pytest.mark.parametrize("texts, number", [
    (["#10234"], "10234"), (["where is order 10234?"], "10234"), (["order number ABC-12345"], "ABC-12345"),
    (["my order no. is 10234"], "10234"), (["Order nr: pc-2024-0042."], "PC-2024-0042"), (["order #55512 is late"], "55512"),
    (["order 10234", "no, sorry: #20000", "thanks"], "20000"),  # the last one wins
    (["order 2 mugs"], None), (["I ordered 3 items"], None), (["call me on 0612345678"], None), (["ref #12"], None),
    (['/ask_question{"article_id": "12345"}'], None),
])
def test_order_numbers(texts, number):
    assert find_order_number(texts) == number


def test_reasons():
    assert handoff_reason_of("talk to a person") == "visitor_asked"
    assert handoff_reason_of("/human_handoff") == "button"
    assert handoff_reason_of("/human_handoff", [{"entity": "handoff_reason", "value": "bot_failed"}]) == "bot_failed"
    assert handoff_reason_of('/human_handoff{"handoff_reason":"bot_failed"}') == "bot_failed"  # unparsed (Rasa down)
    assert handoff_reason_of("x", [{"entity": "handoff_reason", "value": "<b>"}]) == "visitor_asked"


def test_the_custom_payloads():
    assert handoff_requested("button").shopchat() == {"handoff": "requested", "handoff_reason": "button"}
    queue = handoff_queue("visitor_asked", name="Maria", email=None, order_number="10234")
    assert queue.shopchat() == {"text": "Thanks, Maria! I'm finding a person for you...", "handoff": "queue",
                                "handoff_reason": "visitor_asked",
                                "visitor": {"name": "Maria", "email": None, "order_number": "10234"}}
    assert queue.extras() == {}  # the visitor's details never go into a visitor-facing message
    assert Reply.from_shopchat(queue.shopchat()) == queue
    assert handoff_queue("button").text == "Thanks! I'm finding a person for you..."


async def test_without_rasa_a_handoff_is_one_queue_reply():
    reply = await reply_without_rasa(None, "agent please", history=["where is order #10234"])
    assert reply.handoff == "queue" and reply.handoff_reason == "visitor_asked"
    assert reply.visitor == {"name": None, "email": None, "order_number": "10234"}
    assert (await reply_without_rasa(None, "/human_handoff")).handoff_reason == "button"
    assert (await reply_without_rasa(None, '/human_handoff{"handoff_reason":"bot_failed"}')).handoff_reason == "bot_failed"
