"""A client written for Rasa, unchanged: botfront's rasa-webchat 1.0.1 from npm (installed by
scripts/test.sh from tests/e2e/rasa_webchat/package-lock.json), on a page of another origin listed in
SHOPCHAT_ALLOWED_ORIGINS, in a real Chromium, against the real app and the real Rasa server, with a
real agent on the /agent namespace. It draws a message from its exact set of keys, so every
answer it shows proves the plain shape (chat/visitor_events.py)."""
from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.conftest import ACTION_TOKEN, RASA_AUTH_TOKEN, load_demo
from tests.e2e.conftest import docs_shot, new_page, shot
from tests.handoff.test_agent_socket import Agent, Staff
from app.settings import ROOT
from tests.support import IN_CI, LiveApp, free_port

HERE = Path(__file__).parent / "rasa_webchat"
LIB = HERE / "node_modules" / "rasa-webchat" / "lib" / "index.js"
# The second client: a page written the way Rasa's docs show, on socket.io-client 4.x (the copy the
# widget's own lock file pins; scripts/bootstrap.sh installs it).
SOCKETIO = ROOT / "widget" / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
STALE_ID = "kept-in-storage-from-an-old-server"


class Shop:
    """Another shop's site: a tiny static server on its own origin serving the two clients' pages,
    rasa-webchat's UMD bundle and socket.io-client."""

    def __init__(self, app_url: str, port: int):
        def page(name):
            return (HERE / name).read_text().replace("__APP_URL__", app_url).encode(), "text/html"

        files = {"/": page("shop.html"), "/socketio.html": page("socketio.html"),
                 "/rasa-webchat.js": (LIB.read_bytes(), "text/javascript"),
                 "/socket.io.min.js": (SOCKETIO.read_bytes(), "text/javascript")}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body, kind = files.get(self.path, (None, None))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind + "; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.url = f"http://localhost:{port}"  # another origin than the app's 127.0.0.1:<its port>
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webchat_lib() -> Path:
    if not LIB.exists():
        if IN_CI:
            pytest.fail("rasa-webchat is missing (scripts/test.sh installs it)")
        pytest.skip("rasa-webchat is missing: cd tests/e2e/rasa_webchat && npm ci --ignore-scripts")
    assert SOCKETIO.exists(), "scripts/bootstrap.sh installs the widget's packages"
    return LIB


@pytest.fixture
async def world(webchat_lib, rasa_url, rasa_app, sqlite_url):
    """The app on a database of its own, talking to the session's real Rasa server, and the shop's
    origin allowed. Rasa runs its custom actions on the session's rasa_app: the same demo
    knowledge base, and the actions read nothing else (bot/actions.py)."""
    await asyncio.to_thread(load_demo, sqlite_url)
    shop_port = free_port()
    app = LiveApp(sqlite_url, rasa_url=rasa_url, action_token=ACTION_TOKEN,
                  env={"SHOPCHAT_ALLOWED_ORIGINS": f"http://localhost:{shop_port}",
                       "SHOPCHAT_RASA_AUTH_TOKEN": RASA_AUTH_TOKEN})
    await asyncio.to_thread(app.start)
    shop = Shop(app.url, shop_port)
    staff = Staff(sqlite_url)
    yield app, shop, staff
    await staff.close()
    shop.stop()
    await asyncio.to_thread(app.stop)


def bubbles(page):
    return page.locator(".rw-messages-container .rw-message")


def bot_bubbles(page):
    return page.locator(".rw-messages-container .rw-response")


async def open_webchat(page, shop: Shop):
    await page.goto(shop.url)
    await page.locator(".rw-launcher").click()
    await expect(page.locator(".rw-new-message")).to_be_visible()


async def say(page, text: str):
    box = page.locator(".rw-new-message")
    await box.fill(text)
    await box.press("Enter")


async def stored_session_id(page) -> str | None:
    raw = await page.evaluate("localStorage.getItem('chat_session')")
    return json.loads(raw)["session_id"] if raw else None


async def test_rasa_webchat_shows_answers_buttons_handoff_and_the_agent(world, browser):
    app, shop, staff = world
    _, token = await staff.user("Alex")
    alex = Agent(app.url, token)
    await alex.connect()
    await alex.online()
    page = await new_page(browser, 1100, 800)
    try:
        await open_webchat(page, shop)
        # the greeting (initPayload /greet), with its buttons drawn as buttons
        await expect(bot_bubbles(page).first).to_contain_text("virtual assistant of Pinecone & Co.", timeout=30000)
        await expect(page.locator(".rw-replies .rw-reply", has_text="Talk to a person")).to_be_visible()

        await say(page, "do you take paypal?")
        answer = bot_bubbles(page).filter(has_text="PayPal")
        await expect(answer).to_have_count(1, timeout=30000)
        await expect(page.locator(".rw-replies .rw-reply", has_text="Yes, thanks")).to_be_visible()
        await docs_shot(page, "rasa-webchat-answer")

        await page.locator(".rw-replies .rw-reply", has_text="Yes, thanks").click()
        await expect(page.locator(".rw-messages-container .rw-client", has_text="Yes, thanks")).to_be_visible()
        await expect(bot_bubbles(page).filter(has_text="glad that helped")).to_have_count(1, timeout=30000)
        texts = [t.strip() for t in await page.locator(".rw-response .rw-message-text").all_inner_texts()]
        assert len(texts) == 3 and all(texts), texts  # every answer drawn, no empty bubble

        # a handoff: the bot's form (name, e-mail: skipped with its button), then the queue as text
        await say(page, "can i talk to a real person")
        for _ in range(2):
            skip = page.locator(".rw-replies .rw-reply", has_text="Skip")
            await expect(skip).to_be_visible(timeout=30000)
            await skip.click()
        await expect(bot_bubbles(page).filter(has_text="You're number 1 in line.")).to_have_count(1, timeout=30000)
        await shot(page, "rasa-webchat-queued")

        offer = (await alex.wait_for("offer", timeout=30))[0]
        assert (await alex.call("accept", {"offer_id": offer["offer_id"]}))["ok"]
        await expect(bot_bubbles(page).filter(has_text="Alex joined the chat.")).to_have_count(1, timeout=15000)
        cid = offer["conversation_id"]
        ack = await alex.call("send", {"conversation_id": cid, "text": "Hi, I'm Alex. How can I help?"})
        assert ack["ok"]
        await expect(bot_bubbles(page).filter(has_text="Alex: Hi, I'm Alex. How can I help?")).to_have_count(
            1, timeout=15000)
        await say(page, "my parcel never arrived")
        await alex.wait_for("message", pred=lambda m: m["text"] == "my parcel never arrived")
        await docs_shot(page, "rasa-webchat-agent")

        # a reload keeps the conversation: the same id, the transcript, and the agent still reaches it
        before = await stored_session_id(page)
        shown = await bubbles(page).count()
        await page.reload()  # rasa-webchat keeps the chat open across reloads
        await expect(page.locator(".rw-new-message")).to_be_visible(timeout=15000)
        await expect(bot_bubbles(page).filter(has_text="Alex: Hi, I'm Alex.")).to_have_count(1, timeout=15000)
        await expect(bubbles(page)).to_have_count(shown)
        assert await stored_session_id(page) == before
        await asyncio.sleep(1)  # the reloaded page's socket is in the conversation again
        assert (await alex.call("send", {"conversation_id": cid, "text": "Still there?"}))["ok"]
        await expect(bot_bubbles(page).filter(has_text="Alex: Still there?")).to_have_count(1, timeout=15000)
        await shot(page, "rasa-webchat-reloaded")
        assert page.errors == []
    finally:
        await page.context.close()
        await alex.close()


async def test_rasa_webchat_with_a_stale_session_id_gets_a_fresh_conversation(world, browser):
    app, shop, _ = world
    page = await new_page(browser, 1100, 800)
    try:
        await open_webchat(page, shop)
        await expect(bot_bubbles(page).first).to_contain_text("virtual assistant of Pinecone & Co.", timeout=30000)
        first = await stored_session_id(page)
        # the server was reinstalled: the id rasa-webchat kept in its storage means nothing to it now
        await page.evaluate("""(stale) => {
            const s = JSON.parse(localStorage.getItem('chat_session'));
            s.session_id = stale;
            localStorage.setItem('chat_session', JSON.stringify(s));
        }""", STALE_ID)
        await page.reload()
        await expect(page.locator(".rw-new-message")).to_be_visible(timeout=15000)
        for _ in range(100):  # rasa-webchat stores the id session_confirm names
            fresh = await stored_session_id(page)
            if fresh != STALE_ID:
                break
            await asyncio.sleep(0.1)
        assert fresh not in (STALE_ID, first)
        await say(page, "do you take paypal?")  # and the new conversation answers
        await expect(bot_bubbles(page).filter(has_text="PayPal")).to_have_count(1, timeout=30000)
        await shot(page, "rasa-webchat-stale-session")
        assert page.errors == []
    finally:
        await page.context.close()


async def test_a_hand_written_socketio_client_as_rasas_docs_show(world, browser):
    app, shop, _ = world
    page = await new_page(browser, 900, 800)
    try:
        await page.goto(f"{shop.url}/socketio.html")
        await page.locator("#q").fill("do you take paypal?")
        await page.locator("#q").press("Enter")
        await expect(page.locator("#log .bot").filter(has_text="PayPal")).to_have_count(1, timeout=30000)
        await expect(page.get_by_role("button", name="Talk to a person")).to_be_visible()
        await page.get_by_role("button", name="Talk to a person").click()
        # Nobody is online here: no name and e-mail questions (chat/offline_first.py), the offline
        # state at once, as a text this client can show.
        await expect(page.locator("#log .bot").filter(has_text="Nobody is available to chat right now.")).to_have_count(
            1, timeout=30000)
        await shot(page, "rasa-socketio-client")
        seen = await page.evaluate("window.seen")
        assert {event for event, _ in seen} == {"session_confirm", "bot_uttered"}
        assert all(set(data) <= {"text", "quick_replies"} for event, data in seen if event == "bot_uttered")

        sid = await page.evaluate("localStorage.getItem('rasa_session_id')")
        await page.reload()  # the stored id resumes the same conversation
        await page.locator("#q").fill("are you still there?")
        await page.locator("#q").press("Enter")
        await expect(page.locator("#log .me")).to_have_text(["are you still there?"])
        await page.wait_for_function("window.seen.some(([e]) => e === 'session_confirm')")
        assert await page.evaluate("localStorage.getItem('rasa_session_id')") == sid
        assert page.errors == []
    finally:
        await page.context.close()
