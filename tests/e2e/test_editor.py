"""The knowledge-base editor in a real Chromium, next to a visitor's widget in another browser
context: an article published in the editor answers the visitor at once; hostile markdown stays
inert; two editors' saves conflict visibly; history, diff and restore; import dry runs; the
knowledge-gap loop. The app runs without Rasa (the bot answers from the knowledge base), on one
database for the module (each test works on articles of its own)."""
from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
import yaml
from playwright.async_api import expect

from accounts.service import create_user
from app.db import make_engine, make_sessionmaker
from app.settings import ROOT
from tests import support
from tests.chat.visitor_client import Visitor
from tests.conftest import load_demo
from tests.e2e.conftest import docs_shot, new_page

PW = "editor test password"
EDNA, FAY, AGNES = "edna@editor.test", "fay@editor.test", "agnes@editor.test"
HOSTILE_BODY = ("Careful now.\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n"
                "<img src=x onerror=alert(1)>")


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> str:
    url = support.TestDatabase("sqlite", tmp_path_factory.mktemp("editor")).create().url
    load_demo(url)
    return url


@pytest.fixture(scope="module")
async def app(demo_db):
    engine = make_engine(demo_db)
    async with make_sessionmaker(engine)() as s:
        for email, name, role in ((EDNA, "Edna", "editor"), (FAY, "Fay", "editor"), (AGNES, "Agnes", "agent")):
            await create_user(s, email=email, display_name=name, role=role, password=PW)
    await engine.dispose()
    live = support.LiveApp(demo_db).start()
    yield live
    live.stop()


async def log_in(page, app, email: str, landing: str = "/editor/"):
    await page.goto(f"{app.url}/editor/")
    await expect(page).to_have_url(re.compile(r"/login\?next=/editor/"))
    await page.fill("#email", email)
    await page.fill("#password", PW)
    await page.click("button[type=submit]")
    await expect(page).to_have_url(re.compile(re.escape(f"{app.url}{landing}")))


async def log_in_editor(page, app, email: str):
    await log_in(page, app, email)
    await expect(page.locator("#myname")).to_contain_text(email.split("@")[0].capitalize())
    await expect(page.locator("#a-list .result").first).to_be_visible()


async def go(page, view: str):
    await page.locator(f'.nav button[data-view="{view}"]').click()
    await expect(page.locator(f"#view-{view}")).to_be_visible()


def form(page):
    return page.locator("#a-form")


def field(page, label: str):
    return form(page).get_by_label(label, exact=True)


async def open_article(page, title: str):
    await go(page, "articles")
    await page.locator("#f-q").fill(title)
    item = page.locator("#a-list .result", has_text=title).first
    await item.click()
    await expect(page.locator("#a-heading")).to_have_text(title)


async def write_article(page, *, title, category, tags, questions, body):
    await page.get_by_role("button", name="New article").click()
    await expect(page.locator("#a-heading")).to_have_text("New article")
    await field(page, "Title").fill(title)
    await field(page, "Category").fill(category)
    await field(page, "Tags").fill(tags)
    await field(page, "Alternative phrasings").fill("\n".join(questions))
    await field(page, "Body").fill(body)


def widget(page):
    return page.frame_locator('iframe[title="Chat"]')


async def ask_widget(page, app, text: str):
    await page.goto(f"{app.url}/demo/")
    await page.get_by_role("button", name=re.compile("Open chat")).click()
    box = widget(page).locator("#input")
    await box.fill(text)
    for _ in range(20):  # the chat's script may not listen yet: the text stays in the box until it does
        await box.press("Enter")
        try:
            await expect(box).to_have_value("", timeout=500)
            break
        except AssertionError:
            pass
    await expect(widget(page).locator("#log .row.me").last).to_have_text(text)
    return widget(page).locator("#log .row.bot").last


async def expect_answer(page, title: str) -> None:
    """The widget's last bot message answers from the article `title` (else the log is printed)."""
    try:
        await expect(widget(page).locator("#log .row.bot").last.locator(".src")).to_contain_text(title, timeout=15000)
    except AssertionError:
        print("WIDGET LOG:", repr(await widget(page).locator("#log").inner_text()))
        raise


async def no_markup_ran(page) -> None:
    """No alert() ran and no script error happened on the page."""
    assert page.dialogs == [] and page.errors == []


async def test_the_editor_page_is_served_like_the_console(app):
    async with httpx.AsyncClient(base_url=app.url) as c:
        page = await c.get("/editor/")
        assert page.status_code == 200
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
        script = re.search(r'src="(editor\.js\?v=\w+)"', page.text).group(1)
        bundle = await c.get(f"/editor/{script}")
        assert bundle.status_code == 200 and "immutable" in bundle.headers["cache-control"]
        assert (await c.get("/widget/editor/index.html")).status_code == 404


async def test_an_editor_publishes_an_article_and_a_visitor_gets_it_at_once(app, browser):
    # An agent who opens the editor is told it is not theirs; an editor who opens the console lands
    # in the editor.
    agnes = await new_page(browser)
    await log_in(agnes, app, AGNES)
    await expect(agnes.locator("#boot")).to_contain_text("This page is for content editors")
    await expect(agnes.get_by_role("link", name="Go to the agent console")).to_have_attribute("href", "/console/")
    ed = await new_page(browser)
    await log_in_editor(ed, app, EDNA)
    await ed.goto(f"{app.url}/console/")
    await expect(ed).to_have_url(re.compile(r"/editor/"))
    await expect(ed.locator("#a-list .result").first).to_be_visible()

    # The demo knowledge base knows nothing about gift wrapping (the bot answers with something else).
    await go(ed, "try")
    await ed.fill("#try-q", "could you wrap my present?")
    await ed.press("#try-q", "Enter")
    await expect(ed.locator(".verdict")).to_be_visible()
    await expect(ed.locator(".verdict")).not_to_contain_text("Gift wrapping")

    # Edna writes the article; the preview follows the body as she types.
    await go(ed, "articles")
    await write_article(ed, title="Gift wrapping", category="Orders", tags="gifts, wrapping",
                        questions=["Can you gift wrap my order?", "Do you offer gift wrapping?"],
                        body="Yes! Add **gift wrapping** at checkout for €3.50 per order.\n\n"
                             "- recycled paper\n- a handwritten card")
    await expect(ed.locator("#a-preview strong")).to_have_text("gift wrapping")
    await expect(ed.locator("#a-preview li")).to_have_text(["recycled paper", "a handwritten card"])
    await expect(ed.locator("#a-dirty")).to_be_visible()
    await field(ed, "Body").press("Control+End")
    await field(ed, "Body").press_sequentially(" *wrapped*", delay=10)
    await expect(ed.locator("#a-preview em")).to_have_text("wrapped")
    await form(ed).get_by_role("button", name="Publish", exact=True).click()
    await expect(ed.locator("#a-status")).to_have_text("Published")
    await expect(ed.locator("#a-meta")).to_contain_text("Revision 1, updated by Edna")
    await expect(ed.locator("#a-dirty")).to_be_hidden()
    await expect(form(ed).get_by_role("button", name="Unpublish")).to_be_visible()
    await expect(ed.locator("#a-list .result", has_text="Gift wrapping")).to_be_visible()
    await docs_shot(ed, "editor-articles")

    # A visitor asks in other words and gets it, without a restart.
    shopper = await new_page(browser, 1100, 800)
    answer = await ask_widget(shopper, app, "can the order be wrapped as a gift?")
    await expect(answer).to_contain_text("€3.50", timeout=15000)
    await expect(answer.locator(".src")).to_contain_text("Gift wrapping")

    # Try the bot agrees, with the scores.
    await go(ed, "try")
    await ed.fill("#try-q", "could you wrap my present?")
    await ed.press("#try-q", "Enter")
    await expect(ed.locator(".verdict")).to_have_attribute("data-outcome", "answered")
    await expect(ed.locator(".verdict")).to_contain_text("Gift wrapping")
    await expect(ed.locator("#try-hits tbody tr").first).to_contain_text("Gift wrapping")
    await expect(ed.locator("#try-reply strong")).to_have_text("gift wrapping")
    await expect(ed.locator("#try-reply .qr span").first).to_be_visible()
    await docs_shot(ed, "editor-try")

    # Field errors show next to the field: a second article with the same title.
    await go(ed, "articles")
    await write_article(ed, title="Gift wrapping", category="Orders", tags="gifts",
                        questions=["gift wrap?"], body="Again.")
    await form(ed).get_by_role("button", name="Save draft").click()
    await expect(ed.locator("#err-title")).to_be_visible()
    await expect(field(ed, "Title")).to_have_attribute("aria-invalid", "true")
    await field(ed, "Title").fill("Gift wrapping (draft)")
    await field(ed, "Body").fill("")
    await ed.keyboard.press("Control+s")
    await expect(ed.locator("#err-body")).to_contain_text("body")
    await field(ed, "Body").fill("Again.")
    await expect(ed.locator("#err-body")).to_be_hidden()
    await ed.keyboard.press("Control+s")
    await expect(ed.locator("#a-status")).to_have_text("Draft")

    # Deleting moves it to the trash (after a confirmation), from where it comes back.
    await form(ed).get_by_role("button", name="Delete").click()
    await ed.locator("#confirm").get_by_role("button", name="Delete").click()
    await expect(ed.locator("#a-form")).to_be_hidden()
    await go(ed, "trash")
    row = ed.locator("#trash tbody tr", has_text="Gift wrapping (draft)")
    await expect(row.locator(".purge")).not_to_be_empty()
    await row.get_by_role("button", name="Restore").click()
    await expect(row).to_have_count(0)
    for page in (ed, shopper, agnes):
        await no_markup_ran(page)


async def test_hostile_markdown_is_inert_in_the_preview_and_the_widget(app, browser):
    ed = await new_page(browser)
    await log_in_editor(ed, app, FAY)
    await write_article(ed, title="Hostile markdown", category="Testing", tags="test",
                        questions=["zebra hostile markdown test"], body=HOSTILE_BODY)
    preview = ed.locator("#a-preview")
    await expect(preview).to_contain_text("Careful now.")
    await expect(preview).to_contain_text("<script>alert(1)</script>")  # as text
    await expect(preview).to_contain_text("<img src=x onerror=alert(1)>")
    assert await preview.locator("script, img, iframe").count() == 0
    assert await preview.locator("a").count() == 0  # a javascript: link is not a link
    await form(ed).get_by_role("button", name="Publish", exact=True).click()
    await expect(ed.locator("#a-status")).to_have_text("Published")

    # The bot answers with it: the widget shows the same text, nothing runs.
    shopper = await new_page(browser, 1100, 800)
    answer = await ask_widget(shopper, app, "zebra hostile markdown test")
    await expect(answer).to_contain_text("Careful now.", timeout=15000)
    await expect(answer).to_contain_text("<img src=x onerror=alert(1)>")
    log = widget(shopper).locator("#log")
    assert await log.locator("script, img, iframe").count() == 0
    assert await log.locator("a[href^='javascript' i]").count() == 0

    # And Try the bot renders the reply the same way.
    await go(ed, "try")
    await ed.fill("#try-q", "zebra hostile markdown test")
    await ed.press("#try-q", "Enter")
    await expect(ed.locator("#try-reply")).to_contain_text("<script>alert(1)</script>")
    assert await ed.locator("#try-reply").locator("script, img, a").count() == 0
    await asyncio.sleep(0.5)  # a handler would have fired by now
    for page in (ed, shopper):
        await no_markup_ran(page)


async def test_two_editors_saving_the_same_article_see_a_conflict(app, browser):
    edna, fay = await new_page(browser), await new_page(browser)
    await log_in_editor(edna, app, EDNA)
    await log_in_editor(fay, app, FAY)
    for page in (edna, fay):
        await open_article(page, "Discount codes")
        await expect(page.locator("#a-meta")).to_contain_text("Revision 1")
    await field(edna, "Body").press("Control+End")
    await field(edna, "Body").press_sequentially("\n\nEdna's line.", delay=5)
    await field(fay, "Body").press("Control+End")
    await field(fay, "Body").press_sequentially("\n\nFay's line.", delay=5)

    await edna.keyboard.press("Control+s")  # a published article stays published
    await expect(edna.locator("#a-meta")).to_contain_text("Revision 2, updated by Edna")
    await form(fay).get_by_role("button", name="Save & publish").click()
    conflict = fay.locator("#conflict")
    await expect(conflict).to_be_visible()
    await expect(conflict).to_contain_text("Edna saved this article while you were editing")
    await expect(conflict.locator(".c-body")).to_contain_text("Edna's line.")
    await expect(fay.locator("#a-meta")).to_contain_text("Revision 1")  # nothing was written
    await expect(field(fay, "Body")).to_have_value(re.compile("Fay's line.$"))
    await conflict.get_by_role("button", name="Overwrite with mine").click()
    await expect(fay.locator("#a-meta")).to_contain_text("Revision 3, updated by Fay")
    await expect(conflict).to_be_hidden()

    # Edna saves again from revision 2: her conflict box shows Fay's version, which she loads.
    await field(edna, "Title").fill("Discount codes and vouchers")
    await form(edna).get_by_role("button", name="Save & publish").click()
    await expect(edna.locator("#conflict")).to_contain_text("Fay saved this article while you were editing")
    await edna.locator("#conflict").get_by_role("button", name="Load their version").click()
    await expect(edna.locator("#conflict")).to_be_hidden()
    await expect(field(edna, "Title")).to_have_value("Discount codes")
    await expect(field(edna, "Body")).to_have_value(re.compile("Fay's line.$"))
    await expect(edna.locator("#a-meta")).to_contain_text("Revision 3")
    for page in (edna, fay):
        await no_markup_ran(page)


async def test_history_shows_the_diff_and_restores_a_revision(app, browser):
    ed = await new_page(browser)
    await log_in_editor(ed, app, EDNA)
    await open_article(ed, "Invoices and VAT")
    original = await field(ed, "Body").input_value()
    await field(ed, "Body").fill(original + "\n\nFirst added line.")
    await ed.keyboard.press("Control+s")
    await expect(ed.locator("#a-meta")).to_contain_text("Revision 2")
    await field(ed, "Body").fill(original + "\n\nSecond version of the line.")
    await field(ed, "Tags").fill(await field(ed, "Tags").input_value() + ", vat-number")
    await ed.keyboard.press("Control+s")
    await expect(ed.locator("#a-meta")).to_contain_text("Revision 3")

    await form(ed).get_by_role("button", name="History", exact=True).click()
    revs = ed.locator("#h-list .rev")
    await expect(revs).to_have_count(3)
    await expect(revs.first).to_have_attribute("aria-current", "true")  # the newest vs the one before
    await expect(ed.locator("#h-from")).to_have_value("2")
    diff = ed.locator("#h-diff")
    body = diff.locator('.dfield[data-field="body"]')
    await expect(body.locator(".d-delete")).to_have_text(["First added line."])
    await expect(body.locator(".d-insert")).to_have_text(["Second version of the line."])
    await expect(diff.locator('.dfield[data-field="tags"] .chip.add')).to_have_text(["+ vat-number"])
    await ed.locator("#history").scroll_into_view_if_needed()
    await docs_shot(ed, "editor-history")

    # Revision 1 against revision 3, then restore revision 1.
    await ed.locator("#h-from").select_option("1")
    await expect(body.locator(".d-insert").last).to_have_text("Second version of the line.")
    await expect(body.locator(".d-delete")).to_have_count(0)
    await revs.filter(has_text="#1").click()
    await expect(diff).to_contain_text("Revision 1 as it was")
    await ed.get_by_role("button", name="Restore this revision").click()
    await expect(ed.locator("#confirm-text")).to_contain_text("The article stays published")
    await ed.locator("#confirm").get_by_role("button", name="Restore").click()
    await expect(ed.locator("#a-meta")).to_contain_text("Revision 4")
    await expect(field(ed, "Body")).to_have_value(original)
    await expect(field(ed, "Tags")).not_to_have_value(re.compile("vat-number"))
    await expect(revs).to_have_count(4)
    await expect(revs.first).to_contain_text("restored an old revision")
    await no_markup_ran(ed)


async def test_restoring_a_draft_revision_keeps_a_live_article_published(app, browser):
    """The walkthrough's rough edge: restoring revision 1 (saved as a draft) silently unpublished
    the live article. Now the confirmation says what happens, and the status stays."""
    ed = await new_page(browser)
    await log_in_editor(ed, app, EDNA)
    await write_article(ed, title="Gift boxes", category="Orders", tags="gifts",
                        questions=["do you sell gift boxes"], body="Gift boxes come in 25, 50 and 100 euros.")
    await form(ed).get_by_role("button", name="Save draft").click()
    await expect(ed.locator("#a-status")).to_have_text("Draft")
    await field(ed, "Body").fill("Gift boxes come in 25, 50 and 100 euros and never expire.")
    await form(ed).get_by_role("button", name="Publish", exact=True).click()
    await expect(ed.locator("#a-status")).to_have_text("Published")
    await form(ed).get_by_role("button", name="History", exact=True).click()
    await ed.locator("#h-list .rev").filter(has_text="#1").click()
    await expect(ed.locator("#h-diff")).to_contain_text("Revision 1 as it was")
    await ed.get_by_role("button", name="Restore this revision").click()
    await expect(ed.locator("#confirm-text")).to_contain_text(
        "The article stays published: the bot keeps answering with it")
    await ed.locator("#confirm").get_by_role("button", name="Restore").click()
    await expect(field(ed, "Body")).to_have_value("Gift boxes come in 25, 50 and 100 euros.")
    await expect(ed.locator("#a-status")).to_have_text("Published")
    # Choosing a status says so first, and does it.
    await expect(ed.locator("#h-list .rev")).to_have_count(3)
    await ed.locator("#h-list .rev").filter(has_text="#2").click()
    await expect(ed.locator("#h-to")).to_have_value("2")
    await ed.locator("#h-status").select_option("draft")
    await ed.get_by_role("button", name="Restore this revision").click()
    await expect(ed.locator("#confirm-text")).to_contain_text("becomes a draft: the bot stops using it")
    await ed.locator("#confirm").get_by_role("button", name="Restore").click()
    await expect(ed.locator("#a-status")).to_have_text("Draft")
    await expect(field(ed, "Body")).to_have_value("Gift boxes come in 25, 50 and 100 euros and never expire.")
    await no_markup_ran(ed)


async def test_import_dry_run_shows_the_changes_and_a_bad_csv_names_the_line(app, browser):
    demo = yaml.safe_load((ROOT / "knowledge_base" / "demo" / "articles.yaml").read_text())
    delivery = next(a for a in demo if a["title"] == "Delivery times")
    changed = {**delivery, "body": delivery["body"] + "\nWe also deliver on Sundays in Utrecht.\n"}
    new = {"title": "Gift cards", "body": "Gift cards are sold in the Utrecht store.", "category": "Payment",
           "questions": ["do you sell gift cards"], "tags": ["gift-cards"], "language": "en", "status": "published"}
    kb_json = json.dumps([new, changed]).encode()

    ed = await new_page(browser)
    await log_in_editor(ed, app, FAY)
    await go(ed, "io")
    await ed.set_input_files("#i-file", files=[{"name": "kb.json", "mimeType": "application/json", "buffer": kb_json}])
    await expect(ed.locator("#i-format")).to_have_value("json")
    await expect(ed.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    await ed.get_by_role("button", name="Preview").click()
    result = ed.locator("#i-result")
    await expect(result.locator('[data-kind="added"]')).to_have_text("Gift cards")
    await expect(result.locator('[data-kind="changed"]')).to_contain_text("Delivery times")
    await expect(result.locator('[data-kind="changed"]')).to_contain_text("(body)")
    await expect(ed.locator("#i-msg")).to_contain_text("Dry run")

    # Replace would move the rest to the trash (a dry run: nothing happens).
    await ed.get_by_role("radio", name=re.compile("Replace")).check()
    await expect(ed.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    await ed.get_by_role("button", name="Preview").click()
    await expect(result.locator('[data-kind="removed"]')).to_contain_text("Returns policy")

    # Merge for real.
    await ed.get_by_role("radio", name=re.compile("Merge")).check()
    await ed.get_by_role("button", name="Preview").click()
    await expect(result.locator('[data-kind="removed"]')).to_have_count(0)
    await ed.get_by_role("button", name="Import", exact=True).click()
    await expect(ed.locator("#i-msg")).to_contain_text("Imported")
    await go(ed, "articles")
    await expect(ed.locator("#a-list .result", has_text="Gift cards")).to_be_visible()
    await go(ed, "trash")
    await expect(ed.locator("#trash tbody tr", has_text="Returns policy")).to_have_count(0)

    # A CSV with a bad row: the error names the line and the field; nothing can be imported.
    await go(ed, "io")
    bad = ("title,body,category,questions,tags,language,status\n"
           "Gift vouchers,Sold online,Payment,do you sell vouchers,gifts,en,published\n"
           "Broken,,Payment,q,t,en,published\n").encode()
    await ed.set_input_files("#i-file", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad}])
    await expect(ed.locator("#i-format")).to_have_value("csv")
    await ed.get_by_role("button", name="Preview").click()
    error = ed.locator("#i-error")
    await expect(error).to_contain_text("line 3")
    await expect(error).to_contain_text("'body'")
    await expect(result).to_be_hidden()
    await expect(ed.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    await no_markup_ran(ed)


async def test_a_knowledge_gap_becomes_phrasings_and_the_question_is_answered(app, browser):
    # Two visitors ask something the bot cannot answer; a third asks something else it cannot.
    for text in ("do you have a loyalty programme?", "is there a loyalty program?", "are dogs allowed in the shop"):
        visitor = Visitor(app.url)
        await visitor.connect()
        await visitor.say(text, client_id="q1")
        said = await visitor.wait_for("bot_uttered", timeout=15)
        assert said[0].get("fallback"), said
        await visitor.close()

    ed = await new_page(browser)
    await log_in_editor(ed, app, EDNA)
    await go(ed, "gaps")
    card = ed.locator(".card", has_text="loyalty")
    await expect(card).to_have_count(1, timeout=30000)  # grouping loads the sentence model
    await expect(card.locator(".visitors")).to_have_text("2")
    await expect(card).to_contain_text("do you have a loyalty programme?")
    await expect(card).to_contain_text("is there a loyalty program?")
    await expect(card.locator('[data-why="fallback"]')).to_be_visible()

    # Add them as phrasings to "Discount codes".
    await card.get_by_role("button", name="Add as phrasings to…").click()
    await card.get_by_label("Find an article").fill("discount")
    await card.get_by_label("Article", exact=True).select_option(label="Discount codes (en)")
    await docs_shot(ed, "editor-gaps")
    await card.get_by_role("button", name="Add phrasings").click()
    await expect(ed.locator(".card", has_text="loyalty")).to_have_count(0)

    shopper = await new_page(browser, 1100, 800)
    await ask_widget(shopper, app, "do you have a loyalty programme?")
    await expect_answer(shopper, "Discount codes")

    # The other gap becomes a new article: the form comes prefilled with the question.
    dogs = ed.locator(".card", has_text="dogs")
    await dogs.get_by_role("button", name="Create article").click()
    await expect(ed.locator("#view-articles")).to_be_visible()
    await expect(ed.locator("#a-gap")).to_contain_text("knowledge gap")
    await expect(field(ed, "Title")).to_have_value("are dogs allowed in the shop")
    await expect(field(ed, "Alternative phrasings")).to_have_value("are dogs allowed in the shop")
    await field(ed, "Title").fill("Dogs in our store")
    await field(ed, "Category").fill("Store")
    await field(ed, "Tags").fill("store, dogs")
    await field(ed, "Body").fill("Well-behaved dogs on a lead are welcome in our Utrecht store.")
    await form(ed).get_by_role("button", name="Publish", exact=True).click()
    await expect(ed.locator("#a-status")).to_have_text("Published")
    await go(ed, "gaps")
    await expect(ed.locator("#gaps .loading")).to_have_count(0)
    await expect(ed.locator(".card", has_text="dogs")).to_have_count(0)
    shopper = await new_page(browser, 1100, 800)  # another visitor
    await ask_widget(shopper, app, "are dogs allowed in the shop")
    await expect_answer(shopper, "Dogs in our store")

    # Usefulness and the audit log show what happened.
    await go(ed, "usefulness")
    await expect(ed.locator("#use tbody tr", has_text="Discount codes")).to_be_visible()
    await ed.locator('#use th[data-key="title"] button').click()
    await expect(ed.locator('#use th[data-key="title"]')).to_have_attribute("aria-sort", "ascending")
    await go(ed, "audit")
    await expect(ed.locator("#audit tbody tr").first).to_contain_text("Edna")
    for page in (ed, shopper):
        await no_markup_ran(page)


async def test_missing_translations_are_shown_and_an_editor_links_one(app, browser):
    """Issue 16: the demo is in English and Greek, article for article; an article without a Greek
    translation is marked and listed under "Missing translation", and linking one clears that."""
    ed = await new_page(browser)
    await log_in_editor(ed, app, EDNA)
    await open_article(ed, "Χρόνοι παράδοσης")
    links = ed.locator("#a-tr-list li")
    await expect(links).to_have_count(1)
    await expect(links.first).to_contain_text("en")
    await expect(links.first).to_contain_text("Delivery times")
    await expect(ed.locator("#a-tr-missing")).to_be_hidden()

    await write_article(ed, title="Name engraving", category="Orders", tags="engraving",
                        questions=["can you engrave a name"], body="We engrave a name on any mug for EUR 5.")
    await form(ed).get_by_role("button", name="Publish", exact=True).click()
    await expect(ed.locator("#a-status")).to_have_text("Published")
    await expect(ed.locator("#a-tr-missing")).to_have_text("No translation in: el")
    await ed.locator("#f-q").fill("")  # the whole list again
    row = ed.locator("#a-list .result", has_text="Name engraving")
    await expect(row.locator(".trneed")).to_have_text("no el")
    await ed.locator("#f-untranslated").select_option("el")
    lacking = ed.locator("#a-list .result")
    await expect(lacking.filter(has_text="Name engraving")).to_have_count(1)
    await expect(lacking.filter(has_text="Delivery times")).to_have_count(0)  # the demo is translated

    await write_article(ed, title="Χάραξη ονόματος", category="Παραγγελίες", tags="χάραξη",
                        questions=["χαράζετε όνομα σε κούπα;"], body="Χαράζουμε ένα όνομα σε κάθε κούπα για 5 €.")
    await field(ed, "Language").fill("el")
    await form(ed).get_by_role("button", name="Publish", exact=True).click()
    await expect(ed.locator("#a-status")).to_have_text("Published")
    await ed.locator("#a-tr-pick").select_option(label="en · Name engraving")
    await ed.get_by_role("button", name="Link", exact=True).click()
    await expect(links).to_have_count(1)
    await expect(links.first).to_contain_text("Name engraving")
    await expect(lacking.filter(has_text="Name engraving")).to_have_count(0)  # it has a Greek translation now
    await ed.locator("#f-untranslated").select_option("")
    await open_article(ed, "Χάραξη ονόματος")
    await docs_shot(ed, "editor-translations")
    await ed.get_by_role("button", name="Unlink from its translations").click()
    await expect(ed.locator("#a-tr-missing")).to_have_text("No translation in: en")
    await no_markup_ran(ed)
