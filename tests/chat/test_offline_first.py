"""With nobody online, asking for a person goes straight to the offline form (chat/offline_first.py):
no "handoff requested", no "I'm finding a person", and the visitor's own tabs get what the chat
knows to prefill the form. With an agent online the handoff is as before. The app runs as its own
process without Rasa; the visitor is a real Socket.IO client."""
from __future__ import annotations

import asyncio

from sqlalchemy import update

from app.db import make_engine, make_sessionmaker
from chat.models import Conversation
from tests.chat.visitor_client import Visitor


async def known(app, conversation_id: str, **values) -> None:
    engine = make_engine(app.env["SHOPCHAT_DATABASE_URL"])
    async with make_sessionmaker(engine)() as db:
        await db.execute(update(Conversation).where(Conversation.id == conversation_id).values(**values))
        await db.commit()
    await engine.dispose()


async def test_nobody_online_the_offline_form_at_once_with_what_is_known(demo_app):
    v = Visitor(demo_app.url)
    await v.connect()
    await known(demo_app, v.conversation_id, visitor_name="Maria Jensen", visitor_email="maria@example.com")
    await v.say("can i talk to a real person", client_id="p1")
    prefill = await v.wait_for("handoff", pred=lambda h: h.get("state") == "offline" and "visitor" in h)
    assert prefill[0]["visitor"] == {"name": "Maria Jensen", "email": "maria@example.com"}
    await v.wait_for("bot_typing", pred=lambda d: d.get("typing") is False)
    await asyncio.sleep(0.3)
    states = [h.get("state") for h in v.of("handoff")]
    assert "requested" not in states and "queued" not in states, states
    said = [m["text"] for m in v.of("bot_uttered")]
    assert not any("finding a person" in t or "name" in t.lower() for t in said), said
    # the form's message is taken as before
    ack = await v.call("offline_message", {"name": "Maria Jensen", "email": "maria@example.com",
                                           "message": "Can I pay half by PayPal?"})
    assert ack["ok"], ack
    await v.close()


async def test_a_plain_rasa_client_hears_the_offline_text_once(demo_app):
    v = Visitor(demo_app.url)
    await v.connect(extensions=False)
    await v.say("can i talk to a real person", client_id="p1")
    await v.wait_for("bot_uttered", pred=lambda m: "Nobody is available" in (m.get("text") or ""))
    await asyncio.sleep(0.5)
    texts = [m.get("text") for m in v.of("bot_uttered")]
    assert sum("Nobody is available" in (t or "") for t in texts) == 1, texts
    assert all(set(m) <= {"text", "quick_replies"} for m in v.of("bot_uttered"))
    await v.close()


async def test_asking_again_while_the_offline_form_is_out_gets_a_reply(demo_app):
    """The second request for a person, nobody online still: a reply every time, in the visitor's
    language, for the product's widget and for a plain Rasa client (which heard the offline text
    once and would otherwise get nothing: the load benchmark saw such turns end in silence)."""
    for extensions, language, again in ((True, "en", "Still nobody is available"),
                                        (False, "el", "δεν υπάρχει ακόμη κανείς διαθέσιμος")):
        v = Visitor(demo_app.url)
        await v.connect(extensions=extensions, language=language)
        await v.say("can i talk to a real person" if language == "en" else "θέλω να μιλήσω με άνθρωπο", client_id="p1")
        if extensions:
            await v.wait_for("bot_typing", pred=lambda d: d.get("typing") is False)
        else:  # a plain client gets no bot_typing: the offline text ends the turn
            await v.wait_for("bot_uttered")
        await v.say("a person please" if language == "en" else "θέλω έναν άνθρωπο παρακαλώ", client_id="p2")
        await v.wait_for("bot_uttered", pred=lambda m, again=again: again in (m.get("text") or ""))
        await v.close()
