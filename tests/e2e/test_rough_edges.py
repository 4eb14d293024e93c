"""Rough edges of the walkthrough (issue 15), each in a real Chromium against the app (no Rasa: the
bot answers from the knowledge base and hands over at once):
- with nobody online, "Talk to a person" offers the offline form directly, prefilled with what the
  chat knows, without "I'm finding a person", its title in view, the header not promising a reply
  in minutes;
- closed or transferred chats leave "My chats" and its count;
- the routing strategy's drop-down shows its longest option whole."""
from __future__ import annotations

import re

import pytest
from playwright.async_api import expect
from sqlalchemy import update

from chat.models import Conversation
from tests.chat.visitor_client import Visitor
from tests.e2e.conftest import docs_shot, new_page
from tests.e2e.test_console import db, log_in, pane, widget  # noqa: F401 - fixtures


@pytest.fixture
def app(demo_app):
    return demo_app


async def test_nobody_online_offers_the_offline_form_at_once_prefilled(app, db, browser):  # noqa: F811
    shopper = await new_page(browser, 420, 640)  # a phone: the form is taller than the transcript's view
    await shopper.goto(f"{app.url}/demo/")
    await shopper.get_by_role("button", name=re.compile("Open chat")).click()
    chat = widget(shopper)
    await chat.locator("#input").fill("do you take paypal?")
    await chat.locator("#input").press("Enter")
    await expect(chat.locator("#log .row.bot").first).to_contain_text("PayPal", timeout=15000)
    async with db() as s:  # what the chat knows already (the bot's questions, a pre-chat form)
        await s.execute(update(Conversation).where(Conversation.state == "bot")
                        .values(visitor_name="Maria Jensen", visitor_email="maria@example.com"))
        await s.commit()
    bot_rows = await chat.locator("#log .row.bot").count()
    await chat.get_by_role("button", name="Talk to a person").click()

    form = chat.locator("#off")
    await expect(form).to_be_visible(timeout=10000)
    await expect(chat.locator("#oname")).to_have_value("Maria Jensen")
    await expect(chat.locator("#oemail")).to_have_value("maria@example.com")
    await expect(chat.locator("#log")).not_to_contain_text("finding a person")
    assert await chat.locator("#log .row.bot").count() == bot_rows  # nothing promised
    await expect(chat.locator(".ht p")).not_to_have_text("We usually reply in a few minutes")
    top = await chat.locator("#offh").evaluate(
        "h => h.getBoundingClientRect().top - document.getElementById('scroll').getBoundingClientRect().top")
    assert top >= 0, f"the form's title is {-top:.0f} px above the view"
    await docs_shot(shopper, "widget-offline-form")
    await chat.locator("#omsg").fill("Can I pay half by PayPal and half by card?")
    await chat.get_by_role("button", name="Send message").click()
    await expect(chat.locator("#offok")).to_contain_text("maria@example.com")
    assert shopper.errors == []


async def online(db, email: str) -> None:  # noqa: F811
    """Until the console's first heartbeat reached the server (else the chat goes offline)."""
    import asyncio

    from sqlalchemy import select

    from accounts.models import User
    for _ in range(100):
        async with db() as s:
            user = await s.scalar(select(User).where(User.email == email))
            if user.status == "online" and user.last_heartbeat_at is not None:
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{email} never came online")


async def test_ended_chats_leave_my_chats_and_its_count(app, db, browser):  # noqa: F811
    nora = await new_page(browser)
    await log_in(nora, app, "nora@console.test")
    await online(db, "nora@console.test")
    visitors = []
    for n, name in enumerate(("Ana", "Ben", "Cleo")):
        v = Visitor(app.url)
        await v.connect()
        async with db() as s:
            await s.execute(update(Conversation).where(Conversation.id == v.conversation_id).values(visitor_name=name))
            await s.commit()
        await v.say("can i talk to a real person", client_id=f"h{n}")
        await nora.locator(".offer", has_text=name).get_by_role("button", name="Accept").click()
        visitors.append(v)
    tabs, count = nora.locator(".tab"), nora.locator("#n-chats")
    await expect(tabs).to_have_count(3)
    await expect(count).to_have_text("3")
    await nora.locator(".tab", has_text="Cleo").click()

    # Ana ends her chat while Nora looks at Cleo's: it leaves the tabs and the count.
    assert (await visitors[0].call("end_chat", {}))["ok"]
    await expect(tabs.filter(has_text="Ana")).to_have_count(0, timeout=10000)
    await expect(count).to_have_text("2")

    # Nora sends Cleo's chat (the one shown) back to the queue: its last words stay on screen, but
    # it is no longer counted; moving to another chat clears it away.
    await pane(nora).locator("select.tsel").select_option("queue")
    await pane(nora).get_by_role("button", name="Transfer").click()
    await expect(pane(nora).locator(".cbanner")).to_contain_text("queue", timeout=10000)
    await expect(count).to_have_text("1")
    await nora.locator(".tab", has_text="Ben").click()
    await expect(tabs).to_have_count(1)
    await expect(tabs).to_contain_text("Ben")
    for v in visitors:
        await v.close()
    assert nora.errors == []


async def test_the_strategy_drop_down_shows_its_longest_option(app, db, browser):  # noqa: F811
    pia = await new_page(browser, 1280, 800)
    await log_in(pia, app, "pia@console.test")
    await pia.get_by_role("button", name="Routing & agents").click()
    select = pia.locator('#settings select[name="strategy"]')
    await expect(select).to_be_visible()
    # the text of the widest option, in the select's own font, against the room inside the box
    # (its padding and the arrow taken off)
    need, room = await select.evaluate("""s => {
        const c = document.createElement("canvas").getContext("2d");
        const st = getComputedStyle(s);
        c.font = st.font;
        const need = Math.max(...[...s.options].map(o => c.measureText(o.text).width));
        const room = s.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight) - 20;
        return [need, room];
    }""")
    assert need <= room, f"the longest strategy needs {need:.0f} px, the box has {room:.0f}"
    box = await select.bounding_box()
    form = await pia.locator("#settings").bounding_box()
    assert box["x"] + box["width"] <= form["x"] + form["width"]
