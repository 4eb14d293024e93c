"""Everything the bot and the handoff form say, in each of the bot's languages (English, Greek).

`say(key, language, **values)` picks the text; a language the bot does not speak gets English. The
language is the conversation's (chat/language.py), passed by the app to Rasa as message metadata
and read back by the custom actions (bot/actions.py). Texts are plain with at most `**bold**`."""
from __future__ import annotations

LANGUAGES = ("en", "el")
DEFAULT = "en"


def bot_language(tag: object) -> str:
    """The bot's language for a language tag ("el", "el-GR", "EL" -> "el"; None, "de" -> "en")."""
    t = tag.strip().lower()[:2] if isinstance(tag, str) else ""
    return t if t in LANGUAGES else DEFAULT


TEXTS: dict[str, dict[str, str]] = {
    "en": {
        # knowledge-base answers
        "did_it_help": "Did that answer your question?",
        "yes": "Yes, thanks",
        "no": "No",
        "talk_to_person": "Talk to a person",
        "not_sure": "I'm not sure I can answer that. Could you rephrase it, for example with your order, "
                    "delivery, return or payment in a few words? Or talk to a person.",
        "only_other_language": "I don't have that in English yet. Here is what we have in another language:",
        # small talk (Rasa's intents; action_small_talk)
        "greet": "Hi! I'm the virtual assistant of **Pinecone & Co.** Ask me anything about orders, delivery, "
                 "returns or payments.",
        "greet_order": "Where is my order?",
        "greet_return": "Return an item",
        "greet_return_payload": "How do I return an item?",
        "goodbye": "Bye, and thanks for shopping at **Pinecone & Co.**!",
        "thanks": "You're welcome! Anything else I can help with?",
        "affirm": "Great, glad that helped! Anything else?",
        "deny": "Sorry about that. Try rephrasing, or talk to a person.",
        "bot_challenge": "I'm the virtual assistant of **Pinecone & Co.**, a bot, not a person. If you'd rather "
                         "talk to someone from our team, press **Talk to a person**.",
        # Rasa down (bot/brain.py)
        "affirm_alone": "Great, glad that helped! Is there anything else I can do for you?",
        "deny_alone": "Sorry about that. Try asking in other words, or talk to a person.",
        # the handoff form
        "skip": "Skip",
        "ask_name": "While I find a person for you: what's your name? Press **Skip** if you'd rather not say.",
        "ask_name_question": "I'll pass that on to the person who joins you. First, what name should they call "
                             "you? Press **Skip** if you'd rather not say.",
        "ask_name_email": "Thanks, I've noted your e-mail address. And what's your name? Press **Skip** if you'd "
                          "rather not say.",
        "ask_name_invalid": "Sorry, that doesn't look like a name. What should we call you? Press **Skip** if "
                            "you'd rather not say.",
        "ask_email": "And your e-mail address, in case we need to get back to you? Press **Skip** if you'd "
                     "rather not say.",
        "ask_email_invalid": "That doesn't look like an e-mail address - could you check it, or press Skip?",
        "queue_named": "Thanks, {name}! I'm finding a person for you...",
        "queue": "Thanks! I'm finding a person for you...",
        # the app (chat/flows.py)
        "already_waiting": "You're already waiting for a person; they'll join this chat as soon as they can.",
        "already_with_person": "You're already chatting with a person.",
        "still_offline": "Still nobody is available to chat, sorry. Leave us a message with your e-mail and we'll "
                         "get back to you; meanwhile you can keep asking me questions.",
        "late_apology": "Sorry for the delay: your message reached us but we couldn't reply until now. About \"{q}\":",
    },
    "el": {
        "did_it_help": "Σας βοήθησε αυτή η απάντηση;",
        "yes": "Ναι, ευχαριστώ",
        "no": "Όχι",
        "talk_to_person": "Μιλήστε με άνθρωπο",
        "not_sure": "Δεν είμαι σίγουρος ότι μπορώ να απαντήσω σε αυτό. Μπορείτε να το πείτε αλλιώς, π.χ. με λίγα "
                    "λόγια για την παραγγελία, την αποστολή, την επιστροφή ή την πληρωμή σας; Ή μιλήστε με άνθρωπο.",
        "only_other_language": "Δεν έχουμε ακόμη αυτή τη βοήθεια στα ελληνικά. Υπάρχει στα αγγλικά:",
        "greet": "Γεια σας! Είμαι ο ψηφιακός βοηθός της **Pinecone & Co.** Ρωτήστε με ό,τι θέλετε για παραγγελίες, "
                 "αποστολές, επιστροφές ή πληρωμές.",
        "greet_order": "Πού είναι η παραγγελία μου;",
        "greet_return": "Επιστροφή προϊόντος",
        "greet_return_payload": "Πώς επιστρέφω ένα προϊόν;",
        "goodbye": "Γεια σας, και ευχαριστούμε που ψωνίσατε από την **Pinecone & Co.**!",
        "thanks": "Παρακαλώ! Μπορώ να βοηθήσω σε κάτι άλλο;",
        "affirm": "Τέλεια, χαίρομαι που βοήθησα! Κάτι άλλο;",
        "deny": "Λυπάμαι γι' αυτό. Δοκιμάστε να το ρωτήσετε αλλιώς ή μιλήστε με άνθρωπο.",
        "bot_challenge": "Είμαι ο ψηφιακός βοηθός της **Pinecone & Co.**, πρόγραμμα και όχι άνθρωπος. Αν "
                         "προτιμάτε να μιλήσετε με κάποιον από την ομάδα μας, πατήστε **Μιλήστε με άνθρωπο**.",
        "affirm_alone": "Τέλεια, χαίρομαι που βοήθησα! Μπορώ να κάνω κάτι άλλο για εσάς;",
        "deny_alone": "Λυπάμαι γι' αυτό. Δοκιμάστε να το ρωτήσετε με άλλα λόγια ή μιλήστε με άνθρωπο.",
        "skip": "Παράλειψη",
        "ask_name": "Όσο βρίσκω κάποιον για εσάς: πώς σας λένε; Πατήστε **Παράλειψη** αν προτιμάτε να μην το πείτε.",
        "ask_name_question": "Θα το μεταφέρω στον συνάδελφο που θα σας απαντήσει. Πρώτα, πώς να σας λέει; "
                             "Πατήστε **Παράλειψη** αν προτιμάτε να μην το πείτε.",
        "ask_name_email": "Ευχαριστώ, κράτησα το e-mail σας. Και πώς σας λένε; Πατήστε **Παράλειψη** αν "
                          "προτιμάτε να μην το πείτε.",
        "ask_name_invalid": "Συγγνώμη, αυτό δεν μοιάζει με όνομα. Πώς να σας λέμε; Πατήστε **Παράλειψη** αν "
                            "προτιμάτε να μην το πείτε.",
        "ask_email": "Και το e-mail σας, σε περίπτωση που χρειαστεί να σας απαντήσουμε; Πατήστε **Παράλειψη** "
                     "αν προτιμάτε να μην το πείτε.",
        "ask_email_invalid": "Αυτό δεν μοιάζει με διεύθυνση e-mail. Μπορείτε να το ελέγξετε ή να πατήσετε Παράλειψη;",
        "queue_named": "Ευχαριστώ, {name}! Βρίσκω κάποιον να σας εξυπηρετήσει...",
        "queue": "Ευχαριστώ! Βρίσκω κάποιον να σας εξυπηρετήσει...",
        "already_waiting": "Περιμένετε ήδη έναν συνάδελφο· θα μπει στη συνομιλία μόλις μπορέσει.",
        "already_with_person": "Συνομιλείτε ήδη με έναν συνάδελφο.",
        "still_offline": "Δυστυχώς δεν υπάρχει ακόμη κανείς διαθέσιμος για συνομιλία. Αφήστε μας ένα μήνυμα με το "
                         "e-mail σας και θα επικοινωνήσουμε μαζί σας· στο μεταξύ μπορείτε να συνεχίσετε να μου κάνετε ερωτήσεις.",
        "late_apology": "Συγγνώμη για την καθυστέρηση: το μήνυμά σας έφτασε, αλλά δεν μπορούσαμε να απαντήσουμε "
                        "μέχρι τώρα. Σχετικά με το \"{q}\":",
    },
}


def say(key: str, language: object = DEFAULT, **values) -> str:
    text = TEXTS[bot_language(language)][key]
    return text.format(**values) if values else text


def quick_reply(key: str, language: object, payload: str) -> dict:
    return {"content_type": "text", "title": say(key, language), "payload": payload}
