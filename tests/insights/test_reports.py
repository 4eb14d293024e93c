"""Reports (docs/reports.md) on a seeded shop day: conversations driven through the real protocol with
a clock the script moves (tests/insights/scenario.py), then every figure of every section checked
against numbers worked out by hand below; who may read what; CSV files. SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import timedelta

import pytest

from insights import rollups
from tests.handoff.test_agent_socket import Staff
from tests.insights.scenario import NOON, QUIET, InProcessApp, Shop, use_clock

WEEK = {"period": "custom", "from": "2026-11-19", "to": "2026-11-25"}  # Thu 19 .. Wed 25 November
FIRST_FALLBACK = "=zorblax quux"  # a formula if a spreadsheet ran it
BROWSER_1, BROWSER_3 = "browser-of-visitor-1", "browser-of-visitor-3"
ARTICLES = [
    {"title": "Delivery times", "body": "Orders placed before 17:00 ship the same day; delivery takes 2-3 working days.",
     "category": "Shipping", "questions": ["How long does delivery take?", "When will my order arrive?"],
     "tags": ["delivery"]},
    {"title": "Returning an item", "body": "Send the item back within 30 days with the return label in the parcel.",
     "category": "Returns", "questions": ["How do I return an item?", "Can I send something back?"],
     "tags": ["returns"]},
]


def load_articles(url: str) -> None:
    """The knowledge base the bot answers from: two articles of its own (the figures do not move
    when the demo content does)."""
    from app.cli import _with_db
    from knowledge_base.importer import parse_bytes
    from knowledge_base.transfer import import_articles

    items = parse_bytes(json.dumps(ARTICLES).encode(), "json")
    asyncio.run(_with_db(url, lambda db: import_articles(db, items, replace=False)))


@pytest.fixture
def demo_db(db_url) -> str:
    load_articles(db_url)
    return db_url


@pytest.fixture
async def shop(demo_db, monkeypatch):
    db_url = demo_db
    monkeypatch.setattr(rollups, "CHUNK", 3)  # the rollup's refresh goes through several chunks
    clock = use_clock(monkeypatch, NOON - timedelta(days=8))
    staff = Staff(db_url)
    async with InProcessApp(db_url) as live:
        s = Shop(live, clock, staff)
        await staff.settings(**QUIET)
        yield s
        await s.close()
    await staff.close()


async def play(shop: Shop) -> dict:
    """The scenario. Times are Athens time (UTC+2); hand-worked figures are in the test."""
    clock, cast = shop.clock, {}
    ann = await shop.agent("Ann", priority=1)  # gets every offer first ("priorities")
    ben = await shop.agent("Ben", priority=2)
    cast.update(ann=ann, ben=ben)

    # Tue 17 Nov, eight days before: outside the week.
    old = await shop.visitor("/")
    await shop.ask(old, "Which payment methods do you accept?")
    # Tue 24 Nov 09:00 - C1: answered, "Yes", ended by the visitor: contained.
    clock.set(NOON - timedelta(hours=27))
    c1 = await shop.visitor("/shipping", visitor_id=BROWSER_1)
    cast["delivery"] = (await shop.ask(c1, "How long does delivery take?"))["kb"]["title"]
    await shop.ask(c1, "/affirm", display="Yes")
    assert (await c1.call("end_chat"))["ok"]
    clock.advance(minutes=10)  # the visitor orders: a chat with the bot alone
    await order(shop, "A-1", "49.90", BROWSER_1)
    # Wed 25 Nov 12:00 - C2 (started on /returns): answered, then "No": not contained.
    clock.set(NOON)
    c2 = await shop.visitor("/returns")
    cast["returns"] = (await shop.ask(c2, "how do I return an item"))["kb"]["title"]
    await shop.ask(c2, "no")
    # A visitor who only opened the chat: no message, not a conversation.
    await shop.visitor("/")
    for a in (ann, ben):
        await a.online()
    # 12:05 - C3: "not sure", then a person: queued 20 s, Ann answers 10 s later, closes at 130 s, 5 stars.
    clock.set(NOON + timedelta(minutes=5))
    c3 = await shop.visitor("/", visitor_id=BROWSER_3)
    assert (await shop.ask(c3, "frobnicate the wibble")).get("fallback")
    await shop.ask_for_person(c3, "queued")
    offer = await shop.offer(ann, c3)
    clock.advance(seconds=20)
    assert (await ann.call("accept", {"offer_id": offer["offer_id"]}))["ok"]
    clock.advance(seconds=10)
    assert (await ann.call("send", {"conversation_id": c3.conversation_id, "text": "Hi, Ann here"}))["ok"]
    clock.advance(seconds=120)
    assert (await ann.call("close", {"conversation_id": c3.conversation_id}))["ok"]
    await c3.wait_for("handoff", pred=lambda h: h.get("state") == "closed")
    assert (await c3.call("rate", {"stars": 5}))["ok"]
    await order(shop, "A-2", "120", BROWSER_3)  # served by Ann
    await order(shop, "A-3", "10.00", None)  # nobody we know
    # 12:20 - C4: rings at Ann for 30 s unanswered (missed), Ben takes it at 40 s, answers 30 s later,
    # closes 60 s after that; the visitor rates it only the next day.
    clock.set(NOON + timedelta(minutes=20))
    c4 = await shop.visitor("/")
    await shop.ask_for_person(c4, "queued")
    await shop.offer(ann, c4)
    clock.advance(seconds=31)
    await shop.until_missed(ann, c4)
    offer = await shop.offer(ben, c4)
    clock.advance(seconds=9)
    assert (await ben.call("accept", {"offer_id": offer["offer_id"]}))["ok"]
    clock.advance(seconds=30)
    assert (await ben.call("send", {"conversation_id": c4.conversation_id, "text": "Ben here"}))["ok"]
    clock.advance(seconds=60)
    assert (await ben.call("close", {"conversation_id": c4.conversation_id}))["ok"]
    await c4.wait_for("handoff", pred=lambda h: h.get("state") == "closed")
    cast["late_rater"] = c4
    # 13:00 - C5: queued, leaves the queue after 15 s (abandoned).
    clock.set(NOON + timedelta(hours=1))
    c5 = await shop.visitor("/")
    await shop.ask_for_person(c5, "queued")
    await shop.offer(ann, c5)
    clock.advance(seconds=15)
    assert (await c5.call("leave_queue"))["ok"]
    # 14:00 - C6 (Greek): nobody online; two "not sure" in a row hand over by themselves (bot_failed) to the
    # offline form; a message left, answered by the admin two hours later.
    for a in (ann, ben):
        await a.call("heartbeat", {"status": "away"})
    clock.set(NOON + timedelta(hours=2))
    c6 = await shop.visitor("/", customData={"language": "el"})  # a Greek visitor (words of no language)
    assert (await shop.ask(c6, FIRST_FALLBACK)).get("fallback")
    await c6.say("florp gnarf")
    await c6.wait_for("handoff", pred=lambda h: h.get("state") == "offline")
    ticket = await c6.call("offline_message", {"name": "Vic", "email": "vic@example.com", "message": "Call me"})
    assert ticket["ok"], ticket
    clock.advance(hours=2)
    admin = await shop.agent("Ada", "admin")
    async with shop.http(admin.token) as http:
        assert (await http.post(f"/api/console/tickets/{ticket['ticket_id']}/reply", json={"text": "Done"})).status_code == 200
    cast["admin"] = admin
    return cast


async def order(shop: Shop, order_id: str, value: str, visitor_id: str | None) -> None:
    """The shop's thank-you page reports an order through the loader (insights/conversions_api.py)."""
    async with shop.http(None) as http:
        r = await http.post("/api/conversions/widget", json={"order_id": order_id, "value": value, "currency": "EUR",
                                                            "visitor_id": visitor_id})
    assert r.status_code == 201, r.text


async def get(shop: Shop, token: str, path: str, **params) -> dict:
    async with shop.http(token) as http:
        r = await http.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def agent_row(body: dict, agent_id: int) -> dict:
    return next(r for r in body["agents"] if r["agent_id"] == agent_id)


async def test_every_figure_of_a_seeded_day_matches_the_hand_count(shop):
    cast = await play(shop)
    admin, ann, ben = cast["admin"].token, cast["ann"], cast["ben"]

    bot = await get(shop, admin, "/api/reports/bot", **WEEK)
    assert bot["period"] == {"from": "2026-11-19", "to": "2026-11-25", "time_zone": "Europe/Athens", "step": "day"}
    # C1..C6 (the old one and the silent one do not count); handed to people: C3, C4, C5, C6;
    # contained: C1 alone (C2 said "No").
    assert {k: bot[k] for k in ("conversations", "contained", "containment", "handoffs", "handoff_rate")} == {
        "conversations": 6, "contained": 1, "containment": round(1 / 6, 4), "handoffs": 4,
        "handoff_rate": round(4 / 6, 4)}
    # Questions: delivery (C1), returns (C2), frobnicate (C3), zorblax and florp (C6); "Yes"/"No" and
    # "talk to a person" are not questions. Answered 2, not sure 3.
    assert {k: bot[k] for k in ("questions", "answered", "answered_rate", "not_sure", "not_sure_rate", "helped_yes",
                                "helped_no", "helped_rate")} == {
        "questions": 5, "answered": 2, "answered_rate": 0.4, "not_sure": 3, "not_sure_rate": 0.6,
        "helped_yes": 1, "helped_no": 1, "helped_rate": 0.5}
    assert sorted((a["title"], a["served"], a["helped_yes"], a["helped_no"]) for a in bot["top_articles"]) == sorted(
        [(cast["delivery"], 1, 1, 0), (cast["returns"], 1, 0, 1)])
    # Gaps: the "No" (returns), and the three "not sure"; same counts, so in the order of their words.
    assert bot["top_unanswered"] == [{"question": q, "asked": 1} for q in (
        FIRST_FALLBACK, "florp gnarf", "frobnicate the wibble", "how do I return an item")]

    queue = await get(shop, admin, "/api/reports/queue", **WEEK)
    assert queue["handoff_reasons"] == [{"reason": "visitor_asked", "handoffs": 3}, {"reason": "bot_failed", "handoffs": 1}]
    # Queued C3, C4, C5; waits 20 s and 40 s (nearest rank: median the 1st of 2, p90 the 2nd).
    assert {k: v for k, v in queue.items() if k not in ("period", "filters", "handoff_reasons", "wait_distribution")} == {
        "queued": 3, "answered_from_queue": 2, "abandoned": 1, "abandoned_rate": round(1 / 3, 4), "queue_timed_out": 0,
        "wait_median_s": 20.0, "wait_p90_s": 40.0, "missed_offers": 1, "offline_messages": 1, "offline_replied": 1,
        "offline_reply_median_s": 7200.0, "offline_reply_p90_s": 7200.0}
    assert [b["chats"] for b in queue["wait_distribution"]] == [1, 1, 0, 0, 0, 0]

    agents = await get(shop, admin, "/api/reports/agents", **WEEK)
    assert agent_row(agents, ann.user_id) == {
        "agent_id": ann.user_id, "name": "Ann", "chats": 1, "first_response_median_s": 10.0,
        "first_response_p90_s": 10.0, "handling_median_s": 130.0, "ratings": 1, "csat": 1.0,
        "stars": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}, "missed_offers": 1}
    assert agent_row(agents, ben.user_id) == {
        "agent_id": ben.user_id, "name": "Ben", "chats": 1, "first_response_median_s": 30.0,
        "first_response_p90_s": 30.0, "handling_median_s": 90.0, "ratings": 0, "csat": None,
        "stars": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}, "missed_offers": 0}
    assert [(p["agent_id"], p["at"], p["chats"], p["ratings"]) for p in agents["series"]] == [
        (ann.user_id, "2026-11-25", 1, 1), (ben.user_id, "2026-11-25", 1, 0)]

    activity = await get(shop, admin, "/api/reports/activity", **WEEK)
    assert [p["at"] for p in activity["series"]][0] == "2026-11-19" and len(activity["series"]) == 7
    by_day = {p["at"]: (p["conversations"], p["handoffs"], p["contained"]) for p in activity["series"]}
    assert by_day["2026-11-24"] == (1, 0, 1) and by_day["2026-11-25"] == (5, 4, 0)
    assert sum(map(sum, activity["heatmap"]["counts"])) == 6
    heat = activity["heatmap"]["counts"]
    assert (heat[1][9], heat[2][12], heat[2][13], heat[2][14]) == (1, 3, 1, 1)  # Tue 09h; Wed 12h, 13h, 14h

    # Today (Wed, Athens), by the hour.
    today = await get(shop, admin, "/api/reports/activity", period="today")
    assert today["period"]["step"] == "hour" and len(today["series"]) == 24
    assert {p["at"][11:13]: p["conversations"] for p in today["series"] if p["conversations"]} == {
        "12": 3, "13": 1, "14": 1}

    # Conversions: A-1 after C1 (bot alone), A-2 after C3 (Ann), A-3 from nobody known. Conversations
    # with a person: C3, C4; with the bot alone: C1, C2, C5, C6.
    sales = await get(shop, admin, "/api/reports/conversions", **WEEK)
    assert sales["by_kind"] == [
        {"kind": "bot", "orders": 1, "revenue": [{"currency": "EUR", "value": 49.9}], "conversations": 4,
         "conversion_rate": 0.25},
        {"kind": "agent", "orders": 1, "revenue": [{"currency": "EUR", "value": 120.0}], "conversations": 2,
         "conversion_rate": 0.5},
        {"kind": "none", "orders": 1, "revenue": [{"currency": "EUR", "value": 10.0}], "conversations": None,
         "conversion_rate": None}]
    by_agent = {r["agent_id"]: r for r in sales["by_agent"]}
    assert by_agent[ann.user_id] == {"agent_id": ann.user_id, "name": "Ann", "chats": 1, "orders": 1,
                                     "revenue": [{"currency": "EUR", "value": 120.0}], "conversion_rate": 1.0}
    assert (by_agent[ben.user_id]["orders"], by_agent[ben.user_id]["conversion_rate"]) == (0, 0.0)

    # Filters.
    greek = await get(shop, admin, "/api/reports/bot", **WEEK, language="el")
    assert (greek["conversations"], greek["handoffs"], greek["questions"], greek["not_sure"]) == (1, 1, 2, 2)
    returns = await get(shop, admin, "/api/reports/bot", **WEEK, page="https://shop.test/returns")
    assert returns["conversations"] == 1 and returns["top_articles"][0]["title"] == cast["returns"]
    anns = await get(shop, admin, "/api/reports/queue", **WEEK, agent=ann.user_id)
    assert (anns["queued"], anns["wait_median_s"], anns["missed_offers"]) == (1, 20.0, 0)
    failed = await get(shop, admin, "/api/reports/bot", **WEEK, reason="bot_failed")
    assert (failed["conversations"], failed["not_sure"]) == (1, 2)
    # An empty period: zeros, and no rate or median made up.
    empty = await get(shop, admin, "/api/reports/bot", period="custom", **{"from": "2026-10-01", "to": "2026-10-07"})
    assert (empty["conversations"], empty["containment"], empty["helped_rate"], empty["top_articles"]) == (0, None, None, [])

    # The late event: C4 rated a day later (2 stars) counts for Ben on the 25th at once.
    shop.clock.advance(days=1)
    assert (await cast["late_rater"].call("rate", {"stars": 2}))["ok"]
    agents = await get(shop, admin, "/api/reports/agents", **WEEK)
    ben_row = agent_row(agents, ben.user_id)
    assert (ben_row["ratings"], ben_row["csat"], ben_row["stars"]["2"]) == (1, 0.0, 1)

    # CSV: the same table, a formula-looking question quoted for spreadsheets.
    async with shop.http(admin) as http:
        r = await http.get("/api/reports/bot/top_unanswered.csv", params=WEEK)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "report-bot-top_unanswered-2026-11-19-2026-11-25.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["question", "asked"] and rows[1] == ["'" + FIRST_FALLBACK, "1"]
    async with shop.http(admin) as http:
        r = await http.get("/api/reports/agents/agents.csv", params=WEEK)
    rows = {row[0]: row for row in csv.reader(io.StringIO(r.text))}
    assert rows[str(ben.user_id)][1:8] == ["Ben", "1", "30.0", "30.0", "90.0", "1", "0.0"]

    # Who may read what.
    ann_token = ann.token
    own = await get(shop, ann_token, "/api/reports/agents", **WEEK)
    assert [r["agent_id"] for r in own["agents"]] == [ann.user_id] and own["filters"]["agent"] == ann.user_id
    mine = await get(shop, ann_token, "/api/reports/activity", **WEEK)
    assert sum(p["conversations"] for p in mine["series"]) == 1  # C3, her one chat
    options = await get(shop, ann_token, "/api/reports/options")
    assert options["agents"] == [{"id": ann.user_id, "name": "Ann"}]
    assert options["sections"] == ["agents", "activity", "conversions", "invitations"]
    her_sales = await get(shop, ann_token, "/api/reports/conversions", **WEEK)
    assert [r["agent_id"] for r in her_sales["by_agent"]] == [ann.user_id]
    assert [k["orders"] for k in her_sales["by_kind"]] == [0, 1, 0]
    _, editor_token = await shop.user("Eve", "editor")
    async with shop.http(ann_token) as http:
        assert (await http.get("/api/reports/agents", params={**WEEK, "agent": ben.user_id})).status_code == 403
        assert (await http.get("/api/reports/agents/agents.csv", params={**WEEK, "agent": ben.user_id})).status_code == 403
        for section in ("bot", "queue"):
            assert (await http.get(f"/api/reports/{section}", params=WEEK)).json()["error"]["code"] == "forbidden"
            assert (await http.get(f"/api/reports/{section}/summary.csv", params=WEEK)).status_code == 403
    async with shop.http(editor_token) as http:
        for path in ("/api/reports/options", "/api/reports/bot", "/api/reports/agents", "/api/reports/activity",
                     "/api/reports/agents/agents.csv"):
            assert (await http.get(path)).status_code == 403
    async with shop.http(None) as http:
        assert (await http.get("/api/reports/agents")).status_code == 401


async def test_bad_periods_and_filters_are_refused_with_the_field(shop):
    _, token = await shop.user("Root", "admin")
    async with shop.http(token) as http:
        for params, field in (({"period": "week"}, "period"),
                              ({"period": "custom", "from": "2026-11-30", "to": "2026-11-01"}, "from"),
                              ({"period": "custom", "from": "yesterday", "to": "2026-11-01"}, "from"),
                              ({"period": "custom", "from": "2020-01-01", "to": "2026-11-01"}, "to"),
                              ({"agent": "x"}, "agent"), ({"language": "x" * 17}, "language")):
            r = await http.get("/api/reports/bot", params=params)
            assert r.status_code == 422 and r.json()["error"]["field"] == field, (params, r.text)
        assert (await http.get("/api/reports/sales")).status_code == 404
        assert (await http.get("/api/reports/bot/nothing.csv")).status_code == 404
