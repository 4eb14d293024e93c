"""Retention: conversations with no activity for longer than the admins' setting (off by default)
are erased as a visitor's erasure would erase them (privacy.requests), and conversions older than
that lose the browser id and e-mail hash that tie them to a visitor (the order and its value stay
for the reports). Invitation events (engage/, keyed by the browser id) older than that are deleted,
and so is a live-visitor row not seen since then (engage/ forgets those after a day anyway). Each app process runs the check every SHOPCHAT_RETENTION_EVERY_S; doing it twice
at once only finds nothing the second time."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from chat.models import Conversation
from engage.models import InvitationEvent, LiveVisitor
from insights.conversions import Conversion
from privacy import requests, trackers
from privacy.models import PrivacySettings

log = logging.getLogger(__name__)
BATCH = 200


async def settings_row(db: AsyncSession) -> PrivacySettings:
    row = await db.get(PrivacySettings, 1)
    if row is None:
        row = PrivacySettings(id=1)
        db.add(row)
        await db.flush()
    return row


async def run_once(sessionmaker, *, tracker_urls: list[str], now: datetime | None = None) -> requests.Erased:
    """Erase what is past the retention period now; returns how much went."""
    now = now or utcnow()
    total = requests.Erased(0, 0, 0)
    async with sessionmaker() as db:
        days = (await db.get(PrivacySettings, 1) or PrivacySettings()).retention_days
        if not days:
            return total
        cutoff = now - timedelta(days=days)
        while True:
            ids = list(await db.scalars(
                select(Conversation.id).where(Conversation.created_at < cutoff,
                                              or_(Conversation.updated_at.is_(None), Conversation.updated_at < cutoff))
                .order_by(Conversation.created_at).limit(BATCH)))
            if not ids:
                break
            done = await requests.erase_conversations(db, ids, [], tracker_urls=tracker_urls)
            await db.commit()
            total.conversations += done.conversations
            total.tracker_events += done.tracker_events
        anonymised = await db.execute(
            update(Conversion).where(Conversion.ordered_at < cutoff,
                                     or_(Conversion.visitor_id.is_not(None), Conversion.email_hash.is_not(None)))
            .values(visitor_id=None, email_hash=None))
        total.conversions = anonymised.rowcount or 0
        for table, column in ((InvitationEvent, InvitationEvent.at), (LiveVisitor, LiveVisitor.last_seen_at)):
            total.browser_rows += (await db.execute(delete(table).where(column < cutoff))).rowcount or 0
        if total.conversations or total.conversions or total.browser_rows:
            requests.audit(db, "retention", "age", None, total)
        await db.commit()
    if total.conversations:
        log.info("retention: erased %d conversations older than %d days", total.conversations, days)
    return total


async def run(ctx) -> None:
    """The periodic task of every app process."""
    while True:
        try:
            await run_once(ctx.sessionmaker, tracker_urls=trackers.store_urls(ctx.settings))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a failed run is retried at the next one
            log.exception("retention run failed")
        await asyncio.sleep(ctx.settings.retention_every_s)
