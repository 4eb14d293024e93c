"""Post-chat ratings (1-5 stars and an optional comment, once per chat) and the per-agent figures
the console's ranking shows: CSAT, average stars, chats handled, missed chats, first response."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import CHAT_ROLES, User
from app.db import utcnow
from chat.models import Conversation
from chat.service import set_state
from handoff.models import Assignment, Offer, Rating
from handoff.routing import aware

MAX_COMMENT = 1000


class RatingError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


async def last_agent(db: AsyncSession, conversation_id: str) -> int | None:
    """The agent of the conversation's last assignment (None for a chat only the bot handled)."""
    return await db.scalar(
        select(Assignment.agent_id).where(Assignment.conversation_id == conversation_id)
        .order_by(Assignment.started_at.desc(), Assignment.id.desc()).limit(1))


async def rate(db: AsyncSession, conversation_id: str, *, stars: int, comment: str | None,
               now: datetime | None = None) -> Rating:
    """Rate a closed chat, once: the rating and the transition closed -> rated commit together.
    Input must be checked already (chat.visitor_ns.check_rating)."""
    now = now or utcnow()
    # The first statement writes the row: a row lock on PostgreSQL, the write lock on SQLite, so
    # two tabs rating at once are serialised (and the primary key refuses a second rating anyway).
    await db.execute(update(Conversation).where(Conversation.id == conversation_id).values(updated_at=now))
    conv = await db.get(Conversation, conversation_id, populate_existing=True)
    if conv is None:
        await db.rollback()
        raise RatingError("unknown_session", "no such conversation")
    if conv.state == "rated" or await db.get(Rating, conversation_id) is not None:
        await db.rollback()
        raise RatingError("already_rated", "this chat has been rated already")
    if conv.state != "closed":
        await db.rollback()
        raise RatingError("not_closed", "a chat can be rated once it has ended")
    rating = Rating(conversation_id=conversation_id, agent_id=await last_agent(db, conversation_id),
                    stars=stars, comment=comment or None, created_at=now)
    db.add(rating)
    try:
        await set_state(db, conversation_id, to_state="rated", actor="visitor", reason=f"rated {stars} of 5")
    except IntegrityError:
        await db.rollback()
        raise RatingError("already_rated", "this chat has been rated already") from None
    return rating


async def is_rated(db: AsyncSession, conversation_id: str) -> bool:
    return await db.get(Rating, conversation_id) is not None


async def agent_ranking(db: AsyncSession, since: datetime) -> list[dict]:
    """One row per agent for the period from `since`: CSAT (share of 4 and 5 star ratings), average
    stars, ratings, chats handled (assignments started), missed chats (offers that rang out) and
    average first response time (first agent message after the assignment started). Figures with
    nothing to average are None. Best first: CSAT, then average stars, then chats handled."""
    rows: dict[int, dict] = defaultdict(lambda: {"stars": [], "chats": set(), "missed": 0, "first": []})
    for agent_id, stars in await db.execute(
            select(Rating.agent_id, Rating.stars).where(Rating.agent_id.is_not(None), Rating.created_at >= since)):
        rows[agent_id]["stars"].append(stars)
    for agent_id, cid, started, first in await db.execute(
            select(Assignment.agent_id, Assignment.conversation_id, Assignment.started_at,
                   Assignment.first_response_at).where(Assignment.started_at >= since)):
        rows[agent_id]["chats"].add(cid)
        if first is not None:
            rows[agent_id]["first"].append((aware(first) - aware(started)).total_seconds())
    for (agent_id,) in await db.execute(
            select(Offer.agent_id).where(Offer.status == "missed", Offer.created_at >= since)):
        rows[agent_id]["missed"] += 1
    agents = {u.id: u for u in await db.scalars(select(User).where(
        (User.role.in_(CHAT_ROLES) & User.active.is_(True)) | User.id.in_(list(rows) or [-1])))}
    out = []
    for agent_id, user in agents.items():
        r = rows[agent_id]
        stars = r["stars"]
        out.append({
            "agent_id": agent_id,
            "name": user.display_name,
            "csat": round(sum(1 for s in stars if s >= 4) / len(stars), 4) if stars else None,
            "avg_stars": round(sum(stars) / len(stars), 2) if stars else None,
            "ratings": len(stars),
            "chats": len(r["chats"]),
            "missed": r["missed"],
            "avg_first_response_s": round(sum(r["first"]) / len(r["first"]), 1) if r["first"] else None,
        })
    out.sort(key=lambda a: (a["csat"] is None, -(a["csat"] or 0), -(a["avg_stars"] or 0), -a["chats"],
                            a["name"].lower(), a["agent_id"]))
    return out
