"""The Reports page's invitations (docs/reports.md, "Invitations") on a seeded week: invitations by
rule and by agent driven through the loader's beats and the console's invite, with a clock the script
moves (tests/insights/scenario.py), then every figure checked against counts worked out by hand
below; an invitation shown before the period whose acceptance falls in it, one shown on the last
evening and accepted after the period, a rule deleted afterwards; who may read what; CSV files.
SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from tests.handoff.test_agent_socket import Staff
from tests.insights.scenario import NOON, QUIET, InProcessApp, Shop, use_clock

WEEK = {"period": "custom", "from": "2026-11-19", "to": "2026-11-25"}  # Thu 19 .. Wed 25 November, Athens
CHECKOUT = "=Checkout help"  # a formula if a spreadsheet ran it


def athens(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 moment in Athens time (UTC+2 all winter), as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc) - timedelta(hours=2)


@pytest.fixture
async def shop(db_url, monkeypatch):
    clock = use_clock(monkeypatch, NOON - timedelta(days=9))
    staff = Staff(db_url)
    async with InProcessApp(db_url) as live:
        s = Shop(live, clock, staff)
        await staff.settings(**QUIET)
        yield s
        await s.close()
    await staff.close()


class Loader:
    """One browser's loader.js, as far as the beats go (docs/engage.md)."""

    def __init__(self, shop: Shop, name: str):
        self.shop, self.vid = shop, f"invited-browser-{name}"

    async def beat(self, **fields) -> dict:
        async with self.shop.http(None) as http:
            r = await http.post("/engage/beat", json={"v": self.vid, **fields})
        assert r.status_code == 200, r.text
        return r.json()

    async def visit(self, path: str) -> dict | None:
        """A page view; the invitation it pops, if any."""
        return (await self.beat(e="pv", u="https://shop.test" + path, n=1)).get("inv")

    async def event(self, inv: dict, kind: str) -> None:
        await self.beat(e=kind, k=inv["k"], **({"i": inv["i"]} if "i" in inv else {}))


async def agent_invites(shop: Shop, token: str, loader: Loader) -> dict:
    """An agent invites the visitor from the console; it pops at the visitor's next beat."""
    async with shop.http(token) as http:
        rows = (await http.get("/api/console/visitors")).json()["visitors"]
        ref = next(r["ref"] for r in rows if (r.get("page_url") or "").endswith("/agent-page") and r["ref"] not in agent_invites.done)
        r = await http.post(f"/api/console/visitors/{ref}/invite", json={"message": "Can I help?"})
    assert r.status_code == 200, r.text
    agent_invites.done.add(ref)
    return (await loader.beat(e="hb", u="https://shop.test/agent-page"))["inv"]


agent_invites.done = set()


async def play(shop: Shop) -> dict:
    """The week. Times are Athens time; the counts are worked out in the test."""
    clock, cast = shop.clock, {}
    agent_invites.done.clear()
    ada = await shop.user("Ada", "admin")
    ann, ben = await shop.user("Ann"), await shop.user("Ben")
    cast.update(ada=ada, ann=ann, ben=ben)
    async with shop.http(ada[1]) as http:
        for name, pattern in ((CHECKOUT, "/checkout*"), ("Returns page", "/returns*"), ("Never fires", "/nowhere")):
            r = await http.post("/api/engage/rules", json={"name": name, "url_pattern": pattern, "when": "always",
                                                           "messages": {"en": "Need help?"}})
            assert r.status_code == 201, r.text
            cast[name] = r.json()["id"]

    async def by_rule(name: str, path: str, at: datetime, *then: tuple[str, timedelta]) -> None:
        clock.set(at)
        inv = await Loader(shop, name).visit(path)
        assert inv and inv["i"] == cast[CHECKOUT if path.startswith("/checkout") else "Returns page"], inv
        await Loader(shop, name).event(inv, "shown")
        for kind, later in then:
            clock.set(at + later)
            await Loader(shop, name).event(inv, kind)

    minute = timedelta(minutes=1)
    # v0, Tue 17 Nov: before the week.
    await by_rule("v0", "/checkout", athens(17, 10), ("accepted", minute), ("chat_started", 2 * minute))
    # v7, Wed 18 Nov 23:59: shown the evening before the week, accepted two minutes later, on Thu 19.
    await by_rule("v7", "/checkout", athens(18, 23, 59), ("accepted", 2 * minute))
    # v1, Tue 24 Nov 00:30 Athens (still Mon 23 in UTC): accepted, a chat started.
    await by_rule("v1", "/checkout", athens(24, 0, 30), ("accepted", minute), ("chat_started", 10 * minute))
    # v2, Wed 25 12:00: dismissed.
    await by_rule("v2", "/checkout/cart", athens(25, 12), ("dismissed", minute))
    # v3, Wed 25 12:10 by "Returns page": accepted, chat started. v4, 12:20: only shown.
    await by_rule("v3", "/returns", athens(25, 12, 10), ("accepted", minute), ("chat_started", 3 * minute))
    await by_rule("v4", "/returns", athens(25, 12, 20))
    # v5, Wed 25 13:00: Ann invites; accepted, chat started. v6, 13:10: Ben invites; dismissed.
    for name, (_, token), at, kinds in (("v5", ann, athens(25, 13), ("accepted", "chat_started")),
                                        ("v6", ben, athens(25, 13, 10), ("dismissed",))):
        clock.set(at)
        loader = Loader(shop, name)
        assert await loader.visit("/agent-page") is None
        inv = await agent_invites(shop, token, loader)
        await loader.event(inv, "shown")
        for kind in kinds:
            clock.advance(minutes=1)
            await loader.event(inv, kind)
    # v8, Wed 25 23:58: shown on the week's last evening, accepted after it (Thu 26, 00:02).
    await by_rule("v8", "/checkout", athens(25, 23, 58), ("accepted", 4 * minute))
    # The "Returns page" rule is deleted afterwards: its invitations stay, as a deleted rule.
    async with shop.http(ada[1]) as http:
        assert (await http.delete(f"/api/engage/rules/{cast['Returns page']}")).status_code == 200
    return cast


async def get(shop: Shop, token: str, **params) -> dict:
    async with shop.http(token) as http:
        r = await http.get("/api/reports/invitations", params=params)
    assert r.status_code == 200, r.text
    return r.json()


FIGURES = ("shown", "accepted", "dismissed", "chats_started", "acceptance_rate", "chat_rate")


def figures(row: dict) -> tuple:
    return tuple(row[k] for k in FIGURES)


async def test_invitation_figures_of_a_seeded_week_match_the_hand_count(shop):
    cast = await play(shop)
    (ann_id, ann), (ben_id, ben), admin = cast["ann"], cast["ben"], cast["ada"][1]

    week = await get(shop, admin, **WEEK)
    assert week["period"] == {"from": "2026-11-19", "to": "2026-11-25", "time_zone": "Europe/Athens", "step": "day"}
    # Shown in the week: v1, v2, v8 (checkout), v3, v4 (returns), v5 (Ann), v6 (Ben) = 7; not v0 (17th)
    # nor v7 (shown on the 18th, though accepted on the 19th). Accepted: v1, v8 (after the week, but
    # shown in it), v3, v5 = 4. Dismissed: v2, v6. Chats started: v1, v3, v5.
    assert figures(week) == (7, 4, 2, 3, round(4 / 7, 4), round(3 / 7, 4))
    assert [(r["source"], r["rule_id"], r["agent_id"], r["name"], *figures(r)) for r in week["by_source"]] == [
        ("rule", cast[CHECKOUT], None, CHECKOUT, 3, 2, 1, 1, round(2 / 3, 4), round(1 / 3, 4)),
        ("rule", cast["Never fires"], None, "Never fires", 0, 0, 0, 0, None, None),
        ("rule", None, None, "(deleted rule)", 2, 1, 0, 1, 0.5, 0.5),
        ("agent", None, ann_id, "Ann", 1, 1, 0, 1, 1.0, 1.0),
        ("agent", None, ben_id, "Ben", 1, 0, 1, 0, 0.0, 0.0)]
    # By the day the invitation was shown, in Athens: v1 on the 24th (the 23rd in UTC); the 25th: v2,
    # v3, v4, v5, v6, v8. Nothing on the 19th: v7's acceptance belongs to its showing, the 18th.
    assert [p["at"] for p in week["series"]] == [f"2026-11-{d}" for d in range(19, 26)]
    by_day = {p["at"]: (p["shown"], p["accepted"], p["dismissed"], p["chats_started"]) for p in week["series"]}
    assert by_day == {**{f"2026-11-{d}": (0, 0, 0, 0) for d in range(19, 24)},
                      "2026-11-24": (1, 1, 0, 1), "2026-11-25": (6, 3, 2, 2)}
    assert week["not_filtered_by"] == []

    # One day, by the hour (Athens): 12h v2, v3, v4; 13h v5, v6; 23h v8.
    day = await get(shop, admin, period="custom", **{"from": "2026-11-25", "to": "2026-11-25"})
    assert day["period"]["step"] == "hour" and len(day["series"]) == 24
    assert {p["at"][11:13]: (p["shown"], p["accepted"]) for p in day["series"] if p["shown"]} == {
        "12": (3, 1), "13": (2, 1), "23": (1, 1)}
    # The day before the week: v7 alone, with its acceptance of the next day.
    before = await get(shop, admin, period="custom", **{"from": "2026-11-18", "to": "2026-11-18"})
    assert figures(before) == (1, 1, 0, 0, 1.0, 0.0)
    # An empty period: zeros, no rate made up; every rule still listed, no agent.
    empty = await get(shop, admin, period="custom", **{"from": "2026-10-01", "to": "2026-10-07"})
    assert figures(empty) == (0, 0, 0, 0, None, None)
    assert [r["name"] for r in empty["by_source"]] == [CHECKOUT, "Never fires"]

    # The agent filter: that agent's own invitations, no rule's.
    bens = await get(shop, admin, **WEEK, agent=ben_id)
    assert figures(bens) == (1, 0, 1, 0, 0.0, 0.0) and [r["name"] for r in bens["by_source"]] == ["Ben"]
    # Filters an invitation cannot match are named, not applied.
    greek = await get(shop, admin, **WEEK, language="el", page="https://shop.test/returns")
    assert figures(greek) == figures(week) and greek["not_filtered_by"] == ["language", "page"]

    # CSV: the same tables, a formula-looking rule name quoted for spreadsheets.
    async with shop.http(admin) as http:
        r = await http.get("/api/reports/invitations/by_source.csv", params=WEEK)
        summary = await http.get("/api/reports/invitations/summary.csv", params=WEEK)
        series = await http.get("/api/reports/invitations/series.csv", params=WEEK)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "report-invitations-by_source-2026-11-19-2026-11-25.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["source", "rule_id", "agent_id", "name", *FIGURES]
    assert rows[1] == ["rule", str(cast[CHECKOUT]), "", "'" + CHECKOUT, "3", "2", "1", "1", "0.6667", "0.3333"]
    assert rows[3] == ["rule", "", "", "(deleted rule)", "2", "1", "0", "1", "0.5", "0.5"]
    assert list(csv.reader(io.StringIO(summary.text))) == [
        ["figure", "value"], ["shown", "7"], ["accepted", "4"], ["dismissed", "2"], ["chats_started", "3"],
        ["acceptance_rate", str(round(4 / 7, 4))], ["chat_rate", str(round(3 / 7, 4))]]
    assert list(csv.reader(io.StringIO(series.text)))[-1] == ["2026-11-25", "6", "3", "2", "2"]

    # Who may read what: an agent their own invitations only, an editor nothing.
    own = await get(shop, ann, **WEEK)
    assert figures(own) == (1, 1, 0, 1, 1.0, 1.0) and [r["name"] for r in own["by_source"]] == ["Ann"]
    assert own["filters"]["agent"] == ann_id
    assert sum(p["shown"] for p in own["series"]) == 1
    async with shop.http(ann) as http:
        options = (await http.get("/api/reports/options")).json()
        assert options["sections"] == ["agents", "activity", "conversions", "invitations"]
        assert (await http.get("/api/reports/invitations", params={**WEEK, "agent": ben_id})).status_code == 403
        assert (await http.get("/api/reports/invitations/by_source.csv",
                               params={**WEEK, "agent": ben_id})).status_code == 403
    bens_own = await get(shop, ben, **WEEK)
    assert figures(bens_own) == (1, 0, 1, 0, 0.0, 0.0)
    _, editor = await shop.user("Eve", "editor")
    async with shop.http(editor) as http:
        for path in ("/api/reports/invitations", "/api/reports/invitations/summary.csv"):
            assert (await http.get(path, params=WEEK)).status_code == 403
    async with shop.http(None) as http:
        assert (await http.get("/api/reports/invitations")).status_code == 401
