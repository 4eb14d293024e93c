"""Rasa's custom-action endpoint, served by the app (docs/bot.md says why). Rasa POSTs
`{next_action, sender_id, tracker, domain, version}` and gets `{events, responses}` back. Each
response carries the whole bot message in `custom.shopchat` (`Reply.shopchat()`) so the app
receives it in one piece (Rasa's REST channel would split text, buttons and custom into separate
messages).

The handoff (docs/bot.md, "Before a person: the handoff form"): action_handoff_start (payload
`handoff: requested`; it sets the form's slots to the name and e-mail the conversation already
has, so nothing known is asked again), then Rasa's handoff_form asks for the name and e-mail with
action_ask_visitor_name / action_ask_visitor_email and checks the answers with
validate_handoff_form, then action_request_human (payload `handoff: queue` with what was learnt).

A long conversation is cut into Rasa sessions of at most SESSION_MAX_EVENTS events (`roll_session`,
docs/bot.md "Sessions"): Rasa loads, featurizes and POSTs here only the events since the last
session start, so a turn costs the same at the 100th question as at the first."""
from __future__ import annotations

import os
import secrets
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from bot.answers import (
    REASON_VISITOR_ASKED, Reply, ask_email, ask_name, find_order_number, form_step, handoff_queue,
    handoff_reason_of, handoff_requested, known, looks_like_handoff, small_talk,
)
from bot.brain import answer_question
from bot.texts import bot_language
from knowledge_base.service import LiveIndex

ACTIONS = (
    "action_answer_question",
    "action_handoff_start",
    "action_ask_visitor_name",
    "action_ask_visitor_email",
    "validate_handoff_form",
    "action_request_human",
    "action_small_talk",
)
FORM = "handoff_form"
FORM_SLOTS = ("visitor_name", "visitor_email")
# Events in the tracker Rasa sends (its current session) past which action_answer_question starts a
# new session; about 10 questions (4-5 events each). 0 turns it off (the benchmark's "before").
SESSION_MAX_EVENTS = int(os.environ.get("SHOPCHAT_BOT_SESSION_MAX_EVENTS", "40"))


def reply_response(reply: Reply) -> dict:
    return {"custom": {"shopchat": reply.shopchat()}}


def slot_set(name: str, value: Any) -> dict:
    return {"event": "slot", "name": name, "value": value}


async def run_action(kb: LiveIndex, name: str, tracker: dict[str, Any],
                     known_visitor: dict[str, str] | None = None) -> tuple[list[dict], list[Reply]]:
    """Rasa's events and the bot's messages for one action. `known_visitor`: for
    action_handoff_start, the name and e-mail the conversation already has (the pre-chat form, the
    offline form, an earlier handoff): set as the form's slots, so the form does not ask for them."""
    latest = tracker.get("latest_message") or {}
    slots = tracker.get("slots") or {}
    language = language_of(latest)
    if name == "action_small_talk":
        # greet, goodbye, thanks, affirm, deny, bot_challenge: canned texts, in the visitor's language
        return roll_session(tracker), [small_talk((latest.get("intent") or {}).get("name") or "greet", language)]
    if name == "action_handoff_start":
        answer = await _answer_instead_of_handoff(kb, latest, language)
        if answer is not None:  # the form is not started: the turn ends with the answer
            return [{"event": "followup", "name": "action_listen"}], [answer]
        reason = handoff_reason_of(latest.get("text") or "", latest.get("entities") or [])
        # requested_slot too: a form left unfinished (a Rasa session that expired mid-form) leaves it
        # set, and at the form's activation Rasa would fill that slot with this very message.
        events = [slot_set("handoff_reason", reason), slot_set("handoff_retry", None), slot_set("requested_slot", None)]
        # What the conversation knows is not asked again: a filled slot is one the form skips.
        events += [slot_set(slot, value) for slot, value in (known_visitor or {}).items()
                   if slot in FORM_SLOTS and isinstance(value, str) and value]
        return events, [handoff_requested(reason)]
    if name == "action_ask_visitor_name":
        return [], [ask_name(slots.get("handoff_retry"), language)]
    if name == "action_ask_visitor_email":
        return [], [ask_email(slots.get("handoff_retry"), language)]
    if name == "validate_handoff_form":
        return validate_form(tracker), []
    if name == "action_request_human":
        reason = slots.get("handoff_reason") or REASON_VISITOR_ASKED
        order_number = find_order_number(user_texts(tracker)) or slots.get("order_number")  # see roll_session
        return [], [handoff_queue(reason, name=known(slots.get("visitor_name")), email=known(slots.get("visitor_email")),
                                  order_number=order_number, language=language)]
    # action_answer_question
    if _asks_for_a_person(latest):
        # A request for a person that Rasa's classifier let slip: the same path as the intent
        # (rules.yml: after action_handoff_start comes the form).
        return [{"event": "followup", "name": "action_handoff_start"}], []
    intent = latest.get("intent") or {}
    article_id = None
    for entity in latest.get("entities") or []:
        if entity.get("entity") == "article_id":
            try:
                article_id = int(entity.get("value"))
            except (TypeError, ValueError):
                pass
    reply = await answer_question(
        kb, latest.get("text") or "", intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0), article_id=article_id, language=language,
    )
    return roll_session(tracker), [reply]


# Rasa's human_handoff at or above this confidence is taken as it is (docs/bot.md, "Doubtful handoffs").
HANDOFF_SURE = 0.95


async def _answer_instead_of_handoff(kb: LiveIndex, latest: dict, language: str) -> Reply | None:
    """The knowledge base's answer for a message Rasa took for a request for a person without being
    sure of it, when our own patterns see no such request and the knowledge base answers it
    confidently; else None (the handoff goes on). Rasa's classifier leans on words for people and
    for wanting something else: "Can my parcel be left with a neighbour?" came out as human_handoff
    0.55 in the load benchmark, "got a present but I'd rather have something else" as its best guess
    under the fallback threshold, and such a visitor got the queue instead of the answer. The
    answer keeps its "Talk to a person" button, so a real request we misread costs one click."""
    text = (latest.get("text") or "").strip()
    intent = latest.get("intent") or {}
    if not text or text.startswith("/") or looks_like_handoff(text):
        return None  # a button's payload (or the app's bot_failed), or words that ask for a person
    if intent.get("name") == "human_handoff" and float(intent.get("confidence") or 0.0) >= HANDOFF_SURE:
        return None
    reply = await answer_question(kb, text, intent="ask_question", language=language)
    return reply if reply.kb else None


def language_of(latest: dict) -> str:
    """The bot's language for this turn: the app sends the conversation's language as the message's
    metadata (chat/flows.py); a message without it (Rasa's own tools, old clients) gets English."""
    metadata = latest.get("metadata")
    return bot_language(metadata.get("language") if isinstance(metadata, dict) else None)


def roll_session(tracker: dict, max_events: int | None = None) -> list[dict]:
    """The events that start a new Rasa session once the current one holds more than `max_events`
    events and no form is asking: the same events Rasa's own action_session_start logs (its
    ActionExecuted marks the split for the in-memory store, SessionStarted for the SQL store and for
    the policies), each slot carried with its last value (Rasa's own carry-over copies every SlotSet
    event, more at every session), the visitor's order number kept in the slot `order_number` (the
    texts it was read from stay in the old session), then action_listen as a follow-up so the turn
    ends as it would have. Nothing the dialogue uses is lost: the rules never look back further
    than the last message, and the form is never cut."""
    limit = SESSION_MAX_EVENTS if max_events is None else max_events
    events = tracker.get("events") or []
    if not limit or len(events) <= limit or (tracker.get("active_loop") or {}).get("name"):
        return []
    slots = {k: v for k, v in (tracker.get("slots") or {}).items() if v is not None and k != "requested_slot"}
    order_number = find_order_number(user_texts(tracker)) or slots.get("order_number")
    if order_number:
        slots["order_number"] = order_number
    return [{"event": "action", "name": "action_session_start"}, {"event": "session_started"},
            *(slot_set(k, v) for k, v in slots.items()), {"event": "followup", "name": "action_listen"}]


def user_texts(tracker: dict) -> list[str]:
    """What the visitor typed in this Rasa conversation, oldest first."""
    return [e.get("text") or "" for e in tracker.get("events") or [] if isinstance(e, dict) and e.get("event") == "user"]


def validate_form(tracker: dict) -> list[dict]:
    """validate_handoff_form. Rasa sends the slot candidates as `slot` events after the last
    `handoff_form` action event and takes back only the SlotSet events returned here, so every
    candidate is returned: the answer to the question the form asked (requested_slot) is checked,
    anything else (values kept from earlier in the conversation, at the form's activation) is
    returned as it is. An answer that does not fit empties the slot, so the form asks again (the
    ask actions read handoff_retry); a second one, or a skip, stores SKIPPED so the form moves on."""
    events = [e for e in tracker.get("events") or [] if isinstance(e, dict)]
    start = max((i for i, e in enumerate(events) if e.get("event") == "action" and e.get("name") == FORM), default=-1)
    candidates = {e["name"]: e.get("value") for e in events[start + 1:]
                  if e.get("event") == "slot" and e.get("name") in FORM_SLOTS}
    slots = tracker.get("slots") or {}
    requested = slots.get("requested_slot")
    intent = (tracker.get("latest_message") or {}).get("intent") or {}
    out: dict[str, Any] = {}
    for slot, value in candidates.items():
        if slot != requested:
            out.setdefault(slot, value)
            continue
        other = "visitor_email" if slot == "visitor_name" else "visitor_name"
        out.update(form_step(slot, value, retry=slots.get("handoff_retry"),
                             email_known=known(candidates.get(other, slots.get(other))) is not None,
                             intent=intent.get("name"), confidence=float(intent.get("confidence") or 0.0)))
    return [slot_set(k, v) for k, v in out.items()]


def _asks_for_a_person(latest: dict) -> bool:
    """A request for a person that Rasa's classifier let slip (a short or misspelt one falling under
    the fallback threshold, with human_handoff still its best guess, or one our patterns know)."""
    ranking = [r.get("name") for r in latest.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    if (latest.get("intent") or {}).get("name") == "nlu_fallback" and ranking[:1] == ["human_handoff"]:
        return True
    return looks_like_handoff(latest.get("text") or "")


async def _known_visitor(request: Request, conversation_id: object) -> dict[str, str]:
    """The name and e-mail the conversation already has (Rasa's sender id is the conversation's id;
    the app serves these actions, so it reads its own database; only at a handoff's start)."""
    ctx = getattr(request.app.state, "ctx", None)
    if ctx is None or not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= 32:
        return {}
    from chat.models import Conversation  # the bot package does not need the chat models otherwise

    async with ctx.sessionmaker() as db:
        conv = await db.get(Conversation, conversation_id)
    if conv is None:
        return {}
    return {k: v for k, v in (("visitor_name", conv.visitor_name), ("visitor_email", conv.visitor_email)) if v}


def make_router(kb: LiveIndex, token: str) -> APIRouter:
    router = APIRouter()

    @router.post("/bot/actions", include_in_schema=False)
    async def webhook(request: Request, t: str = Query("", alias="token")):
        # Only Rasa holds the token; visitors must never trigger actions directly.
        if not secrets.compare_digest(t, token):
            raise HTTPException(status_code=403, detail="bad action token")
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"action_name": None, "error": "body is not JSON"}, status_code=400)
        name = body.get("next_action") if isinstance(body, dict) else None
        if name not in ACTIONS:
            return JSONResponse({"action_name": name, "error": f"unknown action {name!r}"}, status_code=400)
        tracker = body.get("tracker") or {}
        known_visitor = None
        if name == "action_handoff_start":
            known_visitor = await _known_visitor(request, tracker.get("sender_id") or body.get("sender_id"))
        events, replies = await run_action(kb, name, tracker, known_visitor)
        return {"events": events, "responses": [reply_response(r) for r in replies]}

    return router
