"""One row of report figures per conversation (`report_conversations`), so a report over 100,000
conversations reads one narrow table instead of probing transitions and questions per conversation
(docs/reports.md, "Speed").

Kept up to date lazily: every report first recomputes the rows of the conversations changed since
the last refresh (`conversations.updated_at`, which every message, state change, handoff, rating and
page view moves), a few minutes of overlap included so a transaction that committed late is not
missed. So a late event (a rating, a "No", a reply) is in the very next report. Figures that are
not per conversation (waits, response times, ratings, offers, tickets, articles) are read from their
own tables, joined to this one for the period and the filters."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import (BigInteger, DateTime, Float, ForeignKey, Index, Integer, String, and_, case, delete, func, insert,
                        literal_column, or_, select, update)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from chat.models import Conversation, Message, Transition
from handoff.models import Assignment, Rating, Ticket
from knowledge_base.models import KbQuestion

log = logging.getLogger(__name__)

BUCKET_S = 900
# Every process refreshes this often in the background, so a report finds little left to read.
REFRESH_EVERY_S = 60.0
CHUNK = 2000
# A change committed this long after its updated_at was stamped is still picked up.
OVERLAP = timedelta(minutes=5)
HANDED_TO_PEOPLE = ("queued", "offline_form", "assigned")
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ReportConversation(Base):
    __tablename__ = "report_conversations"
    __table_args__ = (Index("ix_report_conversations_created_at", "created_at"),)

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # created_at // 15 min, in seconds since 1970 / 900: time series and the heat map group by it.
    bucket: Mapped[int] = mapped_column(BigInteger)
    language: Mapped[str | None] = mapped_column(String(16))
    handoff_reason: Mapped[str | None] = mapped_column(String(60))
    start_page: Mapped[str | None] = mapped_column(String(2000))
    handed: Mapped[int] = mapped_column(Integer)  # 0/1: queued, offline form or an agent at some point
    contained: Mapped[int] = mapped_column(Integer)  # 0/1: not handed and no "No"
    questions: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)
    not_sure: Mapped[int] = mapped_column(Integer)
    helped_yes: Mapped[int] = mapped_column(Integer)
    helped_no: Mapped[int] = mapped_column(Integer)
    queued: Mapped[int] = mapped_column(Integer)  # 0/1
    abandoned: Mapped[int] = mapped_column(Integer)  # 0/1: left the queue or ended the chat while queued
    timed_out: Mapped[int] = mapped_column(Integer)  # 0/1: from the queue to the offline form


class ReportQuestion(Base):
    """The knowledge-base questions of the rollup's conversations that an article served or that
    are knowledge gaps, with their conversation's start: "articles served most" and "questions not
    answered most" read this narrow table (and its covering indexes), not kb_questions."""

    __tablename__ = "report_questions"
    __table_args__ = (Index("ix_report_questions_served", "created_at", "article_id", "helped_yes", "helped_no"),
                      Index("ix_report_questions_gaps", "gap", "created_at", "question_key", "question"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the conversation's start
    article_id: Mapped[int | None] = mapped_column(Integer)  # set when an article answered it
    helped_yes: Mapped[int] = mapped_column(Integer)
    helped_no: Mapped[int] = mapped_column(Integer)
    gap: Mapped[int] = mapped_column(Integer)  # 0/1: a knowledge gap the visitor typed
    question_key: Mapped[str | None] = mapped_column(String(200))  # gaps: lower-cased, trimmed
    question: Mapped[str | None] = mapped_column(String(200))


FACT_KINDS = ("chat", "wait", "first_response", "handling", "rating", "offline")


class ReportFact(Base):
    """The timed facts of the rollup's conversations, one row each, with the conversation's start
    and 15-min bucket: `chat` (an agent had it), `wait` (seconds in the queue before an accept),
    `first_response` and `handling` (seconds, per assignment), `rating` (stars, for the agent rated)
    and `offline` (an offline message; seconds until an agent replied, or none). The agents' and the
    queue's figures read these through one covering index instead of joining four tables."""

    __tablename__ = "report_facts"
    __table_args__ = (Index("ix_report_facts_period", "created_at", "kind", "agent_id", "value", "bucket",
                            "conversation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the conversation's start
    bucket: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)


# What refresh() reads (migration 0007).
Index("ix_conversations_updated_at", Conversation.updated_at)


class ReportState(Base):
    """One row (id 1): how far the rollup has read. Its UPDATE serialises refreshes."""

    __tablename__ = "report_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    refreshed_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _start_page(dialect: str):
    if dialect == "sqlite":
        return literal_column("json_extract(conversations.pages, '$[0].url')")
    return literal_column("(conversations.pages::json -> 0 ->> 'url')")


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


async def refresh(db: AsyncSession) -> int:
    """Bring the rollup up to date; returns how many conversations were recomputed. Chunks of
    CHUNK conversations, each its own short transaction (SQLite's writer is never held long)."""
    started = utcnow()
    await db.execute(update(ReportState).where(ReportState.id == 1).values(id=1))  # the refresh lock
    state = await db.get(ReportState, 1, populate_existing=True)
    if state is None:
        await db.execute(insert(ReportState).values(id=1, refreshed_to=None))
        state = await db.get(ReportState, 1)
    since = _aware(state.refreshed_to) - OVERLAP if state.refreshed_to else EPOCH
    cursor: tuple[datetime, str] = (since, "")
    done = 0
    c = Conversation
    while True:
        rows = (await db.execute(
            select(c.id, c.updated_at).where(or_(c.updated_at > cursor[0], and_(c.updated_at == cursor[0], c.id > cursor[1])))
            .order_by(c.updated_at, c.id).limit(CHUNK))).all()
        if not rows:
            break
        await recompute(db, [r.id for r in rows])
        done += len(rows)
        cursor = (rows[-1].updated_at, rows[-1].id)
        if len(rows) < CHUNK:
            break
        # Read up to here: a refresh waiting for the lock goes on from this point, not from the start.
        await db.execute(update(ReportState).where(ReportState.id == 1).values(refreshed_to=min(_aware(cursor[0]), started)))
        await db.commit()
        await db.execute(update(ReportState).where(ReportState.id == 1).values(id=1))
    await db.execute(update(ReportState).where(ReportState.id == 1).values(refreshed_to=started))
    await db.commit()
    return done


async def recompute(db: AsyncSession, ids: list[str]) -> None:
    """The rows of these conversations, from their conversations, transitions and questions."""
    d = db.bind.dialect.name
    c, t, q = Conversation, Transition, KbQuestion
    moves = {r[0]: r[1:] for r in (await db.execute(
        select(t.conversation_id,
               func.max(case((t.to_state.in_(HANDED_TO_PEOPLE), 1), else_=0)),
               func.max(case((t.to_state == "queued", 1), else_=0)),
               func.max(case((and_(t.from_state == "queued", t.to_state.in_(("bot", "closed")), t.actor == "visitor"), 1),
                             else_=0)),
               func.max(case((and_(t.from_state == "queued", t.to_state == "offline_form"), 1), else_=0)))
        .where(t.conversation_id.in_(ids)).group_by(t.conversation_id))).all()}
    said = []
    for cid, text, from_button, article_id, outcome, feedback, handoff_after in (await db.execute(
            select(q.conversation_id, q.text, q.from_button, q.article_id, q.outcome, q.feedback, q.handoff_after)
            .where(q.conversation_id.in_(ids)))).all():
        served = article_id is not None and outcome != "fallback"
        gap = not from_button and (outcome in ("fallback", "low_confidence") or feedback == "not_helpful" or handoff_after)
        if served or gap:
            said.append((cid, {"article_id": article_id if served else None, "helped_yes": int(feedback == "helpful"),
                               "helped_no": int(feedback == "not_helpful"), "gap": int(gap),
                               "question_key": text.strip().lower()[:200] if gap else None,
                               "question": text.strip()[:200] if gap else None}))
    asked = {r[0]: r[1:] for r in (await db.execute(
        select(q.conversation_id, func.count(),
               func.sum(case((q.outcome.in_(("answered", "low_confidence")), 1), else_=0)),
               func.sum(case((q.outcome == "fallback", 1), else_=0)),
               func.sum(case((q.feedback == "helpful", 1), else_=0)),
               func.sum(case((q.feedback == "not_helpful", 1), else_=0)))
        .where(q.conversation_id.in_(ids)).group_by(q.conversation_id))).all()}
    out = []
    for cid, created, language, reason, page, last_seq in (await db.execute(
            select(c.id, c.created_at, c.language, c.handoff_reason, _start_page(d), c.last_seq)
            .where(c.id.in_(ids)))).all():
        if not last_seq:  # the chat window opened, nothing said: not a conversation (yet)
            continue
        handed, queued, abandoned, timed_out = (int(v or 0) for v in moves.get(cid, (0, 0, 0, 0)))
        questions, answered, not_sure, yes, no = (int(v or 0) for v in asked.get(cid, (0, 0, 0, 0, 0)))
        created = _aware(created)
        out.append({"conversation_id": cid, "created_at": created,
                    "bucket": int((created - EPOCH).total_seconds()) // BUCKET_S,
                    "language": language, "handoff_reason": reason, "start_page": (page or None) and page[:2000],
                    "handed": handed, "contained": int(not handed and not no), "questions": questions,
                    "answered": answered, "not_sure": not_sure, "helped_yes": yes, "helped_no": no,
                    "queued": queued, "abandoned": abandoned, "timed_out": timed_out})
    facts = await _facts(db, ids)
    await db.execute(delete(ReportConversation).where(ReportConversation.conversation_id.in_(ids)))
    await db.execute(delete(ReportQuestion).where(ReportQuestion.conversation_id.in_(ids)))
    await db.execute(delete(ReportFact).where(ReportFact.conversation_id.in_(ids)))
    if out:
        await db.execute(insert(ReportConversation), out)
    started = {row["conversation_id"]: row["created_at"] for row in out}
    questions = [{"conversation_id": cid, "created_at": started[cid], **row} for cid, row in said if cid in started]
    if questions:
        await db.execute(insert(ReportQuestion), questions)
    facts = [{"conversation_id": cid, "created_at": started[cid],
              "bucket": int((started[cid] - EPOCH).total_seconds()) // BUCKET_S, "kind": kind, "agent_id": agent,
              "value": value} for cid, kind, agent, value in facts if cid in started]
    if facts:
        await db.execute(insert(ReportFact), facts)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return None if start is None or end is None else (_aware(end) - _aware(start)).total_seconds()


async def _facts(db: AsyncSession, ids: list[str]) -> list[tuple]:
    """(conversation id, kind, agent id, value) of these conversations."""
    a, r, tk, m = Assignment, Rating, Ticket, Message
    out = []
    for cid, agent, queued, started, first, ended in (await db.execute(
            select(a.conversation_id, a.agent_id, a.queued_at, a.started_at, a.first_response_at, a.ended_at)
            .where(a.conversation_id.in_(ids)))).all():
        out.append((cid, "chat", agent, None))
        if queued is not None:
            out.append((cid, "wait", agent, _seconds(queued, started)))
        if first is not None:
            out.append((cid, "first_response", agent, _seconds(started, first)))
        if ended is not None:
            out.append((cid, "handling", agent, _seconds(started, ended)))
    for cid, agent, stars in (await db.execute(
            select(r.conversation_id, r.agent_id, r.stars).where(r.conversation_id.in_(ids)))).all():
        out.append((cid, "rating", agent, float(stars)))
    first_reply = (select(func.min(m.created_at)).where(m.conversation_id == tk.conversation_id, m.sender == "agent",
                                                        m.created_at >= tk.created_at).scalar_subquery())
    for cid, at, reply in (await db.execute(
            select(tk.conversation_id, tk.created_at, first_reply).where(tk.conversation_id.in_(ids)))).all():
        out.append((cid, "offline", None, _seconds(at, reply)))
    return out


async def run(ctx) -> None:
    """In the background of every process: the rollup filled after an upgrade (a minute or so for
    100,000 conversations) and kept close to now, so reports stay quick."""
    while True:
        try:
            async with ctx.sessionmaker() as db:
                await refresh(db)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failed refresh (database restarting) is retried next time
            log.exception("report rollup refresh failed")
        await asyncio.sleep(REFRESH_EVERY_S)
