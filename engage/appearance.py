"""The widget's appearance, set by admins on the console's Widget page (docs/engage.md): the accent
colour, the launcher's position, icon and text, the chat header's title and subtitle, the greeting,
the offline form's title and intro, agents' avatars shown or not, and custom CSS for the chat's
iframe (engage/css.py). Texts are per language. Stored as one JSON row of engage_settings.

`check_config` refuses anything it does not know (RuleError naming the field), so a bad PUT
changes nothing. The loader reads `launcher_part` (small, on every page view it is not cached), the
chat iframe the whole of `public_config`; the loader's data- attributes still win on their page."""
from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from engage.css import CssError, check_css
from engage.models import WidgetSetting
from engage.rules import LANG_RE, RuleError

NAME = "appearance"
POSITIONS = ("right", "left")
ICONS = ("chat", "help", "mail", "bag")  # drawn by widget/src/loader.js
# Each text and its longest length; an empty text means the widget's own (in its language).
TEXTS = {"launcher": 40, "title": 60, "subtitle": 100, "greeting": 300, "offline_title": 80, "offline_intro": 300}
COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
DEFAULT = {"color": "", "position": "right", "launcher_icon": "chat", "avatars": True, "css": "", "texts": {}}
KEYS = tuple(DEFAULT)


def check_config(data: object) -> dict:
    """The settings as stored, or RuleError(field, message). Every key may be left out (its default)."""
    if not isinstance(data, dict):
        raise RuleError("appearance", "the appearance settings are a JSON object")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise RuleError(unknown[0], f"unknown setting {unknown[0]!r} (one of {', '.join(KEYS)})")
    color = data.get("color") or ""
    if not isinstance(color, str) or (color and not COLOR_RE.match(color.strip())):
        raise RuleError("color", "color must be a colour like #1f5f4a (or empty for the default)")
    position = data.get("position", "right")
    if position not in POSITIONS:
        raise RuleError("position", "position must be right or left")
    icon = data.get("launcher_icon", "chat")
    if icon not in ICONS:
        raise RuleError("launcher_icon", f"launcher_icon must be one of {', '.join(ICONS)}")
    avatars = data.get("avatars", True)
    if not isinstance(avatars, bool):
        raise RuleError("avatars", "avatars must be true or false")
    try:
        css = check_css(data.get("css"))
    except CssError as exc:
        hint = " (a declaration is 'property: value', a rule needs its { })" if "qualified rule" in str(exc) else ""
        raise RuleError("css", f"custom CSS: {exc}{hint}") from None
    return {"color": color.strip().lower(), "position": position, "launcher_icon": icon, "avatars": avatars,
            "css": css, "texts": _texts(data.get("texts"))}


def _texts(value: object) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 20:
        raise RuleError("texts", "texts must be an object of languages, like {\"en\": {\"title\": \"...\"}}")
    out = {}
    for lang, texts in value.items():
        if not isinstance(lang, str) or not LANG_RE.match(lang) or not isinstance(texts, dict):
            raise RuleError("texts", f"texts: {str(lang)[:20]!r} is not a language code with its texts")
        kept = {}
        for key, text in texts.items():
            field = f"texts.{lang}.{key}"
            if key not in TEXTS:
                raise RuleError(field, f"texts: unknown text {str(key)[:40]!r} (one of {', '.join(TEXTS)})")
            if not isinstance(text, str):
                raise RuleError(field, f"texts: {lang}.{key} must be text")
            text = text.strip()
            if len(text) > TEXTS[key]:
                raise RuleError(field, f"texts: {lang}.{key} is longer than {TEXTS[key]} characters")
            if CONTROL_RE.search(text) or (key != "greeting" and "\n" in text):
                raise RuleError(field, f"texts: {lang}.{key} may not contain control characters"
                                       + ("" if key == "greeting" else " or line breaks"))
            if text:
                kept[key] = text
        if kept:
            out[lang] = kept
    return out


async def get_config(db: AsyncSession) -> dict:
    row = await db.get(WidgetSetting, NAME)
    value = row.value if row is not None and isinstance(row.value, dict) else {}
    return {**DEFAULT, **{k: v for k, v in value.items() if k in DEFAULT}}


async def put_config(db: AsyncSession, config: dict) -> dict:
    row = await db.get(WidgetSetting, NAME)
    if row is None:
        db.add(WidgetSetting(name=NAME, value=config))
    else:
        row.value = config
    await db.commit()
    return await get_config(db)


def launcher_part(config: dict) -> dict:
    """What the loader needs to draw the launcher: c(olour), p(osition), i(con), t(ext per language)."""
    texts = {lang: t["launcher"] for lang, t in config.get("texts", {}).items() if t.get("launcher")}
    return {"c": config.get("color", ""), "p": config.get("position", "right"),
            "i": config.get("launcher_icon", "chat"), "t": texts}
