"""The Reports page in a real Chromium: an admin's figures, charts, CSV links and definitions over a
month of generated history (bench/reports.py's generator), an empty period, an agent's own view, the
console's link to it, and an editor turned away. Screenshots go to docs/img."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from accounts.models import User
from accounts.service import create_user
from app.db import make_engine, make_sessionmaker
from engage.models import InvitationEvent, InvitationRule
from bench.reports import populate
from tests import support
from tests.e2e.conftest import docs_shot, new_page

PW = "reports test password"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    url = support.TestDatabase("sqlite", tmp_path_factory.mktemp("reports")).create().url
    # Up to an hour ago, so "today" has something in it whatever the time of day.
    asyncio.run(populate(url, conversations=2500, days=30, now=datetime.now(timezone.utc) - timedelta(hours=1),
                         agents=5, log=lambda *_: None))

    async def people():
        engine = make_engine(url)
        async with make_sessionmaker(engine)() as db:
            for email, name, role in (("ada@reports.test", "Ada", "admin"), ("erin@reports.test", "Erin", "editor")):
                await create_user(db, email=email, display_name=name, role=role, password=PW)
            # one of the generated agents logs in too
            alex = await db.scalar(select(User).where(User.email == "bench0@agents.example"))
            alex.email = "alex@reports.test"
            from accounts.passwords import hash_password
            alex.password_hash = hash_password(PW)
            # invitations (docs/reports.md, "Invitations"): a rule's three and one of Alex's, shown
            # minutes ago, so in every period that ends today
            rule = InvitationRule(name="Checkout help", url_pattern="/checkout*", messages={"en": "Need help?"})
            db.add(rule)
            await db.flush()
            at = datetime.now(timezone.utc) - timedelta(minutes=5)
            for key, kinds, source in (("k1", ("shown", "accepted", "chat_started"), "rule"),
                                       ("k2", ("shown", "dismissed"), "rule"), ("k3", ("shown",), "rule"),
                                       ("k4", ("shown", "accepted"), "agent")):
                for kind in kinds:
                    db.add(InvitationEvent(key=key.ljust(16, "0"), kind=kind, visitor_id="e2e-invited-" + key.ljust(8, "0"),
                                           source=source, rule_id=rule.id if source == "rule" else None,
                                           agent_id=alex.id if source == "agent" else None, at=at))
            await db.commit()
        await engine.dispose()

    asyncio.run(people())
    live = support.LiveApp(url, env={"SHOPCHAT_TIME_ZONE": "Europe/Athens"}).start()
    yield live
    live.stop()


async def log_in(page, app, email: str, next_path: str = "/reports/"):
    await page.goto(f"{app.url}{next_path}")
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.fill("#email", email)
    await page.fill("#password", PW)
    await page.click("button[type=submit]")


async def loaded(page, before: str | None = None):
    """The figures of the current choice are drawn."""
    await expect(page.locator("body")).not_to_have_attribute("data-loaded", before or "__none__", timeout=20000)
    await expect(page.locator("body[data-loaded]")).to_have_count(1, timeout=20000)


async def test_an_admin_reads_every_figure_with_charts_csv_and_definitions(app, browser):
    page = await new_page(browser, 1366, 2000)
    await log_in(page, app, "ada@reports.test")
    await expect(page).to_have_url(f"{app.url}/reports/")
    await loaded(page)
    for section in ("bot", "activity", "queue", "agents"):
        await expect(page.locator(f"#sec-{section}")).to_be_visible()
    conversations = page.locator('.card[data-figure="conversations"] .v')
    assert int((await conversations.inner_text()).replace(",", "").replace(".", "")) > 0
    await expect(page.locator('.card[data-figure="containment"] .v')).to_have_text(re.compile(r"^\d+(\.\d)? %$"))
    await expect(page.locator("#agents-table tbody tr")).to_have_count(6)  # 5 agents and Ada, an admin
    await expect(page.locator("#bot-articles tbody tr").first).to_be_visible()
    assert await page.locator("canvas").count() == 6
    # invitations: 4 shown (k1..k4), 2 accepted, 1 dismissed, 1 chat; by the rule and by Alex
    await expect(page.locator("#sec-invitations")).to_be_visible()
    await expect(page.locator('.card[data-figure="invitations-shown"] .v')).to_have_text("4")
    await expect(page.locator('.card[data-figure="acceptance-rate"] .v')).to_have_text("50 %")
    await expect(page.locator('.card[data-figure="chat-rate"] .v')).to_have_text("25 %")
    await expect(page.locator("#inv-sources tbody tr")).to_have_count(2)
    await expect(page.locator("#inv-sources tbody tr").first).to_contain_text("Checkout help")
    # every figure links to its definition, and the definition is on the page
    links = page.locator("a.def")
    assert await links.count() >= 20
    for href in set(await links.evaluate_all("els => els.map(e => e.getAttribute('href'))")):
        assert await page.locator(href).count() == 1, f"no definition for {href}"
    await page.locator('.card[data-figure="containment"] a.def').click()
    await expect(page.locator("#def-containment")).to_be_in_viewport()
    await expect(page.locator("#def-containment + p")).to_contain_text("Contained / Conversations")
    # a CSV link carries the period and filters; the file is a real CSV for this admin
    href = await page.locator("#sec-bot h2 a.csv").get_attribute("href")
    assert href.startswith("/api/reports/bot/summary.csv?period=7d")
    csv_text = await page.evaluate("async (u) => (await fetch(u)).text()", href)
    assert csv_text.startswith("figure,value\r\nconversations,")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.set_viewport_size({"width": 1366, "height": 1900})
    await docs_shot(page, "reports-page")
    await page.set_viewport_size({"width": 1366, "height": 640})
    await page.evaluate("window.scrollTo(0, document.getElementById('sec-invitations').offsetTop - 70)")
    await docs_shot(page, "reports-invitations")
    await page.evaluate("window.scrollTo(0, 0)")
    assert page.errors == []

    # a filter narrows every section: one agent
    before = await page.locator("body").get_attribute("data-loaded")
    alex = await page.locator("#agent option", has_text="Alex").first.get_attribute("value")
    await page.select_option("#agent", alex)
    await loaded(page, before)
    await expect(page.locator("#agents-table tbody tr")).to_have_count(1)

    # an empty period: zeros and dashes, nothing made up, charts still drawn
    before = await page.locator("body").get_attribute("data-loaded")
    await page.select_option("#agent", "")
    await page.select_option("#period", "custom")
    await page.fill("#from", "2020-01-01")
    await page.fill("#to", "2020-01-07")
    await page.locator("#to").dispatch_event("change")
    await expect(page.locator("#range")).to_contain_text("2020-01-01 – 2020-01-07 (Europe/Athens) · no conversations in this period", timeout=20000)
    await expect(page.locator('.card[data-figure="conversations"] .v')).to_have_text("0")
    await expect(page.locator('.card[data-figure="containment"] .v')).to_have_text("–")
    await expect(page.locator("#bot-articles")).to_have_text("Nothing in this period.")
    await page.set_viewport_size({"width": 1366, "height": 1100})
    await docs_shot(page, "reports-empty-period")
    assert page.errors == []


async def test_an_agent_sees_only_their_own_figures_and_the_console_links_the_page(app, browser):
    page = await new_page(browser)
    await log_in(page, app, "alex@reports.test", "/console/")
    await expect(page.locator(".nav a", has_text="Reports")).to_be_visible(timeout=20000)
    await page.locator(".nav a", has_text="Reports").click()
    await expect(page).to_have_url(f"{app.url}/reports/")
    await loaded(page)
    await expect(page.locator("#sec-agents")).to_be_visible()
    await expect(page.locator("#sec-activity")).to_be_visible()
    await expect(page.locator("#sec-bot")).to_be_hidden()
    await expect(page.locator("#sec-queue")).to_be_hidden()
    await expect(page.locator("#agents-table tbody tr")).to_have_count(1)
    await expect(page.locator("#agents-table tbody tr td").first).to_have_text("Alex")
    await expect(page.locator("#sec-invitations")).to_be_visible()  # Alex's own invitation only
    await expect(page.locator('.card[data-figure="invitations-shown"] .v')).to_have_text("1")
    await expect(page.locator("#inv-sources tbody tr")).to_have_count(1)
    await expect(page.locator("#agent")).to_be_disabled()
    assert page.errors == []


async def test_an_editor_is_turned_away(app, browser):
    page = await new_page(browser)
    await log_in(page, app, "erin@reports.test")
    await page.goto(f"{app.url}/reports/")
    await expect(page.locator("#boot")).to_have_text("Reports are for admins and agents.", timeout=20000)
