"""Tell visitors and agents what a routing decision changed. Called only after the decision's
commit, so nobody hears of something the database does not hold (docs/protocol.md)."""
from __future__ import annotations

import asyncio
import logging

import socketio
from sqlalchemy import select

from accounts.models import User
from app.context import AppContext
from app.db import utcnow
from chat import visitor_events
from chat.models import Conversation
from handoff import routing
from handoff.routing import Effects

log = logging.getLogger(__name__)

AGENT_NS = "/agent"
# Every agent's consoles: queue and overview updates.
AGENTS_ROOM = "agents"


def agent_room(agent_id: int) -> str:
    """Every open console of one agent."""
    return f"agent:{agent_id}"


def chat_room(conversation_id: str) -> str:
    """Agents watching one chat (its owner, admins, anyone who opened its transcript)."""
    return f"chat:{conversation_id}"


# Never a client's namespace: room changes travel between processes as emits to it, on the same
# Redis channel and in the same order as the chat's messages (RedisManager below).
ROOMS_NS = "/_rooms"


def room_moves(effects: Effects) -> list[dict]:
    """Who must leave (or join) a chat's room after a decision: a new owner's consoles join and
    everyone else leaves (admins stay); a released agent's consoles leave."""
    moves = [{"conversation_id": cid, "owner": agent_id} for cid, agent_id, _ in effects.assigned]
    moves += [{"conversation_id": cid, "dropped": agent_id}
              for cid, agent_id, why in effects.released if why != "inactive"]
    return moves


async def apply_move(sio: socketio.AsyncServer, move: dict) -> None:
    """One process's part of a room move: only this process's sockets and sessions are known here."""
    room = chat_room(move["conversation_id"])
    owner, dropped = move.get("owner"), move.get("dropped")
    for sid, _ in list(sio.manager.get_participants(AGENT_NS, room)):
        try:
            session = await sio.get_session(sid, namespace=AGENT_NS)
        except KeyError:  # a socket that went away meanwhile
            continue
        user_id = session.get("user_id")
        stays = session.get("role") == "admin" or (user_id == owner if owner is not None else user_id != dropped)
        if not stays:
            await sio.manager.leave_room(sid, AGENT_NS, room)
    if owner is not None:
        for sid, _ in list(sio.manager.get_participants(AGENT_NS, agent_room(owner))):
            await sio.manager.enter_room(sid, AGENT_NS, room)


class RedisManager(socketio.AsyncRedisManager):
    """Socket.IO through Redis, plus room moves: a move is published like an emit, and every
    process (this one included) applies it to its own sockets. get_participants() only sees the
    local ones, so a move decided in one process cannot be done there alone."""

    async def _redis_listen_with_retries(self):
        """python-socketio's listener, retrying every second: its own waits twice as long after
        each failure, up to 60 s, so after a Redis restart this process could miss the other
        processes' events for a minute (docs/production.md, "Faults, measured")."""
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                async for message in self.pubsub.listen():
                    yield message
            except Exception as exc:  # noqa: BLE001 - Redis away or restarting: again in a second
                self._get_logger().error("Cannot receive from redis... retrying in 1 sec (%s)", exc)
                await asyncio.sleep(1)

    async def _handle_emit(self, message):
        if message.get("namespace") == ROOMS_NS:
            await apply_move(self.server, message["data"][0])
            return
        await super()._handle_emit(message)


async def move_rooms(ctx: AppContext, effects: Effects) -> None:
    for move in room_moves(effects):
        if isinstance(ctx.sio.manager, RedisManager):
            await ctx.sio.emit("move", move, namespace=ROOMS_NS)
        else:
            await apply_move(ctx.sio, move)


def iso(dt) -> str | None:
    dt = routing.aware(dt)
    return dt.isoformat().replace("+00:00", "Z") if dt else None


async def offer_dict(ctx: AppContext, offer) -> dict:
    async with ctx.sessionmaker() as db:
        conv = await db.get(Conversation, offer.conversation_id)
        from_agent = await db.get(User, offer.from_agent_id) if offer.from_agent_id else None
    return {
        "offer_id": offer.id,
        "conversation_id": offer.conversation_id,
        "kind": offer.kind,
        "expires_at": iso(offer.expires_at),
        "ring_s": max(0, round((routing.aware(offer.expires_at) - routing.aware(offer.created_at)).total_seconds())),
        "from_agent": from_agent.display_name if from_agent else None,
        "reason": conv.handoff_reason if conv else None,
        "visitor": visitor_summary(conv) if conv else None,
    }


def visitor_summary(conv: Conversation) -> dict:
    return {
        "name": conv.visitor_name,
        "email": conv.visitor_email,
        "order_number": conv.order_number,
        "language": conv.language,
        "page_url": conv.page_url,
        "page_title": conv.page_title,
    }


async def publish(ctx: AppContext, effects: Effects) -> None:
    """Send every consequence of one decision; never raises (the decision is already stored)."""
    if not effects:
        return
    try:
        await _publish(ctx, effects)
    except Exception:  # noqa: BLE001 - a dropped notification is recovered by the next resync
        log.exception("could not publish routing effects")


async def _publish(ctx: AppContext, effects: Effects) -> None:
    sio = ctx.sio
    await move_rooms(ctx, effects)  # first: from now on the chat's messages reach its new readers only
    for offer, why in effects.withdrawn:
        await sio.emit("offer_withdrawn", {"offer_id": offer.id, "conversation_id": offer.conversation_id,
                                           "why": why}, room=agent_room(offer.agent_id), namespace=AGENT_NS)
        if offer.kind == "transfer" and offer.from_agent_id and why in ("missed", "declined"):
            await sio.emit("transfer_failed", {"conversation_id": offer.conversation_id, "why": why},
                           room=agent_room(offer.from_agent_id), namespace=AGENT_NS)
    for offer in effects.offers:
        await sio.emit("offer", await offer_dict(ctx, offer), room=agent_room(offer.agent_id), namespace=AGENT_NS)
    async with ctx.sessionmaker() as db:
        names = {u.id: u.display_name for u in await db.scalars(
            select(User).where(User.id.in_([a for _, a, _ in effects.assigned] or [-1])))}
    for conversation_id, agent_id, previous in effects.assigned:
        await visitor_events.emit(ctx, conversation_id, "handoff",
                                  {"state": "assigned", "agent": {"name": names.get(agent_id)}})
        payload = {"conversation_id": conversation_id, "agent_id": agent_id, "previous_agent_id": previous}
        await sio.emit("chat_assigned", payload, room=agent_room(agent_id), namespace=AGENT_NS)
        if previous is not None:
            await sio.emit("chat_assigned", payload, room=agent_room(previous), namespace=AGENT_NS)
    for conversation_id, agent_id, why in effects.released:
        await sio.emit("chat_released", {"conversation_id": conversation_id, "why": why},
                       room=agent_room(agent_id), namespace=AGENT_NS)
    for conversation_id, state, reason in effects.states:
        await sio.emit("chat_state", {"conversation_id": conversation_id, "state": state, "reason": reason},
                       room=AGENTS_ROOM, namespace=AGENT_NS)
        visitor_event = _visitor_handoff(state, reason)
        if visitor_event is not None:
            await visitor_events.emit(ctx, conversation_id, "handoff", visitor_event)
    if effects.queue_changed:
        await publish_queue(ctx)


def _visitor_handoff(state: str, reason: str) -> dict | None:
    """The visitor's `handoff` event for a new state (`assigned` is sent with the agent's name,
    `queued` with the position by publish_queue)."""
    if state == "offline_form":
        return {"state": "offline", "reason": reason}
    if state == "bot":
        return {"state": "bot", "reason": reason}
    if state == "closed":
        return {"state": "closed", "reason": reason, "rating_requested": True}
    return None


async def tickets_changed(ctx: AppContext, ticket_id: int) -> None:
    """Offline messages changed (new, replied, closed): consoles refresh their list and badge."""
    await ctx.sio.emit("tickets_changed", {"ticket_id": ticket_id}, room=AGENTS_ROOM, namespace=AGENT_NS)


async def rated(ctx: AppContext, conversation_id: str, stars: int, agent_id: int | None) -> None:
    """A visitor rated a chat: the agent's and the admins' rating views refresh."""
    await ctx.sio.emit("rated", {"conversation_id": conversation_id, "stars": stars, "agent_id": agent_id},
                       room=AGENTS_ROOM, namespace=AGENT_NS)


async def publish_queue(ctx: AppContext) -> None:
    """Every waiting visitor gets their position and estimate; every console the queue."""
    async with ctx.sessionmaker() as db:
        entries = await routing.queue_positions(db, now=utcnow())
        convs = {c.id: c for c in await db.scalars(
            select(Conversation).where(Conversation.id.in_([e["conversation_id"] for e in entries] or ["-"])))}
    for e in entries:
        await visitor_events.emit(ctx, e["conversation_id"], "handoff", {
            "state": "queued", "position": e["position"], "estimated_wait_s": e["estimated_wait_s"]})
        conv = convs.get(e["conversation_id"])
        if conv is not None:
            e["visitor"] = visitor_summary(conv)
    await ctx.sio.emit("queue", {"entries": entries}, room=AGENTS_ROOM, namespace=AGENT_NS)
