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
