"""The report figures, each computed by SQL over the tables the chat writes anyway (conversations,
transitions, assignments, offers, ratings, tickets, kb_questions), so a late event (a rating a day
later, a ticket answered next week) is in the next report with nothing to rebuild. Every figure is
defined once, in docs/reports.md; the keys below are its anchors there.

A figure belongs to the period of its conversation: only conversations that started in the period
(in the shop's time zone) and match the filters count, and everything that happened in them."""
from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime

from sqlalchemy import Index, and_, case, distinct, exists, extract, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from accounts.models import CHAT_ROLES, User
from chat.models import Conversation, Message, Transition
from handoff.models import Assignment, Offer, Rating, Ticket
from insights.reports_period import Filters, Period
from knowledge_base.models import Article, KbQuestion

# Buckets of the SQL side of time series: 15 minutes, so zones with half- and quarter-hour offsets
# (India, Nepal) still fall into whole local hours.
BUCKET_S = 900
HANDED_TO_PEOPLE = ("queued", "offline_form", "assigned")
# Upper bounds (seconds) of the wait distribution's bars; the last bar is "over 10 min".
WAIT_BARS = (30, 60, 120, 300, 600)
TOP = 10
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Every report reads the conversations of a period (migration 0007).
Index("ix_conversations_created_at", Conversation.created_at)


# ---- small helpers -----------------------------------------------------------------------------

def percentile(values: list[float], p: float) -> float | None:
    """Nearest rank: the value at rank ceil(p/100 x n) of the sorted values (docs/reports.md)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1], 1)


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _seconds(dialect: str, start, end):
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return extract("epoch", end - start)


def _start_page(dialect: str):
    """The first page of the conversation's `pages` (the page where the chat started)."""
    if dialect == "sqlite":
        return literal_column("json_extract(conversations.pages, '$[0].url')")
    return literal_column("(conversations.pages::json -> 0 ->> 'url')")


def _bucket(dialect: str):
    if dialect == "sqlite":
        return literal_column(f"(CAST(strftime('%s', conversations.created_at) AS INTEGER) / {BUCKET_S})")
    return literal_column(f"(FLOOR(EXTRACT(EPOCH FROM conversations.created_at) / {BUCKET_S}))::bigint")


class Report:
    """One period, one set of filters, one database session."""

    def __init__(self, db: AsyncSession, period: Period, filters: Filters):
        self.db, self.period, self.filters = db, period, filters
        self.d = db.bind.dialect.name
        self._local: dict[int, datetime] = {}

    # the conversations of the report
    def where(self) -> list:
        c = Conversation
        return [c.created_at >= self.period.start, c.created_at < self.period.end, c.last_seq > 0, *self.filtered()]

    def filtered(self) -> list:
        """The filters' conditions on conversations."""
        c, f = Conversation, self.filters
        conds = []
        if f.language:
            conds.append(c.language == f.language)
        if f.reason:
            conds.append(c.handoff_reason == f.reason)
        if f.start_page:
            conds.append(_start_page(self.d) == f.start_page)
        if f.agent_id is not None:
            served = aliased(Assignment)  # not correlated with an Assignment of the outer query
            conds.append(exists().where(served.conversation_id == c.id, served.agent_id == f.agent_id))
        return conds

    def ids(self):
        return select(Conversation.id).where(*self.where())

    def local(self, bucket: int) -> datetime:
        if bucket not in self._local:
            self._local[bucket] = datetime.fromtimestamp(bucket * BUCKET_S, self.period.zone)
        return self._local[bucket]

    async def rows(self, query) -> list:
        return list((await self.db.execute(query)).all())

    # ---- conversations, containment, time series, heat map ---------------------------------

    async def conversation_buckets(self) -> list:
        c = Conversation
        handed = exists().where(Transition.conversation_id == c.id, Transition.to_state.in_(HANDED_TO_PEOPLE))
        said_no = exists().where(KbQuestion.conversation_id == c.id, KbQuestion.feedback == "not_helpful")
        bucket = _bucket(self.d)
        return await self.rows(
            select(bucket, func.count(),
                   func.sum(case((handed, 1), else_=0)),
                   func.sum(case((and_(~handed, ~said_no), 1), else_=0)))
            .where(*self.where()).group_by(bucket))

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
        totals = [0, 0, 0]
        for _, n, handed, contained in await self.conversation_buckets():
            totals[0] += n
            totals[1] += int(handed or 0)
            totals[2] += int(contained or 0)
        conversations, handoffs, contained = totals
        q = KbQuestion
        outcomes: dict[str, int] = defaultdict(int)
        feedback: dict[str | None, int] = defaultdict(int)
        for outcome, verdict, n in await self.rows(
                select(q.outcome, q.feedback, func.count()).where(q.conversation_id.in_(self.ids()))
                .group_by(q.outcome, q.feedback)):
            outcomes[outcome] += n
            feedback[verdict] += n
        questions = sum(outcomes.values())
        answered = outcomes["answered"] + outcomes["low_confidence"]
        yes, no = feedback["helpful"], feedback["not_helpful"]
        return {
            "conversations": conversations,
            "contained": contained,
            "containment": share(contained, conversations),
            "handoffs": handoffs,
            "handoff_rate": share(handoffs, conversations),
            "questions": questions,
            "answered": answered,
            "answered_rate": share(answered, questions),
            "not_sure": outcomes["fallback"],
            "not_sure_rate": share(outcomes["fallback"], questions),
            "helped_yes": yes,
            "helped_no": no,
            "helped_rate": share(yes, yes + no),
            "top_articles": await self.top_articles(),
            "top_unanswered": await self.top_unanswered(),
        }

    async def top_articles(self) -> list[dict]:
        q = KbQuestion
        rows = await self.rows(
            select(q.article_id, Article.title, func.count(),
                   func.sum(case((q.feedback == "helpful", 1), else_=0)),
                   func.sum(case((q.feedback == "not_helpful", 1), else_=0)))
            .join(Article, Article.id == q.article_id)
            .where(q.conversation_id.in_(self.ids()), q.outcome != "fallback")
            .group_by(q.article_id, Article.title).order_by(func.count().desc(), q.article_id).limit(TOP))
        return [{"article_id": a, "title": t, "served": n, "helped_yes": int(y or 0), "helped_no": int(no or 0)}
                for a, t, n, y, no in rows]

    async def top_unanswered(self) -> list[dict]:
        """Knowledge-gap questions (docs/editor.md) with the same words, most asked first."""
        q = KbQuestion
        key = func.lower(func.trim(q.text))
        gap = or_(q.outcome.in_(("fallback", "low_confidence")), q.feedback == "not_helpful", q.handoff_after.is_(True))
        rows = await self.rows(
            select(key, func.min(q.text), func.count(), func.max(q.created_at))
            .where(q.conversation_id.in_(self.ids()), gap, q.from_button.is_(False))
            .group_by(key).order_by(func.count().desc(), key).limit(TOP))
        return [{"question": text, "asked": n} for _, text, n, _last in rows]

    # ---- the queue -------------------------------------------------------------------------

    async def queue(self) -> dict:
        c, t, a = Conversation, Transition, Assignment
        handed = exists().where(t.conversation_id == c.id, t.to_state.in_(HANDED_TO_PEOPLE))
        # No reason: an agent took the chat over from the bot.
        reasons = sorted(((r or "agent_took_over", n) for r, n in await self.rows(
            select(c.handoff_reason, func.count()).where(*self.where(), handed).group_by(c.handoff_reason))),
            key=lambda rn: (-rn[1], rn[0]))
        ids = self.ids()
        queued = await self.db.scalar(select(func.count(distinct(t.conversation_id)))
                                      .where(t.conversation_id.in_(ids), t.to_state == "queued")) or 0
        abandoned = await self.db.scalar(
            select(func.count(distinct(t.conversation_id)))
            .where(t.conversation_id.in_(ids), t.from_state == "queued", t.to_state.in_(("bot", "closed")),
                   t.actor == "visitor")) or 0
        timed_out = await self.db.scalar(
            select(func.count(distinct(t.conversation_id)))
            .where(t.conversation_id.in_(ids), t.from_state == "queued", t.to_state == "offline_form")) or 0
        waits = [float(s) for (s,) in await self.rows(
            select(_seconds(self.d, a.queued_at, a.started_at))
            .where(a.conversation_id.in_(ids), a.queued_at.is_not(None)))]
        missed = await self.db.scalar(select(func.count()).select_from(Offer)
                                      .where(Offer.conversation_id.in_(ids), Offer.status == "missed")) or 0
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
            **await self.offline_messages(ids),
        }

    async def offline_messages(self, ids) -> dict:
        tk, m = Ticket, Message
        first_reply = (select(func.min(m.created_at))
                       .where(m.conversation_id == tk.conversation_id, m.sender == "agent",
                              m.created_at >= tk.created_at).scalar_subquery())
        rows = await self.rows(select(tk.created_at, first_reply).where(tk.conversation_id.in_(ids)))
        replies = [(_aware(r) - _aware(t)).total_seconds() for t, r in rows if r is not None]
        return {"offline_messages": len(rows), "offline_replied": len(replies),
                "offline_reply_median_s": percentile(replies, 50), "offline_reply_p90_s": percentile(replies, 90)}

    # ---- the agents ------------------------------------------------------------------------

    async def agents(self, only: int | None = None) -> dict:
        """One row per agent (admins and agents who served a chat of the period, and every active
        one); `only`: that agent's row alone (an agent's own view, or the agent filter)."""
        only = only if only is not None else self.filters.agent_id
        a, r = Assignment, Rating
        ids = self.ids()
        per: dict[int, dict] = defaultdict(lambda: {"chats": set(), "first": [], "handling": [], "stars": [0] * 5,
                                                    "missed": 0})
        series: dict[tuple[int, str], dict] = defaultdict(lambda: {"chats": set(), "first": [], "good": 0, "rated": 0})
        bucket = _bucket(self.d)
        for agent, cid, b, first, handling in await self.rows(
                select(a.agent_id, a.conversation_id, bucket,
                       _seconds(self.d, a.started_at, a.first_response_at),
                       _seconds(self.d, a.started_at, a.ended_at))
                .join(Conversation, Conversation.id == a.conversation_id).where(*self.where())):
            row, point = per[agent], series[(agent, self.period.label(self.local(int(b))))]
            row["chats"].add(cid)
            point["chats"].add(cid)
            if first is not None:
                row["first"].append(float(first))
                point["first"].append(float(first))
            if handling is not None:
                row["handling"].append(float(handling))
        for agent, stars, b in await self.rows(
                select(r.agent_id, r.stars, bucket).join(Conversation, Conversation.id == r.conversation_id)
                .where(*self.where(), r.agent_id.is_not(None))):
            per[agent]["stars"][stars - 1] += 1
            point = series[(agent, self.period.label(self.local(int(b))))]
            point["rated"] += 1
            point["good"] += stars >= 4
        for agent, n in await self.rows(select(Offer.agent_id, func.count())
                                        .where(Offer.conversation_id.in_(ids), Offer.status == "missed")
                                        .group_by(Offer.agent_id)):
            per[agent]["missed"] = n
        users = {u.id: u for u in await self.db.scalars(select(User).where(
            or_(and_(User.role.in_(CHAT_ROLES), User.active.is_(True)), User.id.in_(list(per) or [-1]))))}
        wanted = [only] if only is not None else sorted(users, key=lambda i: (users[i].display_name.lower(), i))
        rows = [agent_row(i, users[i].display_name if i in users else f"#{i}", per[i]) for i in wanted]
        points = [{"agent_id": i, "at": at, "chats": len(p["chats"]), "first_response_median_s": percentile(p["first"], 50),
                   "ratings": p["rated"], "csat": share(p["good"], p["rated"])}
                  for (i, at), p in sorted(series.items(), key=lambda kv: (kv[0][1], kv[0][0])) if i in wanted]
        return {"agents": rows, "step": self.period.step, "series": points}


def agent_row(agent_id: int, name: str, r: dict) -> dict:
    rated = sum(r["stars"])
    return {
        "agent_id": agent_id,
        "name": name,
        "chats": len(r["chats"]),
        "first_response_median_s": percentile(r["first"], 50),
        "first_response_p90_s": percentile(r["first"], 90),
        "handling_median_s": percentile(r["handling"], 50),
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


def _aware(dt: datetime) -> datetime:
    from handoff.routing import aware

    return aware(dt)
