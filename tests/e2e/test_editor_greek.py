"""The knowledge-base editor in Greek, in a real Chromium (docs/editor.md "Languages of the editor"):
an editor switches to Greek and the navigation, the article form's buttons, its messages and a
confirmation are Greek; a reload and another browser keep Greek (the choice is stored on the
server); another editor still sees English; with no choice stored, a Greek browser gets Greek."""
from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import expect

from accounts.service import create_user
from app.db import make_engine, make_sessionmaker
from tests import support
from tests.conftest import load_demo
from tests.e2e.conftest import docs_shot
from tests.e2e.test_editor import log_in_editor

PW = "editor test password"
ELENI, EDNA, NIKOS, MARIA = "eleni@editor.test", "edna@editor.test", "nikos@editor.test", "maria@editor.test"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    url = support.TestDatabase("sqlite", tmp_path_factory.mktemp("editor_greek")).create().url
    load_demo(url)
    return url


@pytest.fixture(scope="module")
async def app(demo_db):
    engine = make_engine(demo_db)
    async with make_sessionmaker(engine)() as s:
        for email, name in ((ELENI, "Eleni"), (EDNA, "Edna"), (NIKOS, "Nikos"), (MARIA, "Maria")):
            await create_user(s, email=email, display_name=name, role="editor", password=PW)
    await engine.dispose()
    live = support.LiveApp(demo_db).start()
    yield live
    live.stop()


async def browser_page(browser, locale: str = "en-US", width: int = 1366, height: int = 860):
    """A page in a browser of its own whose language is `locale` (tests/e2e/conftest.new_page's
    recording of dialogs and page errors)."""
    context = await browser.new_context(viewport={"width": width, "height": height}, locale=locale)
    page = await context.new_page()
    page.dialogs, page.errors = [], []
    page.on("dialog", lambda dlg: (page.dialogs.append(dlg.message), asyncio.ensure_future(dlg.dismiss())))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


def nav(page, view: str):
    return page.locator(f'.nav button[data-view="{view}"]')


def form(page):
    return page.locator("#a-form")


async def expect_english(page):
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#ui-lang")).to_have_value("en")
    await expect(nav(page, "articles")).to_have_text("Articles")
    await expect(nav(page, "gaps")).to_have_text("Gaps")
    await expect(page.locator("#new-article")).to_have_text("New article")
    await expect(page.locator("#myname")).to_contain_text("· editor")


async def expect_greek(page):
    await expect(page.locator("html")).to_have_attribute("lang", "el")
    await expect(page.locator("#ui-lang")).to_have_value("el")
    await expect(nav(page, "articles")).to_have_text("Άρθρα")
    await expect(nav(page, "trash")).to_have_text("Κάδος")
    await expect(nav(page, "canned")).to_have_text("Έτοιμες απαντήσεις")
    await expect(nav(page, "gaps")).to_have_text("Κενά γνώσης")
    await expect(page.locator("#h-articles")).to_contain_text("Άρθρα")
    await expect(page.locator("#a-count")).to_have_text(re.compile(r"^\d+ άρθρα$"))
    await expect(page.locator("#new-article")).to_have_text("Νέο άρθρο")
    await expect(page.get_by_role("button", name="Αποσύνδεση")).to_be_visible()
    await expect(page.locator("#myname")).to_contain_text("· συντάκτης")
    await expect(page).to_have_title("Βάση γνώσεων · shopchat")


async def test_an_editor_switches_to_greek_and_keeps_it_others_keep_english(app, browser):
    eleni = await browser_page(browser, height=1180)  # tall enough for the form's buttons in the screenshot
    await log_in_editor(eleni, app, ELENI)
    await expect_english(eleni)

    # Eleni switches the editor to Greek in the header: everything is Greek at once, no reload.
    await eleni.locator("#ui-lang").select_option("el")
    await expect_greek(eleni)
    await expect(eleni.locator("#toasts")).to_contain_text("Ο επεξεργαστής είναι τώρα στα ελληνικά.")
    await expect(eleni.locator("#a-list .result").first).to_contain_text("διατυπώσεις")

    # The article form: labels, buttons, the head and the messages the page writes.
    await eleni.get_by_role("button", name="Νέο άρθρο").click()
    await expect(eleni.locator("#a-heading")).to_have_text("Νέο άρθρο")
    await expect(eleni.locator("#a-meta")).to_have_text("Δεν έχει αποθηκευτεί ακόμη.")
    await form(eleni).get_by_label("Τίτλος", exact=True).fill("Συσκευασία δώρου")
    await form(eleni).get_by_label("Κατηγορία", exact=True).fill("Παραγγελίες")
    await form(eleni).get_by_label("Γλώσσα", exact=True).fill("el")
    await form(eleni).get_by_label("Ετικέτες", exact=True).fill("δώρα")
    await form(eleni).get_by_label("Εναλλακτικές διατυπώσεις", exact=True).fill("Τυλίγετε δώρα;\nΣυσκευασία δώρου")
    await form(eleni).get_by_label("Κείμενο", exact=True).fill("Ναι! Επιλέξτε **συσκευασία δώρου** στο ταμείο (3,50 €).")
    await expect(eleni.locator("#a-dirty")).to_have_text("Μη αποθηκευμένες αλλαγές")
    for name in ("Αποθήκευση πρόχειρου", "Δημοσίευση"):
        await expect(form(eleni).get_by_role("button", name=name, exact=True)).to_be_visible()
    await expect(form(eleni).get_by_role("button", name="Διαγραφή", exact=True)).to_be_hidden()  # not saved yet
    await form(eleni).get_by_role("button", name="Αποθήκευση πρόχειρου").click()
    await expect(eleni.locator("#toasts")).to_contain_text("Αποθηκεύτηκε ως πρόχειρο.")
    await expect(eleni.locator("#a-status")).to_have_text("Πρόχειρο")
    await expect(eleni.locator("#a-meta")).to_contain_text("Έκδοση 1, ενημερώθηκε από Eleni στις")
    for name in ("Αποθήκευση πρόχειρου", "Δημοσίευση", "Ιστορικό", "Διαγραφή"):
        await expect(form(eleni).get_by_role("button", name=name, exact=True)).to_be_visible()
    await expect(eleni.locator("#a-tr-missing")).to_contain_text("Χωρίς μετάφραση στα: en")
    await docs_shot(eleni, "editor-greek")

    # A confirmation in Greek: moving the article to the trash (cancelled: nothing happens).
    await form(eleni).get_by_role("button", name="Διαγραφή", exact=True).click()
    dialog = eleni.locator("#confirm")
    await expect(dialog.locator("#confirm-text")).to_have_text(re.compile(r"^Μεταφορά του «Συσκευασία δώρου» στον κάδο;"))
    await expect(dialog.get_by_role("button", name="Ακύρωση")).to_be_visible()
    await expect(dialog.get_by_role("button", name="Διαγραφή")).to_be_visible()
    await dialog.get_by_role("button", name="Ακύρωση").click()
    await expect(dialog).to_be_hidden()
    await expect(form(eleni)).to_be_visible()

    # A reload keeps Greek (the choice is Eleni's, on the server), the article open as it was.
    await eleni.reload()
    await expect_greek(eleni)
    await expect(eleni.locator("#a-heading")).to_have_text("Συσκευασία δώρου")
    await expect(form(eleni).get_by_role("button", name="Δημοσίευση", exact=True)).to_be_visible()
    await nav(eleni, "canned").click()
    await expect(eleni.locator("#c-legend")).to_have_text("Νέα έτοιμη απάντηση")
    await expect(eleni.get_by_role("button", name="Προσθήκη", exact=True)).to_be_visible()

    # Another editor, and Eleni in another browser: Edna still sees English; Eleni sees Greek.
    edna = await browser_page(browser)
    await log_in_editor(edna, app, EDNA)
    await expect_english(edna)
    await edna.locator("#a-list .result").first.click()
    for name in ("History", "Delete"):
        await expect(form(edna).get_by_role("button", name=name, exact=True)).to_be_visible()
    await expect(edna.locator("#a-meta")).to_contain_text("Revision ")
    elsewhere = await browser_page(browser)
    await log_in_editor(elsewhere, app, ELENI)
    await expect_greek(elsewhere)

    # Back to English: the page is English again, and stays so.
    await eleni.locator("#ui-lang").select_option("en")
    await expect_english(eleni)
    await expect(eleni.locator("#c-legend")).to_have_text("Add a canned response")
    await eleni.reload()
    await expect_english(eleni)
    for page in (eleni, edna, elsewhere):
        assert page.dialogs == [] and page.errors == []


async def test_with_no_choice_stored_a_greek_browser_gets_greek_until_the_user_chooses(app, browser):
    nikos = await browser_page(browser, locale="el-GR")
    await log_in_editor(nikos, app, NIKOS)
    await expect_greek(nikos)
    # Try the bot writes its verdict in Greek; what is on screen follows a switch of language.
    await nav(nikos, "try").click()
    await expect(nikos.locator("#h-try")).to_have_text("Δοκιμή του bot")
    await nikos.fill("#try-q", "how long does a refund take?")
    await nikos.press("#try-q", "Enter")
    await expect(nikos.locator(".verdict")).to_contain_text(re.compile(r"^Το bot "))
    await expect(nikos.locator("#try-decision")).to_contain_text("όριο")
    # He prefers the editor in English though his browser is Greek: the choice wins from now on.
    await nikos.locator("#ui-lang").select_option("en")
    await expect_english(nikos)
    await expect(nikos.locator("#h-try")).to_have_text("Try the bot")
    await expect(nikos.locator(".verdict")).to_contain_text(re.compile(r"^The bot "))
    await expect(nikos.locator("#try-decision")).to_contain_text("threshold")
    await nikos.reload()
    await expect_english(nikos)
    assert nikos.dialogs == [] and nikos.errors == []


async def open_article(page, title: str):
    await page.locator("#f-q").fill(title)
    await page.locator("#a-list .result", has_text=title).first.click()
    await expect(page.locator("#a-heading")).to_have_text(title)


async def test_a_conflict_is_told_in_greek_and_a_switch_keeps_the_unsaved_text(app, browser):
    maria = await browser_page(browser)
    await log_in_editor(maria, app, MARIA)
    await maria.locator("#ui-lang").select_option("el")
    await expect_greek(maria)
    edna = await browser_page(browser)
    await log_in_editor(edna, app, EDNA)
    for page in (maria, edna):
        await open_article(page, "Lost parcels")

    await form(edna).get_by_label("Body", exact=True).fill("Edna's version of the text.")
    await edna.locator("#a-save").click()
    await expect(edna.locator("#toasts")).to_contain_text("Saved and published")

    body = form(maria).get_by_label("Κείμενο", exact=True)
    await body.fill("Η εκδοχή της Μαρίας.")
    await expect(maria.locator("#a-save")).to_have_text("Αποθήκευση & δημοσίευση")
    await maria.locator("#a-save").click()
    conflict = maria.locator("#conflict")
    await expect(conflict.locator("h3")).to_have_text("Ο/Η Edna αποθήκευσε αυτό το άρθρο ενώ το επεξεργαζόσασταν")
    await expect(conflict.get_by_role("button", name="Αντικατάσταση με τη δική μου")).to_be_visible()
    await expect(conflict.locator("dt").first).to_have_text("Τίτλος")

    # Switching language with the conflict on screen: it is told again in English, her text kept.
    await maria.locator("#ui-lang").select_option("en")
    await expect(conflict.locator("h3")).to_have_text("Edna saved this article while you were editing")
    await expect(form(maria).get_by_label("Body", exact=True)).to_have_value("Η εκδοχή της Μαρίας.")
    await expect(maria.locator("#a-dirty")).to_have_text("Unsaved changes")
    await conflict.get_by_role("button", name="Overwrite with mine").click()
    await expect(maria.locator("#toasts")).to_contain_text("Saved and published")
    await expect(conflict).to_be_hidden()
    await expect(maria.locator("#a-meta")).to_contain_text("updated by Maria")
    for page in (maria, edna):
        assert page.dialogs == [] and page.errors == []
