"""The admins' custom CSS for the chat: parsed with tinycss2 and refused unless it is plain style
rules. It applies inside the chat's iframe only (its own document), and nothing in it may load
anything or run anything: no at-rules (@import, @font-face, @namespace...), no url() or image-set()
or any other function that fetches, no IE expression(), no -moz-binding / behavior, no escapes (a
backslash could spell any of those), no `<` (so the text can never close a <style> element)."""
from __future__ import annotations

import tinycss2

MAX_CSS = 20_000
BANNED_FUNCTIONS = {"url", "image", "image-set", "-webkit-image-set", "cross-fade", "element", "expression",
                    "src", "paint", "env"}
BANNED_PROPERTIES = {"behavior", "-moz-binding", "-ms-behavior"}


class CssError(ValueError):
    pass


def _walk(tokens):
    for token in tokens:
        yield token
        for attr in ("content", "arguments", "prelude"):
            inner = getattr(token, attr, None)
            if isinstance(inner, list):
                yield from _walk(inner)


def check_css(text: object) -> str:
    """The CSS if it is safe to put in the chat, else CssError saying what is wrong and where."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise CssError("custom CSS must be text")
    if len(text) > MAX_CSS:
        raise CssError(f"custom CSS is longer than {MAX_CSS} characters")
    for bad, why in (("\\", "backslash escapes"), ("<", "'<'"), ("\x00", "NUL characters")):
        if bad in text:
            raise CssError(f"custom CSS may not contain {why}")
    for rule in tinycss2.parse_stylesheet(text, skip_comments=True, skip_whitespace=True):
        where = f"line {getattr(rule, 'source_line', '?')}"
        if rule.type == "error":
            raise CssError(f"{where}: {rule.message}")
        if rule.type == "at-rule":
            raise CssError(f"{where}: @{rule.at_keyword} is not allowed (only style rules)")
        for decl in tinycss2.parse_blocks_contents(rule.content, skip_comments=True, skip_whitespace=True):
            if decl.type == "error":
                raise CssError(f"line {decl.source_line}: {decl.message}")
            if decl.type != "declaration":
                raise CssError(f"line {decl.source_line}: only declarations inside a rule (no nested rules)")
            if decl.lower_name in BANNED_PROPERTIES:
                raise CssError(f"line {decl.source_line}: {decl.name} is not allowed")
            for token in _walk(decl.value):
                if token.type == "url":
                    raise CssError(f"line {token.source_line}: url() is not allowed (nothing may be loaded)")
                if token.type == "function" and token.lower_name in BANNED_FUNCTIONS:
                    raise CssError(f"line {token.source_line}: {token.name}() is not allowed")
        for token in _walk(rule.prelude):
            if token.type in ("url", "function") and getattr(token, "lower_name", "") in BANNED_FUNCTIONS | {"url"}:
                raise CssError(f"{where}: {token.name}() is not allowed in a selector")
    return text.strip()
