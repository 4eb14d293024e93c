"""The reports' HTTP API (docs/reports.md, "API"): every section as JSON and every table as a CSV
file, for the period and filters in the query string.

Admins read every section. Agents read only their own figures: the `agents`, `activity`,
`conversions` and `invitations` sections, always filtered to themselves (naming another agent is a 403). Editors read
none. Every read first brings the rollups up to date (insights/rollups.py)."""
from __future__ import annotations

import csv
import io

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy import distinct, func, select

from accounts.models import CHAT_ROLES, User
from accounts.web import ApiError, ApiRoute, require_roles
from app.db import utcnow
from insights import reports_conversions, reports_invitations, rollups
from insights.reports import Report
from insights.rollups import ReportConversation
from insights.reports_period import Filters, PeriodError, parse_period, shop_zone
from knowledge_base.importer import csv_quote

SECTIONS = ("bot", "queue", "agents", "activity", "conversions", "invitations")
AGENT_SECTIONS = ("agents", "activity", "conversions", "invitations")
# Sections built outside insights/reports.py's Report, from one.
BUILDERS = {"conversions": reports_conversions.conversions, "invitations": reports_invitations.invitations}
INVITATION_FIGURES = ("shown", "accepted", "dismissed", "chats_started", "acceptance_rate", "chat_rate")
# The figures of a section's `summary` table: the section's plain numbers, in this order.
SUMMARY = {
    "bot": ("conversations", "contained", "containment", "handoffs", "handoff_rate", "questions", "answered",
            "answered_rate", "not_sure", "not_sure_rate", "helped_yes", "helped_no", "helped_rate"),
    "queue": ("queued", "answered_from_queue", "abandoned", "abandoned_rate", "queue_timed_out", "wait_median_s",
              "wait_p90_s", "missed_offers", "offline_messages", "offline_replied", "offline_reply_median_s",
              "offline_reply_p90_s"),
    "invitations": INVITATION_FIGURES,
}
TABLES = {"bot": ("summary", "top_articles", "top_unanswered"),
          "queue": ("summary", "handoff_reasons", "wait_distribution"),
          "agents": ("agents", "series"),
          "activity": ("series", "heatmap"),
          "conversions": ("by_kind", "by_agent"),
          "invitations": ("summary", "by_source", "series")}
COLUMNS = {
    ("bot", "top_articles"): ("article_id", "title", "served", "helped_yes", "helped_no"),
    ("bot", "top_unanswered"): ("question", "asked"),
    ("queue", "handoff_reasons"): ("reason", "handoffs"),
    ("queue", "wait_distribution"): ("from_s", "to_s", "chats"),
    ("agents", "agents"): ("agent_id", "name", "chats", "first_response_median_s", "first_response_p90_s",
                           "handling_median_s", "ratings", "csat", "stars_1", "stars_2", "stars_3", "stars_4",
                           "stars_5", "missed_offers"),
    ("agents", "series"): ("agent_id", "at", "chats", "first_response_median_s", "ratings", "csat"),
    ("activity", "series"): ("at", "conversations", "handoffs", "contained"),
    ("conversions", "by_kind"): ("kind", "conversations", "orders", "conversion_rate", "currency", "revenue"),
    ("conversions", "by_agent"): ("agent_id", "name", "chats", "orders", "conversion_rate", "currency", "revenue"),
    ("invitations", "by_source"): ("source", "rule_id", "agent_id", "name", *INVITATION_FIGURES),
    ("invitations", "series"): ("at", "shown", "accepted", "dismissed", "chats_started"),
}
MAX_OPTIONS = 100


def make_router(ctx) -> APIRouter:
    router = APIRouter(prefix="/api/reports", route_class=ApiRoute)
    staff = require_roles("admin", "agent")

    def report_args(period: str = Query("7d", max_length=10), from_: str | None = Query(None, alias="from", max_length=10),
                    to: str | None = Query(None, max_length=10), agent: int | None = Query(None, ge=1, le=2**31 - 1),
                    language: str | None = Query(None, max_length=16), reason: str | None = Query(None, max_length=60),
                    page: str | None = Query(None, max_length=2000)) -> dict:
        return {"period": period, "from": from_, "to": to,
                "filters": Filters(agent, language or None, reason or None, page or None)}

    def allowed(user: User, section: str, args: dict) -> Filters:
        """The filters this user may apply; agents always see themselves only."""
        if section not in SECTIONS:
            raise ApiError(404, "not_found", f"no report section {section!r}; one of {', '.join(SECTIONS)}")
        filters = args["filters"]
        if user.role == "admin":
            return filters
        if section not in AGENT_SECTIONS:
            raise ApiError(403, "forbidden", "only admins may read this report")
        if filters.agent_id not in (None, user.id):
            raise ApiError(403, "forbidden", "agents may read only their own figures")
        return Filters(user.id, filters.language, filters.reason, filters.start_page)

    async def build(user: User, section: str, args: dict) -> dict:
        filters = allowed(user, section, args)
        try:
            period = parse_period(args["period"], args["from"], args["to"], shop_zone(ctx.settings.time_zone), utcnow())
        except PeriodError as exc:
            raise ApiError(422, "bad_field", exc.message, exc.field) from None
        async with ctx.sessionmaker() as db:
            await rollups.refresh(db)
            report = Report(db, period, filters)
            body = await (BUILDERS[section](report) if section in BUILDERS else getattr(report, section)())
        return {"period": {"from": period.first_day.isoformat(), "to": period.last_day.isoformat(),
                           "time_zone": ctx.settings.time_zone, "step": period.step},
                "filters": filters.as_dict(), **body}

    @router.get("/options")
    async def options(user: User = Depends(staff)):
        """What the period picker and the filters offer this user."""
        async with ctx.sessionmaker() as db:
            if user.role == "admin":
                agents = [{"id": u.id, "name": u.display_name} for u in await db.scalars(
                    select(User).where(User.role.in_(CHAT_ROLES)).order_by(User.display_name, User.id))]
            else:
                agents = [{"id": user.id, "name": user.display_name}]
            await rollups.refresh(db)

            async def seen(col) -> list[str]:
                return [v for (v,) in await db.execute(select(distinct(col)).where(col.is_not(None))
                                                       .order_by(col).limit(MAX_OPTIONS))]
            languages = await seen(ReportConversation.language)
            reasons = await seen(ReportConversation.handoff_reason)
            start_pages = await seen(ReportConversation.start_page)
        return {"role": user.role, "me": {"id": user.id, "name": user.display_name},
                "sections": list(SECTIONS if user.role == "admin" else AGENT_SECTIONS),
                "time_zone": ctx.settings.time_zone, "periods": ["today", "7d", "30d", "90d", "custom"],
                "agents": agents, "languages": languages, "reasons": reasons, "start_pages": start_pages}

    @router.get("/{section}")
    async def section_json(section: str, args: dict = Depends(report_args), user: User = Depends(staff)):
        return await build(user, section, args)

    @router.get("/{section}/{table}.csv")
    async def section_csv(section: str, table: str, args: dict = Depends(report_args), user: User = Depends(staff)):
        allowed(user, section, args)
        if table not in TABLES[section]:
            raise ApiError(404, "not_found", f"no table {table!r} in {section}; one of {', '.join(TABLES[section])}")
        body = await build(user, section, args)
        name = f"report-{section}-{table}-{body['period']['from']}-{body['period']['to']}.csv"
        return Response(to_csv(csv_rows(section, table, body)).encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    return router


def csv_rows(section: str, table: str, body: dict) -> list[list]:
    if table == "summary":
        return [["figure", "value"], *([k, body[k]] for k in SUMMARY[section])]
    if table == "heatmap":
        return [["day", *(f"{h:02d}" for h in range(24))],
                *([day, *counts] for day, counts in zip(body["heatmap"]["days"], body["heatmap"]["counts"]))]
    rows = body[table]
    if section == "conversions":  # a row per currency (none: one row without)
        rows = [{**r, "currency": m["currency"], "revenue": m["value"]}
                for r in rows for m in r["revenue"] or [{"currency": None, "value": None}]]
    if table == "agents":
        rows = [{**r, **{f"stars_{s}": n for s, n in r["stars"].items()}} for r in rows]
    columns = COLUMNS[(section, table)]
    return [list(columns), *([r.get(c) for c in columns] for r in rows)]


def to_csv(rows: list[list]) -> str:
    """Text cells a spreadsheet would run as a formula are quoted (knowledge_base.importer.csv_quote)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else csv_quote(v) if isinstance(v, str) else v for v in row])
    return out.getvalue()
