"""Agents who never miss a chat, in a real Chromium: desktop notifications through the browser's
Notification API (permission granted, then denied), the sound (after the one click browsers
require, asked for by the console) and the title flash, each an agent preference stored on the
server. The page's Notification and AudioContext are observed, not replaced: a recorder subclass
and a counter of oscillators started while the audio runs (a beep that really plays)."""
from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.chat.visitor_client import Visitor
from tests.e2e.conftest import CHROMIUM_ARGS, docs_shot  # noqa: F401
from tests.e2e.test_console import db, log_in  # noqa: F401 - fixtures

OBSERVE = """
window.__shown = [];
window.__beeps = 0;
if (window.Notification) {
  const Real = window.Notification;
  class Recorded extends Real {
    constructor(title, options) { super(title, options); window.__shown.push([title, (options || {}).body || ""]); }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...a) => Real.requestPermission(...a);
  window.Notification = Recorded;
}
const make = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () {
  if (this.state === "running") window.__beeps++;
  return make.call(this);
};
"""
HIDE = """() => {
    Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


@pytest.fixture
def app(demo_app):
    return demo_app


async def agent_page(browser, app, permission: str):
    context = await browser.new_context(viewport={"width": 1366, "height": 860})
    if permission == "granted":
        await context.grant_permissions(["notifications"], origin=app.url)
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    if permission == "denied":  # as a person who clicked "Block": Chromium's own permission state
        cdp = await context.new_cdp_session(page)
        target = (await cdp.send("Target.getTargetInfo"))["targetInfo"]
        await cdp.send("Browser.setPermission", {"permission": {"name": "notifications"}, "setting": "denied",
                                                 "origin": app.url, "browserContextId": target["browserContextId"]})
    await page.add_init_script(OBSERVE)
    return page


async def ring(app, name: str) -> Visitor:
    v = Visitor(app.url)
    await v.connect()
    await v.say(f"can i talk to a real person ({name})", client_id="p1")
    return v


async def test_granted_desktop_notification_sound_and_flash_as_the_agent_chose(app, db, browser):  # noqa: F811
    nora = await agent_page(browser, app, "granted")
    await log_in(nora, app, "nora@console.test")
    # Sound wanted (the default) but not allowed yet: the console asks for the one click.
    bar = nora.locator("#soundbar")
    await expect(bar).to_be_visible()
    await bar.get_by_role("button", name="Turn on sound").click()
    await expect(bar).to_be_hidden()

    await nora.get_by_role("button", name="Notifications", exact=True).click()
    panel = nora.locator("#notif-panel")
    await expect(panel).to_contain_text("This browser allows desktop notifications")
    await expect(panel.get_by_role("button", name="Allow desktop notifications")).to_have_count(0)
    await panel.get_by_label("Desktop notifications").check()
    await expect(panel).to_contain_text("Desktop notifications are on")
    await docs_shot(nora, "console-notifications")

    # Stored per agent: a reload (another browser would do the same) keeps the choice.
    await nora.reload()
    await expect(nora.locator("#soundbar")).to_be_visible()
    await nora.get_by_role("button", name="Notifications", exact=True).click()  # a click: sound allowed
    await expect(panel.get_by_label("Desktop notifications")).to_be_checked()
    await expect(nora.locator("#soundbar")).to_be_hidden()

    # In the background, an offer comes: a desktop notification, a beep, the title flashing.
    await nora.evaluate(HIDE)
    v1 = await ring(app, "one")
    await expect(nora.locator(".offer")).to_be_visible(timeout=10000)
    await expect(nora).to_have_title(re.compile(r"^\(1\) New chat"))
    shown = await nora.evaluate("window.__shown")
    assert shown and shown[0][0] == "New chat" and shown[0][1].startswith("Visitor"), shown
    assert await nora.evaluate("window.__beeps") >= 1

    # Sound and title flash off: the next offer only notifies on the desktop.
    await nora.evaluate("""() => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    await expect(panel).to_be_visible()  # still open from above
    await panel.get_by_label("Sound").uncheck()
    await panel.get_by_label("Flash the tab's title").uncheck()
    await expect(panel.get_by_label("Flash the tab's title")).not_to_be_checked()
    beeps = await nora.evaluate("window.__beeps")
    await nora.evaluate(HIDE)
    v2 = await ring(app, "two")
    await expect(nora.locator(".offer")).to_have_count(2, timeout=10000)
    for _ in range(50):  # the second offer's desktop notification
        if await nora.evaluate("window.__shown.length") == 2:
            break
        await nora.wait_for_timeout(100)
    assert await nora.evaluate("window.__shown.length") == 2
    assert await nora.evaluate("window.__beeps") == beeps
    await expect(nora).to_have_title("Agent console · shopchat")
    assert nora.errors == []
    for v in (v1, v2):
        await v.close()


async def test_denied_no_desktop_notification_but_sound_and_flash(app, db, browser):  # noqa: F811
    omar = await agent_page(browser, app, "denied")
    await log_in(omar, app, "omar@console.test")
    await omar.locator("#soundbar").get_by_role("button", name="Turn on sound").click()
    await omar.get_by_role("button", name="Notifications", exact=True).click()
    panel = omar.locator("#notif-panel")
    await expect(panel).to_contain_text("blocked for this site")
    await expect(panel.get_by_label("Desktop notifications")).to_be_disabled()
    await expect(panel.get_by_role("button", name="Allow desktop notifications")).to_have_count(0)

    await omar.evaluate(HIDE)
    v = await ring(app, "three")
    await expect(omar.locator(".offer")).to_be_visible(timeout=10000)
    await expect(omar).to_have_title(re.compile(r"^\(1\) New chat"))
    assert await omar.evaluate("window.__shown") == []
    assert await omar.evaluate("window.__beeps") >= 1
    assert omar.errors == []
    await v.close()
