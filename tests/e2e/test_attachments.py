"""Files both ways in a real Chromium: a shopper sends a photo from the widget, the agent sees its
thumbnail and sends a PDF and an image back; hostile files are refused with a clear message and
nothing of them runs; nobody outside the conversation fetches its files. The app runs without
Rasa (the bot queues at once), in a database of its own, files on disk."""
from __future__ import annotations

import base64
import re

import pytest
from playwright.async_api import expect

from tests.attachments import files
from tests.e2e.conftest import docs_shot, new_page
from tests.e2e.test_console import db, log_in, pane, widget  # noqa: F401 - fixtures

BOMB = files.bomb_png()


@pytest.fixture
def app(demo_app):
    return demo_app


def upload(name: str, data: bytes, mime: str) -> dict:
    return {"name": name, "mimeType": mime, "buffer": data}


async def img_loaded(locator) -> None:
    await expect(locator).to_be_visible(timeout=10000)
    await locator.evaluate("i => i.complete || new Promise(r => { i.onload = r; i.onerror = r; })")
    assert await locator.evaluate("i => i.naturalWidth") > 0, "the image did not load"


async def fetch_status(frame_or_page, path: str, headers: dict | None = None) -> int:
    return await frame_or_page.evaluate(
        "([p, h]) => fetch(p, {headers: h, credentials: 'same-origin'}).then(r => r.status)", [path, headers or {}])


async def drop_file(target, name: str, data: bytes, mime: str, event: str = "drop") -> None:
    """A file dropped on (or pasted into) `target`, the way the browser hands it over: a DataTransfer."""
    dt = await target.evaluate_handle(
        """(_, [name, b64, type]) => { const dt = new DataTransfer();
             dt.items.add(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], name, {type})); return dt; }""",
        [name, base64.b64encode(data).decode(), mime])
    if event == "paste":
        await target.evaluate("(el, dt) => el.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true}))", dt)
    else:
        for kind in ("dragenter", "dragover", "drop"):
            await target.dispatch_event(kind, {"dataTransfer": dt})


async def test_files_both_ways_and_hostile_files_refused(app, db, browser):  # noqa: F811
    nora = await new_page(browser)
    await log_in(nora, app, "nora@console.test")

    shopper = await new_page(browser, 1100, 800)
    await shopper.goto(f"{app.url}/demo/")
    await shopper.get_by_role("button", name=re.compile("Open chat")).click()
    chat = widget(shopper)
    await expect(chat.locator("#attach")).to_be_hidden()  # the bot takes no files
    await chat.locator("#input").fill("do you take paypal?")
    await chat.locator("#input").press("Enter")
    # a file dropped while the bot has the chat: nothing sent, and the chat is still there
    await drop_file(chat.locator("body"), "early.png", files.png(), "image/png")
    await expect(chat.locator("#log .row.me", has_text="early.png")).to_have_count(0)
    await expect(chat.locator("#input")).to_be_visible()
    await chat.get_by_role("button", name="Talk to a person").click()
    await nora.locator(".offer").get_by_role("button", name="Accept").click()
    await expect(chat.locator("#banner")).to_contain_text("Nora", timeout=10000)

    # The shopper sends a photo: a thumbnail in the widget and in the console.
    await expect(chat.locator("#attach")).to_be_visible()
    await chat.locator("#file").set_input_files(upload("parcel damage.jpg", files.jpeg(1600, 1200), "image/jpeg"))
    await img_loaded(chat.locator("#log .row.me .att img"))
    log = pane(nora).locator(".log")
    await img_loaded(log.locator(".m-visitor .att img"))
    assert await log.locator(".m-visitor .att img").get_attribute("alt") == "parcel damage.jpg"

    # Nora sends a PDF and an image back.
    nora_file = pane(nora).locator("input[type=file]")
    await nora_file.set_input_files(upload("return-label.pdf", files.pdf(), "application/pdf"))
    await nora_file.set_input_files(upload("where-to-stick-it.png", files.png(400, 300, (20, 120, 60)), "image/png"))
    await expect(log.locator(".m-agent .att.file")).to_contain_text("return-label.pdf")
    link = chat.locator("#log .row.agent .att.file")
    await expect(link).to_contain_text("return-label.pdf", timeout=10000)
    await img_loaded(chat.locator("#log .row.agent .att img"))
    await docs_shot(shopper, "widget-attachments")
    await docs_shot(nora, "console-attachments")


    # The PDF comes as a download, never shown in the page; the image as an image.
    async with shopper.expect_download() as dl:
        await link.click()
    download = await dl.value
    assert download.suggested_filename == "return-label.pdf"
    assert open(await download.path(), "rb").read() == files.pdf()
    href = await chat.locator("#log .row.agent .att img").evaluate("i => i.closest('a').href")
    viewer = await new_page(browser)
    response = await viewer.goto(href)
    assert response.headers["content-type"] == "image/png" and response.headers["x-content-type-options"] == "nosniff"

    # Hostile files: refused with a clear message, nothing of them runs.
    hostile = [("logo.svg", files.SVG_WITH_SCRIPT, "image/svg+xml", "only images"),  # the widget's own check
               ("logo.png", files.SVG_WITH_SCRIPT, "image/png", "can't be sent"),  # past it: the server's
               ("cute-cat.png", files.HTML_AS_PNG, "image/png", "can't be sent"),
               ("huge.png", BOMB, "image/png", "too many pixels")]
    for name, data, mime, says in hostile:
        await chat.locator("#file").set_input_files(upload(name, data, mime))
        row = chat.locator("#log .row.me.failed", has_text=name)
        await expect(row.locator(".st")).to_contain_text(says, timeout=10000)
    await expect(log.locator(".m-visitor .att")).to_have_count(1)  # only the photo reached Nora
    for page in (shopper, nora):
        assert page.errors == [] and page.dialogs == []
        assert "pwned" not in await page.title()
    await docs_shot(shopper, "widget-attachment-refused")

    # Nobody outside the conversation fetches its files.
    photo = await log.locator(".m-visitor .att").get_attribute("href")
    own_sid = await chat.locator("body").evaluate("() => localStorage.getItem('shopchat.sid')")
    stranger = await new_page(browser, 1100, 800)
    await stranger.goto(f"{app.url}/demo/")
    await stranger.get_by_role("button", name=re.compile("Open chat")).click()
    other = widget(stranger)
    await other.locator("#input").fill("hello")
    await other.locator("#input").press("Enter")
    await expect(other.locator("#log .row.bot").first).to_be_visible(timeout=15000)
    other_sid = await other.locator("body").evaluate("() => localStorage.getItem('shopchat.sid')")
    assert other_sid and other_sid != own_sid
    other_frame = stranger.frame_locator('iframe[title="Chat"]').locator("body")
    assert await other_frame.evaluate("(_, [p, s]) => fetch(p, {headers: {'X-Session-Id': s}}).then(r => r.status)",
                                      [photo, other_sid]) == 404  # a file of another conversation
    assert await other_frame.evaluate("(_, p) => fetch(p).then(r => r.status)", photo) == 404
    assert await chat.locator("body").evaluate("(_, [p, s]) => fetch(p, {headers: {'X-Session-Id': s}}).then(r => r.status)",
                                               [photo, own_sid]) == 200
    omar = await new_page(browser)
    await log_in(omar, app, "omar@console.test")
    assert await fetch_status(omar, photo) == 403  # another agent: not his chat
    assert await fetch_status(nora, photo) == 200

    # Dropped on the chat (the widget, the console's pane) or pasted into the console: sent the same way.
    await drop_file(chat.locator("body"), "dropped.png", files.png(200, 100), "image/png")
    await img_loaded(log.locator(".m-visitor .att img[alt='dropped.png']"))
    await drop_file(pane(nora), "invoice.pdf", files.pdf(), "application/pdf")
    await expect(chat.locator("#log .row.agent .att.file", has_text="invoice.pdf")).to_be_visible(timeout=10000)
    await drop_file(pane(nora).locator("textarea"), "pasted.gif", files.gif(), "image/gif", event="paste")
    await img_loaded(chat.locator("#log .row.agent .att img[alt='pasted.gif']"))
