"""Each agent's notification preferences (the console's bell menu): desktop notifications, the
sound and the title flash for new offers and messages. Stored per agent, so they follow the agent
to another browser; a missing row means the defaults."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from accounts.models import User
from accounts.web import ApiError, ApiRoute, json_object, require_roles
from app.db import Base, utcnow

FIELDS = ("desktop", "sound", "title_flash")
DEFAULTS = {"desktop": False, "sound": True, "title_flash": True}


class AgentPreferences(Base):
    __tablename__ = "agent_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    desktop: Mapped[bool] = mapped_column(Boolean, default=False)
    sound: Mapped[bool] = mapped_column(Boolean, default=True)
    title_flash: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


def as_dict(row: AgentPreferences | None) -> dict:
    return {f: getattr(row, f) for f in FIELDS} if row else dict(DEFAULTS)


def check_preferences(body: dict) -> dict:
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ApiError(422, "bad_field", f"unknown field '{unknown[0]}'", unknown[0])
    for key, value in body.items():
        if not isinstance(value, bool):
            raise ApiError(422, "bad_field", f"{key} must be true or false", key)
    return body


def make_router(ctx) -> APIRouter:
    router = APIRouter(prefix="/api/console", route_class=ApiRoute)
    agent = require_roles("admin", "agent")

    @router.get("/preferences")
    async def get_preferences(user: User = Depends(agent)):
        async with ctx.sessionmaker() as db:
            return {"preferences": as_dict(await db.get(AgentPreferences, user.id))}

    @router.put("/preferences")
    async def put_preferences(request: Request, user: User = Depends(agent)):
        """Change some or all of them; the others stay."""
        values = check_preferences(await json_object(request))
        async with ctx.sessionmaker() as db:
            row = await db.get(AgentPreferences, user.id)
            if row is None:
                row = AgentPreferences(user_id=user.id, **DEFAULTS)
                db.add(row)
            for key, value in values.items():
                setattr(row, key, value)
            await db.commit()
            return {"ok": True, "preferences": as_dict(row)}

    return router
