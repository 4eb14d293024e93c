"""The pre-chat form in a real Chromium, with the real Rasa: an admin sets it up on the console's
"Pre-chat form" page (mode `person`, required fields, a choice list), a visitor chats with the bot
without it, asks for a person, gets the form (its required fields checked), sends it, and the agent
gets the chat with every answer shown while the bot never asked for a name or e-mail. In mode
`always` the bot's own handoff form asks nothing the pre-chat form already has."""
from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.async_api import expect

from accounts.service import create_session, create_user
from app.db import make_engine, make_sessionmaker, utcnow
from tests.e2e.conftest import docs_shot, new_page, shot

PW = "prechat e2e password"
CSRF = {"X-Requested-With": "shopchat"}
ASKS = re.compile(r"your name|e-mail address|πώς σας λένε", re.I)  # the bot's handoff questions


@pytest.fixture
async def admin(rasa_app):
    """An admin (who also takes chats) in the Rasa app's database: (e-mail, login session)."""
    engine = make_engine(rasa_app.env["SHOPCHAT_DATABASE_URL"])
    email = f"petra{uuid.uuid4().hex[:6]}@prechat.test"
    async with make_sessionmaker(engine)() as db:
        user = await create_user(db, email=email, display_name="Petra", role="admin", password=PW)
        token = await create_session(db, user.id, now=utcnow())
    yield email, token
    async with api(rasa_app, token) as c:  # the form off again for the session's other tests
        await c.put("/api/engage/prechat", json={"mode": "off", "fields": []})
    await engine.dispose()


def api(app, token):
    return httpx.AsyncClient(base_url=app.url, cookies={"shopchat_session": token}, headers=CSRF)


async def log_in(page, app, email: str):
    await page.goto(f"{app.url}/console/")
    await expect(page).to_have_url(re.compile(r"/login\?next=/console/"))
    await page.fill("#email", email)
    await page.fill("#password", PW)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{app.url}/console/")
    await expect(page.locator("#conn")).to_be_hidden()


def widget(page):
    return page.frame_locator('iframe[title="Chat"]')


async def open_shop(browser, app):
    shopper = await new_page(browser, 1100, 860)
    await shopper.goto(f"{app.url}/demo/")
    await shopper.get_by_role("button", name=re.compile("Open chat")).click()
    return shopper


async def ask_bot(shopper, text: str, count: int) -> None:
    box = widget(shopper).locator("#input")
    await box.fill(text)
    await box.press("Enter")
    await expect(widget(shopper).locator("#log .row.bot")).to_have_count(count, timeout=30000)


async def test_person_mode_set_on_the_admin_page_asks_before_a_person_only(rasa_app, admin, browser):
    petra = await new_page(browser)
    await log_in(petra, rasa_app, admin[0])
    await petra.get_by_role("button", name="Pre-chat form").click()
    page = petra.locator("#view-prechat")
    await expect(page.get_by_role("heading", name="Pre-chat form")).to_be_visible()
    await page.get_by_label("Ask for details").select_option("person")
    for kind in ("name", "email", "phone", "consent"):
        await page.locator(f"#pc-ask_{kind}").check()
        await page.locator(f"#pc-req_{kind}").check()
    await page.locator("#pc-ask_order").check()
    await page.locator("#pc-ask_choice").check()
    await page.get_by_label("Privacy policy address").fill("https://shop.test/privacy")
    await page.locator("#pc-label_phone_el").fill("Κινητό")
    await page.locator("#pc-text_title_en").fill("Before we connect you")
    await page.get_by_role("button", name="Save pre-chat form").click()
    # a choice list without options is refused before anything is sent, by its field
    await expect(page.locator("#pc-msg")).to_have_text(re.compile("at least one option"))
    await expect(page.locator("#pc-options")).to_have_attribute("aria-invalid", "true")
    await page.get_by_label("Choice options, one a line").fill("An order\nA return\nSomething else")
    # what only the server refuses: its message, by the field it names
    await page.get_by_label("Privacy policy address").fill("https://shop.test/<privacy>")
    await page.get_by_role("button", name="Save pre-chat form").click()
    await expect(page.locator("#pc-msg")).to_have_text(re.compile("^Not saved: field 5: privacy_url must be an http"))
    await expect(page.locator("#pc-privacy_url")).to_have_attribute("aria-invalid", "true")
    await docs_shot(petra, "console-prechat-admin-error")
    await page.get_by_label("Privacy policy address").fill("https://shop.test/privacy")
    await page.get_by_role("button", name="Save pre-chat form").click()
    await expect(page.locator("#pc-msg")).to_have_text(re.compile("^Saved"))
    await docs_shot(petra, "console-prechat-admin")
    cfg = (await httpx.AsyncClient(base_url=rasa_app.url).get("/engage/prechat")).json()
    assert cfg["mode"] == "person"
    assert [(f["kind"], f["required"]) for f in cfg["fields"]] == [
        ("name", True), ("email", True), ("phone", True), ("order", False), ("consent", True), ("choice", False)]
    assert cfg["fields"][2]["labels"] == {"el": {"label": "Κινητό"}}
    assert cfg["fields"][5]["options"] == ["An order", "A return", "Something else"]
    await petra.reload()  # what was saved comes back into the page
    await petra.get_by_role("button", name="Pre-chat form").click()
    await expect(page.locator("#pc-mode")).to_have_value("person")
    await expect(page.locator("#pc-options")).to_have_value("An order\nA return\nSomething else")

    # The visitor chats with the bot: no form.
    shopper = await open_shop(browser, rasa_app)
    chat = widget(shopper)
    await ask_bot(shopper, "do you take paypal?", 1)
    assert await chat.locator("#pre").count() == 0
    # Asking for a person brings the form, and the bot asks nothing.
    await chat.get_by_role("button", name="Talk to a person").last.click()
    form = chat.locator("#pre")
    await expect(form).to_contain_text("Before we connect you")
    await expect(chat.locator("#form")).to_be_hidden()
    await form.get_by_role("button", name="Talk to a person").click()
    for kind in ("name", "email", "phone", "consent"):
        await expect(chat.locator(f"#pre-{kind}E")).to_have_text("Required")
    await expect(chat.locator("#pre-orderE")).to_have_text("")
    await chat.locator("#pre-name").fill("Maria Jensen")
    await chat.locator("#pre-email").fill("maria@example.com")
    await chat.locator("#pre-phone").fill("+45 20 30 40 50")
    await chat.locator("#pre-order").fill("PC-1234")
    await chat.locator("#pre-consent").check()
    await chat.locator("#pre-choice").select_option("A return")
    await expect(chat.locator("#pre-nameE")).to_have_text("")  # answered: its error went
    await chat.locator("#pre-consent").scroll_into_view_if_needed()
    await shot(shopper, "widget-prechat-person-consent")
    await chat.locator("#pre h2").scroll_into_view_if_needed()
    await docs_shot(shopper, "widget-prechat-person")
    await form.get_by_role("button", name="Talk to a person").click()
    await expect(form).to_have_count(0)
    await expect(chat.locator("#input")).to_be_visible()
    await expect(chat.locator("#log .row.bot").last).to_contain_text("Thanks, Maria Jensen! I'm finding a person",
                                                                    timeout=15000)

    # Petra gets the chat with every answer.
    offer = petra.locator(".offer")
    await expect(offer).to_be_visible(timeout=15000)
    await expect(offer.locator(".oname")).to_have_text("Maria Jensen")
    await offer.get_by_role("button", name="Accept").click()
    facts = petra.locator(".pane:not([hidden]) .facts")
    for text in ("maria@example.com", "PC-1234", "+45 20 30 40 50", "A return", "given"):
        await expect(facts).to_contain_text(text)
    await expect(chat.locator("#banner")).to_contain_text("Petra", timeout=10000)
    await docs_shot(petra, "console-prechat-answers")
    bot_texts = await chat.locator("#log .row.bot").all_inner_texts()
    assert not any(ASKS.search(t) for t in bot_texts), bot_texts
    assert shopper.errors == [] and petra.errors == [] and shopper.dialogs == []
    await shopper.context.close()
    await petra.context.close()


async def test_always_mode_the_bots_handoff_form_skips_what_the_form_has(rasa_app, admin, browser):
    petra = await new_page(browser)
    await log_in(petra, rasa_app, admin[0])  # online: the handoff finds a person, no offline form
    async with api(rasa_app, admin[1]) as c:
        r = await c.put("/api/engage/prechat", json={"mode": "always", "fields": [
            {"kind": "name", "required": True}, {"kind": "email", "required": True}]})
        assert r.status_code == 200, r.text
    shopper = await open_shop(browser, rasa_app)
    chat = widget(shopper)
    form = chat.locator("#pre")
    await expect(form).to_contain_text("Before we start")
    # a second tab of the same shopper: the same chat, the same form
    other = await shopper.context.new_page()
    await other.goto(f"{rasa_app.url}/demo/")
    await other.get_by_role("button", name=re.compile("Open chat")).click()
    other_form = widget(other).locator("#pre")
    await expect(other_form).to_contain_text("Before we start")
    await expect(widget(other).locator("#form")).to_be_hidden()
    await chat.locator("#pre-name").fill("Ada")
    await chat.locator("#pre-email").fill("ada@example.com")
    await form.get_by_role("button", name="Start chat").click()
    await expect(form).to_have_count(0)
    # sent in one tab, it goes from the other at once (not after a reload)
    await expect(other_form).to_have_count(0)
    await expect(widget(other).locator("#input")).to_be_visible()
    await ask_bot(shopper, "can I talk to a real person", 1)
    await expect(chat.locator("#log .row.bot").last).to_contain_text("Thanks, Ada! I'm finding a person")
    await expect(petra.locator(".offer .oname")).to_have_text("Ada", timeout=15000)
    bot_texts = await chat.locator("#log .row.bot").all_inner_texts()
    assert len(bot_texts) == 1 and not ASKS.search(bot_texts[0]), bot_texts
    assert shopper.errors == [] and petra.errors == []
    await shopper.context.close()
    await petra.context.close()
