"""The Reports page's definitions in Greek (docs/reports.el.md, shipped as definitions.el.md) define
what the English ones (docs/reports.md) do: every heading of the English definitions, up to "The
page", has a Greek heading carrying the English heading's anchor (`### Συγκράτηση <a id="containment"></a>`),
so each figure's "?" finds its definition in both languages; and every anchor the page links to
(reports.js, reports.html) is among them."""
from __future__ import annotations

import re

from app.settings import ROOT

DOCS = ROOT / "docs"
SRC = ROOT / "widget" / "src"


def slug(title: str) -> str:
    """As reports.js (and GitHub) make an anchor from a heading's words."""
    return re.sub(r"[^\w -]", "", title.lower()).strip().replace(" ", "-")


def english_anchors() -> list[str]:
    text = (DOCS / "reports.md").read_text(encoding="utf-8")
    definitions = text.split("\n## The page\n")[0]
    return [slug(m.group(1)) for m in re.finditer(r"^#{2,3} (.+)$", definitions, re.M)]


def greek_headings() -> list[tuple[str, str]]:
    text = (DOCS / "reports.el.md").read_text(encoding="utf-8")
    return re.findall(r'^#{2,3} (.+?) <a id="([\w-]+)"></a>$', text, re.M)


def test_every_english_definition_has_a_greek_one_with_its_anchor():
    english = english_anchors()
    assert len(english) > 40  # the parse sees the definitions at all
    greek = [anchor for _, anchor in greek_headings()]
    assert greek == english  # the same definitions, in the same order
    # every heading of the Greek file carries an anchor, and its words are Greek
    text = (DOCS / "reports.el.md").read_text(encoding="utf-8")
    assert len(re.findall(r"^#{2,3} ", text, re.M)) == len(greek)
    assert [t for t, _ in greek_headings() if not re.search("[\u0370-\u03ff]", t) and t != "CSAT"] == []


def test_every_definition_the_page_links_to_exists():
    js = (SRC / "reports.js").read_text(encoding="utf-8")
    html = (SRC / "reports.html").read_text(encoding="utf-8")
    linked = set(re.findall(r'card\("([\w-]+)"', js)) | set(re.findall(r'def: "([\w-]+)"', js))
    linked |= set(re.findall(r'data-def="([\w-]+)"', html))
    assert len(linked) > 30
    assert sorted(linked - set(english_anchors())) == []
