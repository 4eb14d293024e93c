"""The visitor's language and the bot in Greek, without Rasa: detecting the language of a message,
every text in both languages, the handoff form reading Greek answers, Greek requests for a person,
and the custom actions answering in the language the app sends as metadata."""
import re

import pytest

from bot.answers import (
    SKIPPED, ask_email, ask_name, check_email, check_name, form_step, handoff_queue, looks_like_handoff, not_sure,
    small_talk,
)
from bot.language import detect
from bot.texts import TEXTS, bot_language, say
from tests.bot.test_actions import call, client, tracker  # noqa: F401 - the app in process, demo content

GREEK = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")


# ---- detecting the language of one message -------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Πού είναι η παραγγελία μου;", "που ειναι η παραγγελια μου", "ΠΟΤΕ ΘΑ ΕΡΘΕΙ", "ναι", "οχι ευχαριστω",
    "pou einai i paraggelia mou", "thelo na milisw me kapoion", "posa einai ta metaforika", "efxaristo",
    "kalimera sas", "Thelw anthrwpo", "pote tha ftasei to dema?",
])
def test_greek_and_greeklish_are_greek(text):
    assert detect(text) == "el"


@pytest.mark.parametrize("text", ["where is my order", "I want to return my shoes", "Did it arrive?",
                                  "how much is shipping to Athens"])
def test_english_is_english(text):
    assert detect(text) == "en"


@pytest.mark.parametrize("text", ["ok", "hi", "thanks", "Maria", "12345", "maria@example.com", "/affirm",
                                  '/ask_question{"article_id": "3"}', "paypal", "", "   ", "?"])
def test_short_or_unclear_messages_say_nothing(text):
    assert detect(text) is None  # the conversation keeps its language


@pytest.mark.parametrize("tag, language", [("el", "el"), ("el-GR", "el"), ("EL", "el"), ("en-GB", "en"),
                                           ("de", "en"), (None, "en"), ("", "en"), (7, "en")])
def test_the_bots_language_of_a_tag(tag, language):
    assert bot_language(tag) == language


# ---- every text in both languages -------------------------------------------------------------------

def test_every_text_exists_in_greek_and_english_with_the_same_placeholders():
    assert TEXTS["el"].keys() == TEXTS["en"].keys()
    for key, english in TEXTS["en"].items():
        assert re.findall(r"\{\w+\}", TEXTS["el"][key]) == re.findall(r"\{\w+\}", english), key
        assert GREEK.search(TEXTS["el"][key]) or key in ("greet_order",), key


def test_the_bots_replies_in_greek():
    for intent in ("greet", "goodbye", "thanks", "affirm", "deny", "bot_challenge"):
        reply = small_talk(intent, "el")
        assert GREEK.search(reply.text) and all(GREEK.search(q["title"]) for q in reply.quick_replies), intent
    assert small_talk("greet", "en").text.startswith("Hi! I'm the virtual assistant")
    sure = not_sure([], "el")
    assert sure.fallback and GREEK.search(sure.text) and sure.quick_replies[-1] == {
        "content_type": "text", "title": "Μιλήστε με άνθρωπο", "payload": "/human_handoff"}
    assert handoff_queue("visitor_asked", name="Μαρία", language="el").text == say("queue_named", "el", name="Μαρία")
    for reply in (ask_name(None, "el"), ask_name("name_question", "el"), ask_email("email_invalid", "el")):
        assert GREEK.search(reply.text)
        assert reply.quick_replies == [{"content_type": "text", "title": "Παράλειψη", "payload": "skip"}]


# ---- the handoff form in Greek ------------------------------------------------------------------

@pytest.mark.parametrize("text, name", [
    ("Μαρία", "Μαρία"), ("με λένε Μαρία", "Μαρία"), ("Είμαι η Ελένη", "Ελένη"), ("λέγομαι Γιώργος", "Γιώργος"),
    ("το όνομά μου είναι Νίκος Παπαδόπουλος", "Νίκος Παπαδόπουλος"), ("Σοφία εδώ", "Σοφία"),
    ("to onoma mou einai Giorgos", "Giorgos"), ("me lene Katerina", "Katerina"),
])
def test_greek_names(text, name):
    assert check_name(text) == ("ok", name)


@pytest.mark.parametrize("text", ["παράλειψη", "Παράλειψη", "παραλειψη", "όχι", "Όχι, ευχαριστώ", "οχι ευχαριστω",
                                  "δεν θέλω να το πω", "προτιμώ να μην το πω", "άσ' το", "skip", "oxi", "paraleipsi",
                                  "den thelo"])
def test_greek_skips(text):
    assert check_name(text) == ("skip", None)
    assert check_email(text) == ("skip", None)


@pytest.mark.parametrize("text", ["θέλω να μιλήσω με άνθρωπο", "θελω να μιλησω με ανθρωπο", "thelo na miliso me anthropo",
                                  "δώστε μου έναν υπάλληλο", "άνθρωπο παρακαλώ"])
def test_asking_for_a_person_again_is_never_the_name(text):
    assert check_name(text) == ("skip", None)
    assert form_step("visitor_name", text) == {"visitor_name": SKIPPED, "handoff_retry": None}


@pytest.mark.parametrize("text", ["πού είναι η παραγγελία μου;", "pou einai to dema mou", "πότε θα έρθει το δέμα",
                                  "θέλω να επιστρέψω τα παπούτσια"])
def test_a_greek_question_is_not_a_name(text):
    assert check_name(text) == ("question", None)


@pytest.mark.parametrize("text", ["γεια σας", "ναι", "ευχαριστώ", "οκ"])
def test_greek_words_that_are_not_names(text):
    assert check_name(text) == ("invalid", None)


def test_greek_email_answers():
    assert check_email("το email μου είναι maria@example.gr") == ("ok", "maria@example.gr")
    assert check_email("δεν έχω email") == ("skip", None)
    assert form_step("visitor_email", "λάθος") == {"visitor_email": None, "handoff_retry": "email_invalid"}


# ---- requests for a person in Greek (Rasa down, or let slip by Rasa) -----------------------------

@pytest.mark.parametrize("text", [
    "θέλω να μιλήσω με άνθρωπο", "Θέλω να μιλήσω με κάποιον", "thelo na milisw me kapoion", "ενα υπαλληλο παρακαλω",
    "δωστε μου εκπροσωπο", "εξυπηρέτηση πελατών", "Άνθρωπο παρακαλώ!", "anthropo parakalo", "το bot είναι άχρηστο",
    "υπάρχει κάποιος εκεί;", "θέλω να κάνω παράπονο", "δεν με βοηθάς καθόλου",
])
def test_greek_requests_for_a_person(text):
    assert looks_like_handoff(text)


@pytest.mark.parametrize("text", [
    "πού είναι η παραγγελία μου", "pou einai i paraggelia mou", "μπορεί κάποιος άλλος να παραλάβει το δέμα;",
    "ο κούριερ ζητάει υπογραφή από άτομο", "είσαι άνθρωπος;", "πόσο κάνουν τα μεταφορικά", "ευχαριστώ",
])
def test_greek_questions_are_not_requests_for_a_person(text):
    assert not looks_like_handoff(text)


# ---- the custom actions answer in the language the app sends -------------------------------------

def greek_tracker(text, intent, language="el"):
    trk = tracker(text, intent=intent)
    trk["latest_message"]["metadata"] = {"language": language}
    return trk


@pytest.mark.parametrize("intent", ["greet", "thanks", "affirm", "deny", "goodbye", "bot_challenge"])
async def test_small_talk_action_answers_in_the_metadatas_language(client, intent):  # noqa: F811
    el = (await call(client, "action_small_talk", greek_tracker("γεια", intent))).json()["responses"][0]["custom"]["shopchat"]
    en = (await call(client, "action_small_talk", greek_tracker("hi", intent, "en"))).json()["responses"][0]["custom"]["shopchat"]
    assert GREEK.search(el["text"]) and not GREEK.search(en["text"])


async def test_form_questions_and_queue_in_greek(client):  # noqa: F811
    trk = greek_tracker("θέλω άνθρωπο", "human_handoff")
    ask = (await call(client, "action_ask_visitor_name", trk)).json()["responses"][0]["custom"]["shopchat"]
    assert ask["text"] == say("ask_name", "el") and ask["quick_replies"][0]["title"] == "Παράλειψη"
    trk["slots"] = {"visitor_name": "Μαρία", "visitor_email": SKIPPED, "handoff_reason": "visitor_asked"}
    queue = (await call(client, "action_request_human", trk)).json()["responses"][0]["custom"]["shopchat"]
    assert queue["text"] == "Ευχαριστώ, Μαρία! Βρίσκω κάποιον να σας εξυπηρετήσει..." and queue["handoff"] == "queue"
    assert queue["visitor"] == {"name": "Μαρία", "email": None, "order_number": None}


async def test_a_greek_fallback_is_in_greek(client):  # noqa: F811
    trk = greek_tracker("ασδφγ ξκλ", "nlu_fallback")
    msg = (await call(client, "action_answer_question", trk)).json()["responses"][0]["custom"]["shopchat"]
    assert GREEK.search(msg["text"]) and msg["quick_replies"][-1]["title"] == "Μιλήστε με άνθρωπο"
