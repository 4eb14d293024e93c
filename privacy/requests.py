"""Visitors' data requests: find what is stored about a visitor, export it as one JSON document, and
erase it (docs/privacy.md).

A visitor is found by an e-mail address (typed in a chat or an offline message), by the widget's
browser id (`visitor_id`), or by one conversation's id. What belongs to them: those conversations
and every row of every table that refers to them (found from the schema's foreign keys and
`conversation_id` columns, so tables added later are covered without a change here), their
conversions, Rasa's tracker events of those conversations, and what engage/ keeps about their
browser (the live-visitor row and the invitation events, keyed by the browser id only). Erasure deletes all of it; it is
idempotent (a second run finds nothing) and leaves an audit entry without personal data."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import Table, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

import attachments
from app.db import Base, all_models, utcnow
from chat.models import Conversation
from engage.models import InvitationEvent, LiveVisitor
from handoff.models import Ticket
from insights.conversions import Conversion, email_hash
from privacy import trackers
from privacy.models import PrivacyAudit

KINDS = ("email", "visitor_id", "conversation")
VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
CONVERSATION_ID = re.compile(r"[A-Za-z0-9]{1,32}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}")
# Columns never exported: secrets' hashes and the bot-turn bookkeeping.
INTERNAL = {"token_hash", "bot_turn_owner", "bot_turn_until", "bot_pending"}
MAX_CONVERSATIONS = 5000


class BadRequest(ValueError):
    def __init__(self, field_: str, message: str):
        super().__init__(message)
        self.field = field_


@dataclass
class Subject:
    kind: str  # email | visitor_id | conversation
    value: str


def check_subject(data: object) -> Subject:
    """{"email": ...} | {"visitor_id": ...} | {"conversation_id": ...}: exactly one."""
    if not isinstance(data, dict):
        raise BadRequest("body", "must be a JSON object")
    names = {"email": "email", "visitor_id": "visitor_id", "conversation_id": "conversation"}
    given = [k for k in data if k in names]
    unknown = [k for k in data if k not in names]
    if unknown:
        raise BadRequest(unknown[0], f"unknown field '{unknown[0]}' (give email, visitor_id or conversation_id)")
    if len(given) != 1:
        raise BadRequest("body", "give exactly one of email, visitor_id, conversation_id")
    key = given[0]
    value = data[key]
    pattern = {"email": EMAIL, "visitor_id": VISITOR_ID, "conversation_id": CONVERSATION_ID}[key]
    if not isinstance(value, str) or not pattern.fullmatch(value.strip()):
        what = {"email": "an e-mail address", "visitor_id": "the widget's browser id (16 to 64 characters of "
                "A-Z, a-z, 0-9, _ and -)", "conversation_id": "a conversation id"}[key]
        raise BadRequest(key, f"{key}: {what}")
    value = value.strip()
    return Subject(names[key], value.lower() if key == "email" else value)


@dataclass
class Found:
    conversation_ids: list[str] = field(default_factory=list)
    conversion_ids: list[int] = field(default_factory=list)
    # Browser ids whose engage/ rows (live visitor, invitation events) are the visitor's.
    visitor_ids: list[str] = field(default_factory=list)


# Tables keyed by the widget's browser id alone (no conversation to hang from): engage/'s live
# visitor and the invitation events. Found by the browser id asked for, or by the conversation's.
BROWSER_TABLES = ((LiveVisitor.__table__, LiveVisitor.__table__.c.visitor_id),
                  (InvitationEvent.__table__, InvitationEvent.__table__.c.visitor_id))


async def _browser_ids(db: AsyncSession, subject: Subject, conversation_ids: list[str]) -> list[str]:
    """The browser id asked for, or the conversation's; never followed from a typed e-mail (an
    unverified address could belong to another person's browser, docs/privacy.md)."""
    if subject.kind == "visitor_id":
        return [subject.value]
    if subject.kind == "conversation" and conversation_ids:
        return sorted(v for v in await db.scalars(select(Conversation.visitor_id).where(
            Conversation.id.in_(conversation_ids), Conversation.visitor_id.is_not(None))) if v)
    return []


async def browser_rows(db: AsyncSession, visitor_ids: list[str]) -> dict[str, list[dict]]:
    """The engage/ rows of these browsers, by table name (tables with none left out)."""
    out: dict[str, list[dict]] = {}
    for table, column in BROWSER_TABLES:
        if not visitor_ids:
            break
        rows = [dict(r._mapping) for r in await db.execute(
            select(table).where(column.in_(visitor_ids)).order_by(*table.primary_key.columns))]
        if rows:
            out[table.name] = rows
    return out


async def find(db: AsyncSession, subject: Subject) -> Found:
    if subject.kind == "conversation":
        convs = select(Conversation.id).where(Conversation.id == subject.value)
    elif subject.kind == "visitor_id":
        convs = select(Conversation.id).where(Conversation.visitor_id == subject.value)
    else:
        by_ticket = select(Ticket.conversation_id).where(func.lower(Ticket.email) == subject.value)
        convs = select(Conversation.id).where(or_(func.lower(Conversation.visitor_email) == subject.value,
                                                  Conversation.id.in_(by_ticket)))
    ids = sorted(await db.scalars(convs.limit(MAX_CONVERSATIONS)))
    keys = [Conversion.conversation_id.in_(ids)] if ids else []
    if subject.kind == "visitor_id":
        keys.append(Conversion.visitor_id == subject.value)
    if subject.kind == "email":
        keys.append(Conversion.email_hash == email_hash(subject.value))
    conversions = sorted(await db.scalars(select(Conversion.id).where(or_(*keys)))) if keys else []
    return Found(ids, conversions, await _browser_ids(db, subject, ids))


# ---- the tables that hold a visitor's rows -------------------------------------------------------

def dependent_tables() -> list[tuple[Table, object, Table]]:
    """(table, its column, the table it refers to) for every table below `conversations`, in an
    order in which each comes after the table it refers to. A table refers to one above it by a
    foreign key, or (no key) by a column named conversation_id."""
    all_models()
    tables = Base.metadata.sorted_tables
    below: dict[str, Table] = {"conversations": Base.metadata.tables["conversations"]}
    found: list[tuple[Table, object, Table]] = []
    for table in tables:  # parents come before children in sorted_tables
        if table.name in below or table.name == "conversions" or table.name in BROWSER_TABLE_NAMES:
            continue
        for column in table.columns:
            parent = next((fk.column.table for fk in column.foreign_keys if fk.column.table.name in below), None)
            if parent is None and column.name == "conversation_id" and not column.foreign_keys:
                parent = below["conversations"]
            if parent is not None:
                below[table.name] = table
                found.append((table, column, parent))
                break
    return found


BROWSER_TABLE_NAMES = {table.name for table, _ in BROWSER_TABLES}


def _primary(table: Table):
    return list(table.primary_key.columns)[0]


async def _rows(db: AsyncSession, conversation_ids: list[str]) -> dict[str, list[dict]]:
    """Every row below the conversations, by table name."""
    out: dict[str, list[dict]] = {}
    keys: dict[str, list] = {"conversations": conversation_ids}
    for table, column, parent in dependent_tables():
        parent_keys = keys.get(parent.name) or []
        if not parent_keys:
            continue
        rows = [dict(r._mapping) for r in await db.execute(
            select(table).where(column.in_(parent_keys)).order_by(*table.primary_key.columns))]
        if rows:
            out[table.name] = rows
            keys[table.name] = [r[_primary(table).name] for r in rows]
    return out


def _plain(value):
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value


def _clean(row: dict) -> dict:
    return {k: _plain(v) for k, v in row.items() if k not in INTERNAL}


async def export(db: AsyncSession, subject: Subject, *, tracker_urls: list[str]) -> dict:
    found = await find(db, subject)
    convs = [dict(r._mapping) for r in await db.execute(
        select(Conversation.__table__).where(Conversation.id.in_(found.conversation_ids))
        .order_by(Conversation.created_at))] if found.conversation_ids else []
    conversions = list(await db.scalars(select(Conversion).where(Conversion.id.in_(found.conversion_ids)))) \
        if found.conversion_ids else []
    document = {
        "format": "shopchat visitor data export, version 1",
        "exported_at": _plain(utcnow()),
        "found_by": {subject.kind: subject.value},
        "conversations": [_clean(c) for c in convs],
    }
    for name, rows in (await _rows(db, found.conversation_ids)).items():
        document[name] = [_clean(r) for r in rows]
    for table, _ in BROWSER_TABLES:
        document[table.name] = []
    for name, rows in (await browser_rows(db, found.visitor_ids)).items():
        document[name] = [_clean(r) for r in rows]
    document["conversions"] = [_clean({c.name: getattr(row, c.key) for c in Conversion.__mapper__.columns})
                               for row in conversions]
    document["rasa_tracker_events"] = await trackers.export_events(tracker_urls, found.conversation_ids)
    return document


@dataclass
class Erased:
    conversations: int
    conversions: int
    tracker_events: int
    browser_rows: int = 0  # engage/'s live-visitor row and invitation events


async def erase_conversations(db: AsyncSession, conversation_ids: list[str], conversion_ids: list[int], *,
                              tracker_urls: list[str], visitor_ids: list[str] | None = None) -> Erased:
    """Delete these conversations with everything below them, these conversions, the engage/ rows of
    these browsers, and Rasa's events of these conversations (first: should the tracker store be
    unreachable, nothing is deleted and the request can be repeated)."""
    events = await trackers.erase_events(tracker_urls, conversation_ids)
    for conversation_id in conversation_ids:  # the files' bytes in their store; their rows go below
        await attachments.erase_for_conversation(db, conversation_id)
    keys: dict[str, list] = {"conversations": conversation_ids}
    plan = []
    for table, column, parent in dependent_tables():
        parent_keys = keys.get(parent.name) or []
        if parent_keys:
            pk = _primary(table)
            keys[table.name] = list(await db.scalars(select(pk).where(column.in_(parent_keys))))
            plan.append((table, pk, keys[table.name]))
    for table, pk, ids in reversed(plan):  # children first (no reliance on ON DELETE CASCADE)
        if ids:
            await db.execute(delete(table).where(pk.in_(ids)))
    if conversion_ids:
        await db.execute(delete(Conversion).where(Conversion.id.in_(conversion_ids)))
    if conversation_ids:
        await db.execute(delete(Conversation).where(Conversation.id.in_(conversation_ids)))
    browser = 0
    for table, column in BROWSER_TABLES if visitor_ids else ():
        browser += (await db.execute(delete(table).where(column.in_(visitor_ids)))).rowcount or 0
    return Erased(len(conversation_ids), len(conversion_ids), events, browser)


async def erase(db: AsyncSession, subject: Subject, *, tracker_urls: list[str], user_id: int | None) -> Erased:
    found = await find(db, subject)
    done = await erase_conversations(db, found.conversation_ids, found.conversion_ids, tracker_urls=tracker_urls,
                                     visitor_ids=found.visitor_ids)
    audit(db, "erase", subject.kind, user_id, done)
    await db.commit()
    return done


def audit(db: AsyncSession, action: str, found_by: str, user_id: int | None, done: Erased | None = None) -> None:
    """Names the action, how the visitor was found and how much: never the visitor."""
    db.add(PrivacyAudit(action=action, found_by=found_by, user_id=user_id,
                        conversations=done.conversations if done else 0,
                        conversions=done.conversions if done else 0,
                        tracker_events=done.tracker_events if done else 0))


def summary(db_rows: list[Conversation]) -> list[dict]:
    """The conversations found, for the admin to check before exporting or erasing."""
    return [{"conversation_id": c.id, "created_at": _plain(c.created_at), "state": c.state,
             "visitor_id": c.visitor_id, "visitor_name": c.visitor_name, "visitor_email": c.visitor_email}
            for c in db_rows]
