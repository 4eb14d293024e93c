"""Rasa's custom-action endpoint, served by the app (docs/bot.md says why). Rasa POSTs
`{next_action, sender_id, tracker, domain, version}` and gets `{events, responses}` back. Each
response carries the whole bot message in `custom.shopchat` so the app receives it in one piece
(Rasa's REST channel would split text, buttons and custom into separate messages)."""
from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from bot.answers import Reply, handoff_started, looks_like_handoff
from bot.brain import answer_question
from knowledge_base.service import LiveIndex

ACTIONS = ("action_answer_question", "action_request_human")


def reply_response(reply: Reply) -> dict:
    custom = {"text": reply.text, **reply.extras()}
    if reply.handoff_reason:
        custom["handoff_reason"] = reply.handoff_reason
    return {"custom": {"shopchat": custom}}


async def run_action(kb: LiveIndex, name: str, tracker: dict[str, Any]) -> Reply:
    latest = tracker.get("latest_message") or {}
    if name == "action_request_human" or _asks_for_a_person(latest):
        return handoff_started("visitor_request")
    intent = latest.get("intent") or {}
    article_id = None
    for entity in latest.get("entities") or []:
        if entity.get("entity") == "article_id":
            try:
                article_id = int(entity.get("value"))
            except (TypeError, ValueError):
                pass
    return await answer_question(
        kb, latest.get("text") or "", intent=intent.get("name"),
        confidence=float(intent.get("confidence") or 0.0), article_id=article_id,
    )


def _asks_for_a_person(latest: dict) -> bool:
    """A request for a person that Rasa's classifier let slip (a short or misspelt one falling under
    the fallback threshold, with human_handoff still its best guess, or one our patterns know)."""
    ranking = [r.get("name") for r in latest.get("intent_ranking") or [] if r.get("name") != "nlu_fallback"]
    if (latest.get("intent") or {}).get("name") == "nlu_fallback" and ranking[:1] == ["human_handoff"]:
        return True
    return looks_like_handoff(latest.get("text") or "")


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
        reply = await run_action(kb, name, body.get("tracker") or {})
        return {"events": [], "responses": [reply_response(reply)]}

    return router
