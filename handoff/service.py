"""Handoff state changes (the queue and routing come with the handoff issue). The database owns
the state; every transition is recorded by chat.service.set_state."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from chat.service import set_state


async def request_handoff(db: AsyncSession, conversation_id: str, *, reason: str, actor: str = "visitor") -> bool:
    """Mark the conversation as waiting for a person; False when it already was (or is with one)."""
    return await set_state(db, conversation_id, to_state="queued", actor=actor, reason=reason) is not None
