"""The pre-chat form: what an admin may configure (`check_config`), the visitor's answers checked
against it (`check_answers`), and storing them on the conversation (`save_answers`): name, e-mail
and order number go onto the conversation's own columns, where the console and the handoff read
them (the handoff does not ask again what is known), everything else into engage_prechat.

Mode `person`: the form comes when the visitor asks for a person (chat/offline_first.py
starts_prechat: the widget gets `handoff` `prechat` instead of the bot's name and e-mail questions);
its answers, sent with the handoff's reason, continue the handoff (`continue_handoff`)."""
from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from chat.models import Conversation
from engage.models import PrechatAnswers, WidgetSetting
from engage.rules import LANG_RE, RuleError
from handoff import mailer

MODES = ("off", "always", "person")  # off; before any chat; before a chat with a person only
KINDS = ("name", "email", "phone", "order", "consent", "choice")
ON_CONVERSATION = {"name": "visitor_name", "email": "visitor_email", "order": "order_number"}
PHONE_RE = re.compile(r"^\+?[0-9 ()./-]{5,30}$")
ORDER_RE = re.compile(r"^[A-Za-z0-9 #_./-]{1,64}$")
MAX_LEN = {"name": 100, "email": 254, "phone": 30, "order": 64, "choice": 100}
HANDOFF_REASON_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")  # as the bot's (bot/answers.py)
DEFAULT = {"mode": "off", "fields": [{"kind": "name", "required": False}, {"kind": "email", "required": True}],
           "texts": {}}


def _texts(value: object, field: str, keys: tuple[str, ...], max_len: int = 300) -> dict:
    """{language: {key: text}} with only the known keys."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RuleError(field, f"{field} must be an object of languages")
    out = {}
    for lang, texts in value.items():
        if not LANG_RE.match(str(lang)) or not isinstance(texts, dict):
            raise RuleError(field, f"{field}: {lang!r} is not a language code with its texts")
        for key, text in texts.items():
            if key not in keys:
                raise RuleError(field, f"{field}: unknown text {key!r} (one of {', '.join(keys)})")
            if not isinstance(text, str) or len(text) > max_len:
                raise RuleError(field, f"{field}: {lang}.{key} must be text of at most {max_len} characters")
        out[str(lang)] = {k: t.strip() for k, t in texts.items() if t.strip()}
    return out


def check_config(data: object) -> dict:
    if not isinstance(data, dict):
        raise RuleError("prechat", "the pre-chat form's settings are a JSON object")
    mode = data.get("mode", "off")
    if mode not in MODES:
        raise RuleError("mode", f"mode must be one of {', '.join(MODES)}")
    fields = data.get("fields", [])
    if not isinstance(fields, list) or len(fields) > 10:
        raise RuleError("fields", "fields must be a list of at most 10")
    out_fields, seen = [], set()
    for i, f in enumerate(fields):
        if not isinstance(f, dict) or f.get("kind") not in KINDS:
            raise RuleError("fields", f"field {i + 1}: kind must be one of {', '.join(KINDS)}")
        kind = f["kind"]
        if kind in seen:
            raise RuleError("fields", f"field {i + 1}: {kind} is there twice")
        seen.add(kind)
        required = f.get("required", False)
        if not isinstance(required, bool):
            raise RuleError("fields", f"field {i + 1}: required must be true or false")
        item = {"kind": kind, "required": required,
                "labels": _texts(f.get("labels"), f"fields[{i}].labels", ("label",), 100)}
        if kind == "consent":
            url = f.get("privacy_url", "")
            if not isinstance(url, str) or (url and not re.match(r"^https?://[^\s<>\"']{1,500}$", url)):
                raise RuleError("fields", f"field {i + 1}: privacy_url must be an http(s) address")
            item["privacy_url"] = url
        if kind == "choice":
            options = f.get("options")
            if (not isinstance(options, list) or not 1 <= len(options) <= 20
                    or not all(isinstance(o, str) and 0 < len(o.strip()) <= 100 for o in options)):
                raise RuleError("fields", f"field {i + 1}: options must be 1-20 texts of up to 100 characters")
            item["options"] = [o.strip() for o in options]
        out_fields.append(item)
    if mode != "off" and not out_fields:
        raise RuleError("fields", "choose at least one field, or switch the form off")
    return {"mode": mode, "fields": out_fields, "texts": _texts(data.get("texts"), "texts", ("title", "intro", "submit"))}


def check_answers(config: dict, answers: object) -> dict:
    """The visitor's answers, each checked like the widget checks it; {"field": kind, ...} errors."""
    if not isinstance(answers, dict):
        raise RuleError("answers", "the answers are a JSON object")
    out = {}
    for f in config.get("fields", []):
        kind, value = f["kind"], answers.get(f["kind"])
        if kind == "consent":
            if value is not None and not isinstance(value, bool):
                raise RuleError(kind, "consent must be true or false")
            if f["required"] and value is not True:
                raise RuleError(kind, "please accept to continue")
            if value is not None:
                out[kind] = value
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            if f["required"]:
                raise RuleError(kind, f"{kind} is required")
            continue
        if not isinstance(value, str) or len(value) > MAX_LEN[kind] or "\x00" in value:
            raise RuleError(kind, f"{kind} must be text of at most {MAX_LEN[kind]} characters")
        value = " ".join(value.split())
        if kind == "email" and not mailer.valid_email(value):
            raise RuleError(kind, "enter a valid e-mail address, like name@example.com")
        if kind == "phone" and not PHONE_RE.match(value):
            raise RuleError(kind, "enter a phone number: digits, spaces, + ( ) - . /")
        if kind == "order" and not ORDER_RE.match(value):
            raise RuleError(kind, "enter the order number as it is on the confirmation")
        if kind == "choice" and value not in f.get("options", []):
            raise RuleError(kind, "choose one of the options")
        out[kind] = value
    return out


async def get_config(db: AsyncSession) -> dict:
    row = await db.get(WidgetSetting, "prechat")
    return row.value if row is not None else dict(DEFAULT)


async def put_config(db: AsyncSession, config: dict) -> dict:
    row = await db.get(WidgetSetting, "prechat")
    if row is None:
        db.add(WidgetSetting(name="prechat", value=config))
    else:
        row.value = config
    await db.commit()
    return config


async def save_answers(db: AsyncSession, conv: Conversation, answers: dict) -> None:
    """Onto the conversation (name, e-mail, order number: what the console and the handoff read) and
    all of them into engage_prechat."""
    for kind, column in ON_CONVERSATION.items():
        if answers.get(kind):
            setattr(conv, column, answers[kind])
    row = await db.get(PrechatAnswers, conv.id)
    if row is None:
        db.add(PrechatAnswers(conversation_id=conv.id, values=answers))
    else:
        row.values = {**row.values, **answers}
    await db.commit()


async def answers_for(db: AsyncSession, conversation_id: str) -> dict | None:
    """The visitor's answers as they sent them (for the agents' chat details), or None."""
    row = await db.get(PrechatAnswers, conversation_id)
    return dict(row.values) if row is not None else None


async def due_before_person(db: AsyncSession, conversation_id: str) -> bool:
    """Mode `person` and this conversation has not answered the form yet."""
    config = await get_config(db)
    if config.get("mode") != "person" or not config.get("fields"):
        return False
    return await db.get(PrechatAnswers, conversation_id) is None


async def continue_handoff(ctx, conversation_id: str, reason: object) -> bool:
    """After the answers of a `person`-mode form (the widget sends the handoff's `reason` with them):
    the chat goes on to a person. Anything else (mode `always`, no reason): nothing happens."""
    if not isinstance(reason, str) or not HANDOFF_REASON_RE.match(reason):
        return False
    async with ctx.sessionmaker() as db:
        if (await get_config(db)).get("mode") != "person":
            return False
    from chat import flows  # chat imports engage: import late

    return await flows.continue_after_prechat(ctx, conversation_id, reason)
