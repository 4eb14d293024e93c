"""A real Chromium (Debian's, never a downloaded one) driven by Playwright."""
import asyncio
import shutil

import pytest
from playwright.async_api import async_playwright

from app.settings import ROOT, RUN_DIR

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SHOTS = RUN_DIR / "screenshots"
DOCS_IMG = ROOT / "docs" / "img"


@pytest.fixture
async def browser(chromium_path):
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser):
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    await context.close()


async def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"))


async def docs_shot(page, name: str) -> None:
    """Into .run/screenshots (like every e2e shot) and docs/img (the README and docs/ show them)."""
    await shot(page, name)
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHOTS / f"{name}.png", DOCS_IMG / f"{name}.png")


async def new_page(browser, width: int = 1366, height: int = 860):
    """A page in a browser context of its own (another person), recording dialogs and page errors."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dlg: (page.dialogs.append(dlg.message), asyncio.ensure_future(dlg.dismiss())))
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page
