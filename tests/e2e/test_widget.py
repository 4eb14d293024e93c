"""The shopper's view: the demo shop in a real Chromium, the widget talking to the real app and
the real Rasa server."""
import re

from playwright.async_api import expect

from tests.e2e.conftest import shot


def chat(page):
    return page.frame_locator('iframe[title="Chat"]')


async def open_chat(page, url):
    await page.goto(url)
    launcher = page.get_by_role("button", name=re.compile("Open chat"))
    await expect(launcher).to_be_visible()
    await launcher.click()
    await expect(chat(page).locator("#input")).to_be_visible()


async def ask(page, text):
    box = chat(page).locator("#input")
    await box.fill(text)
    await box.press("Enter")


def bot_rows(page):
    return chat(page).locator("#log .row.bot")


async def test_shopper_asks_gets_the_article_and_keeps_the_transcript(rasa_app, page):
    await open_chat(page, f"{rasa_app.url}/demo/")
    await ask(page, "do you take paypal?")
    answer = bot_rows(page).last
    await expect(answer).to_contain_text("PayPal", timeout=15000)
    await expect(answer.locator(".src")).to_contain_text("Payment methods")
    await expect(chat(page).get_by_role("button", name="Talk to a person")).to_be_visible()
    await shot(page, "widget-answer")

    await page.reload()  # the chat reopens with the whole transcript, once
    await expect(bot_rows(page).first).to_contain_text("PayPal", timeout=15000)
    await expect(chat(page).locator("#log .row.me")).to_have_count(1)
    await expect(bot_rows(page)).to_have_count(1)

    await page.goto(f"{rasa_app.url}/demo/product.html")  # another page of the shop
    await expect(bot_rows(page).first).to_contain_text("PayPal", timeout=15000)
    await expect(chat(page).locator("#log .row.me")).to_have_text(["do you take paypal?"])


async def test_hostile_text_is_shown_as_text(rasa_app, page):
    await open_chat(page, f"{rasa_app.url}/demo/")
    hostile = "<img src=x onerror=alert(1)>"
    await ask(page, hostile)
    mine = chat(page).locator("#log .row.me .msg")
    await expect(mine).to_have_text(hostile)
    await expect(bot_rows(page)).to_have_count(1, timeout=15000)
    assert await chat(page).locator("#log img").count() == 0
    assert page.dialogs == []


async def test_asking_for_a_person_shows_the_waiting_banner(rasa_app, page):
    await open_chat(page, f"{rasa_app.url}/demo/")
    await ask(page, "can i talk to a real person")
    await expect(chat(page).locator("#banner")).to_be_visible(timeout=15000)
    await shot(page, "widget-handoff")


async def test_kill_9_reconnects_and_delivers_the_message_typed_meanwhile_once(rasa_app, page):
    await open_chat(page, f"{rasa_app.url}/demo/")
    await ask(page, "how long does delivery take to belgium")
    await expect(bot_rows(page)).to_have_count(1, timeout=15000)
    rasa_app.kill()
    await expect(chat(page).locator("#conn")).to_be_visible(timeout=15000)
    await ask(page, "and can i pay with klarna?")
    await shot(page, "widget-reconnecting")
    rasa_app.start()
    await expect(bot_rows(page)).to_have_count(2, timeout=30000)
    await expect(chat(page).locator("#conn")).to_be_hidden()
    await expect(chat(page).locator("#log .row.me")).to_have_text(
        ["how long does delivery take to belgium", "and can i pay with klarna?"])
    await page.reload()  # and the stored transcript agrees: each message once, in order
    await expect(chat(page).locator("#log .row.me")).to_have_text(
        ["how long does delivery take to belgium", "and can i pay with klarna?"], timeout=15000)
    await expect(bot_rows(page)).to_have_count(2)


async def test_keyboard_only_and_phone_sized(rasa_app, browser):
    context = await browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True)
    page = await context.new_page()
    await page.goto(f"{rasa_app.url}/demo/")
    launcher = page.get_by_role("button", name=re.compile("Open chat"))
    await launcher.focus()
    await page.keyboard.press("Enter")
    box = chat(page).locator("#input")
    await expect(box).to_be_focused()
    frame = page.locator('iframe[title="Chat"]')
    size = await frame.bounding_box()
    assert size["width"] >= 370 and size["height"] >= 600  # full screen on a phone
    await page.keyboard.type("hello")
    await page.keyboard.press("Enter")
    await expect(bot_rows(page)).to_have_count(1, timeout=15000)
    await expect(chat(page).get_by_role("log")).to_be_visible()
    await shot(page, "widget-phone")
    await page.keyboard.press("Escape")
    await expect(frame).to_be_hidden()
    await expect(launcher).to_be_focused()
    await context.close()


# ---- handoff from the shopper's side: offline form, queue and agent banners, end and rating -----
# These need no Rasa: the app answers from the knowledge base, and the conversation is moved through
# the real routing engine against the app's database (the page is reloaded to pick up its state).

import asyncio  # noqa: E402
import json  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import select  # noqa: E402

from accounts.models import User  # noqa: E402
from app.db import make_engine, make_sessionmaker, utcnow  # noqa: E402
from chat import service  # noqa: E402
from chat.models import Conversation  # noqa: E402
from handoff import routing  # noqa: E402
from handoff.models import Offer, Rating, Ticket  # noqa: E402
from tests.conftest import load_demo  # noqa: E402
from tests.support import LiveApp  # noqa: E402

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
async def shop(sqlite_url):
    """The app without Rasa, and a session on its database for the test's side."""
    await asyncio.to_thread(load_demo, sqlite_url)
    live = await asyncio.to_thread(LiveApp(sqlite_url).start)
    engine = make_engine(sqlite_url)
    live.db = make_sessionmaker(engine)
    yield live
    await engine.dispose()
    await asyncio.to_thread(live.stop)


def chat_frame(page):
    return next(f for f in page.frames if "/widget/chat.html" in f.url)


async def conversation_id(page, shop) -> str:
    sid = await chat_frame(page).evaluate("localStorage.getItem('shopchat.sid')")
    async with shop.db() as db:
        return (await service.find_by_token(db, sid)).id


async def state_of(shop, cid: str) -> str:
    async with shop.db() as db:
        return (await db.get(Conversation, cid, populate_existing=True)).state


async def no_html_was_injected(page):
    assert await chat(page).locator("#log img, .card img").count() == 0
    assert page.dialogs == []


async def add_agent(shop, name: str) -> int:
    async with shop.db() as db:
        user = User(email=f"{name.lower()}@agents.test", display_name=name, role="agent", password_hash="x",
                    status="online", last_heartbeat_at=utcnow())
        db.add(user)
        await db.commit()
        return user.id


async def test_offline_form_is_checked_sent_and_confirmed(shop, page):
    alex = await add_agent(shop, "Alex")
    await open_chat(page, f"{shop.url}/demo/")
    await ask(page, "Which payment methods do you accept?")
    await expect(bot_rows(page)).to_have_count(1, timeout=15000)
    cid = await conversation_id(page, shop)
    async with shop.db() as db:
        await routing.enqueue(db, cid, reason="visitor_asked", actor="visitor", now=utcnow())
    await page.reload()
    c = chat(page)
    await expect(c.locator("#btext")).to_contain_text("You're number 1 in line", timeout=15000)
    async with shop.db() as db:  # the only agent steps away: the app's routing timer offers the form, live
        await routing.heartbeat(db, alex, status="away", now=utcnow())
    form = c.locator("#off")
    await expect(form).to_be_visible(timeout=15000)
    await expect(c.locator("#btext")).to_have_text("Nobody is available to chat right now.")
    assert await state_of(shop, cid) == "offline_form"

    await c.get_by_role("button", name="Send message").click()  # empty: checked in the browser
    await expect(c.locator("#oemailE")).to_have_text("Enter a valid e-mail address, like name@example.com.")
    await expect(c.locator("#omsgE")).to_have_text("Write your message.")
    await expect(c.get_by_label("E-mail")).to_have_attribute("aria-invalid", "true")
    await expect(c.get_by_label("E-mail")).to_be_focused()
    await c.get_by_label("Name (optional)").fill(f"Maria {HOSTILE}")
    await c.get_by_label("E-mail").fill("maria@example")
    await c.get_by_label("Message", exact=True).fill(f"Where is PC-1234? {HOSTILE}")
    await c.get_by_role("button", name="Send message").click()
    await expect(c.locator("#oemailE")).to_have_text("Enter a valid e-mail address, like name@example.com.")
    await expect(c.locator("#omsgE")).to_be_empty()
    await shot(page, "widget-offline-form")
    async with shop.db() as db:
        assert await db.scalar(select(Ticket)) is None  # nothing left the browser yet

    await c.get_by_label("E-mail").fill("maria@example.com")
    await c.get_by_label("E-mail").press("Enter")
    ok = c.locator("#offok")
    await expect(ok).to_have_text("Thank you! We've got your message and will reply to maria@example.com.")
    await expect(ok).to_be_focused()
    await expect(form).to_be_hidden()
    mine = c.locator("#log .row.me .msg").last  # the message, in the transcript, as text
    await expect(mine).to_contain_text(f"Where is PC-1234? {HOSTILE}")
    await expect(mine).to_contain_text(f"from Maria {HOSTILE} <maria@example.com>")
    await no_html_was_injected(page)
    await shot(page, "widget-offline-sent")
    async with shop.db() as db:
        ticket = await db.scalar(select(Ticket))
    assert (ticket.name, ticket.email, ticket.message) == (f"Maria {HOSTILE}", "maria@example.com",
                                                           f"Where is PC-1234? {HOSTILE}")
    await page.reload()  # the form is not offered again for this message
    await expect(c.locator("#banner")).to_contain_text("We've got your message", timeout=15000)
    await expect(form).to_be_hidden()


async def test_rating_after_ending_the_chat_then_a_new_chat(shop, page):
    await open_chat(page, f"{shop.url}/demo/")
    c = chat(page)
    await expect(c.locator("#end")).to_be_hidden()  # nothing to end yet
    await ask(page, "Which payment methods do you accept?")
    await expect(bot_rows(page)).to_have_count(1, timeout=15000)
    cid = await conversation_id(page, shop)
    await c.locator("#end").click()
    await expect(c.locator("#confirm")).to_be_visible()
    await expect(c.locator("#cfyes")).to_be_focused()
    await page.keyboard.press("Escape")  # cancel: nothing ended, the chat stays open
    await expect(c.locator("#confirm")).to_be_hidden()
    await expect(c.locator("#end")).to_be_focused()
    assert await state_of(shop, cid) == "bot"
    await page.keyboard.press("Enter")
    await page.keyboard.press("Enter")  # "End chat" in the confirmation
    stars = c.locator("#rate")
    await expect(stars).to_be_visible(timeout=10000)
    await expect(c.locator("#input")).to_be_hidden()
    await expect(c.locator(".qr")).to_have_count(0)  # no quick replies into an ended chat
    assert await state_of(shop, cid) == "closed"

    await c.get_by_role("button", name="Send rating").click()  # no stars yet
    await expect(c.locator("#rateE")).to_have_text("Choose from 1 to 5 stars.")
    await expect(c.get_by_role("radio", name="1 of 5 stars")).to_be_focused()
    for _ in range(3):  # the keyboard: arrows move along the stars
        await page.keyboard.press("ArrowRight")
    await expect(c.get_by_role("radio", name="4 of 5 stars")).to_be_checked()
    await expect(c.locator("#stars label.on")).to_have_count(4)
    await c.get_by_label("Comment (optional)").fill(f"Quick answer {HOSTILE}")
    await shot(page, "widget-rating")
    await c.get_by_role("button", name="Send rating").click()
    await expect(c.locator("#thanks")).to_have_text("Thank you for your feedback!")
    await expect(c.get_by_role("button", name="Start a new chat")).to_be_focused()
    await no_html_was_injected(page)
    await shot(page, "widget-rated")
    async with shop.db() as db:
        rating = await db.get(Rating, cid)
    assert (rating.stars, rating.comment, rating.agent_id) == (4, f"Quick answer {HOSTILE}", None)
    assert await state_of(shop, cid) == "rated"

    await page.reload()  # a rated chat stays rated
    await expect(c.locator("#thanks")).to_be_visible(timeout=15000)
    await expect(stars).to_be_hidden()
    await c.get_by_role("button", name="Start a new chat").click()  # a new session, a clean slate
    await expect(c.locator("#input")).to_be_visible()
    await expect(c.locator("#log .row")).to_have_count(0)
    await expect(c.locator("#thanks")).to_be_hidden()
    await ask(page, "how long does delivery take")
    await expect(bot_rows(page)).to_have_count(1, timeout=15000)
    assert await conversation_id(page, shop) != cid


def typing_frames(page) -> list:
    """Every `typing` event the page sends over its WebSockets, as its payload."""
    sent = []

    def on_ws(ws):
        def on_frame(payload):
            text = payload if isinstance(payload, str) else ""
            m = re.match(r'^42\d*\["typing",(.*)\]$', text)
            if m:
                sent.append(json.loads(m.group(1)))
        ws.on("framesent", on_frame)

    page.on("websocket", on_ws)
    return sent


async def test_queue_and_agent_banners(shop, page):
    alex = await add_agent(shop, "Alex")
    drafts = typing_frames(page)
    await open_chat(page, f"{shop.url}/demo/")
    await ask(page, "Which payment methods do you accept?")
    await expect(bot_rows(page)).to_have_count(1, timeout=15000)
    cid = await conversation_id(page, shop)
    c = chat(page)
    await c.locator("#input").press_sequentially("with the bot", delay=20)
    await asyncio.sleep(0.5)
    assert drafts == []  # the bot gets no live draft
    await c.locator("#input").fill("")

    async def queue_it():
        async with shop.db() as db:
            await routing.enqueue(db, cid, reason="visitor_asked", actor="visitor", now=utcnow())
        await page.reload()

    await queue_it()
    await expect(c.locator("#banner")).to_contain_text("You're number 1 in line", timeout=15000)
    await shot(page, "widget-queued")
    await c.get_by_role("button", name="Leave queue").click()
    await expect(c.locator("#banner")).to_be_hidden()
    assert await state_of(shop, cid) == "bot"

    await queue_it()
    await expect(c.locator("#banner")).to_contain_text("You're number 1 in line", timeout=15000)
    async with shop.db() as db:
        offer = await db.scalar(select(Offer).where(Offer.conversation_id == cid, Offer.status == "pending"))
        await routing.accept(db, offer.id, alex, now=utcnow())
        await service.add_message(db, conversation_id=cid, sender="agent", agent_id=alex,
                                  text=f"Hi, I'm Alex. {HOSTILE}")
    await page.reload()
    await expect(c.locator("#btext")).to_have_text("You're chatting with Alex", timeout=15000)
    agent_row = c.locator("#log .row.agent")
    await expect(agent_row.locator(".who")).to_have_text("Alex")
    await expect(agent_row.locator(".msg")).to_have_text(f"Hi, I'm Alex. {HOSTILE}")
    await expect(c.get_by_role("button", name="Leave queue")).to_be_hidden()
    await no_html_was_injected(page)
    await shot(page, "widget-agent")

    # with a person, the draft goes along as it is typed: throttled, the last state always sent
    drafts.clear()
    await c.locator("#input").press_sequentially("where is my parcel", delay=40)  # ~0.7 s of typing
    await asyncio.sleep(0.6)
    assert drafts and drafts[-1] == {"draft": "where is my parcel"}
    assert 2 <= len(drafts) <= 5, drafts
    await c.locator("#input").press("Enter")
    await expect(c.locator("#log .row.me")).to_have_count(2)
    await asyncio.sleep(0.5)
    assert drafts[-1] == {"draft": ""}  # sent: the agent's view of the draft clears
