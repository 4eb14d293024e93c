"""Chat distribution (docs/routing.md): the queue, offers, accepts, timers and the five strategies.

Every public function here is one database transaction that starts by taking the routing lock
(an UPDATE of the single routing_settings row): decisions are serialised across every app process,
read what the database says now, and commit before anyone is told. Time is always passed in as
`now`, so tests drive the timers with a controllable clock and a restart loses nothing.

Functions return Effects: what changed, for handoff/notify.py to tell the consoles and visitors.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import CHAT_ROLES, User
from chat.models import Conversation, Transition
from handoff.models import STRATEGIES, Assignment, Offer, QueueEntry, RoutingSettings

# A requeue "at the head" sorts before every normally queued chat, keeping its own order.
HEAD_SHIFT = timedelta(days=3650)
# Open states in which a chat can still be handed to a person.
OPEN_STATES = ("bot", "queued", "assigned", "offline_form")
SETTING_FIELDS = ("strategy", "routing_time_s", "inactivity_s", "breathing_s", "presence_timeout_s",
                  "grace_s", "max_queue_wait_s")


class RoutingError(Exception):
    """A request that cannot be done (stale offer, not the owner, over the load limit...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class Effects:
    """What one decision changed, in the order it happened."""

    offers: list[Offer] = field(default_factory=list)                 # new offers, ringing
    withdrawn: list[tuple[Offer, str]] = field(default_factory=list)  # (offer, missed|declined|withdrawn|accepted_elsewhere)
    states: list[tuple[str, str, str]] = field(default_factory=list)  # (conversation_id, new state, reason)
    assigned: list[tuple[str, int, int | None]] = field(default_factory=list)  # (conversation, agent, previous agent)
    released: list[tuple[str, int, str]] = field(default_factory=list)  # (conversation, agent, why)
    queue_changed: bool = False

    def merge(self, other: "Effects") -> "Effects":
        self.offers += other.offers
        self.withdrawn += other.withdrawn
        self.states += other.states
        self.assigned += other.assigned
        self.released += other.released
        self.queue_changed = self.queue_changed or other.queue_changed
        return self

    def __bool__(self) -> bool:
        return bool(self.offers or self.withdrawn or self.states or self.assigned or self.released
                    or self.queue_changed)


def aware(dt: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; everything here is UTC."""
    if dt is not None and dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt


# ---- the lock and the settings ----------------------------------------------------------------

async def _lock(db: AsyncSession) -> RoutingSettings:
    """Take the routing lock (must be the transaction's first statement) and read the settings,
    in one round trip. The migration creates the row."""
    return (await db.scalars(
        update(RoutingSettings).where(RoutingSettings.id == 1)
        .values(decisions=RoutingSettings.decisions + 1).returning(RoutingSettings),
        execution_options={"populate_existing": True})).one()


async def get_settings(db: AsyncSession) -> dict:
    row = await db.get(RoutingSettings, 1)  # the migration creates it
    return {f: getattr(row, f) for f in SETTING_FIELDS}


def check_settings(values: dict) -> dict:
    """Validate an admin's change; raises RoutingError naming the field."""
    clean = {}
    for key, value in values.items():
        if key not in SETTING_FIELDS:
            raise RoutingError("bad_setting", f"unknown setting '{key}'")
        if key == "strategy":
            if value not in STRATEGIES:
                raise RoutingError("bad_setting", f"strategy must be one of {', '.join(STRATEGIES)}")
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 86_400:
            raise RoutingError("bad_setting", f"'{key}' must be a whole number of seconds from 0 to 86400")
        elif key in ("routing_time_s", "presence_timeout_s") and value < 5:
            raise RoutingError("bad_setting", f"'{key}' must be at least 5 seconds")
        clean[key] = value
    return clean


async def update_settings(db: AsyncSession, values: dict, *, now: datetime) -> tuple[dict, Effects]:
    """Change settings without a restart; the queue is routed again under the new rules."""
    clean = check_settings(values)
    row = await _lock(db)
    for key, value in clean.items():
        setattr(row, key, value)
    row.updated_at = now
    effects = await _route_queue(db, row, now)
    await db.commit()
    return {f: getattr(row, f) for f in SETTING_FIELDS}, effects


async def _route_and_commit(db: AsyncSession, settings: RoutingSettings, now: datetime, effects: Effects) -> Effects:
    """The end of a decision that may have freed a slot or queued a chat: route, then commit."""
    await db.flush()
    effects.merge(await _route_queue(db, settings, now))
    await db.commit()
    return effects


async def _my_offer(db: AsyncSession, offer_id: int, agent_id: int) -> Offer:
    """The agent's own offer, still ringing."""
    offer = await db.get(Offer, offer_id, populate_existing=True)
    if offer is None or offer.agent_id != agent_id:
        raise RoutingError("not_your_offer", "this offer is not yours")
    if offer.status != "pending":
        raise RoutingError("offer_gone", "this chat is no longer offered to you")
    return offer


# ---- state changes ----------------------------------------------------------------------------

async def _set_state(db: AsyncSession, conv: Conversation, to_state: str, *, actor: str, reason: str,
                     now: datetime, effects: Effects) -> None:
    if conv.state == to_state and to_state != "assigned":
        return
    db.add(Transition(conversation_id=conv.id, from_state=conv.state, to_state=to_state, actor=actor,
                      reason=reason, at=now))
    conv.state = to_state
    effects.states.append((conv.id, to_state, reason))


async def _enqueue_row(db: AsyncSession, conv: Conversation, *, reason: str, now: datetime, at_head: bool,
                       target_agent_id: int | None = None) -> None:
    sort_at = now - HEAD_SHIFT if at_head else now
    db.add(QueueEntry(conversation_id=conv.id, queued_at=now, sort_at=sort_at, reason=reason,
                      target_agent_id=target_agent_id))


async def _end_assignment(db: AsyncSession, conv: Conversation, *, why: str, now: datetime,
                          effects: Effects) -> int | None:
    """Close the chat's open assignment; returns the agent who had it."""
    a = await db.scalar(select(Assignment).where(Assignment.conversation_id == conv.id,
                                                 Assignment.ended_at.is_(None)))
    if a is None:
        return None
    a.ended_at, a.end_reason = now, why
    conv.agent_id = None
    effects.released.append((conv.id, a.agent_id, why))
    return a.agent_id


async def _withdraw_offers(db: AsyncSession, conversation_id: str, *, status: str, now: datetime,
                           effects: Effects, agent_id: int | None = None, keep: int | None = None) -> None:
    q = select(Offer).where(Offer.conversation_id == conversation_id, Offer.status == "pending")
    if agent_id is not None:
        q = q.where(Offer.agent_id == agent_id)
    for offer in await db.scalars(q):
        if offer.id == keep:
            continue
        offer.status, offer.resolved_at = status, now
        effects.withdrawn.append((offer, status))


async def online_agent_count(db: AsyncSession, timeout: int, now: datetime) -> int:
    return await db.scalar(
        select(func.count()).select_from(User).where(
            User.active.is_(True), User.role.in_(CHAT_ROLES), User.status == "online",
            User.last_heartbeat_at >= now - timedelta(seconds=timeout))
    ) or 0


async def enqueue(db: AsyncSession, conversation_id: str, *, reason: str, actor: str, now: datetime,
                  at_head: bool = False) -> Effects:
    """A chat asks for a person: queued and routed at once, or offered the offline form when no
    agent is online. Asking again while queued or assigned changes nothing."""
    settings = await _lock(db)
    effects = Effects()
    conv = await db.get(Conversation, conversation_id, populate_existing=True)
    if conv is None or conv.state not in ("bot", "offline_form"):
        await db.commit()
        return effects
    conv.handoff_reason = reason
    if await online_agent_count(db, settings.presence_timeout_s, now) == 0:
        await _set_state(db, conv, "offline_form", actor=actor, reason=f"{reason}; no agent online",
                         now=now, effects=effects)
        await db.commit()
        return effects
    await _set_state(db, conv, "queued", actor=actor, reason=reason, now=now, effects=effects)
    await _enqueue_row(db, conv, reason=reason, now=now, at_head=at_head)
    effects.queue_changed = True
    return await _route_and_commit(db, settings, now, effects)


async def leave_queue(db: AsyncSession, conversation_id: str, *, now: datetime) -> Effects:
    """The visitor stops waiting: back to the bot, every offer withdrawn."""
    await _lock(db)
    effects = Effects()
    conv = await db.get(Conversation, conversation_id, populate_existing=True)
    if conv is None or conv.state not in ("queued", "offline_form"):
        await db.commit()
        return effects
    await db.execute(delete(QueueEntry).where(QueueEntry.conversation_id == conversation_id))
    await _withdraw_offers(db, conversation_id, status="withdrawn", now=now, effects=effects)
    await _set_state(db, conv, "bot", actor="visitor", reason="left the queue", now=now, effects=effects)
    effects.queue_changed = True
    await db.commit()
    return effects


async def accept(db: AsyncSession, offer_id: int, agent_id: int, *, now: datetime) -> Effects:
    """The agent accepts an offer. Exactly one accept per chat wins; the others get `offer_gone`."""
    settings = await _lock(db)
    effects = Effects()
    offer = await _my_offer(db, offer_id, agent_id)
    if aware(offer.expires_at) <= now:  # rang out; the next tick records the miss
        raise RoutingError("offer_gone", "this chat is no longer offered to you")
    agent = await db.get(User, agent_id, populate_existing=True)
    if await _running(db, agent_id) >= agent.max_chats:
        raise RoutingError("at_max_load", "you are at your max chat load; close a chat first")
    conv = await db.get(Conversation, offer.conversation_id, populate_existing=True)
    entry = await db.get(QueueEntry, conv.id, populate_existing=True)
    offer.status, offer.resolved_at = "accepted", now
    await _withdraw_offers(db, conv.id, status="withdrawn", now=now, effects=effects, keep=offer.id)
    previous = await _end_assignment(db, conv, why="transferred", now=now, effects=effects) \
        if offer.kind == "transfer" and conv.state == "assigned" else None
    queued_at = aware(entry.queued_at) if entry is not None and offer.kind != "transfer" else None
    await _assign(db, conv, agent, queued_at=queued_at, now=now,
                  reason="transfer accepted" if offer.kind == "transfer" else "offer accepted",
                  previous=previous, effects=effects)
    if entry is not None:
        await db.delete(entry)
        effects.queue_changed = True
    return await _route_and_commit(db, settings, now, effects)


async def _assign(db: AsyncSession, conv: Conversation, agent: User, *, queued_at: datetime | None,
                  now: datetime, reason: str, previous: int | None, effects: Effects) -> None:
    db.add(Assignment(conversation_id=conv.id, agent_id=agent.id, queued_at=queued_at, started_at=now,
                      last_activity_at=now))
    conv.agent_id = agent.id
    agent.last_assigned_at = now
    await _set_state(db, conv, "assigned", actor=f"agent:{agent.id}", reason=reason, now=now, effects=effects)
    effects.assigned.append((conv.id, agent.id, previous))


async def decline(db: AsyncSession, offer_id: int, agent_id: int, *, now: datetime) -> Effects:
    """Counts like a miss without waiting; the chat goes to the next agent."""
    settings = await _lock(db)
    effects = Effects()
    offer = await _my_offer(db, offer_id, agent_id)
    await _refuse(db, offer, "declined", now, effects)
    return await _route_and_commit(db, settings, now, effects)


async def _refuse(db: AsyncSession, offer: Offer, status: str, now: datetime, effects: Effects) -> None:
    offer.status, offer.resolved_at = status, now
    effects.withdrawn.append((offer, status))
    entry = await db.get(QueueEntry, offer.conversation_id, populate_existing=True)
    if entry is not None:
        if status == "declined":
            entry.last_decline_at = now
        if entry.target_agent_id == offer.agent_id:  # a transfer the target did not take
            await db.delete(entry)
            await _transfer_refused(db, offer, now, effects)
        effects.queue_changed = True


async def _transfer_refused(db: AsyncSession, offer: Offer, now: datetime, effects: Effects) -> None:
    """The chat stays with the agent who tried to transfer it (it never left them)."""
    conv = await db.get(Conversation, offer.conversation_id, populate_existing=True)
    if conv.state == "assigned":
        effects.states.append((conv.id, "assigned", f"transfer {offer.status}"))


async def take_over(db: AsyncSession, conversation_id: str, agent_id: int, *, now: datetime) -> Effects:
    """An agent takes a chat that is still with the bot (or waiting in the queue)."""
    settings = await _lock(db)
    effects = Effects()
    conv = await db.get(Conversation, conversation_id, populate_existing=True)
    agent = await db.get(User, agent_id, populate_existing=True)
    if conv is None or conv.state not in ("bot", "queued", "offline_form"):
        raise RoutingError("not_available", "this chat is not with the bot or in the queue")
    if await _running(db, agent_id) >= agent.max_chats:
        raise RoutingError("at_max_load", "you are at your max chat load; close a chat first")
    entry = await db.get(QueueEntry, conv.id, populate_existing=True)
    if conv.state != "queued":
        conv.handoff_reason = "agent took over"
        await _set_state(db, conv, "queued", actor=f"agent:{agent_id}", reason="agent took over", now=now,
                         effects=effects)
    await _withdraw_offers(db, conv.id, status="withdrawn", now=now, effects=effects)
    await _assign(db, conv, agent, queued_at=aware(entry.queued_at) if entry else now, now=now,
                  reason="agent took over", previous=None, effects=effects)
    if entry is not None:
        await db.delete(entry)
        effects.queue_changed = True
    return await _route_and_commit(db, settings, now, effects)


async def _owned(db: AsyncSession, conversation_id: str, agent_id: int, is_admin: bool) -> Conversation:
    conv = await db.get(Conversation, conversation_id, populate_existing=True)
    if conv is None:
        raise RoutingError("not_found", "no such chat")
    if conv.agent_id != agent_id and not is_admin:
        raise RoutingError("not_owner", "this chat is not yours")
    return conv


async def transfer(db: AsyncSession, conversation_id: str, agent_id: int, *, to_agent_id: int | None,
                   now: datetime, is_admin: bool = False) -> Effects:
    """To another agent: it rings for them and stays with the current owner until they accept.
    To the queue (to_agent_id None): released now and requeued at the head."""
    settings = await _lock(db)
    effects = Effects()
    conv = await _owned(db, conversation_id, agent_id, is_admin)
    if conv.state != "assigned":
        raise RoutingError("not_assigned", "only a chat with an agent can be transferred")
    if to_agent_id is None:
        await _end_assignment(db, conv, why="transferred to queue", now=now, effects=effects)
        await _set_state(db, conv, "queued", actor=f"agent:{agent_id}", reason="transferred to queue",
                         now=now, effects=effects)
        await _enqueue_row(db, conv, reason="transferred to queue", now=now, at_head=True)
    else:
        target = await db.get(User, to_agent_id, populate_existing=True)
        if target is None or not target.active or target.role not in CHAT_ROLES or to_agent_id == conv.agent_id:
            raise RoutingError("bad_target", "choose another agent")
        if await db.get(QueueEntry, conv.id) is not None:
            raise RoutingError("transfer_pending", "a transfer of this chat is already ringing")
        if not await _eligible(db, settings, now, target_ids=[to_agent_id]):
            raise RoutingError("target_unavailable", "that agent is not online or has no free slot")
        db.add(QueueEntry(conversation_id=conv.id, queued_at=now, sort_at=now - HEAD_SHIFT,
                          reason="transfer", target_agent_id=to_agent_id))
        await db.flush()
        effects.offers.append(await _offer(db, conv.id, to_agent_id, 1, "transfer", settings, now,
                                           from_agent_id=conv.agent_id))
    effects.queue_changed = True
    return await _route_and_commit(db, settings, now, effects)


async def return_to_bot(db: AsyncSession, conversation_id: str, agent_id: int, *, now: datetime,
                        is_admin: bool = False) -> Effects:
    settings = await _lock(db)
    effects = Effects()
    conv = await _owned(db, conversation_id, agent_id, is_admin)
    if conv.state != "assigned":
        raise RoutingError("not_assigned", "this chat is not with an agent")
    await _cancel_transfer(db, conv, now, effects)
    await _end_assignment(db, conv, why="returned to bot", now=now, effects=effects)
    conv.bot_failures = 0
    await _set_state(db, conv, "bot", actor=f"agent:{agent_id}", reason="returned to bot", now=now, effects=effects)
    return await _route_and_commit(db, settings, now, effects)


async def _cancel_transfer(db: AsyncSession, conv: Conversation, now: datetime, effects: Effects) -> None:
    await db.execute(delete(QueueEntry).where(QueueEntry.conversation_id == conv.id))
    await _withdraw_offers(db, conv.id, status="withdrawn", now=now, effects=effects)


async def close(db: AsyncSession, conversation_id: str, *, actor: str, now: datetime,
                agent_id: int | None = None, is_admin: bool = False, reason: str = "ended") -> Effects:
    """End the chat (visitor, owner agent or admin); its slot frees and the queue drains."""
    settings = await _lock(db)
    effects = Effects()
    conv = await (_owned(db, conversation_id, agent_id, is_admin) if agent_id is not None
                  else db.get(Conversation, conversation_id, populate_existing=True))
    if conv is None or conv.state not in OPEN_STATES:
        await db.commit()
        return effects
    if conv.state == "queued" or await db.get(QueueEntry, conv.id) is not None:
        effects.queue_changed = True
    await _cancel_transfer(db, conv, now, effects)
    await _end_assignment(db, conv, why="closed", now=now, effects=effects)
    conv.closed_at = now
    await _set_state(db, conv, "closed", actor=actor, reason=reason, now=now, effects=effects)
    return await _route_and_commit(db, settings, now, effects)


async def note_activity(db: AsyncSession, conversation_id: str, *, sender: str, now: datetime) -> bool:
    """A message in an assigned chat: it is active again. Returns True when it was inactive (so its
    slot is taken again). Plain UPDATE, no routing lock needed."""
    values: dict = {"last_activity_at": now, "inactive": False}
    a = await db.scalar(select(Assignment).where(Assignment.conversation_id == conversation_id,
                                                 Assignment.ended_at.is_(None)))
    if a is None:
        return False
    was_inactive = a.inactive
    if sender == "agent" and a.first_response_at is None:
        values["first_response_at"] = now
    await db.execute(update(Assignment).where(Assignment.id == a.id).values(**values))
    await db.commit()
    return was_inactive


async def heartbeat(db: AsyncSession, agent_id: int, *, status: str, now: datetime) -> Effects:
    """The console is open (every few seconds). Going online or coming back drains the queue;
    going away withdraws the agent's offers."""
    timeout = (await get_settings(db))["presence_timeout_s"]
    await db.commit()  # SQLite: the write below must start its own transaction, not upgrade a read
    # The usual case, nothing changes: a plain UPDATE, without the routing lock, so hundreds of open
    # consoles do not queue up behind each other and in front of routing decisions.
    same = await db.execute(
        update(User).where(User.id == agent_id, User.status == status,
                           User.last_heartbeat_at >= now - timedelta(seconds=timeout))
        .values(last_heartbeat_at=now).returning(User.id)
        # No in-Python evaluation of the WHERE against loaded objects (SQLite's naive datetimes).
        .execution_options(synchronize_session=False))
    if same.first() is not None:
        await db.commit()
        return Effects()
    await db.rollback()
    settings = await _lock(db)
    effects = Effects()
    agent = await db.get(User, agent_id, populate_existing=True)
    was_fresh = agent.last_heartbeat_at is not None and \
        aware(agent.last_heartbeat_at) >= now - timedelta(seconds=settings.presence_timeout_s)
    was_online = was_fresh and agent.status == "online"
    agent.status, agent.last_heartbeat_at = status, now
    if status != "online":
        await _withdraw_agent_offers(db, agent_id, now, effects)
    if status == "online" and not was_online or status != "online" and was_online:
        await db.flush()
        effects.merge(await _route_queue(db, settings, now))
    await db.commit()
    return effects


async def sign_off(db: AsyncSession, agent_id: int, *, now: datetime) -> Effects:
    """Explicit logout: offline at once; running chats still get the grace period."""
    settings = await _lock(db)
    effects = Effects()
    agent = await db.get(User, agent_id, populate_existing=True)
    agent.status = "offline"
    agent.last_heartbeat_at = now - timedelta(seconds=settings.presence_timeout_s)
    await _withdraw_agent_offers(db, agent_id, now, effects)
    return await _route_and_commit(db, settings, now, effects)


async def _withdraw_agent_offers(db: AsyncSession, agent_id: int, now: datetime, effects: Effects) -> None:
    for offer in await db.scalars(select(Offer).where(Offer.agent_id == agent_id, Offer.status == "pending")):
        offer.status, offer.resolved_at = "withdrawn", now
        effects.withdrawn.append((offer, "withdrawn"))
        entry = await db.get(QueueEntry, offer.conversation_id)
        if entry is not None and entry.target_agent_id == agent_id:
            await db.delete(entry)


# ---- timers -----------------------------------------------------------------------------------

async def tick(db: AsyncSession, *, now: datetime) -> Effects:
    """Fire every timer that is due, then route the queue. Every process may call this; the lock
    makes each timer fire once."""
    settings = await _lock(db)
    effects = Effects()
    # Offers that rang out: a missed chat each.
    for offer in await db.scalars(select(Offer).where(Offer.status == "pending", Offer.expires_at <= now)):
        await _refuse(db, offer, "missed", now, effects)
    # Agents whose console went quiet: offers withdrawn at once, chats requeued after the grace.
    stale = now - timedelta(seconds=settings.presence_timeout_s)
    gone = list(await db.scalars(select(User.id).where(
        User.role.in_(CHAT_ROLES), or_(User.last_heartbeat_at < stale, User.last_heartbeat_at.is_(None)))))
    if gone:
        ringing = set(await db.scalars(select(Offer.agent_id).where(Offer.status == "pending",
                                                                     Offer.agent_id.in_(gone))))
        for agent_id in ringing:
            await _withdraw_agent_offers(db, agent_id, now, effects)
        grace_over = now - timedelta(seconds=settings.presence_timeout_s + settings.grace_s)
        orphans = await db.scalars(
            select(Conversation).join(User, User.id == Conversation.agent_id)
            .where(Conversation.state == "assigned",
                   or_(User.last_heartbeat_at < grace_over, User.last_heartbeat_at.is_(None)))
        )
        for conv in list(orphans):
            await _cancel_transfer(db, conv, now, effects)
            await _end_assignment(db, conv, why="agent went offline", now=now, effects=effects)
            await _set_state(db, conv, "queued", actor="system", reason="agent went offline", now=now,
                             effects=effects)
            await _enqueue_row(db, conv, reason="agent went offline", now=now, at_head=True)
            effects.queue_changed = True
    # Quiet chats release their slot.
    quiet = now - timedelta(seconds=settings.inactivity_s)
    result = await db.execute(
        update(Assignment).where(Assignment.ended_at.is_(None), Assignment.inactive.is_(False),
                                 Assignment.last_activity_at <= quiet)
        .values(inactive=True).returning(Assignment.conversation_id, Assignment.agent_id)
        .execution_options(synchronize_session=False)
    )
    for conversation_id, agent_id in result.all():
        effects.released.append((conversation_id, agent_id, "inactive"))
    # Waited too long: the offline form (the bot keeps helping).
    too_long = now - timedelta(seconds=settings.max_queue_wait_s)
    for entry in list(await db.scalars(select(QueueEntry).where(QueueEntry.queued_at <= too_long,
                                                                 QueueEntry.target_agent_id.is_(None)))):
        conv = await db.get(Conversation, entry.conversation_id, populate_existing=True)
        await _withdraw_offers(db, conv.id, status="withdrawn", now=now, effects=effects)
        await db.delete(entry)
        await _set_state(db, conv, "offline_form", actor="system", reason="max queue wait passed", now=now,
                         effects=effects)
        effects.queue_changed = True
    # Nobody online at all: waiting chats get the offline form too.
    if await online_agent_count(db, settings.presence_timeout_s, now) == 0:
        for entry in list(await db.scalars(select(QueueEntry).where(QueueEntry.target_agent_id.is_(None)))):
            conv = await db.get(Conversation, entry.conversation_id, populate_existing=True)
            if conv.state != "queued":
                continue
            await db.delete(entry)
            await _set_state(db, conv, "offline_form", actor="system", reason="no agent online", now=now,
                             effects=effects)
            effects.queue_changed = True
    return await _route_and_commit(db, settings, now, effects)


# ---- the routing pass -------------------------------------------------------------------------

async def _running(db: AsyncSession, agent_id: int) -> int:
    return await db.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.agent_id == agent_id, Assignment.ended_at.is_(None), Assignment.inactive.is_(False))) or 0


@dataclass
class Candidate:
    id: int
    priority: int
    max_chats: int
    running: int
    pending: int
    last_assigned_at: datetime | None

    @property
    def load(self) -> int:
        """Slots in use: running chats plus chats ringing for this agent."""
        return self.running + self.pending

    @property
    def free(self) -> int:
        return self.max_chats - self.load


async def _eligible(db: AsyncSession, settings: RoutingSettings, now: datetime, *,
                    target_ids: list[int] | None = None) -> list[Candidate]:
    """Agents online, accepting, with a free slot and their breathing time over (docs/routing.md).
    Load is counted per agent by correlated subqueries on indexed columns: planners turned grouped
    subqueries joined to users into nested loops on young tables (25 ms with 200 agents)."""
    running = (select(func.count()).select_from(Assignment)
               .where(Assignment.agent_id == User.id, Assignment.ended_at.is_(None), Assignment.inactive.is_(False))
               .correlate(User).scalar_subquery())
    pending = (select(func.count()).select_from(Offer).where(Offer.agent_id == User.id, Offer.status == "pending")
               .correlate(User).scalar_subquery())
    breathed = now - timedelta(seconds=settings.breathing_s)
    q = (select(User.id, User.priority, User.max_chats, running, pending, User.last_assigned_at)
         .where(User.active.is_(True), User.role.in_(CHAT_ROLES), User.status == "online",
                User.accepting_chats.is_(True),
                User.last_heartbeat_at >= now - timedelta(seconds=settings.presence_timeout_s),
                or_(User.last_assigned_at.is_(None), User.last_assigned_at <= breathed),
                running + pending < User.max_chats))
    if target_ids is not None:
        q = q.where(User.id.in_(target_ids))
    return [Candidate(a, p, m, r, n, aware(t)) for a, p, m, r, n, t in await db.execute(q)]


def _ts(c: Candidate) -> float:
    return c.last_assigned_at.timestamp() if c.last_assigned_at else 0.0


def pick(strategy: str, candidates: list[Candidate], rng: random.Random | None = None) -> list[Candidate]:
    """Whom to offer a chat to: one agent, or every candidate for ring-to-all."""
    if not candidates:
        return []
    if strategy == "ring_to_all":
        return list(candidates)
    if strategy == "random":
        return [(rng or random).choice(candidates)]
    if strategy == "max_utilization":
        return [max(candidates, key=lambda c: (c.load, _ts(c), -c.id))]
    if strategy == "priorities":
        return [min(candidates, key=lambda c: (c.priority, c.load, _ts(c), c.id))]
    return [min(candidates, key=lambda c: (c.load, _ts(c), c.id))]  # average utilization


async def _sticky_agent(db: AsyncSession, conversation_id: str, visitor_id: str | None) -> int | None:
    """The agent who last served this visitor's browser. Not by e-mail: the address a visitor types
    is unverified, and anyone typing someone else's would be routed to that person's agent (who
    would see that person's history)."""
    if not visitor_id:
        return None
    return await db.scalar(
        select(Assignment.agent_id).join(Conversation, Conversation.id == Assignment.conversation_id)
        .where(Conversation.visitor_id == visitor_id, Assignment.conversation_id != conversation_id)
        .order_by(Assignment.started_at.desc()).limit(1)
    )


async def _offer(db: AsyncSession, conversation_id: str, agent_id: int, round_: int, kind: str,
                 settings: RoutingSettings, now: datetime, from_agent_id: int | None = None) -> Offer:
    offer = Offer(conversation_id=conversation_id, agent_id=agent_id, round=round_, kind=kind,
                  from_agent_id=from_agent_id, created_at=now, status="pending",
                  expires_at=now + timedelta(seconds=settings.routing_time_s))
    db.add(offer)
    return offer


# Waiting chats are read this many at a time: a pass usually ends within the first batch, because
# free slots run out long before a long queue does.
QUEUE_BATCH = 16


async def _route_queue(db: AsyncSession, settings: RoutingSettings, now: datetime,
                       rng: random.Random | None = None) -> Effects:
    """One routing pass over the waiting chats, oldest (and highest priority) first, until no agent
    has a free slot. Runs inside the caller's locked transaction."""
    effects = Effects()
    candidates = {c.id: c for c in await _eligible(db, settings, now)}
    offset = 0
    while any(c.free > 0 for c in candidates.values()):
        # The visitor's browser id comes along (sticky routing) in the same statement.
        rows = (await db.execute(
            select(QueueEntry, Conversation.visitor_id)
            .join(Conversation, Conversation.id == QueueEntry.conversation_id)
            .where(QueueEntry.target_agent_id.is_(None))
            .order_by(QueueEntry.priority.desc(), QueueEntry.sort_at, QueueEntry.conversation_id)
            .offset(offset).limit(QUEUE_BATCH))).all()
        if not rows:
            break
        offset += len(rows)
        visitors = {entry.conversation_id: vid for entry, vid in rows}
        await _route_entries(db, [r[0] for r in rows], visitors, candidates, settings, now, rng, effects)
    if effects.offers:
        await db.flush()
    return effects


async def _route_entries(db: AsyncSession, entries: list[QueueEntry], visitors: dict[str, str | None],
                         candidates: dict[int, Candidate],
                         settings: RoutingSettings, now: datetime, rng: random.Random | None,
                         effects: Effects) -> None:
    ringing: set[str] = set()
    tried: dict[str, set[int]] = {}
    entry_round = {e.conversation_id: e.round for e in entries}
    rows = await db.execute(select(Offer.conversation_id, Offer.agent_id, Offer.status, Offer.round)
                            .where(Offer.conversation_id.in_(list(entry_round)),
                                   Offer.status.in_(("pending", "missed", "declined"))))
    for cid, aid, status, round_ in rows:
        if status == "pending":
            ringing.add(cid)
        elif round_ == entry_round[cid]:
            tried.setdefault(cid, set()).add(aid)
    routing_time = timedelta(seconds=settings.routing_time_s)
    for entry in entries:
        live = [c for c in candidates.values() if c.free > 0]
        if not live:
            return
        cid = entry.conversation_id
        if cid in ringing:
            continue
        fresh = [c for c in live if c.id not in tried.get(cid, ())]
        if not fresh:
            # Everyone free has refused it in this round: a new round at once after misses (they
            # rang a full routing time), a routing time after a decline (no instant re-ring).
            last = aware(entry.last_decline_at)
            if last is not None and now - last < routing_time:
                continue
            entry.round += 1
            fresh = live
        sticky = await _sticky_agent(db, cid, visitors[cid])
        if sticky is not None and any(c.id == sticky for c in fresh):
            chosen, kind = [candidates[sticky]], "sticky"
        else:
            chosen = pick(settings.strategy, fresh, rng)
            kind = "ring" if settings.strategy == "ring_to_all" else "route"
        for c in chosen:
            effects.offers.append(await _offer(db, cid, c.id, entry.round, kind, settings, now))
            c.pending += 1


async def queue_positions(db: AsyncSession, *, now: datetime) -> list[dict]:
    """Every waiting chat with its position (1 = next) and an estimated wait in seconds."""
    entries = list(await db.scalars(
        select(QueueEntry).where(QueueEntry.target_agent_id.is_(None))
        .order_by(QueueEntry.priority.desc(), QueueEntry.sort_at, QueueEntry.conversation_id)))
    typical = await typical_wait_s(db, now=now)
    settings = await get_settings(db)
    agents = max(1, await online_agent_count(db, settings["presence_timeout_s"], now))
    out = []
    for i, e in enumerate(entries, start=1):
        waited = (now - aware(e.queued_at)).total_seconds()
        estimate = None
        if typical is not None:
            # Chats ahead are shared among the online agents; never promise less than a few seconds.
            estimate = max(5, round(typical * ((i - 1) // agents + 1) - waited))
        out.append({"conversation_id": e.conversation_id, "position": i, "waited_s": round(waited),
                    "estimated_wait_s": estimate, "reason": e.reason})
    return out


async def typical_wait_s(db: AsyncSession, *, now: datetime, window: timedelta = timedelta(days=1),
                         sample: int = 20) -> float | None:
    """Median queue wait of the last chats agents accepted (None until there is one)."""
    rows = await db.execute(
        select(Assignment.queued_at, Assignment.started_at)
        .where(Assignment.queued_at.is_not(None), Assignment.started_at >= now - window)
        .order_by(Assignment.started_at.desc()).limit(sample))
    waits = sorted((aware(s) - aware(q)).total_seconds() for q, s in rows)
    if not waits:
        return None
    return waits[len(waits) // 2]
