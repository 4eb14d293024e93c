"""The composition root's container: everything a request handler may need, built once per app."""
from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field

import socketio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.settings import Settings
from bot.rasa_client import RasaClient
from knowledge_base.service import LiveIndex


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    sio: socketio.AsyncServer
    kb: LiveIndex
    rasa: RasaClient
    # One lock per conversation so the bot answers a visitor's messages in the order they came.
    _locks: weakref.WeakValueDictionary = field(default_factory=weakref.WeakValueDictionary)

    def conversation_lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock
