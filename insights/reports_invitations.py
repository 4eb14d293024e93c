"""Invitation figures of the reports (docs/reports.md, "Invitations"): what became of the invitations
the widget's loader showed (engage_invitation_events, written by engage/service.py), in all, per
rule and per agent, and over time. An invitation belongs to the period of its `shown` event (in the
shop's time zone); its acceptance, dismissal and chat count with it even when they came later, so
a rate never passes 100 %. An event of an invitation shown before the period does not count."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import aliased

from accounts.models import User
from engage.models import InvitationEvent, InvitationRule
from insights.reports import Report, label_ranges, share
from insights.rollups import BUCKET_S

# The events of an invitation (engage/models.py EVENT_KINDS) and the report's names for them.
FIGURES = {"shown": "shown", "accepted": "accepted", "dismissed": "dismissed", "chat_started": "chats_started"}
# Filters an invitation has nothing to match with (it has no conversation, language or page).
NOT_APPLICABLE = ("language", "reason", "page")


def counts(c: dict[str, int]) -> dict:
    return {**c, "acceptance_rate": share(c["accepted"], c["shown"]), "chat_rate": share(c["chats_started"], c["shown"])}


def zero() -> dict[str, int]:
    return {name: 0 for name in FIGURES.values()}


def label_tree(column, starts: list[tuple[datetime, int]]):
    """SQL: the label index of `column`'s instant, given where each run of labels starts (sorted):
    CASEs nested as a balanced tree, so a row takes ~log2(labels) comparisons (7 for 90 days), not
    one per label (a flat CASE made 90 days of 100,000 invitations take 2.5 s on SQLite)."""
    if len(starts) == 1:
        return literal_column(str(starts[0][1]))
    mid = len(starts) // 2
    return case((column < starts[mid][0], label_tree(column, starts[:mid])), else_=label_tree(column, starts[mid:]))


async def invitations(report: Report) -> dict:
    period, agent = report.period, report.filters.agent_id
    shown, event = aliased(InvitationEvent), aliased(InvitationEvent)
    # The time-series point of each shown event: a CASE over the instants where the period's
    # labels change (the same 15-minute buckets and labels as the other sections).
    labels, starts = label_ranges(period)
    point = label_tree(shown.at, [(datetime.fromtimestamp(b * BUCKET_S, timezone.utc), i) for b, i in starts])
    conds = [shown.kind == "shown", shown.at >= period.start, shown.at < period.end]
    if agent is not None:  # an agent's own invitations (rules are nobody's)
        conds += [shown.source == "agent", shown.agent_id == agent]
    # Every event of the invitations shown in the period (the key's `shown` included).
    rows = select(shown.source.label("source"), shown.rule_id.label("rule_id"), shown.agent_id.label("agent_id"),
                  point.label("i"), event.kind.label("kind")) \
        .join(event, event.key == shown.key).where(*conds).subquery()
    totals = zero()
    by_source: dict[tuple, dict] = defaultdict(zero)
    series = {label: zero() for label in labels}
    for source, rule_id, agent_id, i, kind, n in await report.rows(
            select(rows.c.source, rows.c.rule_id, rows.c.agent_id, rows.c.i, rows.c.kind, func.count())
            .group_by(rows.c.source, rows.c.rule_id, rows.c.agent_id, rows.c.i, rows.c.kind)):
        if kind not in FIGURES:
            continue
        name = FIGURES[kind]
        totals[name] += n
        series[labels[int(i)]][name] += n
        by_source[("agent", agent_id) if source == "agent" else ("rule", rule_id)][name] += n

    out = []
    if agent is None:  # every rule, in the order the admin sees them, then the deleted ones
        rules = list(await report.db.scalars(select(InvitationRule).order_by(InvitationRule.position, InvitationRule.id)))
        for rule in rules:
            out.append({"source": "rule", "rule_id": rule.id, "agent_id": None, "name": rule.name,
                        **counts(by_source.get(("rule", rule.id), zero()))})
        deleted, ids = zero(), {r.id for r in rules}
        for (source, rule_id), c in by_source.items():  # the key is set to NULL when its rule goes
            if source == "rule" and rule_id not in ids:
                for name in deleted:
                    deleted[name] += c[name]
        if deleted["shown"]:
            out.append({"source": "rule", "rule_id": None, "agent_id": None, "name": "(deleted rule)", **counts(deleted)})
    else:
        by_source.setdefault(("agent", agent), zero())
    inviters = [a for (source, a) in by_source if source == "agent"]
    names = dict((await report.db.execute(select(User.id, User.display_name)
                                          .where(User.id.in_([a for a in inviters if a is not None] or [-1])))).all())
    for a in sorted(inviters, key=lambda a: (a is None, (names.get(a) or "").lower(), a or 0)):
        out.append({"source": "agent", "rule_id": None, "agent_id": a,
                    "name": names.get(a, f"#{a}") if a is not None else "(deleted user)", **counts(by_source[("agent", a)])})
    f = report.filters
    return {**counts(totals), "by_source": out, "step": period.step,
            "series": [{"at": at, **p} for at, p in series.items()],
            # the chosen filters an invitation cannot match: not applied (docs/reports.md)
            "not_filtered_by": [k for k, v in zip(NOT_APPLICABLE, (f.language, f.reason, f.start_page)) if v]}
