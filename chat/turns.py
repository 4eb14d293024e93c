"""The bot's turn, across processes and restarts (docs/architecture.md, "The bot's turn").

A conversation's questions are answered by one claim at a time: a lease on the conversation row
(`bot_turn_owner`, `bot_turn_until`). Storing a visitor message claims it in the same UPDATE that
takes the sequence number (service._next_seq), so the message path gains no round trip. The holder
answers every waiting question in sequence order; the transaction that stores an answer also marks
the question answered and releases the lease once no question waits (`bot_pending`, counted on the
row itself so a question stored meanwhile keeps the lease held). A process that dies holding a lease
leaves it to run out (or, on the same host, to be taken over at once); `recover` answers what was
left, exactly once: every answer is committed only if its question is still unanswered and the
claim still this one (service.end_bot_turn)."""
from __future__ import annotations

import asyncio
import itertools
import logging
import os
from datetime import timedelta, timezone

from app.context import AppContext
from app.db import utcnow
from chat import flows, service
from chat.models import Message
from handoff import routing

log = logging.getLogger(__name__)
_claims = itertools.count(1)
# Claims of this process whose turn failed and whose release failed too (the database was down):
# the next sweep takes them over at once instead of leaving their questions until the lease ends.
_abandoned: set[str] = set()


def new_claim(ctx: AppContext) -> tuple[str, float]:
    """A fresh claim token (this process's id and a counter) and the lease, for add_message."""
    return f"{ctx.instance_id}:{next(_claims)}", ctx.settings.bot_turn_lease_s


def after_store(ctx: AppContext, stored: service.Stored):
    """The work a stored visitor message starts (a coroutine for a background task), or None."""
    msg = stored.message
    if stored.turn:  # this store claimed the turn: answer (the oldest question first)
        first = (msg, stored.state, stored.language) if stored.pending == 1 else None
        return run(ctx, msg.conversation_id, stored.turn, first)
    if stored.duplicate and not msg.answered:  # a retry of a question still waiting
        return claim_and_run(ctx, msg.conversation_id)
    if not stored.duplicate and stored.state == "assigned":  # for the person: the chat is active again
        return _note_activity(ctx, msg.conversation_id)
    return None  # the holder of the turn answers it, or nobody owes an answer (closed)


async def _note_activity(ctx: AppContext, conversation_id: str) -> None:
    async with ctx.sessionmaker() as db:
        await routing.note_activity(db, conversation_id, sender="visitor", now=utcnow())


async def claim_and_run(ctx: AppContext, conversation_id: str, replacing: str | None = None) -> bool:
    """Claim the turn if it is free (or held by `replacing`, a dead process) and answer what waits."""
    token, lease_s = new_claim(ctx)
    async with ctx.sessionmaker() as db:
        if not await service.claim_turn(db, conversation_id, token, lease_s, replacing=replacing):
            return False  # another claim holds it and will answer every waiting question
    await run(ctx, conversation_id, token)
    return True


def _late(ctx: AppContext, msg: Message) -> bool:
    created = msg.created_at if msg.created_at.tzinfo else msg.created_at.replace(tzinfo=timezone.utc)
    return utcnow() - created > timedelta(seconds=ctx.settings.late_answer_after_s)


async def run(ctx: AppContext, conversation_id: str, token: str,
              first: tuple[Message, str | None, str | None] | None = None) -> None:
    """Holding the turn `token`: answer the waiting questions in order, then let the turn go."""
    ctx.turns[conversation_id] = token  # renewed by `recover` while held
    empty = 0
    try:
        while True:
            if first is not None:
                (msg, state, language), first = first, None
            else:
                async with ctx.sessionmaker() as db:
                    msg, state, language = await service.next_question(db, conversation_id)
            if msg is None:
                # Nothing waits: release, unless a question was stored meanwhile (read again). Found
                # nothing twice: the count is off (a bug), recount; four times: give the turn up.
                empty += 1
                async with ctx.sessionmaker() as db:
                    if await service.release_turn(db, conversation_id, token, repair=empty == 2, force=empty >= 4):
                        return
                continue
            empty = 0
            try:
                held = await flows.answer_visitor(ctx, conversation_id, msg, state, language, turn=token,
                                                  late=_late(ctx, msg))
            except service.TurnLost:
                log.warning("bot turn on %s taken over by another claim; stopping this one", conversation_id)
                return
            if not held:
                return
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - the question stays waiting: recovery tries again
        log.exception("bot turn on %s failed", conversation_id)
        try:
            async with ctx.sessionmaker() as db:
                await service.release_turn(db, conversation_id, token, force=True)
        except Exception:  # noqa: BLE001 - the database is down: recovery takes the claim over
            log.exception("could not release the bot turn on %s", conversation_id)
            _abandoned.add(token)
    finally:
        if ctx.turns.get(conversation_id) == token:
            del ctx.turns[conversation_id]


def owner_is_gone(ctx: AppContext, owner: str | None) -> bool:
    """A lease held by a process of this host (same host name and PID namespace) that is no longer
    running: taken over at once instead of after the lease. Anything else waits for the lease."""
    if not owner:
        return False
    instance = owner.rsplit(":", 1)[0]
    parts = instance.split("/")
    mine = ctx.instance_id.split("/")
    if len(parts) != 4 or parts[:2] != mine[:2] or instance == ctx.instance_id:
        return False
    try:
        pid = int(parts[2])
    except ValueError:
        return False
    if pid == os.getpid():
        return True  # this PID is this process now: the holder was an earlier one (a restart)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


async def recover(ctx: AppContext) -> None:
    """At start and every `bot_recovery_every_s`: renew the leases this process holds, and answer
    the questions nobody is answering (left by a process that died, or by this one before a
    restart). Runs in every process; the claim makes each question answered once."""
    while True:
        try:
            await recover_once(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the database restarting: next time
            log.exception("bot turn recovery failed")
        await asyncio.sleep(ctx.settings.bot_recovery_every_s)



async def recover_once(ctx: AppContext) -> int:
    """One sweep; returns how many conversations it started answering."""
    async with ctx.sessionmaker() as db:
        await service.renew_turns(db, dict(ctx.turns), ctx.settings.bot_turn_lease_s)
        waiting = await service.waiting_conversations(db)
    started = 0
    for conversation_id, owner, free in waiting:
        if conversation_id in ctx.turns or conversation_id in ctx.recovering:
            continue
        if free or owner in _abandoned or owner_is_gone(ctx, owner):
            ctx.recovering.add(conversation_id)
            task = asyncio.create_task(_recover(ctx, conversation_id, None if free else owner))
            ctx.background.add(task)
            task.add_done_callback(ctx.background.discard)
            started += 1
    return started


async def _recover(ctx: AppContext, conversation_id: str, replacing: str | None) -> None:
    try:
        async with ctx.recover_slots:
            await claim_and_run(ctx, conversation_id, replacing=replacing)
        _abandoned.discard(replacing)
    except Exception:  # noqa: BLE001 - the next sweep tries again
        log.exception("recovering the bot turn on %s failed", conversation_id)
    finally:
        ctx.recovering.discard(conversation_id)
