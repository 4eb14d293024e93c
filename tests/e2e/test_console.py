"""The agent console in a real Chromium, next to a visitor's widget in another browser context: the
whole handoff from "Talk to a person" to the rating in the ranking. The app runs without Rasa (the
bot answers from the knowledge base and queues at once), in a database of its own."""
from __future__ import annotations

import re

import pytest
from playwright.async_api import expect
from sqlalchemy import update

from accounts.service import create_user
from app.db import make_engine, make_sessionmaker
from chat.models import Conversation
from tests.chat.visitor_client import Visitor
from tests.e2e.conftest import docs_shot, new_page

PW = "console test password"
HOSTILE = "<img src=x onerror=alert(1)>"
HOSTILE_NAME = '<b onmouseover=alert(2)>Eve</b>'


@pytest.fixture
def app(demo_app):
    return demo_app


@pytest.fixture
async def db(app):
    engine = make_engine(app.env["SHOPCHAT_DATABASE_URL"])
    sm = make_sessionmaker(engine)
    async with sm() as s:
        for email, name, role in (("nora@console.test", "Nora", "agent"), ("omar@console.test", "Omar", "agent"),
                                  ("pia@console.test", "Pia", "admin")):
            await create_user(s, email=email, display_name=name, role=role, password=PW)
    yield sm
    await engine.dispose()


async def log_in(page, app, email: str):
    await page.goto(f"{app.url}/console/")
    await expect(page).to_have_url(re.compile(r"/login\?next=/console/"))
    await page.fill("#email", email)
    await page.fill("#password", PW)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{app.url}/console/")
    await expect(page.locator("#myname")).to_contain_text(email.split("@")[0].capitalize())
    await expect(page.locator("#conn")).to_be_hidden()


def widget(page):
    return page.frame_locator('iframe[title="Chat"]')


def pane(page):
    return page.locator(".pane:not([hidden])")


async def no_markup_ran(page) -> None:
    """Hostile text stayed text: nothing it carried became an element or ran."""
    assert await page.locator("main img, main b[onmouseover]").count() == 0
    assert page.dialogs == [] and page.errors == []


async def test_handoff_from_the_widget_to_the_console_transfer_close_and_rating(app, db, browser):
    # While nobody is online, a visitor leaves an offline message with hostile form fields.
    offline = Visitor(app.url)
    await offline.connect()
    await offline.say("can i talk to a real person", client_id="o1")
    await offline.wait_for("handoff", pred=lambda h: h["state"] == "offline")
    ack = await offline.call("offline_message", {"name": HOSTILE_NAME, "email": "eve@example.com",
                                                 "message": f"Call me back {HOSTILE}"})
    assert ack["ok"], ack
    await offline.close()

    # Nora logs in to the console.
    nora = await new_page(browser)
    await log_in(nora, app, "nora@console.test")
    await expect(nora.locator("#nochat")).to_be_visible()

    # A shopper asks the bot, then presses "Talk to a person".
    shopper = await new_page(browser, 1100, 800)
    await shopper.goto(f"{app.url}/demo/")
    await shopper.get_by_role("button", name=re.compile("Open chat")).click()
    box = widget(shopper).locator("#input")
    await box.fill("do you take paypal?")
    await box.press("Enter")
    await expect(widget(shopper).locator("#log .row.bot").first).to_contain_text("PayPal", timeout=15000)
    async with db() as s:  # what the bot's name question would have collected
        await s.execute(update(Conversation).where(Conversation.state == "bot")
                        .values(visitor_name="Maria Jensen", visitor_email="maria@example.com",
                                order_number="PC-1234"))
        await s.commit()
    # Nora's console is in a background tab now: the title bar will call for her.
    await nora.evaluate("""() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    await widget(shopper).get_by_role("button", name="Talk to a person").click()

    # The offer rings in Nora's console with a countdown.
    offer = nora.locator(".offer")
    await expect(offer).to_be_visible(timeout=10000)
    await expect(offer.locator(".oname")).to_have_text("Maria Jensen")
    await expect(offer.locator(".count")).to_have_text(re.compile(r"^\d+ s$"))
    await expect(nora).to_have_title(re.compile(r"^\(1\) "))  # flashing "(1) New chat…"
    await nora.evaluate("""() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    await expect(nora).to_have_title("Agent console · shopchat")  # back in front: the flashing stops
    await docs_shot(nora, "console-offer")
    await offer.get_by_role("button", name="Accept").click()
    await expect(offer).to_have_count(0)

    # The chat opens with the bot's transcript, the handoff reason and what the bot collected.
    await expect(nora.locator(".tab.on")).to_contain_text("Maria Jensen")
    log = pane(nora).locator(".log")
    await expect(log.locator(".m-visitor").first).to_have_text(re.compile("do you take paypal"))
    await expect(log.locator(".m-bot").first).to_contain_text("PayPal")
    facts = pane(nora).locator(".facts")
    await expect(facts).to_contain_text("PC-1234")
    await expect(facts).to_contain_text("Talk to a person")  # the handoff reason
    await expect(widget(shopper).locator("#banner")).to_contain_text("Nora", timeout=10000)

    # The visitor's draft shows live; their hostile message arrives as text.
    await box.press_sequentially("Where is my parc", delay=30)
    await expect(pane(nora).locator(".draft")).to_contain_text("Visitor is typing: Where is my parc", timeout=10000)
    await box.fill(HOSTILE)
    await box.press("Enter")
    await expect(log.locator(".m-visitor .mb").last).to_have_text(HOSTILE)
    await no_markup_ran(nora)

    # A canned response by #shortcut, with the variables filled in, sent to the visitor.
    composer = pane(nora).locator("textarea.input")
    await composer.press_sequentially("#hel")
    suggestion = pane(nora).locator(".ac li").first
    await expect(suggestion).to_contain_text("#hello")
    await expect(widget(shopper).locator("#typing")).to_be_visible()  # the agent is typing
    await docs_shot(nora, "console-canned")
    await composer.press("Enter")  # picks the suggestion
    await expect(composer).to_have_value(re.compile(r"^Hi Maria Jensen, I'm Nora from "))
    await composer.press("Enter")  # sends
    await expect(log.locator(".m-agent")).to_contain_text("I'm Nora")
    await expect(widget(shopper).locator("#log .row.agent").last).to_contain_text("I'm Nora", timeout=10000)

    # An internal note: agents only.
    await pane(nora).locator(".notebox").check()
    await composer.fill("Asked about PayPal; wants a call back")
    await composer.press("Enter")
    await expect(log.locator(".m-note")).to_contain_text("wants a call back")

    # A second chat at the same time: its own tab, its own transcript, an unread badge when hidden.
    jonas = Visitor(app.url)
    await jonas.connect(page={"url": f"{app.url}/demo/product.html", "title": "Merino scarf"})
    async with db() as s:
        await s.execute(update(Conversation).where(Conversation.id == jonas.conversation_id)
                        .values(visitor_name="Jonas Weber"))
        await s.commit()
    await jonas.say("can i talk to a real person", client_id="j1")
    second = nora.locator(".offer", has_text="Jonas Weber")
    await second.get_by_role("button", name="Accept").click()
    await expect(nora.locator(".tab")).to_have_count(2)
    await expect(nora.locator(".tab.on")).to_contain_text("Jonas Weber")
    await jonas.say("Is the blue scarf back in stock?", client_id="j2")
    await expect(pane(nora).locator(".log .m-visitor .mb").last).to_have_text("Is the blue scarf back in stock?")
    await nora.locator(".tab", has_text="Maria Jensen").click()
    await jonas.say("Size M please", client_id="j3")
    await expect(nora.locator(".tab", has_text="Jonas Weber").locator(".badge")).to_have_text("1")
    await expect(log).not_to_contain_text("scarf")
    await docs_shot(nora, "console-chat")

    # Transfer to Omar, who accepts in his own console.
    omar = await new_page(browser)
    await log_in(omar, app, "omar@console.test")
    select = pane(nora).locator("select.tsel")
    omar_option = select.locator("option", has_text="Omar")
    await expect(omar_option).to_be_enabled(timeout=15000)
    await select.select_option(label=await omar_option.inner_text())
    await pane(nora).get_by_role("button", name="Transfer").click()
    await expect(pane(nora).locator(".cbanner")).to_contain_text("Waiting for Omar")
    transfer = omar.locator(".offer")
    await expect(transfer.locator(".okind")).to_have_text("Transfer from Nora", timeout=10000)
    await transfer.get_by_role("button", name="Accept").click()
    await expect(pane(nora).locator(".cbanner")).to_contain_text("Transferred to Omar", timeout=10000)
    omar_log = pane(omar).locator(".log")
    await expect(omar_log.locator(".m-note")).to_contain_text("wants a call back")  # the whole transcript
    await expect(omar_log.locator(".m-bot").first).to_contain_text("PayPal")
    await expect(widget(shopper).locator("#banner")).to_contain_text("Omar", timeout=10000)
    omar_box = pane(omar).locator("textarea.input")
    await omar_box.fill("Hi, Omar here. PayPal works at checkout.")
    await omar_box.press("Enter")
    await expect(widget(shopper).locator("#log .row.agent").last).to_contain_text("Omar here", timeout=10000)
    visitor_text = await widget(shopper).locator("#log").inner_text()
    assert "call back" not in visitor_text  # the note never reached the visitor
    await no_markup_ran(omar)

    # Omar closes the chat; the visitor rates it.
    close = pane(omar).get_by_role("button", name="Close chat")
    await close.click()
    await pane(omar).get_by_role("button", name="Click again to close").click()
    await expect(pane(omar).locator(".cbanner")).to_contain_text("closed", timeout=10000)
    rate = widget(shopper).locator("#rate")
    await expect(rate).to_be_visible(timeout=10000)
    await rate.locator('label[for="s5"]').click()
    await rate.locator("#rcom").fill(f"Quick and kind {HOSTILE}")
    await rate.locator("#ratesend").click()
    await expect(widget(shopper).locator("#thanks")).to_be_visible(timeout=10000)

    # Omar sees his rating; the admin sees it in the ranking.
    await omar.locator('.nav button[data-view="ratings"]').click()
    await expect(omar.locator("#r-list li").first).to_contain_text(f"Quick and kind {HOSTILE}")
    await expect(omar.locator("#myrating")).to_have_text("★ 5.0 (1)")
    pia = await new_page(browser)
    await log_in(pia, app, "pia@console.test")
    await pia.locator('.nav button[data-view="ratings"]').click()
    omar_row = pia.locator("#ranking tbody tr", has_text="Omar")
    await expect(omar_row).to_contain_text("100 %")
    cells = omar_row.locator("td")
    await expect(cells.nth(4)).to_have_text("1")  # ratings
    await expect(cells.nth(5)).to_have_text("1")  # chats handled
    await expect(pia.locator("#ranking tbody tr", has_text="Nora").locator("td").nth(5)).to_have_text("2")
    await docs_shot(pia, "console-ratings")

    # Admin: routing settings and agents.
    await pia.locator('.nav button[data-view="admin"]').click()
    await expect(pia.locator("#settings select[name=strategy]")).to_have_value("average_utilization")
    await pia.locator("#settings select[name=strategy]").select_option("ring_to_all")
    await pia.locator("#settings input[name=routing_time_s]").fill("25")
    await pia.get_by_role("button", name="Save settings").click()
    await expect(pia.locator("#settings-msg")).to_contain_text("Saved")
    omar_row = pia.locator("#agents tbody tr", has_text="omar@console.test")
    await expect(omar_row).to_contain_text("online")
    await omar_row.get_by_label("Priority").fill("5")
    await omar_row.get_by_role("button", name="Save").click()
    await expect(pia.locator(".toast", has_text="Saved Omar")).to_be_visible()
    await docs_shot(pia, "console-admin")

    # The overview: who is on the site, where, since when, from where; hostile fields stay text.
    browsing = Visitor(app.url)
    await browsing.connect(page={"url": f"{app.url}/demo/product.html", "title": f"Wool socks {HOSTILE}",
                                 "referrer": "https://www.example-search.com/?q=wool+socks"}, language="de")
    await browsing.say("how long does delivery to germany take?", client_id="b1")
    await browsing.wait_for("bot_uttered")
    await pia.locator('.nav button[data-view="overview"]').click()
    row = pia.locator("#ov-table tbody tr", has_text="Eve")
    await expect(row.locator("td").first).to_contain_text(HOSTILE_NAME)
    live = pia.locator("#ov-table tbody tr", has_text="Wool socks")
    await expect(live).to_contain_text(f"Wool socks {HOSTILE}")
    await expect(live).to_contain_text("example-search.com")
    await expect(live).to_contain_text("with the bot")
    await live.get_by_role("button", name="View").click()
    await expect(pia.locator("#ov-viewer .m-visitor")).to_contain_text("delivery to germany")
    await docs_shot(pia, "console-overview")
    await live.get_by_role("button", name="Take over").click()  # still with the bot: an agent takes it
    await expect(pia.locator(".tab.on")).to_be_visible()
    await expect(pane(pia).locator(".log .m-visitor")).to_contain_text("delivery to germany")
    await browsing.wait_for("handoff", pred=lambda h: h["state"] == "assigned" and h["agent"]["name"] == "Pia")
    await browsing.close()

    # Offline messages: the ticket with its transcript; a reply and close.
    await pia.locator('.nav button[data-view="tickets"]').click()
    ticket = pia.locator("#tickets .result").first
    await expect(ticket).to_contain_text(HOSTILE_NAME)
    await expect(ticket).to_contain_text(f"Call me back {HOSTILE}")
    await ticket.click()
    viewer = pia.locator("#ticket")
    await expect(viewer.locator(".tmsg")).to_have_text(f"Call me back {HOSTILE}")
    await expect(viewer.locator(".m-visitor").first).to_contain_text("can i talk to a real person")
    await viewer.locator("textarea").fill("We'll call you tomorrow morning.")
    await viewer.get_by_role("button", name="Send reply").click()
    await expect(viewer.locator(".msgline")).to_contain_text("Reply stored")
    await expect(viewer.locator(".m-agent")).to_contain_text("call you tomorrow")
    await docs_shot(pia, "console-tickets")

    # History: search past conversations by what was said.
    await pia.locator('.nav button[data-view="history"]').click()
    await pia.fill("#search-q", "paypal")
    await pia.press("#search-q", "Enter")
    result = pia.locator("#search-results .result").first
    await expect(result).to_contain_text("Maria Jensen")
    await result.click()
    await expect(pia.locator("#hist-viewer .m-agent").first).to_contain_text("I'm Nora")
    await expect(pia.locator("#hist-viewer .rated")).to_contain_text("Quick and kind")
    await docs_shot(pia, "console-history")

    for page in (nora, omar, pia):
        await no_markup_ran(page)
    assert shopper.dialogs == []
    await jonas.close()
