"""Conversion tracking and a data request in a real Chromium: a shopper on the shop's own origin
chats with the bot, sees the privacy-notice link the admin set, orders, and the thank-you page's one
line `shopchat("conversion", {...})` (called before the loader arrived) reports the order, attributed
to the chat; the admin sees it on the "Visitors' data" page, finds the shopper from the chat, downloads
their data and erases it. The app runs without Rasa, in a database of its own."""
from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.async_api import expect
from sqlalchemy import func, select

from accounts.service import create_user
from app.db import make_engine, make_sessionmaker
from chat.models import Conversation
from engage.models import LiveVisitor
from insights.conversions import Conversion
from tests.e2e.conftest import docs_shot, new_page
from tests.support import free_port

PW = "privacy test password"
NOTICE = "https://shop.example/privacy-notice"


def shop_page(app_url: str, body: str, head: str = "") -> str:
    return (f"<!doctype html><html lang='en'><head><title>Pinecone shop</title>{head}</head><body>{body}"
            f"<script src='{app_url}/widget/loader.js' async></script></body></html>")


THANKS = ("<script>window.shopchat=window.shopchat||function(){(shopchat.q=shopchat.q||[]).push(arguments)};"
          "shopchat('conversion', {order_id: 'PC-1001', value: 49.9, currency: 'EUR'});</script>")


@pytest.fixture
def shop(demo_app):
    """The shop's own site: another origin (localhost:<port>) serving a product page and the
    thank-you page, each embedding the loader from the app (127.0.0.1:<its port>)."""
    pages = {"/": shop_page(demo_app.url, "<h1>Teapots</h1>"),
             "/thanks": shop_page(demo_app.url, "<h1>Thank you!</h1>", THANKS)}

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            body = pages.get(self.path.split("?")[0], "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
async def db(demo_app):
    engine = make_engine(demo_app.env["SHOPCHAT_DATABASE_URL"])
    sm = make_sessionmaker(engine)
    async with sm() as s:
        await create_user(s, email="pia@privacy.test", display_name="Pia", role="admin", password=PW)
    yield sm
    await engine.dispose()


async def log_in(page, app_url: str, email: str, path: str = "/privacy/"):
    await page.goto(f"{app_url}{path}")
    await page.fill("#email", email)
    await page.fill("#password", PW)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(f"{app_url}{path}")


async def test_conversion_from_the_thank_you_page_then_export_and_erase(demo_app, shop, db, browser):
    app = demo_app.url
    admin = await new_page(browser, 1280, 1000)
    await log_in(admin, app, "pia@privacy.test")
    await admin.fill("#notice", NOTICE)
    await admin.click("#settings button[type=submit]")
    await expect(admin.locator("#settings-msg")).to_have_text("Saved.")

    # the shopper, on the shop's own origin
    shopper = await new_page(browser, 1100, 800)
    await shopper.goto(f"{shop}/")
    await shopper.get_by_role("button", name=re.compile("Open chat")).click()
    chat = shopper.frame_locator('iframe[title="Chat"]')
    link = chat.get_by_role("link", name="Privacy notice")
    await expect(link).to_have_attribute("href", NOTICE, timeout=15000)  # the frame loads first
    await chat.locator("#input").fill("do you take paypal?")
    await chat.locator("#input").press("Enter")
    await expect(chat.locator("#log .row.bot").last).to_contain_text("PayPal", timeout=15000)
    async with db() as s:
        conv = await s.scalar(select(Conversation).order_by(Conversation.created_at.desc()))
    assert conv.visitor_id

    await shopper.goto(f"{shop}/thanks")
    for _ in range(100):
        async with db() as s:
            order = await s.scalar(select(Conversion).where(Conversion.order_id == "PC-1001"))
        if order:
            break
        await shopper.wait_for_timeout(100)
    assert order is not None, "the thank-you page's call reached the app"
    assert (order.value_cents, order.currency, order.attribution, order.conversation_id, order.visitor_id) == \
        (4990, "EUR", "bot", conv.id, conv.visitor_id)
    await shopper.reload()  # the thank-you page again: the same order counts once
    await shopper.wait_for_timeout(1000)
    async with db() as s:
        assert await s.scalar(select(func.count()).select_from(Conversion)) == 1
    assert shopper.errors == []

    # the admin: the order on the page, then the shopper found from the chat (as the console links it)
    await admin.reload()
    await expect(admin.locator("#orders tbody tr").first).to_contain_text("PC-1001")
    await expect(admin.locator("#orders tbody tr").first).to_contain_text("a chat with the bot")
    await admin.goto("about:blank")  # a page load, as from the console's link (not a hash change)
    await admin.goto(f"{app}/privacy/#conversation={conv.id}")
    # the pages the shopper saw (engage/'s live-visitor row) are theirs too
    await expect(admin.locator("#found-summary")).to_have_text(
        re.compile(r"^1 conversation, 1 conversion and [1-9]\d* browsing records? found\.$"))
    await admin.select_option("#kind", "visitor_id")
    await admin.fill("#value", conv.visitor_id)
    await admin.click("#find button[type=submit]")
    await expect(admin.locator("#found-table tbody tr").first).to_contain_text(conv.visitor_id)
    await docs_shot(admin, "privacy-data-request")
    async with admin.expect_download() as info:
        await admin.click("#export")
    exported = json.loads(open(await (await info.value).path(), encoding="utf-8").read())
    assert [m["text"] for m in exported["messages"] if m["sender"] == "visitor"] == ["do you take paypal?"]
    assert [c["order_id"] for c in exported["conversions"]] == ["PC-1001"]
    await admin.click("#erase")
    # (every page of the shop that reopened the chat may have started a conversation of this browser)
    await expect(admin.locator("#confirm-text")).to_contain_text(re.compile(
        r", 1 conversion and [1-9]\d* browsing records? \(pages seen, invitations\)\? This cannot be undone\."))
    await admin.click("#erase-yes")
    await expect(admin.locator("#done")).to_contain_text(re.compile(r" conversations, 1 conversions, [1-9]\d* browsing records"))
    await expect(admin.locator("#audit tbody tr").first).to_contain_text("erase")
    async with db() as s:
        assert await s.get(Conversation, conv.id) is None
        assert await s.scalar(select(func.count()).select_from(Conversion)) == 0
        assert await s.scalar(select(func.count()).select_from(LiveVisitor)
                              .where(LiveVisitor.visitor_id == conv.visitor_id)) == 0

    # a shopper who only browsed (no chat, no order) is found by the browser id, and erased
    browsing = await new_page(browser, 1100, 800)
    await browsing.goto(f"{shop}/")
    for _ in range(100):
        async with db() as s:
            row = await s.scalar(select(LiveVisitor).where(LiveVisitor.visitor_id != conv.visitor_id))
        if row:
            break
        await browsing.wait_for_timeout(100)
    assert row is not None, "the shop page reported the visitor"
    await admin.goto("about:blank")
    await admin.goto(f"{app}/privacy/")
    await admin.select_option("#kind", "visitor_id")
    await admin.fill("#value", row.visitor_id)
    await admin.click("#find button[type=submit]")
    await expect(admin.locator("#found-summary")).to_have_text("0 conversations, 0 conversions and 1 browsing record found.")
    await expect(admin.locator("#erase")).to_be_enabled()
    await admin.click("#erase")
    await admin.click("#erase-yes")
    await expect(admin.locator("#done")).to_contain_text("0 conversations, 0 conversions, 1 browsing records")
    async with db() as s:
        assert await s.get(LiveVisitor, row.visitor_id) is None
    assert admin.errors == []
