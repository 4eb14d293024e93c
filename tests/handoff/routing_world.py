"""A small world for routing tests: agents, visitors' chats and a clock the test moves by hand."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select, update

from accounts.models import User
from chat import service
from chat.models import Conversation
from handoff import routing
from handoff.models import Assignment, Offer, QueueEntry, RoutingSettings

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


async def wipe(sessionmaker) -> None:
    """Empty every table a routing test writes, and reset the settings to their defaults."""
    from app.db import Base

    async with sessionmaker() as db:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in ("routing_settings", "alembic_version", "kb_version"):
                await db.execute(delete(table))
        await db.execute(update(RoutingSettings).values(
            strategy="average_utilization", routing_time_s=30, inactivity_s=600, breathing_s=0,
            presence_timeout_s=30, grace_s=60, max_queue_wait_s=300))
        await db.commit()


class World:
    def __init__(self, sessionmaker, now: datetime = T0):
        self.sm = sessionmaker
        self.now = now
        self.live: dict[int, str] = {}  # agent id -> status their console keeps sending

    async def settings(self, **values) -> routing.Effects:
        async with self.sm() as db:
            _, effects = await routing.update_settings(db, values, now=self.now)
        return effects

    async def agent(self, name: str, *, max_chats: int = 3, priority: int = 50, status: str = "online",
                    accepting: bool = True) -> int:
        async with self.sm() as db:
            user = User(email=f"{name.lower()}@test.shop", display_name=name, role="agent", password_hash="x",
                        max_chats=max_chats, priority=priority, accepting_chats=accepting)
            db.add(user)
            await db.commit()
            agent_id = user.id
        self.live[agent_id] = status
        await self.heartbeat(agent_id, status)
        return agent_id

    async def heartbeat(self, agent_id: int, status: str = "online") -> routing.Effects:
        self.live[agent_id] = status
        async with self.sm() as db:
            return await routing.heartbeat(db, agent_id, status=status, now=self.now)

    def vanish(self, agent_id: int) -> None:
        """The agent's console stops heartbeating (closed laptop, lost network)."""
        self.live.pop(agent_id, None)

    async def chat(self, visitor_id: str | None = None, email: str | None = None) -> str:
        async with self.sm() as db:
            conv, _ = await service.create_conversation(db)
            conv.visitor_id, conv.visitor_email = visitor_id, email
            await db.commit()
            return conv.id

    async def enqueue(self, cid: str, reason: str = "visitor_asked") -> routing.Effects:
        async with self.sm() as db:
            return await routing.enqueue(db, cid, reason=reason, actor="visitor", now=self.now)

    async def queued_chat(self, **kw) -> tuple[str, routing.Effects]:
        cid = await self.chat(**kw)
        return cid, await self.enqueue(cid)

    async def advance(self, seconds: float, *, step: float = 5.0) -> routing.Effects:
        """Move the clock; live consoles heartbeat every `step` seconds and timers fire."""
        effects = routing.Effects()
        remaining = seconds
        while remaining > 0:
            dt = min(step, remaining)
            self.now += timedelta(seconds=dt)
            remaining -= dt
            for agent_id, status in list(self.live.items()):
                effects.merge(await self.heartbeat(agent_id, status))
            async with self.sm() as db:
                effects.merge(await routing.tick(db, now=self.now))
        return effects

    async def accept(self, offer_id: int, agent_id: int) -> routing.Effects:
        async with self.sm() as db:
            return await routing.accept(db, offer_id, agent_id, now=self.now)

    async def decline(self, offer_id: int, agent_id: int) -> routing.Effects:
        async with self.sm() as db:
            return await routing.decline(db, offer_id, agent_id, now=self.now)

    async def close(self, cid: str) -> routing.Effects:
        async with self.sm() as db:
            return await routing.close(db, cid, actor="visitor", now=self.now)

    async def take_over(self, cid: str, agent_id: int) -> routing.Effects:
        async with self.sm() as db:
            return await routing.take_over(db, cid, agent_id, now=self.now)

    async def give(self, agent_id: int, n: int) -> list[str]:
        """Give an agent n running chats (taken over from the bot)."""
        out = []
        for _ in range(n):
            cid = await self.chat()
            await self.take_over(cid, agent_id)
            out.append(cid)
        return out

    # ---- what the database says ---------------------------------------------------------------
    async def pending(self, cid: str | None = None) -> list[Offer]:
        async with self.sm() as db:
            q = select(Offer).where(Offer.status == "pending")
            if cid is not None:
                q = q.where(Offer.conversation_id == cid)
            return list(await db.scalars(q.order_by(Offer.id)))

    async def offered_to(self, cid: str) -> set[int]:
        return {o.agent_id for o in await self.pending(cid)}

    async def offer_for(self, cid: str, agent_id: int) -> Offer:
        [offer] = [o for o in await self.pending(cid) if o.agent_id == agent_id]
        return offer

    async def state(self, cid: str) -> str:
        async with self.sm() as db:
            return (await db.get(Conversation, cid, populate_existing=True)).state

    async def owner(self, cid: str) -> int | None:
        async with self.sm() as db:
            return (await db.get(Conversation, cid, populate_existing=True)).agent_id

    async def running(self, agent_id: int) -> int:
        async with self.sm() as db:
            return await db.scalar(select(func.count()).select_from(Assignment).where(
                Assignment.agent_id == agent_id, Assignment.ended_at.is_(None), Assignment.inactive.is_(False)))

    async def missed(self, agent_id: int) -> int:
        async with self.sm() as db:
            return await db.scalar(select(func.count()).select_from(Offer).where(
                Offer.agent_id == agent_id, Offer.status == "missed"))

    async def queue_order(self) -> list[str]:
        async with self.sm() as db:
            return [p["conversation_id"] for p in await routing.queue_positions(db, now=self.now)]

    async def queue_entry(self, cid: str) -> QueueEntry | None:
        async with self.sm() as db:
            return await db.get(QueueEntry, cid)
