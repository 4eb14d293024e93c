"""Rasa's tracker store: where Rasa keeps each conversation's events (the visitor's words and the
handoff form's slots: name, e-mail), one row per event in the table `events`, keyed by `sender_id`,
which is the conversation id (bot/server.py configures it). Read for exports and deleted for
erasures straight in the store's database: Rasa 3.6's HTTP API can append or replace a tracker's
events but never delete them, and its SQLTrackerStore reads the rows on every message (no cache)."""
from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.settings import Settings
from bot.server import default_tracker_store_url

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def store_urls(settings: Settings) -> list[str]:
    """The tracker stores of this deployment: SHOPCHAT_RASA_TRACKER_STORE_URL, or else the default
    SQLite file of each Rasa on this host that has one."""
    if settings.rasa_tracker_store_url:
        return [settings.rasa_tracker_store_url]
    urls = []
    for rasa in settings.rasa_url.split(","):
        parts = urlsplit(rasa.strip())
        if parts.hostname in LOOPBACK and parts.port:
            url = default_tracker_store_url(parts.port)
            if Path(url[len("sqlite:///"):]).exists():
                urls.append(url)
    return urls


def _sqlite(url: str, sender_ids: list[str], delete: bool) -> list[dict] | int:
    path = url[len("sqlite:///"):]
    if not Path(path).exists():
        return 0 if delete else []
    conn = sqlite3.connect(path, timeout=30)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='events'").fetchone():
            return 0 if delete else []
        marks = ",".join("?" * len(sender_ids))
        if delete:
            with conn:
                return conn.execute(f"DELETE FROM events WHERE sender_id IN ({marks})", sender_ids).rowcount
        rows = conn.execute(f"SELECT sender_id, type_name, timestamp, data FROM events WHERE sender_id IN ({marks}) "
                            "ORDER BY id", sender_ids).fetchall()
        return [_event(*row) for row in rows]
    finally:
        conn.close()


def _event(sender_id, type_name, timestamp, data) -> dict:
    try:
        body = json.loads(data) if data else None
    except ValueError:
        body = data
    return {"conversation_id": sender_id, "type": type_name, "timestamp": timestamp, "event": body}


async def _postgres(url: str, sender_ids: list[str], delete: bool) -> list[dict] | int:
    scheme, rest = url.split("://", 1)
    engine = create_async_engine(f"postgresql+asyncpg://{rest}", pool_size=1, max_overflow=0)
    ids = bindparam("ids", expanding=True)
    try:
        async with engine.begin() as conn:
            exists = (await conn.execute(text("SELECT to_regclass('events')"))).scalar()
            if exists is None:
                return 0 if delete else []
            if delete:
                result = await conn.execute(text("DELETE FROM events WHERE sender_id IN :ids").bindparams(ids),
                                            {"ids": sender_ids})
                return result.rowcount
            rows = await conn.execute(text("SELECT sender_id, type_name, timestamp, data FROM events "
                                           "WHERE sender_id IN :ids ORDER BY id").bindparams(ids), {"ids": sender_ids})
            return [_event(*row) for row in rows]
    finally:
        await engine.dispose()


async def _each(urls: list[str], sender_ids: list[str], delete: bool):
    results = []
    for url in urls:
        if not sender_ids:
            results.append(0 if delete else [])
        elif url.startswith("sqlite:///"):
            results.append(await asyncio.to_thread(_sqlite, url, sender_ids, delete))
        else:
            results.append(await _postgres(url, sender_ids, delete))
    return results


async def export_events(urls: list[str], sender_ids: list[str]) -> list[dict]:
    return [event for found in await _each(urls, sender_ids, delete=False) for event in found]


async def erase_events(urls: list[str], sender_ids: list[str]) -> int:
    """Deletes every event of these conversations; returns how many rows went."""
    return sum(await _each(urls, sender_ids, delete=True))
