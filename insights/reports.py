"""The report figures: per-conversation counts from the rollup (insights/rollups.py, refreshed
before every report), everything else by SQL over the tables the chat writes anyway (assignments,
offers, ratings, tickets, kb_questions) joined to it; so a late event (a rating a day later, a ticket
answered next week) is in the next report. Every figure is defined once, in docs/reports.md; the
keys below are its anchors there.

A figure belongs to the period of its conversation: only conversations that started in the period
(in the shop's time zone) and match the filters count, and everything that happened in them."""
from __future__ import annotations

import functools
import math
from collections import defaultdict
from datetime import datetime

from sqlalchemy import and_, case, distinct, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import CHAT_ROLES, User
from handoff.models import Assignment, Offer
from insights.reports_period import Filters, Period
from insights.rollups import BUCKET_S, ReportConversation as R, ReportFact as F, ReportQuestion as Q
from knowledge_base.models import Article

# Time series group the rollup's 15-minute buckets (insights/rollups.py), so zones with half- and
# quarter-hour offsets (India, Nepal) still fall into whole local hours.

# Upper bounds (seconds) of the wait distribution's bars; the last bar is "over 10 min".
WAIT_BARS = (30, 60, 120, 300, 600)
TOP = 10
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# ---- small helpers -----------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the value at rank ceil(p/100 x n) of the sorted values (docs/reports.md)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1], 1)


def rank(p: int, n) -> object:
    """The 1-based rank `percentile` takes, ceil(p/100 x n), in whole numbers (SQL): the same rank
    as the float formula for the p used here (50 and 90: p/100 x n is exact at whole numbers)."""
    return (n * p + 99) // 100


@functools.lru_cache(maxsize=64)
def label_ranges(period: Period) -> tuple[list[str], list[tuple[int, int]]]:
    """The period's time-series labels, and (first bucket, label index) where each run of buckets
    with one label starts, walking the 15-minute buckets as `Report.local` and `Period.label` name
    them (a label seen twice, the hour repeated when clocks go back, keeps one index)."""
    labels: list[str] = []
    index: dict[str, int] = {}
    starts: list[tuple[int, int]] = []
    first = int(period.start.timestamp()) // BUCKET_S
    last = -(-int(period.end.timestamp()) // BUCKET_S)
    previous = None
    for bucket in range(first, last):
        label = period.label(datetime.fromtimestamp(bucket * BUCKET_S, period.zone))
        if label != previous:
            if label not in index:
                index[label] = len(labels)
                labels.append(label)
            starts.append((bucket, index[label]))
            previous = label
    return labels, starts


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Report:
    """One period, one set of filters, one database session (the rollup refreshed already)."""

    def __init__(self, db: AsyncSession, period: Period, filters: Filters):
        self.db, self.period, self.filters = db, period, filters
        self.d = db.bind.dialect.name
        self._local: dict[int, datetime] = {}

    # the conversations of the report
    def where(self) -> list:
        return [R.created_at >= self.period.start, R.created_at < self.period.end, *self.filtered()]

    def filtered(self) -> list:
        """The filters' conditions on the rollup's rows."""
        f = self.filters
        conds = []
        if f.language:
            conds.append(R.language == f.language)
        if f.reason:
            conds.append(R.handoff_reason == f.reason)
        if f.start_page:
            conds.append(R.start_page == f.start_page)
        if f.agent_id is not None:
            conds.append(R.conversation_id.in_(select(Assignment.conversation_id).where(Assignment.agent_id == f.agent_id)))
        return conds

    def joined(self, query, column):
        """`query` limited to the report's conversations through its `column` (a conversation id)."""
        return query.join(R, R.conversation_id == column).where(*self.where())

    def facts(self, query, *kinds: str):
        """`query` over the rollup's facts of these kinds in the period; joined to the
        conversations' rollup only when a filter needs it."""
        query = query.where(F.created_at >= self.period.start, F.created_at < self.period.end,
                            F.kind.in_(kinds) if len(kinds) > 1 else F.kind == kinds[0])
        filters = self.filtered()
        return query.join(R, R.conversation_id == F.conversation_id).where(*filters) if filters else query

    def local(self, bucket: int) -> datetime:
        if bucket not in self._local:
            self._local[bucket] = datetime.fromtimestamp(bucket * BUCKET_S, self.period.zone)
        return self._local[bucket]

    async def rows(self, query) -> list:
        # Core, not the ORM session's execute: these are plain columns, and the ORM's row loading
        # costs more than the query itself for the tens of thousands of values the medians need.
        return list((await (await self.db.connection()).execute(query)).all())

    # ---- conversations, containment, time series, heat map ---------------------------------

    async def conversation_buckets(self) -> list:
        return await self.rows(select(R.bucket, func.count(), func.sum(R.handed), func.sum(R.contained))
                               .where(*self.where()).group_by(R.bucket))

    async def activity(self) -> dict:
        series = {b: {"at": b, "conversations": 0, "handoffs": 0, "contained": 0} for b in self.period.buckets()}
        heat = [[0] * 24 for _ in WEEKDAYS]
        for bucket, n, handed, contained in await self.conversation_buckets():
            local = self.local(int(bucket))
            point = series[self.period.label(local)]
            point["conversations"] += n
            point["handoffs"] += int(handed or 0)
            point["contained"] += int(contained or 0)
            heat[local.weekday()][local.hour] += n
        return {"step": self.period.step, "series": list(series.values()),
                "heatmap": {"days": list(WEEKDAYS), "counts": heat}}

    # ---- the bot ---------------------------------------------------------------------------

    async def bot(self) -> dict:
        conversations, handoffs, contained, questions, answered, not_sure, yes, no = (int(v or 0) for v in (
            await self.db.execute(select(func.count(), func.sum(R.handed), func.sum(R.contained), func.sum(R.questions),
                                         func.sum(R.answered), func.sum(R.not_sure), func.sum(R.helped_yes),
                                         func.sum(R.helped_no)).where(*self.where()))).one())
        return {
            "conversations": conversations,
            "contained": contained,
            "containment": share(contained, conversations),
            "handoffs": handoffs,
            "handoff_rate": share(handoffs, conversations),
            "questions": questions,
            "answered": answered,
            "answered_rate": share(answered, questions),
            "not_sure": not_sure,
            "not_sure_rate": share(not_sure, questions),
            "helped_yes": yes,
            "helped_no": no,
            "helped_rate": share(yes, yes + no),
            "top_articles": await self.top_articles(),
            "top_unanswered": await self.top_unanswered(),
        }

    def questions_of_period(self, query):
        """`query` over the rollup's questions of the period; joined to the conversations' rollup
        only when a filter needs it."""
        q = Q
        query = query.where(q.created_at >= self.period.start, q.created_at < self.period.end)
        filters = self.filtered()
        return query.join(R, R.conversation_id == q.conversation_id).where(*filters) if filters else query

    async def top_articles(self) -> list[dict]:
        q = Q
        rows = await self.rows(self.questions_of_period(
            select(q.article_id, func.count(), func.sum(q.helped_yes), func.sum(q.helped_no))
            .where(q.article_id.is_not(None)))
            .group_by(q.article_id).order_by(func.count().desc(), q.article_id).limit(TOP))
        titles = dict((await self.db.execute(select(Article.id, Article.title)
                                             .where(Article.id.in_([r[0] for r in rows] or [-1])))).all())
        return [{"article_id": a, "title": titles.get(a, f"#{a}"), "served": n, "helped_yes": int(y or 0),
                 "helped_no": int(no or 0)} for a, n, y, no in rows]

    async def top_unanswered(self) -> list[dict]:
        """Knowledge-gap questions (docs/editor.md) with the same words, most asked first."""
        q = Q
        rows = await self.rows(self.questions_of_period(
            select(q.question_key, func.min(q.question), func.count()).where(q.gap == 1))
            .group_by(q.question_key).order_by(func.count().desc(), q.question_key).limit(TOP))
        return [{"question": text, "asked": n} for _, text, n in rows]

    # ---- the queue -------------------------------------------------------------------------

    async def queue(self) -> dict:
        # No reason: an agent took the chat over from the bot.
        reasons = sorted(((r or "agent_took_over", n) for r, n in await self.rows(
            select(R.handoff_reason, func.count()).where(*self.where(), R.handed == 1).group_by(R.handoff_reason))),
            key=lambda rn: (-rn[1], rn[0]))
        queued, abandoned, timed_out = (int(v or 0) for v in (await self.db.execute(
            select(func.sum(R.queued), func.sum(R.abandoned), func.sum(R.timed_out)).where(*self.where()))).one())
        waits = [float(v) for (v,) in await self.rows(self.facts(select(F.value), "wait"))]
        missed = await self.db.scalar(self.joined(select(func.count()).select_from(Offer).where(Offer.status == "missed"),
                                                  Offer.conversation_id)) or 0
        return {
            "handoff_reasons": [{"reason": r, "handoffs": n} for r, n in reasons],
            "queued": queued,
            "answered_from_queue": len(waits),
            "abandoned": abandoned,
            "abandoned_rate": share(abandoned, queued),
            "queue_timed_out": timed_out,
            "wait_median_s": percentile(waits, 50),
            "wait_p90_s": percentile(waits, 90),
            "wait_distribution": wait_bars(waits),
            "missed_offers": missed,
            **await self.offline_messages(),
        }

    async def offline_messages(self) -> dict:
        rows = await self.rows(self.facts(select(F.value), "offline"))
        replies = [float(v) for (v,) in rows if v is not None]
        return {"offline_messages": len(rows), "offline_replied": len(replies),
                "offline_reply_median_s": percentile(replies, 50), "offline_reply_p90_s": percentile(replies, 90)}

    # ---- the agents ------------------------------------------------------------------------

    def label_of(self, bucket_column):
        """SQL: the index of the time-series label (`label_ranges`) of a row's bucket. Literal
        numbers, so the same expression can be grouped and partitioned by."""
        labels, starts = label_ranges(self.period)
        whens = [(bucket_column < literal_column(str(b)), literal_column(str(i)))
                 for (b, _), (_, i) in zip(starts[1:], starts[:-1])]
        last = literal_column(str(starts[-1][1]))
        return (case(*whens, else_=last) if whens else last), labels

    async def ranked(self, kind: str, p: tuple[int, ...], *by) -> list:
        """(by..., p, value) for each percentile p of the facts of `kind` grouped by `by`: ranked
        in SQL (row_number over the values), so only the values at the wanted ranks travel, not
        every one of them; the same nearest-rank values `percentile` would pick."""
        numbered = self.facts(select(*[c.label(f"k{i}") for i, c in enumerate(by)], F.value.label("v"),
                                     func.row_number().over(partition_by=list(by), order_by=F.value).label("rn"),
                                     func.count().over(partition_by=list(by)).label("n")), kind) \
            .where(F.value.is_not(None)).subquery()
        keys = [numbered.c[f"k{i}"] for i in range(len(by))]
        out = []
        for row in await self.rows(select(*keys, numbered.c.rn, numbered.c.n, numbered.c.v)
                                   .where(or_(*(numbered.c.rn == rank(q, numbered.c.n) for q in p)))):
            *key, rn, n, value = row
            for q in p:
                if rn == rank(q, n):
                    out.append((*key, q, round(value, 1)))
        return out

    async def agents(self, only: int | None = None) -> dict:
        """One row per agent (admins and agents who served a chat of the period, and every active
        one); `only`: that agent's row alone (an agent's own view, or the agent filter)."""
        only = only if only is not None else self.filters.agent_id
        per: dict[int, dict] = defaultdict(lambda: {"chats": 0, "first_p50": None, "first_p90": None,
                                                    "handling_p50": None, "stars": [0] * 5, "missed": 0})
        series: dict[tuple[int, str], dict] = defaultdict(lambda: {"chats": 0, "first_p50": None, "good": 0, "rated": 0})
        at, labels = self.label_of(F.bucket)
        # Counted and ranked by SQL, per agent and per point of the time series (a conversation is
        # in one bucket, its start's, so in one point): a few thousand rows at most, whatever the
        # volume (docs/reports.md, "Speed").
        for agent, i, n in await self.rows(self.facts(
                select(F.agent_id, at, func.count(distinct(F.conversation_id))), "chat").group_by(F.agent_id, at)):
            per[agent]["chats"] += n
            series[(agent, labels[i])]["chats"] += n
        for agent, p, value in await self.ranked("first_response", (50, 90), F.agent_id):
            per[agent][f"first_p{p}"] = value
        for agent, i, _, value in await self.ranked("first_response", (50,), F.agent_id, at):
            series[(agent, labels[i])]["first_p50"] = value
        for agent, _, value in await self.ranked("handling", (50,), F.agent_id):
            per[agent]["handling_p50"] = value
        for agent, i, stars, n in await self.rows(self.facts(
                select(F.agent_id, at, F.value, func.count()), "rating").where(F.agent_id.is_not(None))
                .group_by(F.agent_id, at, F.value)):
            per[agent]["stars"][int(stars) - 1] += n
            p = series[(agent, labels[i])]
            p["rated"] += n
            p["good"] += n if stars >= 4 else 0
        for agent, n in await self.rows(self.joined(
                select(Offer.agent_id, func.count()).where(Offer.status == "missed"), Offer.conversation_id)
                .group_by(Offer.agent_id)):
            per[agent]["missed"] = n
        users = {u.id: u for u in await self.db.scalars(select(User).where(
            or_(and_(User.role.in_(CHAT_ROLES), User.active.is_(True)), User.id.in_(list(per) or [-1]))))}
        wanted = [only] if only is not None else sorted(users, key=lambda i: (users[i].display_name.lower(), i))
        rows = [agent_row(i, users[i].display_name if i in users else f"#{i}", per[i]) for i in wanted]
        points = [{"agent_id": i, "at": at, "chats": p["chats"], "first_response_median_s": p["first_p50"],
                   "ratings": p["rated"], "csat": share(p["good"], p["rated"])}
                  for (i, at), p in sorted(series.items(), key=lambda kv: (kv[0][1], kv[0][0])) if i in wanted]
        return {"agents": rows, "step": self.period.step, "series": points}


def agent_row(agent_id: int, name: str, r: dict) -> dict:
    rated = sum(r["stars"])
    return {
        "agent_id": agent_id,
        "name": name,
        "chats": r["chats"],
        "first_response_median_s": r["first_p50"],
        "first_response_p90_s": r["first_p90"],
        "handling_median_s": r["handling_p50"],
        "ratings": rated,
        "csat": share(r["stars"][3] + r["stars"][4], rated),
        "stars": {str(i + 1): n for i, n in enumerate(r["stars"])},
        "missed_offers": r["missed"],
    }


def wait_bars(waits: list[float]) -> list[dict]:
    bars, low = [], 0
    for high in WAIT_BARS:
        bars.append({"from_s": low, "to_s": high, "chats": sum(1 for w in waits if low <= w < high)})
        low = high
    bars.append({"from_s": low, "to_s": None, "chats": sum(1 for w in waits if w >= low)})
    return bars
