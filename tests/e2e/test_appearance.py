"""The widget's appearance in a real Chromium: an admin changes the colour, position, launcher text,
header title, greeting, avatars and custom CSS on the console's Widget page and the live preview
follows as they type; CSS that would load something is refused with the reason and nothing is
saved; a shop page then shows the widget with the saved look, and another shop (another origin)
overrides parts of it with the loader's data- attributes. The app runs without Rasa."""
from __future__ import annotations

import asyncio
import re
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.async_api import expect

from sqlalchemy import func, select

from accounts.service import create_session, create_user
from app.db import make_engine, make_sessionmaker, utcnow
from chat.models import Conversation
from engage import appearance
from tests.e2e.conftest import docs_shot, new_page
from tests.support import LiveApp, TestDatabase

CSRF = {"X-Requested-With": "shopchat"}
RED, BLUE = "rgb(192, 57, 43)", "rgb(34, 85, 170)"
CSS = ".hd h1 { text-transform: uppercase; letter-spacing: .04em; }\n.msg { border-radius: 6px; }"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    db = TestDatabase("sqlite", tmp_path_factory.mktemp("appearance")).create()
    live = LiveApp(db.url).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
async def admin_token(app):
    engine = make_engine(app.env["SHOPCHAT_DATABASE_URL"])
    async with make_sessionmaker(engine)() as db:
        user = await create_user(db, email="ada@appearance.test", display_name="Ada", role="admin",
                                 password="appearance e2e password")
        token = await create_session(db, user.id, now=utcnow())
    await engine.dispose()
    return token


async def saved(app, token) -> dict:
    async with httpx.AsyncClient(base_url=app.url, cookies={"shopchat_session": token}, headers=CSRF) as c:
        return (await c.get("/api/engage/appearance")).json()


@contextmanager
def shop_server(html: str):
    """Another shop: its own origin (another port) serving one page that embeds the loader."""
    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def conversations(app) -> int:
    engine = make_engine(app.env["SHOPCHAT_DATABASE_URL"])
    async with make_sessionmaker(engine)() as db:
        n = await db.scalar(select(func.count()).select_from(Conversation))
    await engine.dispose()
    return n


def bg(locator):
    return locator.evaluate("e => getComputedStyle(e).backgroundColor")


async def test_an_admin_styles_the_widget_with_a_live_preview_and_the_shop_shows_it(app, admin_token, browser):
    admin = await new_page(browser, width=1440, height=1180)
    await admin.context.add_cookies([{"name": "shopchat_session", "value": admin_token, "url": app.url}])
    await admin.goto(f"{app.url}/console/")
    await admin.locator('.nav button[data-view="widget"]').click()
    form = admin.locator("#appearance-form")
    await expect(form).to_be_visible()
    preview = admin.frame_locator("#ap-frame")
    launcher = admin.locator("#ap-launcher")
    await expect(preview.locator("#title")).to_have_text("Chat with us")
    assert await bg(launcher) == "rgb(31, 95, 74)"  # the default green

    # The preview follows each change as it is typed, before anything is saved.
    await form.locator("input[name=color]").fill("#c0392b")
    await expect(launcher).to_have_css("background-color", RED)
    await expect(preview.locator(".hd")).to_have_css("background-color", RED)
    await form.get_by_label("Position").select_option("left")
    await expect(admin.locator("#ap-shop")).to_have_class(re.compile(r"\bleft\b"))
    shop_box, box = await admin.locator("#ap-shop").bounding_box(), await launcher.bounding_box()
    assert box["x"] - shop_box["x"] < 40  # bottom left of the shop
    await form.get_by_label("Launcher icon").select_option("help")
    await form.locator("[name=t_en_launcher]").fill("Questions?")
    await expect(launcher).to_have_text("Questions?")
    await form.locator("[name=t_en_title]").fill("Pinecone help")
    await expect(preview.locator("#title")).to_have_text("Pinecone help")
    await form.locator("[name=t_en_subtitle]").fill("Real people, 9:00-17:00")
    await expect(preview.locator(".ht p")).to_have_text("Real people, 9:00-17:00")
    await form.locator("[name=t_en_greeting]").fill("Hello! Ask us about wool socks <b>now</b>.")
    await expect(preview.locator("#empty")).to_have_text("Hello! Ask us about wool socks <b>now</b>.")  # as text
    await form.locator("[name=t_el_title]").fill("Βοήθεια Pinecone")
    await expect(preview.locator("#title")).to_have_text("Βοήθεια Pinecone")  # focusing a Greek text previews Greek
    await form.locator("[name=t_el_launcher]").fill("Ερωτήσεις;")
    await expect(launcher).to_have_text("Ερωτήσεις;")
    await admin.locator('.ap-tabs [data-plang="en"]').click()
    await expect(preview.locator("#title")).to_have_text("Pinecone help")

    # Custom CSS that would load something is refused with the reason, and nothing is saved.
    await form.locator("[name=css]").fill(".hd { background: url(https://evil.example/x.png) }")
    await form.get_by_role("button", name="Save appearance").click()
    await expect(admin.locator("#appearance-msg")).to_have_text(
        re.compile(r"Not saved: custom CSS: line 1: url\(\) is not allowed"))
    await expect(form.locator("[name=css]")).to_be_focused()
    assert await saved(app, admin_token) == appearance.DEFAULT

    await form.locator("[name=css]").fill(CSS)
    await expect(preview.locator("#title")).to_have_css("text-transform", "uppercase")
    # Avatars: the agent's initial beside their messages, and off.
    await admin.locator('.ap-tabs [data-view="chat"]').click()
    who = preview.locator("#log .row.agent .who")
    avatar = 'e => { const s = getComputedStyle(e, "::before"); return s.display === "none" ? "" : s.content; }'
    await expect(who).to_have_text("Maria")
    assert await who.evaluate(avatar) == '"M"'  # the agent's initial, drawn before the name
    await expect(preview.locator("#log .row.bot .msg")).to_have_css("border-radius", "6px")
    await form.get_by_label(re.compile("Show agents' avatars")).uncheck()
    for _ in range(50):
        if await who.evaluate(avatar) == "":
            break
        await asyncio.sleep(0.1)
    assert await who.evaluate(avatar) == ""  # no avatar
    await form.get_by_label(re.compile("Show agents' avatars")).check()
    await admin.locator('.ap-tabs [data-view="offline"]').click()
    await form.locator("[name=t_en_offline_title]").fill("Write to us")
    await expect(preview.locator("#offh")).to_have_text("Write to us")
    await admin.locator('.ap-tabs [data-view="start"]').click()
    await form.get_by_role("button", name="Save appearance").click()
    await expect(admin.locator("#appearance-msg")).to_have_text(re.compile("^Saved"))
    stored = await saved(app, admin_token)
    assert stored["color"] == "#c0392b" and stored["position"] == "left" and stored["css"] == CSS
    assert stored["texts"]["en"]["launcher"] == "Questions?" and stored["texts"]["el"]["title"] == "Βοήθεια Pinecone"
    await expect(preview.locator("#title")).to_have_css("text-transform", "uppercase")
    await admin.locator("#appearance").evaluate("e => e.scrollIntoView({block: 'start'})")
    await docs_shot(admin, "console-widget-appearance")
    assert admin.errors == [] and admin.dialogs == []
    assert await conversations(app) == 0  # the previews talked to nobody

    # The demo shop shows the saved look: launcher at the bottom left, red, with its text.
    shopper = await new_page(browser)
    await shopper.goto(f"{app.url}/demo/")
    button = shopper.locator("shopchat-widget .l")
    await expect(button).to_contain_text("Questions?")
    await expect(button).to_have_css("background-color", RED)
    box = await button.bounding_box()
    assert box["x"] < 40 and box["width"] > 100  # bottom left, a pill with its text
    await button.click()
    chat = shopper.frame_locator('iframe[title="Chat"]')
    await expect(chat.locator("#title")).to_have_text("Pinecone help")
    await expect(chat.locator("#title")).to_have_css("text-transform", "uppercase")  # the custom CSS, in the chat
    await expect(chat.locator(".hd")).to_have_css("background-color", RED)
    await expect(chat.locator("#empty")).to_have_text("Hello! Ask us about wool socks <b>now</b>.")
    await expect(chat.locator(".ht p")).to_have_text("Real people, 9:00-17:00")
    # ...and nowhere else: the shop's own page is untouched by the custom CSS
    assert await shopper.locator("h1").first.evaluate("e => getComputedStyle(e).textTransform") != "uppercase"
    await docs_shot(shopper, "widget-appearance")
    assert shopper.errors == []

    # Another shop (another origin), in Greek, overrides colour, position and launcher text per page.
    other = await new_page(browser)
    html = (f'<!doctype html><html lang="el"><head><meta charset="utf-8"><title>Κάλτσες</title></head><body><h1>Κάλτσες</h1>'
            f'<script src="{app.url}/widget/loader.js" data-color="#2255aa" data-position="right" '
            f'data-text="Ρωτήστε μας" async></script></body></html>')
    with shop_server(html) as shop:
        await other.goto(shop + "/socks.html")
        button = other.locator("shopchat-widget .l")
        await expect(button).to_contain_text("Ρωτήστε μας")
        await expect(button).to_have_css("background-color", BLUE)
        box = await button.bounding_box()
        assert box["x"] + box["width"] > 1366 - 40  # bottom right
        await docs_shot(other, "widget-appearance-data-override")
        await button.click()
        chat = other.frame_locator('iframe[title="Chat"]')
        await expect(chat.locator("#title")).to_have_text("Βοήθεια Pinecone")  # the admin's Greek title
        await expect(chat.locator(".hd")).to_have_css("background-color", BLUE)
        await expect(chat.locator("#empty")).to_contain_text("Γεια σας")  # no Greek greeting set: the widget's own
        assert other.errors == []
    for p in (admin, shopper, other):
        await p.context.close()
