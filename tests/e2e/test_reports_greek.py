"""The Reports page and the login page in Greek, in a real Chromium (docs/reports.md "The page",
README "Agent console"): a Greek browser gets the login page in Greek (Accept-Language), its wrong
password message too; an admin who never chose a language opens Reports in Greek (headings, figure
names, table headers, filters, Greek numbers and days, the Greek definitions each "?" links to);
the EN switch relabels everything at once from the figures already loaded (nothing asked again), the
choice is stored (a reload stays English in a Greek browser), and ΕΛ brings Greek back. Screenshots:
docs/img/greek-login.png, docs/img/greek-reports.png."""
from __future__ import annotations

import asyncio
import re

from playwright.async_api import expect

from tests.e2e.conftest import docs_shot
from tests.e2e.test_reports_page import PW, app, loaded  # noqa: F401 (the fixture: a month of generated history)

GREEK_NUMBER = re.compile(r"^\d{1,3}(\.\d{3})*$")  # 1.234: Greek thousands
GREEK_PCT = re.compile(r"^\d+(,\d)? %$")  # 12,5 %: Greek decimals


async def greek_browser_page(browser, width=1366, height=1900):
    """A browser whose language is Greek (navigator.languages and Accept-Language: el-GR)."""
    context = await browser.new_context(viewport={"width": width, "height": height}, locale="el-GR")
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.dialogs = []
    page.on("dialog", lambda dlg: (page.dialogs.append(dlg.message), asyncio.ensure_future(dlg.dismiss())))
    return page


async def switch(page, lang: str) -> None:
    async with page.expect_response(lambda r: r.url.endswith("/api/me/language") and r.ok):
        await page.select_option("#ui-lang", lang)


async def test_a_greek_admin_reads_the_reports_in_greek_and_switches_to_english_at_once(app, browser):  # noqa: F811
    page = await greek_browser_page(browser)

    # The login page, in Greek from the browser's Accept-Language; a wrong password is said in Greek.
    await page.goto(f"{app.url}/reports/")
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await expect(page).to_have_title("Σύνδεση - shopchat")
    await expect(page.locator("html")).to_have_attribute("lang", "el")
    await expect(page.locator("h1")).to_have_text("Σύνδεση στο shopchat")
    await expect(page.locator("label[for=password]")).to_have_text("Κωδικός πρόσβασης")
    await page.fill("#email", "ada@reports.test")
    await page.fill("#password", "not the password")
    await page.click("button[type=submit]")
    await expect(page.locator(".error")).to_have_text("Λάθος e-mail ή κωδικός πρόσβασης.")
    await expect(page.locator("button[type=submit]")).to_have_text("Σύνδεση")
    await expect(page.locator("nav.langs a[aria-current]")).to_have_text("ΕΛ · Ελληνικά")
    await page.set_viewport_size({"width": 900, "height": 560})
    await docs_shot(page, "greek-login")
    await page.set_viewport_size({"width": 1366, "height": 1900})

    # Logged in, back on Reports: Greek, as the browser is (Ada never chose).
    await page.fill("#password", PW)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{app.url}/reports/")
    await loaded(page)
    await expect(page).to_have_title("Αναφορές · shopchat")
    await expect(page.locator("html")).to_have_attribute("lang", "el")
    await expect(page.locator("#ui-lang")).to_have_value("el")
    await expect(page.locator("#logout")).to_have_text("Αποσύνδεση")
    await expect(page.locator("#sec-bot h2 span")).to_have_text("Το bot")
    await expect(page.locator("#sec-queue h2 span")).to_have_text("Η ουρά")
    await expect(page.locator("#sec-agents h2 span")).to_have_text("Οι εκπρόσωποι")
    await expect(page.locator("#sec-invitations h2 span")).to_have_text("Προσκλήσεις")
    await expect(page.locator("#period option[value=\"7d\"]")).to_have_text("Τελευταίες 7 ημέρες")
    await expect(page.locator("#agent option").first).to_have_text("Όλοι οι εκπρόσωποι")
    await expect(page.locator('.card[data-figure="containment"] .k span')).to_have_text("Αυτόνομη επίλυση")
    await expect(page.locator('.card[data-figure="containment"] .v')).to_have_text(GREEK_PCT)
    await expect(page.locator('.card[data-figure="containment"] .sub')).to_have_text(re.compile(r"επιλύθηκαν αυτόνομα$"))
    await expect(page.locator('.card[data-figure="wait-in-queue"] .sub')).to_contain_text("90ό εκατοστημόριο")
    conversations = await page.locator('.card[data-figure="conversations"] .v').inner_text()
    assert GREEK_NUMBER.match(conversations) and int(conversations.replace(".", "")) > 0
    await expect(page.locator("#bot-articles th").first).to_have_text("Άρθρο")
    await expect(page.locator("#agents-table th").nth(2)).to_contain_text("Πρώτη απάντηση (διάμεσος)")
    await expect(page.locator('.card[data-figure="acceptance-rate"] .sub')).to_have_text("2 από 4 που εμφανίστηκαν")
    # days as Greek write them ("27 Νοε 2026 – 3 Δεκ 2026"), not ISO
    await expect(page.locator("#range")).to_have_text(re.compile(r"^\d{1,2} [Α-Ωα-ωά-ώ]+ \d{4} – \d{1,2} [Α-Ωα-ωά-ώ]+ \d{4} \(Europe/Athens\)$"))
    # the definitions are the Greek ones, and every "?" finds its own
    await expect(page.locator("#def-containment")).to_have_text("Αυτόνομη επίλυση")
    await expect(page.locator("#def-containment + p")).to_have_text("Επιλύθηκαν από το bot / Συνομιλίες.")
    hrefs = set(await page.locator("a.def").evaluate_all("els => els.map(e => e.getAttribute('href'))"))
    assert len(hrefs) >= 25
    for href in hrefs:
        assert await page.locator(href).count() == 1, f"no Greek definition for {href}"
    await expect(page.locator('.card[data-figure="containment"] a.def')).to_have_attribute("title", "Ορισμός: Αυτόνομη επίλυση")
    await page.evaluate("window.scrollTo(0, 0)")
    await docs_shot(page, "greek-reports")
    await page.set_viewport_size({"width": 1366, "height": 900})
    await page.evaluate("window.scrollTo(0, document.getElementById('sec-agents').offsetTop - 110)")
    await docs_shot(page, "greek-reports-agents")
    await page.evaluate("window.scrollTo(0, 0)")
    # Greek words are longer: on a laptop's 1024 px nothing spills out of its card or box, and the
    # page does not scroll sideways
    await page.set_viewport_size({"width": 1024, "height": 900})
    spills = """() => [...document.querySelectorAll('.card, .box, .top, .pick')]
        .filter((e) => e.offsetParent && e.scrollWidth > e.clientWidth + 1).map((e) => e.className + ': ' + e.textContent.slice(0, 60))"""
    try:  # the charts take a frame or two to follow the new width
        await page.wait_for_function(f"({spills})().length === 0", timeout=5000)
    except Exception:
        pass
    assert await page.evaluate(spills) == []
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.evaluate("window.scrollTo(0, document.getElementById('sec-agents').offsetTop - 110)")
    await docs_shot(page, "greek-reports-narrow")
    await page.evaluate("window.scrollTo(0, 0)")

    # EN: everything at once, from the figures on the page (no report asked again).
    drawn = await page.locator("body").get_attribute("data-loaded")
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/reports/" in r.url else None)
    await switch(page, "en")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page).to_have_title("Reports · shopchat")
    await expect(page.locator("#sec-bot h2 span")).to_have_text("The bot")
    await expect(page.locator('.card[data-figure="containment"] .k span')).to_have_text("Containment")
    await expect(page.locator('.card[data-figure="containment"] .v')).to_have_text(re.compile(r"^\d+(\.\d)? %$"))
    assert re.match(r"^\d{1,3}(,\d{3})*$", await page.locator('.card[data-figure="conversations"] .v').inner_text())  # English numbers in a Greek browser
    await expect(page.locator("#bot-articles th").first).to_have_text("Article")
    await expect(page.locator("#agent option").first).to_have_text("All agents")
    await expect(page.locator("#period option[value=\"7d\"]")).to_have_text("Last 7 days")
    await expect(page.locator("#range")).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d \(Europe/Athens\)$"))
    await expect(page.locator("#def-containment")).to_have_text("Containment")
    await expect(page.locator("#def-containment + p")).to_contain_text("Contained / Conversations")
    assert await page.locator("body").get_attribute("data-loaded") == drawn and asked == []

    # The choice is stored: a reload in this Greek browser stays English; ΕΛ brings Greek back.
    await page.reload()
    await loaded(page)
    await expect(page.locator("#ui-lang")).to_have_value("en")
    await expect(page.locator("#sec-bot h2 span")).to_have_text("The bot")
    await switch(page, "el")
    await expect(page.locator("#sec-bot h2 span")).to_have_text("Το bot")
    await expect(page.locator("#def-containment")).to_have_text("Αυτόνομη επίλυση")

    # Logged out, the login page keeps the last choice of this browser (the cookie), whatever the browser says.
    await page.locator("#logout").click()
    await expect(page).to_have_url(re.compile(r"/login$"))
    await expect(page.locator("h1")).to_have_text("Σύνδεση στο shopchat")
    await page.locator("nav.langs a[lang=en]").click()
    await expect(page.locator("h1")).to_have_text("Log in to shopchat")
    assert page.errors == [] and page.dialogs == []
