"""The knowledge-base editor's HTTP API (docs/editor.md), the FastAPI app in-process on SQLite and
PostgreSQL: roles, revisions and conflicts, the trash, import/export round trips and dry runs,
canned responses, "try the bot", the audit log, and changes reaching the bot's search at once."""
from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta

import httpx
import pytest
import yaml
from sqlalchemy import select

from accounts.service import create_user
from accounts.web import COOKIE
from app.main import create_app
from app.settings import Settings
from knowledge_base import articles
from knowledge_base.models import Article
from tests.accounts.test_web import client, post_login

PW = "editor test password"
CSRF = {"X-Requested-With": "shopchat"}
GIFT = {"title": "Gift wrapping", "body": "We wrap any order for EUR 3.50.\nChoose it at checkout.",
        "category": "Orders", "questions": ["can you wrap my present"], "tags": ["gifts"], "language": "en",
        "status": "published"}


@pytest.fixture
async def app(db_url):
    asgi = create_app(Settings(database_url=db_url))
    async with asgi.ctx.sessionmaker() as db:
        for email, name, role in (("erin@kb.test", "Erin", "editor"), ("ed@kb.test", "Ed", "editor"),
                                  ("alex@kb.test", "Alex", "agent"), ("boss@kb.test", "Boss", "admin")):
            await create_user(db, email=email, display_name=name, role=role, password=PW)
    yield asgi
    await asgi.ctx.engine.dispose()


@pytest.fixture
async def erin(app):
    return await _client(app, "erin@kb.test")


async def _client(app, email: str) -> httpx.AsyncClient:
    async with client(app) as c:
        r = await post_login(c, email, PW)
        assert r.status_code == 303, r.text
        token = r.cookies[COOKIE]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000",
                             cookies={COOKIE: token}, headers=CSRF)


async def _new(c, **over) -> dict:
    r = await c.post("/api/kb/articles", json={**GIFT, **over})
    assert r.status_code == 201, r.text
    return r.json()["article"]


async def _found(app, question: str) -> list[str]:
    return [h.title for h in await app.ctx.kb.search(question, k=3)]


# ---- who may -------------------------------------------------------------------------------------

async def test_only_editors_and_admins_with_the_csrf_header(app):
    anon = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")
    assert (await anon.get("/api/kb/articles")).status_code == 401
    agent = await _client(app, "alex@kb.test")
    assert (await agent.get("/api/kb/articles")).status_code == 403
    assert (await agent.post("/api/kb/articles", json=GIFT)).status_code == 403
    admin = await _client(app, "boss@kb.test")
    assert (await admin.post("/api/kb/articles", json=GIFT)).status_code == 201
    erin = await _client(app, "erin@kb.test")
    erin.headers.pop("X-Requested-With")
    r = await erin.post("/api/kb/articles", json={**GIFT, "title": "Other"})
    assert r.status_code == 403
    async with app.ctx.sessionmaker() as db:
        assert [a.title for a in await db.scalars(select(Article))] == ["Gift wrapping"]


async def test_editors_land_on_the_editor_after_login(app):
    async with client(app) as c:
        r = await post_login(c, "erin@kb.test", PW)
    assert r.status_code == 303 and r.headers["location"] == "/editor/"


# ---- articles, revisions, conflicts --------------------------------------------------------------

async def test_publish_unpublish_delete_restore_reach_the_bot_at_once(app, erin):
    question = "do you offer to wrap gifts"
    a = await _new(erin, status="draft")
    assert "Gift wrapping" not in await _found(app, question), "a draft is not served"
    r = await erin.put(f"/api/kb/articles/{a['id']}", json={**GIFT, "base_revision": a["revision"]})
    assert r.status_code == 200 and r.json()["article"]["revision"] == 2
    assert (await _found(app, question))[0] == "Gift wrapping"
    r = await erin.delete(f"/api/kb/articles/{a['id']}")
    assert r.json()["article"]["deleted_at"] and r.json()["article"]["purge_at"]
    assert "Gift wrapping" not in await _found(app, question)
    listed = (await erin.get("/api/kb/articles")).json()["articles"]
    trash = (await erin.get("/api/kb/articles", params={"trash": 1})).json()["articles"]
    assert [x["title"] for x in listed] == [] and [x["title"] for x in trash] == ["Gift wrapping"]
    assert (await erin.post(f"/api/kb/articles/{a['id']}/restore")).status_code == 200
    assert (await _found(app, question))[0] == "Gift wrapping"
    actions = [r["action"] for r in (await erin.get(f"/api/kb/articles/{a['id']}/revisions")).json()["revisions"]]
    assert actions == ["restored", "deleted", "published", "created"]


async def test_a_save_from_an_old_revision_is_a_conflict_and_overwrites_nothing(app, erin):
    ed = await _client(app, "ed@kb.test")
    a = await _new(erin)
    r = await ed.put(f"/api/kb/articles/{a['id']}", json={**GIFT, "body": "Ed's text", "base_revision": 1})
    assert r.status_code == 200
    r = await erin.put(f"/api/kb/articles/{a['id']}", json={**GIFT, "body": "Erin's text", "base_revision": 1})
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "conflict" and err["current"]["body"] == "Ed's text"
    assert err["current"]["updated_by"]["name"] == "Ed" and err["current"]["revision"] == 2
    stored = (await erin.get(f"/api/kb/articles/{a['id']}")).json()["article"]
    assert stored["body"] == "Ed's text"
    # overwriting deliberately: from the revision the conflict showed
    r = await erin.put(f"/api/kb/articles/{a['id']}", json={**GIFT, "body": "Erin's text", "base_revision": 2})
    assert r.status_code == 200 and r.json()["article"]["body"] == "Erin's text"


async def test_simultaneous_saves_from_the_same_revision_one_wins(app, erin):
    ed = await _client(app, "ed@kb.test")
    a = await _new(erin)
    results = await asyncio.gather(*(
        c.put(f"/api/kb/articles/{a['id']}", json={**GIFT, "body": f"text {i}", "base_revision": 1})
        for i, c in enumerate([erin, ed, erin, ed])))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409, 409, 409]
    revs = (await erin.get(f"/api/kb/articles/{a['id']}/revisions")).json()["revisions"]
    assert [r["number"] for r in revs] == [2, 1]


async def test_history_diff_and_restoring_a_revision(app, erin):
    a = await _new(erin)
    await erin.put(f"/api/kb/articles/{a['id']}", json={
        **GIFT, "body": "We wrap any order for EUR 4.\nChoose it at checkout.", "tags": ["gifts", "wrapping"],
        "base_revision": 1})
    d = (await erin.get(f"/api/kb/articles/{a['id']}/diff", params={"from": 1, "to": 2})).json()
    by_field = {f["field"]: f for f in d["fields"]}
    assert set(by_field) == {"body", "tags"}
    assert by_field["tags"] == {"field": "tags", "added": ["wrapping"], "removed": []}
    assert {"op": "delete", "text": "We wrap any order for EUR 3.50."} in by_field["body"]["lines"]
    assert {"op": "insert", "text": "We wrap any order for EUR 4."} in by_field["body"]["lines"]
    assert {"op": "equal", "text": "Choose it at checkout."} in by_field["body"]["lines"]
    old = (await erin.get(f"/api/kb/articles/{a['id']}/revisions/1")).json()["revision"]
    assert old["body"] == GIFT["body"] and old["editor"]["name"] == "Erin"
    r = await erin.post(f"/api/kb/articles/{a['id']}/revisions/1/restore", json={"base_revision": 1})
    assert r.status_code == 409, "restoring also needs the current revision"
    r = await erin.post(f"/api/kb/articles/{a['id']}/revisions/1/restore", json={"base_revision": 2})
    assert r.status_code == 200 and r.json()["article"]["body"] == GIFT["body"] and r.json()["article"]["revision"] == 3
    revs = (await erin.get(f"/api/kb/articles/{a['id']}/revisions")).json()["revisions"]
    assert revs[0]["action"] == "reverted"


@pytest.mark.parametrize("change, field", [
    ({"title": " "}, "title"), ({"questions": "not a list"}, "questions"), ({"status": "live"}, "status"),
    ({"body": "x" * 100_001}, "body"), ({"tags": [""]}, "tags"), ({"category": None}, "category"),
])
async def test_bad_fields_are_refused_naming_the_field(app, erin, change, field):
    a = await _new(erin)
    r = await erin.put(f"/api/kb/articles/{a['id']}", json={**GIFT, **change, "base_revision": 1})
    assert r.status_code == 422 and r.json()["error"]["field"] == field, r.text
    r = await erin.post("/api/kb/articles", json={**GIFT, "title": "Another", **change})
    assert r.status_code == 422 and r.json()["error"]["field"] == field
    stored = (await erin.get(f"/api/kb/articles/{a['id']}")).json()["article"]
    assert stored["revision"] == 1 and stored["body"] == GIFT["body"]


async def test_titles_are_unique_per_language_including_the_trash(app, erin):
    a = await _new(erin)
    r = await erin.post("/api/kb/articles", json={**GIFT, "title": "GIFT WRAPPING"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_title"
    assert (await erin.post("/api/kb/articles", json={**GIFT, "language": "nl"})).status_code == 201
    await erin.delete(f"/api/kb/articles/{a['id']}")
    r = await erin.post("/api/kb/articles", json=GIFT)
    assert r.status_code == 409 and "trash" in r.json()["error"]["message"]
    assert (await erin.get("/api/kb/articles/999999")).status_code == 404


async def test_the_trash_is_purged_after_30_days(app, erin):
    a = await _new(erin)
    await erin.delete(f"/api/kb/articles/{a['id']}")
    async with app.ctx.sessionmaker() as db:
        now = (await db.get(Article, a["id"])).deleted_at
        assert await articles.purge_trash(db, now + timedelta(days=29)) == 0
        assert await articles.purge_trash(db, now + timedelta(days=30, seconds=1)) == 1
        assert await db.get(Article, a["id"], populate_existing=True) is None


# ---- import and export ---------------------------------------------------------------------------

HOSTILE = {"title": "Quotes, commas | pipes", "body": 'Line one, "quoted"\n\nLine three; ünïcödé — Ελληνικά',
           "category": "Edge, cases", "questions": ["a, b?", "c \"d\""], "tags": ["x", "y z"], "language": "en",
           "status": "draft"}
# Cells a spreadsheet would run as formulas (CSV injection), and one already starting with an apostrophe.
FORMULAS = {"title": '=HYPERLINK("http://evil.example","Click")', "body": "- wrap it\n- tie it",
            "category": "@SUM(1+1)", "questions": ["+1 what?", "plain"], "tags": ["'=quoted"], "language": "en",
            "status": "published"}


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
async def test_export_then_import_gives_the_same_knowledge_base(app, erin, fmt, tmp_path):
    await _new(erin)
    await _new(erin, **HOSTILE)
    await _new(erin, **FORMULAS)
    exported = await erin.get("/api/kb/export", params={"format": fmt})
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    before = (await erin.get("/api/kb/export", params={"format": "json"})).json()
    # into an empty knowledge base of another shop
    other = create_app(Settings(database_url=app.ctx.settings.database_url))
    async with other.ctx.sessionmaker() as db:
        for a in await db.scalars(select(Article)):
            await db.delete(a)
        await db.commit()
    r = await erin.post("/api/kb/import", params={"format": fmt, "mode": "replace", "dry_run": 0},
                        content=exported.content)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["added"]) == sorted(a["title"] for a in before)
    after = (await erin.get("/api/kb/export", params={"format": "json"})).json()
    assert after == before
    await other.ctx.engine.dispose()


async def test_csv_export_neutralises_formulas(app, erin):
    await _new(erin, **FORMULAS)
    await _new(erin, title="Minus", body="Plain.", category="-1")
    rows = list(csv.reader(io.StringIO((await erin.get("/api/kb/export", params={"format": "csv"})).text)))
    cells = [cell for row in rows[1:] for cell in row]
    assert '\'=HYPERLINK("http://evil.example","Click")' in cells and "'@SUM(1+1)" in cells
    assert "'- wrap it\n- tie it" in cells and "'+1 what?|plain" in cells and "''=quoted" in cells
    assert "'-1" in cells
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]


async def test_dry_run_shows_the_plan_and_writes_nothing(app, erin):
    keep = await _new(erin)
    await _new(erin, title="Old article")
    incoming = [{**GIFT, "body": "New price: EUR 4."}, {**HOSTILE, "status": "published"}]
    body = json.dumps(incoming).encode()
    r = await erin.post("/api/kb/import", params={"format": "json", "mode": "replace"}, content=body)
    plan = r.json()
    assert plan["dry_run"] is True
    assert plan["added"] == [HOSTILE["title"]] and plan["removed"] == ["Old article"]
    assert plan["changed"] == [{"title": "Gift wrapping", "fields": ["body"]}] and plan["unchanged"] == 0
    assert (await erin.get(f"/api/kb/articles/{keep['id']}")).json()["article"]["revision"] == 1
    assert len((await erin.get("/api/kb/articles")).json()["articles"]) == 2
    merged = (await erin.post("/api/kb/import", params={"format": "json", "mode": "merge", "dry_run": 0},
                              content=body)).json()
    assert merged["removed"] == [] and merged["dry_run"] is False
    titles = sorted(a["title"] for a in (await erin.get("/api/kb/articles")).json()["articles"])
    assert titles == sorted(["Gift wrapping", "Old article", HOSTILE["title"]])
    revs = (await erin.get(f"/api/kb/articles/{keep['id']}/revisions")).json()["revisions"]
    assert revs[0]["action"] == "imported" and revs[0]["editor"]["name"] == "Erin"


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


@pytest.mark.parametrize("fmt, raw, expected", [
    ("csv", _csv([["title", "body", "category"], ["A", "b", "c"], ["", "b", "c"]]), "line 3: field 'title' is empty"),
    ("csv", _csv([["title", "body", "category"], ["A", "multi\nline\nbody", "c"], ["B", "b", "c", "extra"]]),
     "line 5: 4 values for 3 columns"),
    ("csv", _csv([["title", "body", "colour"], ["A", "b", "c"]]), "line 1: unknown column 'colour'"),
    ("csv", _csv([["title", "body", "category", "status"], ["A", "b", "c", "live"]]), "line 2 ('A'): field 'status'"),
    ("json", b'[\n{"title": "A",\n "body": }\n]', "line 3: not valid JSON"),
    ("json", json.dumps([GIFT, {**GIFT, "title": "B", "tags": "x"}]).encode(), "article 2 ('B'): field 'tags'"),
    ("yaml", b"- title: A\n  body: [unclosed\n", "line 3: not valid YAML"),
    ("csv", b"\xff\xfe", "not UTF-8"),
    # Hostile shapes: refused with a clear error, not an HTTP 500 or minutes of work
    ("json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ("yaml", b"[" * 10_000 + b"]" * 10_000, "exceeded maximum nesting depth"),
    ("yaml", b"- " * 10_000 + b"x", "line 1: the file is nested too deeply (more than 20 levels)"),
    ("yaml", b"[" + b"1," * 1_000_001 + b"1]", "more than 1,000,000 values"),
    ("json", b"[" + b"{}," * 50_000 + b"{}]", "the file holds 50,001 articles; at most 50,000"),
    ("json", json.dumps([{**GIFT, "questions": ["q"] * 201}]).encode(), "field 'questions' has more than 200 items"),
])
async def test_an_invalid_file_names_the_line_or_article_and_field(app, erin, fmt, raw, expected):
    await _new(erin)
    r = await erin.post("/api/kb/import", params={"format": fmt, "mode": "replace", "dry_run": 0}, content=raw)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_file" and expected in r.json()["error"]["message"]
    assert [a["title"] for a in (await erin.get("/api/kb/articles")).json()["articles"]] == ["Gift wrapping"]


async def test_other_requests_are_served_while_a_large_import_parses(app, erin):
    """A 13 MB YAML dry run takes seconds to parse; /health must keep answering meanwhile (parsed on
    the event loop, every request waited for the whole parse)."""
    items = [{**GIFT, "title": f"Article {i}", "body": "Wrapped in recycled paper, tied with string. " * 40,
              "questions": [f"can you wrap present number {i} {j}" for j in range(8)]} for i in range(6000)]
    raw = yaml.dump(items, Dumper=yaml.CSafeDumper, width=100).encode()
    assert len(raw) > 13_000_000
    start = asyncio.get_running_loop().time()
    upload = asyncio.create_task(erin.post("/api/kb/import", params={"format": "yaml"}, content=raw))
    slowest = 0.0
    await asyncio.sleep(0.05)
    while not upload.done():
        t0 = asyncio.get_running_loop().time()
        assert (await erin.get("/health")).status_code == 200
        slowest = max(slowest, asyncio.get_running_loop().time() - t0)
        await asyncio.sleep(0.02)
    took = asyncio.get_running_loop().time() - start
    r = upload.result()
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["added"]) == 6000
    assert took > 1.5  # the test means something: the import is slow
    assert slowest < max(0.5, took / 4), (slowest, took)


async def test_yaml_export_is_the_import_format(app, erin):
    await _new(erin)
    data = yaml.safe_load((await erin.get("/api/kb/export", params={"format": "yaml"})).text)
    assert data == [GIFT]


# ---- canned responses, try the bot, audit --------------------------------------------------------

async def test_canned_responses_crud_with_checks(app, erin):
    r = await erin.post("/api/kb/canned", json={"shortcut": "#Wrap", "title": "Gift wrap", "category": "Orders",
                                               "text": "Hi {visitor_name}, we can wrap it."})
    assert r.status_code == 201 and r.json()["canned"]["shortcut"] == "wrap"
    cid = r.json()["canned"]["id"]
    r = await erin.post("/api/kb/canned", json={"shortcut": "wrap", "title": "x", "category": "x", "text": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_shortcut"
    r = await erin.put(f"/api/kb/canned/{cid}", json={"shortcut": "wrap", "title": "Gift wrap", "category": "Orders",
                                                     "text": "Hi {customer}"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "text" and "{customer}" in r.json()["error"]["message"]
    r = await erin.put(f"/api/kb/canned/{cid}", json={"shortcut": "bad shortcut", "title": "t", "category": "c",
                                                     "text": "t"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "shortcut"
    r = await erin.put(f"/api/kb/canned/{cid}", json={"shortcut": "wrap", "title": "Gift wrap", "category": "Orders",
                                                     "text": "Sure, {agent_name} here."})
    assert r.json()["canned"]["text"] == "Sure, {agent_name} here."
    assert (await erin.delete(f"/api/kb/canned/{cid}")).json() == {"deleted": cid}
    assert (await erin.get("/api/kb/canned")).json()["canned"] == []
    audit = (await erin.get("/api/kb/audit")).json()["entries"]
    assert [(e["action"], e["entity"], e["user"]["name"]) for e in audit][:3] == [
        ("deleted", "canned", "Erin"), ("updated", "canned", "Erin"), ("created", "canned", "Erin")]


async def test_try_the_bot_uses_the_bots_own_answer(app, erin):
    from bot.brain import answer_question

    await _new(erin)
    await _new(erin, title="Delivery times", body="Orders arrive in 2-4 working days.",
               questions=["when will my order arrive"], tags=["delivery"], category="Shipping")
    for text in ("could you wrap my order as a present", "asdfgh qwerty"):
        r = (await erin.post("/api/kb/try", json={"text": text})).json()
        expected = await answer_question(app.ctx.kb, text)
        assert r["reply"]["text"] == expected.text and r["fallback"] == expected.fallback
        assert r["answer"] == expected.kb
        assert r["hits"] and r["threshold"] > 0
        d = r["decision"]
        assert d["answers"] == (not expected.fallback) and (d["effective"] >= d["threshold"]) == d["answers"]
    wrapped = (await erin.post("/api/kb/try", json={"text": "could you wrap my order as a present"})).json()
    assert wrapped["answered"] and wrapped["answer"]["title"] == "Gift wrapping"
    assert (await erin.post("/api/kb/try", json={"text": ""})).status_code == 422


async def test_every_article_change_is_audited(app, erin):
    a = await _new(erin)
    await erin.put(f"/api/kb/articles/{a['id']}", json={**GIFT, "status": "draft", "base_revision": 1})
    await erin.delete(f"/api/kb/articles/{a['id']}")
    entries = (await erin.get("/api/kb/audit")).json()["entries"]
    assert [(e["action"], e["entity_id"]) for e in entries] == [
        ("deleted", a["id"]), ("unpublished", a["id"]), ("created", a["id"])]
    assert all(e["user"]["name"] == "Erin" and e["at"] for e in entries)


async def test_text_that_cannot_be_stored_is_refused_naming_the_field(app, erin):
    """A lone surrogate ("\\ud800" is valid JSON, not a character) or a NUL: a 422 naming the field,
    not an HTTP 500 from the database; nothing stored."""
    def body(payload) -> dict:  # ensure_ascii: the surrogate travels as the JSON escape \ud800
        return {"content": json.dumps(payload).encode(), "headers": {"Content-Type": "application/json"}}

    for payload, field in (({**GIFT, "title": "Gift \ud800"}, "title"), ({**GIFT, "questions": ["ok", "\udfff"]}, "questions"),
                           ({**GIFT, "body": "a\x00b"}, "body")):
        r = await erin.post("/api/kb/articles", **body(payload))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "bad_text" and r.json()["error"]["field"] == field
    r = await erin.post("/api/kb/try", **body({"text": "\ud800 can you wrap my present"}))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "bad_text")
    r = await erin.post("/api/kb/canned", **body({"shortcut": "x", "title": "\ud800", "text": "t"}))
    assert (r.status_code, r.json()["error"]["code"]) == (422, "bad_text")
    r = await erin.post("/api/kb/articles", **body(None) | {"content": b'{"a":' * 20_000 + b"1" + b"}" * 20_000})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_json")
    raw = json.dumps([{**GIFT, "title": "Fine"}, {**GIFT, "tags": ["\ud800"]}]).encode()
    r = await erin.post("/api/kb/import", params={"format": "json", "dry_run": 0}, content=raw)
    assert r.status_code == 422 and "article 2 ('Gift wrapping'): field 'tags' item 1 holds a NUL character or a " \
                                      "lone surrogate" in r.json()["error"]["message"]
    assert (await erin.get("/api/kb/articles")).json()["articles"] == []
