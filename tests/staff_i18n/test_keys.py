"""The staff pages' texts exist in English and Greek: every key the editor (editor.js, editor.html),
the agent console (console.js, its modules, console.html), the Visitors' data page and the Reports
page (reports.js, reports.html) use is in both dictionaries of
widget/src/staff_i18n.js (read with node, as the browser gets them), both languages have the same keys
and placeholders, the Greek ones are translated, and the pages' HTML has no text or labelling
attribute that does not come from the dictionaries."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from app.settings import ROOT

SRC = ROOT / "widget" / "src"
# each staff page that takes its texts from staff_i18n.js: (its scripts, its HTML)
CONSOLE_JS = ("console.js", "visitors.js", "console_notify.js", "widget-admin.js", "appearance-admin.js", "prechat-admin.js")
PAGES = {
    "editor": ((SRC / "editor.js",), SRC / "editor.html"),
    "console": (tuple(SRC / name for name in CONSOLE_JS), SRC / "console.html"),
    "privacy": ((SRC / "privacy.js",), SRC / "privacy.html"),
    "reports": ((SRC / "reports.js",), SRC / "reports.html"),
}
# no Greek letter on purpose (quotation marks, file formats; the Greek option is Greek in both)
SAME = {"common.quoted", "io.download_json", "io.download_yaml", "io.download_csv", "try.lang_el", "c.a.email", "c.who.bot",
        "r.sub.orders", "r.hour_tick"}
# texts of the pages that are no words of the UI: the product's name, file formats, the language switch, CSAT, examples
NOT_WORDS = {"shopchat", "JSON", "YAML", "CSV", "EN · English", "ΕΛ · Ελληνικά", "Ctrl+S", "CSAT", "google.",
             "maria@example.com", "https://your-shop.example/privacy"}
ATTRS = ("placeholder", "title", "aria-label")


@pytest.fixture(scope="module")
def dicts() -> dict[str, dict[str, str]]:
    node = shutil.which("node")
    assert node, "node is needed (it builds the widget too)"
    script = (f"import({json.dumps((SRC / 'staff_i18n.js').as_uri())})"
              ".then((m) => process.stdout.write(JSON.stringify({languages: m.LANGUAGES, dict: m.DICT})))")
    out = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert data["languages"] == ["en", "el"] and set(data["dict"]) == {"en", "el"}
    return data["dict"]


def keys_in_js(text: str) -> tuple[set[str], set[str]]:
    """(keys of T("…") and data-i18n-* attributes, keys of Tn("…") counts). Every T( or Tn( call
    must name its key literally, else this check could not see it."""
    calls = list(re.finditer(r"(?<![\w.$])(Tn?)\(", text))
    dynamic = [text[m.start():m.start() + 60] for m in calls if not re.match(r'\s*"', text[m.end():])
               and not text[m.start() - 9:m.start()].endswith("function ")]
    assert dynamic == [], f"T()/Tn() calls whose key is not a literal string: {dynamic}"
    plain, counted = set(), set()
    for m in calls:
        lit = re.match(r'\s*"([^"]+)"', text[m.end():])
        if lit:
            (counted if m.group(1) == "Tn" else plain).add(lit.group(1))
    plain |= set(re.findall(r'"data-i18n(?:-[a-z-]+)?":\s*"([^"]+)"', text))
    return plain, counted


class Page(HTMLParser):
    """Keys of data-i18n* attributes, and texts/attributes that do not come from the dictionaries."""

    VOID = {"meta", "link", "input", "br", "img", "hr"}

    def __init__(self):
        super().__init__()
        self.keys: set[str] = set()
        self.stack: list[bool] = []  # per open element: its text comes from a data-i18n / -rich key
        self.untranslated: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name, value in a.items():
            if name.startswith("data-i18n"):
                self.keys.add(value)
        for attr in ATTRS:
            if a.get(attr) and f"data-i18n-{attr}" not in a and a[attr] not in NOT_WORDS:
                self.untranslated.append(f"<{tag} {attr}={a[attr]!r}>")
        if tag not in self.VOID:
            # translate="no": code shown as it is (the conversion snippet), no words of the UI
            self.stack.append(bool(self.stack and self.stack[-1]) or "data-i18n" in a or "data-i18n-rich" in a
                              or a.get("translate") == "no")

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        text = " ".join(data.split())
        if re.search(r"[^\W\d_]", text) and not (self.stack and self.stack[-1]) and text not in NOT_WORDS:
            self.untranslated.append(text)


def test_english_and_greek_have_the_same_keys_and_placeholders(dicts):
    en, el = dicts["en"], dicts["el"]
    assert sorted(set(en) - set(el)) == [] and sorted(set(el) - set(en)) == []
    holes = re.compile(r"\{(\w+)\}")
    wrong = {k: (en[k], el[k]) for k in en if sorted(holes.findall(en[k])) != sorted(holes.findall(el[k]))}
    assert wrong == {}
    markup = re.compile(r"</?(?:b|code)>")
    assert {k for k in en if markup.findall(en[k]) != markup.findall(el[k])} == set()


def test_the_greek_texts_are_translated(dicts):
    en, el = dicts["en"], dicts["el"]
    same = {k for k in en if en[k] == el[k] and k not in SAME}
    assert same == set(), "Greek texts that are still the English ones"
    no_greek = {k: el[k] for k in el if k not in SAME and not re.search("[\u0370-\u03ff]", el[k])}
    assert no_greek == {}, "Greek texts without a Greek letter"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_key_a_page_uses_exists_in_both_languages(dicts, page):
    scripts, html = PAGES[page]
    plain, counted = set(), set()
    for js in scripts:
        p, c = keys_in_js(js.read_text(encoding="utf-8"))
        assert p or c, f"{js.name}: no T( calls found"
        plain, counted = plain | p, counted | c
    parser = Page()
    parser.feed(html.read_text(encoding="utf-8"))
    used = plain | parser.keys | {f"{k}.{form}" for k in counted for form in ("one", "other")}
    assert len(used) > 50  # the check sees the page's keys at all
    for lang in ("en", "el"):
        assert sorted(used - set(dicts[lang])) == [], f"keys missing from the {lang} dictionary"
    assert parser.untranslated == [], f"{html.name}: texts not taken from the dictionaries"


def test_no_key_is_left_unused(dicts):
    """A key no page uses is clutter (or a typo on one side)."""
    used: set[str] = set()
    for scripts, html in PAGES.values():
        plain, counted = set(), set()
        for js in scripts:
            p, c = keys_in_js(js.read_text(encoding="utf-8"))
            plain, counted = plain | p, counted | c
        parser = Page()
        parser.feed(html.read_text(encoding="utf-8"))
        used |= plain | parser.keys | {f"{k}.{form}" for k in counted for form in ("one", "other")}
    # the shared helpers' own texts (the language switch's refusal)
    used |= set(re.findall(r'(?<![\w.$])T\("([^"]+)"', (SRC / "staff_i18n.js").read_text(encoding="utf-8")))
    assert sorted(set(dicts["en"]) - used) == []


# Scripts whose every visible text goes through T(): a literal with a letter in a text, label, title,
# placeholder or aria-label property (or a chart's label) is English left untranslated.
LITERAL_FREE = {"reports.js": {"CSV", "CSAT"}}


@pytest.mark.parametrize("name", sorted(LITERAL_FREE))
def test_a_script_writes_no_visible_english_literal(name):
    text = (SRC / name).read_text(encoding="utf-8")
    literal = r'\s*(?::|=)\s*(?:"([^"]*)"|\'([^\']*)\'|`([^`]*)`)'
    where = r"(?<![\w-])(?:text|label|title|placeholder|\"aria-label\"|textContent)"
    found = {next(g for g in m.groups() if g is not None) for m in re.finditer(where + literal, text)}
    words = {s for s in found if s and re.search(r"[A-Za-z]{2}", re.sub(r"\$\{[^}]*\}", "", s))}
    assert words - LITERAL_FREE[name] == set(), f"{name}: English texts not taken from the dictionaries"
