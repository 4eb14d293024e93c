"""The agent console in Greek, in a real Chromium (README "Agent console"): an agent switches to Greek
(the EN/ΕΛ switch in the header, stored with PUT /api/me/language) and the header, the navigation, a
ringing offer's Accept/Decline, the chat's buttons and the composer's placeholder are Greek; a switch
with the chat open relabels it at once; a reload keeps Greek; what the visitor and the bot wrote is
not translated; another agent still sees English."""
from __future__ import annotations

import re

from playwright.async_api import expect

from tests.e2e.conftest import docs_shot, new_page, shot
from tests.e2e.test_console import app, db, log_in, pane, widget  # noqa: F401 (fixtures)


async def switch(page, lang: str) -> None:
    async with page.expect_response(lambda r: r.url.endswith("/api/me/language") and r.ok):
        await page.select_option("#ui-lang", lang)


async def test_an_agent_works_in_greek_and_another_in_english(app, db, browser):  # noqa: F811
    nora = await new_page(browser)
    await log_in(nora, app, "nora@console.test")
    await expect(nora.locator(".nav button[data-view=chats]")).to_contain_text("My chats")  # the default

    await switch(nora, "el")
    await expect(nora.locator(".toast").last).to_have_text("Η κονσόλα είναι πλέον στα ελληνικά.")
    await expect(nora).to_have_title("Κονσόλα εξυπηρέτησης · shopchat")
    await expect(nora.locator("html")).to_have_attribute("lang", "el")
    # the header
    await expect(nora.locator("#presence option[value=online]")).to_have_text("Σε σύνδεση")
    await expect(nora.locator("#presence option[value=away]")).to_have_text("Απών")
    await expect(nora.locator("label.switch", has=nora.locator("#accepting"))).to_have_text(re.compile("Δέχομαι συνομιλίες"))
    await expect(nora.locator("#logout")).to_have_text("Αποσύνδεση")
    await expect(nora.locator("#notif-btn")).to_have_text("Ειδοποιήσεις")
    await expect(nora.locator("#myname")).to_have_text("Nora · εκπρόσωπος")
    # the navigation and an empty view
    await expect(nora.locator(".nav button[data-view=chats]")).to_contain_text("Οι συνομιλίες μου")
    await expect(nora.locator(".nav button[data-view=queue]")).to_contain_text("Ουρά")
    await expect(nora.locator(".nav button[data-view=history]")).to_have_text("Ιστορικό & αναζήτηση")
    await expect(nora.locator("#nochat")).to_contain_text("Καμία συνομιλία αυτή τη στιγμή")
    await nora.locator(".nav button[data-view=queue]").click()
    await expect(nora.locator("#view-queue h2")).to_have_text("Αναμένουν εκπρόσωπο")
    await expect(nora.locator("#q-table th").nth(1)).to_have_text("Επισκέπτης")
    await nora.locator(".nav button[data-view=chats]").click()

    # A shopper asks for a person: the offer rings in Greek.
    shopper = await new_page(browser, 1100, 800)
    await shopper.goto(f"{app.url}/demo/")
    await shopper.get_by_role("button", name=re.compile("Open chat")).click()
    box = widget(shopper).locator("#input")
    await box.fill("do you take paypal?")
    await box.press("Enter")
    await expect(widget(shopper).locator("#log .row.bot").first).to_contain_text("PayPal", timeout=15000)
    await widget(shopper).get_by_role("button", name="Talk to a person").click()
    offer = nora.locator(".offer")
    await expect(offer).to_be_visible(timeout=10000)
    await expect(offer.locator(".okind")).to_have_text("Νέα συνομιλία")
    await expect(offer.locator(".count")).to_have_text(re.compile(r"^\d+ δ$"))
    await expect(offer.get_by_role("button", name="Απόρριψη")).to_be_visible()
    await offer.get_by_role("button", name="Αποδοχή").click()
    await expect(offer).to_have_count(0)

    # The chat: its buttons, the composer, the side panel in Greek; the visitor's and bot's words as written.
    chat = pane(nora)
    await expect(chat.get_by_role("button", name="Μεταφορά", exact=True)).to_be_visible()
    await expect(chat.get_by_role("button", name="Επιστροφή στο bot")).to_be_visible()
    await expect(chat.get_by_role("button", name="Κλείσιμο συνομιλίας")).to_be_visible()
    await expect(chat.get_by_role("button", name="Επισύναψη αρχείου")).to_be_visible()
    await expect(chat.get_by_role("button", name="Αποστολή")).to_be_visible()
    await expect(chat.locator(".input")).to_have_attribute("placeholder", re.compile(r"^Απάντηση στον επισκέπτη…"))
    await expect(chat.locator(".crow label.switch")).to_have_text(re.compile("Εσωτερική σημείωση"))
    await expect(chat.locator(".side h3").first).to_have_text("Επισκέπτης")
    await expect(chat.locator(".facts")).to_contain_text("Αιτία μεταβίβασης")
    await expect(chat.locator(".facts")).to_contain_text("με εκπρόσωπο")
    await expect(chat.locator(".m-visitor").first).to_have_text(re.compile("do you take paypal"))
    await expect(chat.locator(".m-bot").first).to_contain_text("PayPal")
    await expect(chat.locator(".m-bot .who").first).to_have_text("Bot")
    await chat.locator(".notebox").check()
    await expect(chat.locator(".input")).to_have_attribute("placeholder", "Εσωτερική σημείωση: τη βλέπουν μόνο οι εκπρόσωποι")
    await chat.locator(".input").fill("Πελάτισσα από Αθήνα")
    await chat.locator(".input").press("Enter")
    await expect(chat.locator(".m-note .who")).to_have_text("Εσωτερική σημείωση · Nora")
    await chat.locator(".notebox").uncheck()
    await chat.get_by_role("button", name="Κλείσιμο συνομιλίας").click()
    await expect(chat.get_by_role("button", name="Πατήστε ξανά για κλείσιμο")).to_be_visible()
    await docs_shot(nora, "console-greek")

    # Back to English with the chat open: everything relabels at once (the armed close button too).
    await switch(nora, "en")
    await expect(chat.get_by_role("button", name="Transfer", exact=True)).to_be_visible()
    await expect(chat.get_by_role("button", name="Click again to close")).to_be_visible()
    await expect(chat.locator(".input")).to_have_attribute("placeholder", re.compile(r"^Reply to the visitor…"))
    await expect(chat.locator(".m-note .who")).to_have_text("Internal note · Nora")
    await expect(chat.locator(".facts")).to_contain_text("Handoff reason")
    await expect(nora.locator(".nav button[data-view=chats]")).to_contain_text("My chats")
    await expect(nora.locator("#presence option[value=online]")).to_have_text("Online")
    await switch(nora, "el")
    await expect(chat.get_by_role("button", name="Μεταφορά", exact=True)).to_be_visible()

    # A reload keeps Greek (the choice is on the server) and the open chat comes back in Greek.
    await nora.reload()
    await expect(nora.locator("#conn")).to_be_hidden()
    await expect(nora.locator("#ui-lang")).to_have_value("el")
    await expect(nora.locator("#logout")).to_have_text("Αποσύνδεση")
    await expect(pane(nora).get_by_role("button", name="Κλείσιμο συνομιλίας")).to_be_visible()
    await expect(pane(nora).locator(".input")).to_have_attribute("placeholder", re.compile(r"^Απάντηση στον επισκέπτη…"))

    # Another agent, who never chose, sees English.
    omar = await new_page(browser)
    await log_in(omar, app, "omar@console.test")
    await expect(omar.locator("#ui-lang")).to_have_value("en")
    await expect(omar.locator(".nav button[data-view=chats]")).to_contain_text("My chats")
    await expect(omar.locator("#presence option[value=online]")).to_have_text("Online")
    await expect(omar.locator("#logout")).to_have_text("Log out")
    assert nora.errors == [] and omar.errors == [] and nora.dialogs == []


async def test_the_admins_pages_in_greek_relabel_at_once(app, db, browser):  # noqa: F811
    pia = await new_page(browser)
    await log_in(pia, app, "pia@console.test")
    await switch(pia, "el")
    await pia.locator(".nav button[data-view=admin]").click()
    await expect(pia.locator(".nav button[data-view=admin]")).to_have_text("Δρομολόγηση & εκπρόσωποι")
    await expect(pia.get_by_role("button", name="Αποθήκευση ρυθμίσεων")).to_be_visible()
    await expect(pia.locator("#agents tbody tr", has_text="omar@console.test")).to_contain_text("εκπρόσωπος")
    await pia.locator(".nav button[data-view=widget]").click()
    await expect(pia.locator("#appearance h2").first).to_have_text("Εμφάνιση widget")
    await expect(pia.get_by_role("button", name="Αποθήκευση εμφάνισης")).to_be_visible()
    await expect(pia.get_by_role("button", name="Αποθήκευση κανόνα")).to_be_visible()
    await expect(pia.locator("#appearance-form select[name=position] option[value=left]")).to_have_text("Κάτω αριστερά")
    await pia.locator(".nav button[data-view=prechat]").click()
    await expect(pia.get_by_role("button", name="Αποθήκευση φόρμας")).to_be_visible()
    await expect(pia.locator("#pc-mode option[value=person]")).to_have_text("Μόνο πριν από συνομιλία με άνθρωπο")
    await expect(pia.locator("#pc-row-phone th")).to_have_text("Τηλέφωνο")
    # a check of the form's own, in Greek; then English at once, the page's state kept
    await pia.locator("#pc-mode").select_option("always")
    for box in await pia.locator("#pc-fields input[name^=ask_]").all():
        await box.uncheck()
    await pia.get_by_role("button", name="Αποθήκευση φόρμας").click()
    await expect(pia.locator("#pc-msg")).to_have_text("Επιλέξτε τουλάχιστον ένα πεδίο ή απενεργοποιήστε τη φόρμα")
    await switch(pia, "en")
    await expect(pia.get_by_role("button", name="Save pre-chat form")).to_be_visible()
    await expect(pia.locator("#pc-mode")).to_have_value("always")
    await expect(pia.locator("#pc-row-phone th")).to_have_text("Phone")
    await pia.locator(".nav button[data-view=widget]").click()
    await expect(pia.get_by_role("button", name="Save appearance")).to_be_visible()
    await expect(pia.locator("#rule-form-title")).to_have_text("New invitation rule")
    assert pia.errors == [] and pia.dialogs == []


async def test_the_visitors_data_page_follows_the_same_choice(app, db, browser):  # noqa: F811
    pia = await new_page(browser)
    await log_in(pia, app, "pia@console.test")
    await switch(pia, "el")
    await pia.locator("#nav-privacy").click()
    await expect(pia).to_have_url(f"{app.url}/privacy/")
    await expect(pia.locator("#h-req")).to_have_text("Αιτήματα δεδομένων")
    await expect(pia.locator("#ui-lang")).to_have_value("el")
    await expect(pia.get_by_role("button", name="Εύρεση")).to_be_visible()
    await expect(pia.locator("#window")).to_contain_text("προηγούμενων ημερών")
    await expect(pia.locator("#keys tbody")).to_contain_text("Κανένα κλειδί")
    await pia.locator("#value").fill("nobody@example.com")
    await pia.get_by_role("button", name="Εύρεση").click()
    await expect(pia.locator("#found-summary")).to_have_text("Τίποτα αποθηκευμένο για αυτόν τον επισκέπτη.")
    await shot(pia, "privacy-greek")
    await switch(pia, "en")
    await expect(pia.locator("#h-req")).to_have_text("Data requests")
    await expect(pia.locator("#found-summary")).to_have_text("Nothing stored about this visitor.")
    await expect(pia.locator("#keys tbody")).to_contain_text("No keys")
    assert pia.errors == [] and pia.dialogs == []
