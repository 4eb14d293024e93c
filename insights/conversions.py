"""Conversion tracking: orders the shop reports, attributed to the visitor's chats (issue 14).

Tables (migration 0006):

`conversions`, one row per order (the same `order_id` reported again counts once):
- `id` int primary key.
- `order_id` str(100), unique: the shop's order number.
- `value_cents` bigint: the order's value in hundredths of `currency` (49.90 EUR -> 4990; exact, so
  sums in SQL are exact on SQLite and PostgreSQL). Revenue = sum(value_cents) / 100 per currency.
- `currency` str(3): ISO 4217 code, upper case ("EUR").
- `ordered_at` datetime (UTC): when the order was placed (reported time, default the time received);
  the attribution window is counted back from it. Reports put a conversion in a period by it.
- `attribution` str(10): `bot` (the visitor chatted only with the bot within the window), `agent` (a
  person took at least one of those chats), or `none` (no chat within the window, or no visitor known).
- `conversation_id` str(32) or NULL: the chat it is attributed to (for `agent` the latest chat a
  person served, for `bot` the latest chat); NULL for `none`, or once that chat was erased.
- `agent_id` int or NULL: for `agent`, the person who last served that chat (users.id).
- `visitor_id` str(64) or NULL: the widget's browser id the order came with (data requests find it).
- `email_hash` str(64) or NULL: SHA-256 of the lower-cased e-mail a server-to-server report gave
  (attribution and data requests only; the address itself is not kept).
- `source` str(10): `widget` (the loader on the thank-you page) or `api` (server to server).
- `api_key_id` int or NULL: the key of an `api` report.
- `created_at` datetime: when the app recorded it.

Attribution is decided once, when the order is recorded, from the chats of the same browser (or
e-mail) started within `SHOPCHAT_CONVERSION_WINDOW_DAYS` (default 7) before `ordered_at` in which the
visitor wrote at least one message. docs/conversions.md has the rules.

`conversion_api_keys`: keys for `POST /api/conversions`; only the SHA-256 of a key is stored.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from chat.models import Conversation, Message
from handoff.models import Assignment

ATTRIBUTIONS = ("bot", "agent", "none")
SOURCES = ("widget", "api")
KEY_PREFIX = "sck_"


class Conversion(Base):
    __tablename__ = "conversions"
    __table_args__ = (Index("ix_conversions_ordered_at", "ordered_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(100), unique=True)
    value_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    ordered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attribution: Mapped[str] = mapped_column(String(10))
    conversation_id: Mapped[str | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    visitor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(10))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("conversion_api_keys.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConversionApiKey(Base):
    __tablename__ = "conversion_api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The key's first characters, so an admin can tell keys apart without the key.
    hint: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# ---- input checks ------------------------------------------------------------------------------

class BadConversion(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass
class Order:
    order_id: str
    value_cents: int
    currency: str
    ordered_at: datetime | None = None
    visitor_id: str | None = None
    email_hash: str | None = None


ORDER_ID = re.compile(r"[\x21-\x7e\u00a0-\uffff](?:[\x20-\x7e\u00a0-\uffff]{0,98}[\x21-\x7e\u00a0-\uffff])?")
CURRENCY = re.compile(r"[A-Za-z]{3}")
VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}")
MAX_VALUE = Decimal("1000000000")  # 1e9 in any currency: a typo, not an order
MAX_AGE = timedelta(days=366)


def email_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def check_order(data: object, *, fields: tuple[str, ...], now: datetime) -> Order:
    """A conversion payload, checked field by field; anything else is refused (a typo would
    otherwise lose data silently)."""
    if not isinstance(data, dict):
        raise BadConversion("body", "must be a JSON object")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise BadConversion(unknown[0], f"unknown field (allowed: {', '.join(fields)})")
    order_id = data.get("order_id")
    if isinstance(order_id, int) and not isinstance(order_id, bool) and order_id >= 0:
        order_id = str(order_id)
    if not isinstance(order_id, str) or not ORDER_ID.fullmatch(order_id):
        raise BadConversion("order_id", "required: 1 to 100 printable characters (or a whole number)")
    value = data.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadConversion("value", "required: a number such as 49.90")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise BadConversion("value", "required: a number such as 49.90") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_VALUE:
        raise BadConversion("value", f"must be between 0 and {MAX_VALUE}")
    if amount != amount.quantize(Decimal("0.01")):
        raise BadConversion("value", "at most 2 decimal places")
    currency = data.get("currency")
    if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
        raise BadConversion("currency", "required: a 3-letter ISO 4217 code such as EUR")
    order = Order(order_id=order_id, value_cents=int(amount * 100), currency=currency.upper())
    if "visitor_id" in fields and data.get("visitor_id") is not None:
        vid = data["visitor_id"]
        if not isinstance(vid, str) or not VISITOR_ID.fullmatch(vid):
            raise BadConversion("visitor_id", "16 to 64 characters of A-Z, a-z, 0-9, _ and -")
        order.visitor_id = vid
    if "email" in fields and data.get("email") is not None:
        email = data["email"]
        if not isinstance(email, str) or not EMAIL.fullmatch(email.strip()):
            raise BadConversion("email", "an e-mail address")
        order.email_hash = email_hash(email)
    if "ordered_at" in fields and data.get("ordered_at") is not None:
        order.ordered_at = check_time(data["ordered_at"], now=now)
    return order


def check_time(value: object, *, now: datetime) -> datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise BadConversion("ordered_at", "an ISO 8601 time such as 2026-12-03T10:15:00Z")
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadConversion("ordered_at", "an ISO 8601 time such as 2026-12-03T10:15:00Z") from None
    if at.tzinfo is None:
        raise BadConversion("ordered_at", "needs a time zone (e.g. Z or +02:00)")
    at = at.astimezone(timezone.utc)
    if at > now + timedelta(minutes=5) or at < now - MAX_AGE:
        raise BadConversion("ordered_at", "must be within the last year and not in the future")
    return at


# ---- recording ---------------------------------------------------------------------------------

async def attribute(db: AsyncSession, *, visitor_id: str | None, email_hash_: str | None,
                    ordered_at: datetime, window: timedelta) -> tuple[str, str | None, int | None]:
    """(attribution, conversation_id, agent_id) for an order placed at ordered_at."""
    keys = []
    if visitor_id:
        keys.append(Conversation.visitor_id == visitor_id)
    if email_hash_:
        # Few chats have an e-mail: hash the candidates' addresses here rather than store hashes.
        emails = [e for e in await db.scalars(
            select(Conversation.visitor_email).where(Conversation.visitor_email.is_not(None),
                                                     Conversation.created_at >= ordered_at - window,
                                                     Conversation.created_at <= ordered_at).distinct())
                  if email_hash(e) == email_hash_]
        if emails:
            keys.append(func.lower(Conversation.visitor_email).in_([e.lower() for e in emails]))
    if not keys:
        return "none", None, None
    wrote = exists().where(Message.conversation_id == Conversation.id, Message.sender == "visitor")
    chats = list(await db.scalars(
        select(Conversation.id).where(or_(*keys), wrote, Conversation.created_at >= ordered_at - window,
                                      Conversation.created_at <= ordered_at)
        .order_by(Conversation.created_at.desc(), Conversation.id.desc())))
    if not chats:
        return "none", None, None
    served = (await db.execute(
        select(Assignment.conversation_id, Assignment.agent_id).where(Assignment.conversation_id.in_(chats))
        .order_by(Assignment.started_at.desc(), Assignment.id.desc()).limit(1))).first()
    if served:
        return "agent", served.conversation_id, served.agent_id
    return "bot", chats[0], None


@dataclass
class Recorded:
    conversion: Conversion
    duplicate: bool


async def record(db: AsyncSession, order: Order, *, source: str, window: timedelta,
                 api_key_id: int | None = None, now: datetime | None = None) -> Recorded:
    """Store the order once. A repeat is a duplicate and changes nothing, except that a server-to-
    server report corrects the value and currency a widget report gave (the shop's server is the
    authority on its orders; a page script is not)."""
    now = now or utcnow()
    existing = await db.scalar(select(Conversion).where(Conversion.order_id == order.order_id))
    if existing is None:
        ordered_at = order.ordered_at or now
        kind, conv_id, agent_id = await attribute(db, visitor_id=order.visitor_id, email_hash_=order.email_hash,
                                                  ordered_at=ordered_at, window=window)
        row = Conversion(order_id=order.order_id, value_cents=order.value_cents, currency=order.currency,
                         ordered_at=ordered_at, attribution=kind, conversation_id=conv_id, agent_id=agent_id,
                         visitor_id=order.visitor_id, email_hash=order.email_hash, source=source,
                         api_key_id=api_key_id, created_at=now)
        db.add(row)
        try:
            await db.commit()
            return Recorded(row, duplicate=False)
        except IntegrityError:  # the same order reported at the same moment by another request
            await db.rollback()
            existing = await db.scalar(select(Conversion).where(Conversion.order_id == order.order_id))
            if existing is None:
                raise
    if source == "api" and existing.source == "widget":
        existing.value_cents, existing.currency, existing.source = order.value_cents, order.currency, "api"
        existing.api_key_id = api_key_id
        existing.email_hash = existing.email_hash or order.email_hash
        await db.commit()
    return Recorded(existing, duplicate=True)


def conversion_dict(c: Conversion) -> dict:
    return {"order_id": c.order_id, "value": f"{c.value_cents // 100}.{c.value_cents % 100:02d}",
            "currency": c.currency, "ordered_at": _iso(c.ordered_at), "attribution": c.attribution,
            "conversation_id": c.conversation_id, "agent_id": c.agent_id, "source": c.source}


def _iso(at: datetime | None) -> str | None:
    if at is None:
        return None
    if at.tzinfo is None:  # SQLite gives naive UTC back
        at = at.replace(tzinfo=timezone.utc)
    return at.isoformat().replace("+00:00", "Z")


# ---- API keys ----------------------------------------------------------------------------------

def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(db: AsyncSession, *, name: str, created_by_id: int | None) -> tuple[ConversionApiKey, str]:
    """A new key; the key itself is returned once and never stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ConversionApiKey(name=name, key_hash=hash_key(key), hint=key[:len(KEY_PREFIX) + 4],
                           created_by_id=created_by_id)
    db.add(row)
    await db.commit()
    return row, key


async def key_for(db: AsyncSession, key: str | None) -> ConversionApiKey | None:
    """The active key this secret is, or None (unknown or revoked)."""
    if not key or len(key) > 200:
        return None
    row = await db.scalar(select(ConversionApiKey).where(ConversionApiKey.key_hash == hash_key(key)))
    if row is None or row.revoked_at is not None:
        return None
    return row


async def revoke_key(db: AsyncSession, key_id: int) -> ConversionApiKey | None:
    row = await db.get(ConversionApiKey, key_id)
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        await db.commit()
    return row


def key_dict(k: ConversionApiKey) -> dict:
    return {"id": k.id, "name": k.name, "hint": k.hint + "…", "created_at": _iso(k.created_at),
            "revoked_at": _iso(k.revoked_at), "last_used_at": _iso(k.last_used_at)}
