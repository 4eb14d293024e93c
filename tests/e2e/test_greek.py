"""A Greek shopper end to end in a real Chromium, with the real Rasa: a shop page in Greek (its
`<html lang="el">`, no data-lang) on another origin, unaccented questions and one in Greeklish get
Greek answers from the Greek articles, a request for a person in Greek starts the name/e-mail form in
Greek, which the shopper skips in Greek, and the agent's console shows the conversation's language."""
from __future__ import annotations

import asyncio
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.async_api import expect

from accounts.service import create_user
from app.db import make_engine, make_sessionmaker
from tests.conftest import ACTION_TOKEN, RASA_AUTH_TOKEN, load_demo
from tests.e2e.conftest import docs_shot, new_page
from tests.e2e.test_console import PW, log_in, pane, widget
from tests.support import LiveApp, free_port

GREEK = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")
GREEK_SOURCE = re.compile(r"^Πηγή: .*[Α-Ωα-ωά-ώ]")  # "From: <a Greek article's title>"
PAGE = """<!doctype html><html lang="el"><head><meta charset="utf-8"><title>Pinecone & Co. - Κατάστημα</title></head>
<body style="font-family:sans-serif"><h1>Pinecone &amp; Co.</h1><p>Χειροποίητα είδη για το σπίτι.</p>
<script src="__APP__/widget/loader.js" async></script></body></html>"""


class GreekShop:
    """The shop's own site on another origin, its page in Greek."""

    def __init__(self, app_url: str):
        body = PAGE.replace("__APP__", app_url).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        port = free_port()
        self.url = f"http://localhost:{port}/"
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
async def world(rasa_url, rasa_app, sqlite_url):
    """The app on a database of its own with the demo content (English and Greek articles), talking
    to the session's real Rasa, whose custom actions run on rasa_app (the same demo content)."""
    await asyncio.to_thread(load_demo, sqlite_url)
    engine = make_engine(sqlite_url)
    async with make_sessionmaker(engine)() as s:
        await create_user(s, email="eleni@greek.test", display_name="Eleni", role="agent", password=PW)
    await engine.dispose()
    app = LiveApp(sqlite_url, rasa_url=rasa_url, action_token=ACTION_TOKEN,
                  env={"SHOPCHAT_RASA_AUTH_TOKEN": RASA_AUTH_TOKEN})
    await asyncio.to_thread(app.start)
    shop = GreekShop(app.url)
    yield app, shop
    shop.stop()
    await asyncio.to_thread(app.stop)


async def test_a_greek_shopper_gets_greek_answers_a_greek_handoff_and_the_agent_sees_greek(world, browser):
    app, shop = world
    eleni = await new_page(browser)
    await log_in(eleni, app, "eleni@greek.test")

    shopper = await new_page(browser, 1100, 860)
    await shopper.goto(shop.url)
    await shopper.get_by_role("button", name=re.compile("Άνοιγμα συνομιλίας")).click()  # the page's lang
    chat = widget(shopper)
    box = chat.locator("#input")
    await expect(box).to_have_attribute("placeholder", "Γράψτε ένα μήνυμα…")
    bot_rows = chat.locator("#log .row.bot")

    async def ask(text: str):
        before = await bot_rows.count()
        await box.fill(text)
        await box.press("Enter")
        await expect(bot_rows).to_have_count(before + 1, timeout=20000)
        return bot_rows.nth(before)

    # Unaccented Greek, then Greeklish: Greek answers from the Greek articles (their titles below).
    answer = await ask("ποσο κοστιζουν τα μεταφορικα")
    await expect(answer.locator(".src")).to_have_text(GREEK_SOURCE)
    await expect(answer).to_contain_text("Σας βοήθησε αυτή η απάντηση;")
    answer = await ask("mporw na plirwsw me paypal?")
    await expect(answer.locator(".src")).to_have_text(GREEK_SOURCE)
    answer = await ask("pote tha ftasei to dema mou?")  # answered again since the third Greek pass
    await expect(answer.locator(".src")).to_have_text(GREEK_SOURCE)
    answer = await ask("μπορω να επιστρεψω ενα προιον;")
    await expect(answer.locator(".src")).to_have_text(GREEK_SOURCE)
    assert all(GREEK.search(t) for t in await bot_rows.locator(".msg").all_inner_texts())

    # A person, in Greek: the form asks in Greek and the shopper skips both questions in Greek.
    name_q = await ask("θελω να μιλησω με ανθρωπο")
    await expect(name_q).to_contain_text("πώς σας λένε;")
    await chat.get_by_role("button", name="Παράλειψη").click()
    await expect(chat.locator("#log .row.bot").last).to_contain_text("Και το e-mail σας", timeout=20000)
    await box.fill("οχι ευχαριστω")
    await box.press("Enter")
    await expect(chat.locator("#log .row.bot").last).to_contain_text("Βρίσκω κάποιον να σας εξυπηρετήσει",
                                                                      timeout=20000)
    await docs_shot(shopper, "greek-widget")

    # The agent's offer and the chat show the conversation's language.
    offer = eleni.locator(".offer")
    await expect(offer).to_be_visible(timeout=15000)
    await expect(offer.locator(".odetail")).to_contain_text("Greek (el)")
    await offer.get_by_role("button", name="Accept").click()
    await expect(pane(eleni).locator(".facts")).to_contain_text("Greek (el)")
    await expect(pane(eleni).locator(".log .m-visitor").first).to_contain_text("ποσο κοστιζουν τα μεταφορικα")
    await expect(chat.locator("#banner")).to_contain_text("Eleni", timeout=10000)
    await docs_shot(eleni, "greek-console")
    assert eleni.errors == [] and shopper.errors == []
