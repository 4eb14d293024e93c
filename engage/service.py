"""Live visitors and invitations: the loader's beats (page view, heartbeat, leave, what became of an
invitation), who is on the site now, an agent's invitation, and the invitation counts for reports.
Keyword-only database functions, no HTTP (engage/views.py is the HTTP side)."""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chat.models import Conversation
from engage import rules as rules_mod
from engage.models import EVENT_KINDS, InvitationEvent, InvitationRule, LiveVisitor

VISITOR_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
KEY_RE = re.compile(r"^[A-Za-z0-9]{8,32}$")  # an invitation's key, and a page view's (`p`)
# The loader beats this often while a page is open; a visitor not heard from for GONE_AFTER has left.
HEARTBEAT_S = 20
GONE_AFTER = timedelta(seconds=60)
# A heartbeat of the page that said goodbye, this soon after: sent before the goodbye and overtaken by
# it on the way (separate requests), so the goodbye stands. Later ones (another tab of the browser on
# the same page) bring the visitor back.
CROSSED = timedelta(seconds=5)
# A page view this long after the last one starts a new visit (the loader counts visits the same way).
VISIT_GAP = timedelta(minutes=30)
# Rows of visitors gone this long are deleted (returning/new comes from the browser's own counter).
FORGET_AFTER = timedelta(days=1)
MAX_PAGES = 20
OPEN_STATES = ("bot", "queued", "assigned", "offline_form")
BEATS = ("pv", "hb", "bye") + EVENT_KINDS


class BeatError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _text(data: dict, key: str, max_len: int) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BeatError("bad_field", f"field '{key}' must be a string")
    if "\x00" in value:
        raise BeatError("bad_field", f"field '{key}' contains a NUL character")
    return value[:max_len]  # a long title or URL is cut, not refused: it is only shown


def check_beat(data: object) -> dict:
    """The loader's beat: {v: visitor id, e: pv|hb|bye|shown|accepted|dismissed|chat_started,
    u: url, t: title, r: referrer, n: visit number, l: language, k: invitation key, i: rule id,
    p: the page view's key (pv and bye; older loaders send none)}."""
    if not isinstance(data, dict):
        raise BeatError("bad_json", "the body must be a JSON object")
    vid, kind = data.get("v"), data.get("e")
    if not isinstance(vid, str) or not VISITOR_ID_RE.match(vid):
        raise BeatError("bad_field", "field 'v' must be 16 to 64 characters of A-Z, a-z, 0-9, _ and -")
    if kind not in BEATS:
        raise BeatError("bad_field", f"field 'e' must be one of {', '.join(BEATS)}")
    visit_no = data.get("n", 1)
    if isinstance(visit_no, bool) or not isinstance(visit_no, int) or not 1 <= visit_no <= 1_000_000:
        raise BeatError("bad_field", "field 'n' must be a whole number from 1 to 1000000")
    beat = {"v": vid, "e": kind, "n": visit_no, "u": _text(data, "u", 2000), "t": _text(data, "t", 500),
            "r": _text(data, "r", 2000), "l": _text(data, "l", 16).lower() or None, "p": data.get("p")}
    if beat["p"] is not None and (not isinstance(beat["p"], str) or not KEY_RE.match(beat["p"])):
        raise BeatError("bad_field", "field 'p' must be the page view's key")
    if kind in EVENT_KINDS:
        key = data.get("k")
        if not isinstance(key, str) or not KEY_RE.match(key):
            raise BeatError("bad_field", "field 'k' must be the invitation's key")
        rule = data.get("i")
        if rule is not None and (isinstance(rule, bool) or not isinstance(rule, int) or not 0 < rule < 2**31):
            raise BeatError("bad_field", "field 'i' must be a rule id")
        beat.update(k=key, i=rule)
    return beat


def new_key() -> str:
    return secrets.token_hex(8)


async def _page_view(db: AsyncSession, beat: dict, now: datetime) -> LiveVisitor:
    row = await db.get(LiveVisitor, beat["v"], with_for_update=True)
    page = {"u": beat["u"], "t": beat["t"], "at": now.isoformat(), **({"p": beat["p"]} if beat["p"] else {})}
    if row is None:
        row = LiveVisitor(visitor_id=beat["v"], ref=secrets.token_hex(8), invite=None)
        db.add(row)
    if (row.visit_started_at is None or row.visit_no != beat["n"] or row.last_seen_at is None
            or now - _aware(row.last_seen_at) > VISIT_GAP):
        row.visit_no, row.visit_started_at, row.pages_seen, row.pages = beat["n"], now, 0, []
        row.referrer = beat["r"] or None
    row.pages_seen = (row.pages_seen or 0) + 1
    row.pages = (list(row.pages or []) + [page])[-MAX_PAGES:]
    row.page_url, row.page_title, row.page_started_at = beat["u"] or None, beat["t"] or None, now
    row.last_seen_at, row.left_at = now, None
    if beat["l"]:
        row.language = beat["l"]
    return row


def _aware(dt: datetime | None) -> datetime | None:
    """SQLite hands back naive UTC datetimes."""
    return dt.replace(tzinfo=timezone.utc) if dt is not None and dt.tzinfo is None else dt


async def agents_online(db: AsyncSession, now: datetime) -> bool:
    from handoff import routing
    from handoff.models import RoutingSettings

    timeout = await db.scalar(select(RoutingSettings.presence_timeout_s).limit(1)) or 30
    return await routing.online_agent_count(db, timeout, now) > 0


async def chatting(db: AsyncSession, visitor_id: str) -> bool:
    return bool(await db.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.visitor_id == visitor_id, Conversation.state.in_(OPEN_STATES))))


async def _rule_invitation(db: AsyncSession, row: LiveVisitor, now: datetime) -> dict | None:
    rules = list(await db.scalars(select(InvitationRule).where(InvitationRule.enabled.is_(True))))
    if not rules or await chatting(db, row.visitor_id):
        return None
    longest = max(r.cap_hours for r in rules)
    last_shown = {rid: _aware(at) for rid, at in await db.execute(
        select(InvitationEvent.rule_id, func.max(InvitationEvent.at))
        .where(InvitationEvent.visitor_id == row.visitor_id, InvitationEvent.kind == "shown",
               InvitationEvent.rule_id.is_not(None), InvitationEvent.at >= now - timedelta(hours=longest))
        .group_by(InvitationEvent.rule_id))}
    online = None
    if any(r.when == "online" for r in rules):
        online = await agents_online(db, now)
    visit = rules_mod.Visit(url=row.page_url or "", pages_seen=row.pages_seen, returning=row.visit_no > 1,
                            referrer=row.referrer or "", language=row.language)
    rule = rules_mod.pick(rules, visit, agents_online=bool(online), last_shown=last_shown, now=now)
    if rule is None:
        return None
    return {"k": new_key(), "i": rule.id, "a": rule.min_time_on_page_s,
            "m": rules_mod.message_for(rule.messages or {}, row.language)}


def _agent_invitation(row: LiveVisitor) -> dict | None:
    inv = row.invite
    if not isinstance(inv, dict) or not inv.get("key"):
        return None
    return {"k": inv["key"], "a": 0, "m": inv.get("message") or "", "n": inv.get("agent") or ""}


async def beat(db: AsyncSession, data: dict, *, now: datetime, heartbeat_s: int = HEARTBEAT_S) -> dict:
    """Handle one checked beat (check_beat) and commit; the answer tells the loader when to beat
    next and which invitation to pop, if any."""
    kind = data["e"]
    out: dict = {"hb": heartbeat_s}
    if kind == "pv":
        row = await _page_view(db, data, now)
        try:
            await db.flush()
        except IntegrityError:  # two first page views of one browser at once: the other one won
            await db.rollback()
            row = await _page_view(db, data, now)
        inv = _agent_invitation(row) or await _rule_invitation(db, row, now)
    elif kind == "hb":
        row = await db.get(LiveVisitor, data["v"])
        if row is None:  # forgotten (or another deployment's database): start over as a page view
            return await beat(db, {**data, "e": "pv"}, now=now, heartbeat_s=heartbeat_s)
        crossed = (row.left_at is not None and row.page_url == (data["u"] or None)
                   and now - _aware(row.left_at) < CROSSED)
        if not crossed:
            row.last_seen_at, row.left_at = now, None
        inv = None if crossed else _agent_invitation(row)
    elif kind == "bye":
        row = await db.get(LiveVisitor, data["v"], with_for_update=True)
        if row is not None and _is_current_page(row, data, now):
            row.left_at = now
        inv = None
    else:
        await record_event(db, data, now=now)
        inv = None
    await db.commit()
    if inv:
        out["inv"] = inv
    return out


def _is_current_page(row: LiveVisitor, data: dict, now: datetime) -> bool:
    """Only the page that is still the current one says goodbye: a late beacon of the page before
    must not hide a visitor who is on the next page already, even one of the same URL (a reload).
    The page view's key tells them apart; without one (an older loader still in a browser's cache),
    the same URL and a page older than 2 s."""
    if data.get("p"):
        pages = row.pages or []
        return bool(pages) and pages[-1].get("p") == data["p"]
    return (row.page_url == (data["u"] or None) and row.page_started_at is not None
            and now - _aware(row.page_started_at) > timedelta(seconds=2))


async def record_event(db: AsyncSession, data: dict, *, now: datetime) -> None:
    """Note what became of an invitation, once per kind; any event of an agent's invitation also
    takes it off the visitor (it pops once)."""
    row = await db.get(LiveVisitor, data["v"])
    pending = row.invite if row is not None and isinstance(row.invite, dict) else None
    if pending and pending.get("key") == data["k"]:
        source, agent_id, rule_id = "agent", pending.get("agent_id"), None
        row.invite = None
    else:
        previous = await db.scalar(select(InvitationEvent).where(InvitationEvent.key == data["k"]).limit(1))
        if previous is not None:
            if previous.visitor_id != data["v"]:
                raise BeatError("not_yours", "that invitation is another visitor's")
            source, agent_id, rule_id = previous.source, previous.agent_id, previous.rule_id
        elif data["e"] == "shown" and data.get("i") is not None and await db.get(InvitationRule, data["i"]):
            source, agent_id, rule_id = "rule", None, data["i"]
        else:
            return  # an invitation this app never made, or never shown: nothing to count
    exists = await db.scalar(select(InvitationEvent.id).where(InvitationEvent.key == data["k"],
                                                              InvitationEvent.kind == data["e"]))
    if exists is None:
        db.add(InvitationEvent(key=data["k"], kind=data["e"], visitor_id=data["v"], source=source,
                               rule_id=rule_id, agent_id=agent_id, at=now))
        try:
            await db.flush()
        except IntegrityError:  # the same event twice at once: counted once
            await db.rollback()


async def invite(db: AsyncSession, *, ref: str, message: str, agent_id: int, agent_name: str,
                 now: datetime) -> dict:
    """An agent's invitation for a visitor on the site now; it pops at the visitor's next beat."""
    message = " ".join((message or "").split())
    if not message:
        raise BeatError("empty_message", "write the invitation's message")
    if len(message) > rules_mod.MAX_MESSAGE:
        raise BeatError("message_too_long", f"an invitation can be at most {rules_mod.MAX_MESSAGE} characters")
    row = await db.scalar(select(LiveVisitor).where(LiveVisitor.ref == ref).with_for_update())
    if row is None or not present(row, now):
        raise BeatError("not_on_site", "this visitor has left the site")
    if await chatting(db, row.visitor_id):
        raise BeatError("chatting", "this visitor is chatting already")
    key = new_key()
    row.invite = {"key": key, "message": message, "agent": agent_name, "agent_id": agent_id, "at": now.isoformat()}
    await db.commit()
    return {"key": key}


def present(row: LiveVisitor, now: datetime) -> bool:
    return row.left_at is None and row.last_seen_at is not None and now - _aware(row.last_seen_at) < GONE_AFTER


async def live_visitors(db: AsyncSession, *, now: datetime, limit: int = 500) -> list[LiveVisitor]:
    return list(await db.scalars(
        select(LiveVisitor).where(LiveVisitor.last_seen_at >= now - GONE_AFTER, LiveVisitor.left_at.is_(None))
        .order_by(LiveVisitor.visit_started_at.desc()).limit(limit)))


async def forget_gone(db: AsyncSession, *, now: datetime) -> int:
    result = await db.execute(delete(LiveVisitor).where(LiveVisitor.last_seen_at < now - FORGET_AFTER))
    await db.commit()
    return result.rowcount or 0


async def invitation_counts(db: AsyncSession, *, since: datetime, until: datetime) -> dict:
    """Invitations shown, accepted, dismissed and chats started in [since, until), in all and by
    source (each rule, agents), for reports."""
    totals = {k: 0 for k in EVENT_KINDS}
    by_source: dict = {}
    for kind, source, rule_id, n in await db.execute(
            select(InvitationEvent.kind, InvitationEvent.source, InvitationEvent.rule_id, func.count())
            .where(InvitationEvent.at >= since, InvitationEvent.at < until)
            .group_by(InvitationEvent.kind, InvitationEvent.source, InvitationEvent.rule_id)):
        totals[kind] += n
        by_source.setdefault((source, rule_id), {k: 0 for k in EVENT_KINDS})[kind] += n
    names = {r.id: r.name for r in await db.scalars(select(InvitationRule))}
    rows = [{"source": "agents" if source == "agent" else names.get(rule_id, "(deleted rule)"),
             "rule_id": rule_id, **counts} for (source, rule_id), counts in by_source.items()]
    return {"totals": totals, "sources": sorted(rows, key=lambda r: -r["shown"])}
