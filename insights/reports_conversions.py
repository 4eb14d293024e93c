"""Conversion figures of the reports (docs/reports.md, "Conversions"): orders the shop reported
(insights/conversions.py, attributed once when recorded) by kind of chat and by agent. An order
belongs to the period of its `ordered_at`; the rates divide by the conversations of the period."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import distinct, func, select

from handoff.models import Assignment
from insights.conversions import ATTRIBUTIONS, Conversion
from insights.reports import Report, share
from insights.rollups import ReportConversation as R


def _money(cents: dict[str, int]) -> list[dict]:
    return [{"currency": c, "value": round(v / 100, 2)} for c, v in sorted(cents.items())]


async def conversions(report: Report) -> dict:
    f, c = report.filters, Conversion
    conds = [c.ordered_at >= report.period.start, c.ordered_at < report.period.end]
    if f.agent_id is not None:
        conds.append(c.agent_id == f.agent_id)
    if f.language or f.reason or f.start_page:  # through the chat the order is attributed to
        conds.append(c.conversation_id.in_(select(R.conversation_id).where(*report.filtered())))
    orders: dict[str, int] = defaultdict(int)
    revenue: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_agent: dict[int, dict] = defaultdict(lambda: {"orders": 0, "cents": defaultdict(int)})
    for kind, agent_id, currency, n, cents in await report.rows(
            select(c.attribution, c.agent_id, c.currency, func.count(), func.sum(c.value_cents))
            .where(*conds).group_by(c.attribution, c.agent_id, c.currency)):
        orders[kind] += n
        revenue[kind][currency] += int(cents or 0)
        if kind == "agent" and agent_id is not None:
            by_agent[agent_id]["orders"] += n
            by_agent[agent_id]["cents"][currency] += int(cents or 0)
    # The denominators: the period's conversations with a person in them, and the others.
    total = await report.db.scalar(select(func.count()).select_from(R).where(*report.where())) or 0
    agent_chats = await report.db.scalar(report.joined(
        select(func.count(distinct(Assignment.conversation_id))), Assignment.conversation_id)) or 0
    chats = {"bot": total - agent_chats, "agent": agent_chats, "none": None}
    kinds = [{"kind": k, "orders": orders[k], "revenue": _money(revenue[k]), "conversations": chats[k],
              "conversion_rate": share(orders[k], chats[k]) if chats[k] is not None else None} for k in ATTRIBUTIONS]
    agent_rows = (await report.agents())["agents"]
    agents = [{"agent_id": r["agent_id"], "name": r["name"], "chats": r["chats"],
               "orders": by_agent[r["agent_id"]]["orders"], "revenue": _money(by_agent[r["agent_id"]]["cents"]),
               "conversion_rate": share(by_agent[r["agent_id"]]["orders"], r["chats"])} for r in agent_rows]
    return {"by_kind": kinds, "by_agent": agents}
