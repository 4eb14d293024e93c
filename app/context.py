"""The composition root's container: everything a request handler may need, built once per app."""
from __future__ import annotations

import asyncio
import os
import secrets
import socket
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
    # This process among all that share the database: host/PID namespace/PID/random, the prefix of
    # its bot-turn claims (chat/turns.py), so a restarted process knows its predecessor's claims.
    instance_id: str = field(default_factory=lambda: _instance_id())
    # The bot turns this process holds now ({conversation_id: claim token}), renewed while held.
    turns: dict[str, str] = field(default_factory=dict)
    # Background tasks started outside a request (recovered bot turns), kept so they are not lost.
    background: set[asyncio.Task] = field(default_factory=set)
    # Conversations a recovery sweep is answering or about to (chat/turns.py), and how many at once
    # (each a Rasa call and a few statements), so a backlog after an outage does not take every
    # pooled database connection.
    recovering: set[str] = field(default_factory=set)
    recover_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(20))
    # Within one process, one bot turn at a time per conversation: the lease already makes one
    # holder, but a claim that ran out mid-turn and the one that followed it here must not both
    # put the same question to Rasa (flows.answer_visitor).
    _locks: weakref.WeakValueDictionary = field(default_factory=weakref.WeakValueDictionary)

    def conversation_lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock


def _instance_id() -> str:
    try:
        pid_ns = os.readlink("/proc/self/ns/pid").split("[")[-1].rstrip("]")
    except OSError:
        pid_ns = "-"
    return f"{socket.gethostname()[:24]}/{pid_ns}/{os.getpid()}/{secrets.token_hex(3)}"
