"""The knowledge-base import format (README "Import format"): parse and check a JSON or YAML file
holding a list of articles. Checking is all-or-nothing: one bad field rejects the whole file."""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from knowledge_base.models import STATUSES

FORMATS = ("json", "yaml", "csv")
# CSV: one row per article with these columns; phrasings and tags separated by "|".
CSV_COLUMNS = ("title", "body", "category", "questions", "tags", "language", "status")
CSV_LIST_SEPARATOR = "|"
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection): the export
# prefixes such cells with an apostrophe (OWASP's advice), and the import drops it again.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
REQUIRED = {"title": str, "body": str, "category": str, "questions": list, "tags": list}
# translation_group: articles that translate each other share it (any text, e.g. "returns-policy").
OPTIONAL = {"language": str, "status": str, "translation_group": str}
LIMITS = {"title": 200, "category": 100, "body": 100_000, "language": 16, "translation_group": 100}
# Caps that keep a hostile or broken file from costing the server minutes and gigabytes (a YAML
# node costs ~400 bytes of memory; 20 MB of "[1,1,1,..." would be 10 million of them). An article
# is 3 levels deep (a list of objects holding lists of strings) and ~30 YAML nodes.
MAX_ARTICLES = 50_000
MAX_LIST_ITEMS = 200  # phrasings, and tags, per article
MAX_DEPTH = 20
MAX_YAML_NODES = 1_000_000
# Not storable text: PostgreSQL refuses NUL, and UTF-8 cannot encode a lone surrogate ("\ud800").
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
# libyaml's parser when installed (PyYAML's wheels have it): ~5x faster than the pure-Python one.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ImportError_(ValueError):
    """The file is not a valid knowledge base; the message names the article (or line) and field."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field

    def __reduce__(self):  # pickled by knowledge_base/parse_child.py, field included
        return ImportError_, (str(self), self.field)


@dataclass(frozen=True)
class ArticleIn:
    title: str
    body: str
    category: str
    questions: tuple[str, ...]
    tags: tuple[str, ...]
    language: str = "en"
    status: str = "published"
    translation_group: str | None = None


def load_file(path: str | Path) -> list[ArticleIn]:
    path = Path(path)
    fmt = {".json": "json", ".yaml": "yaml", ".yml": "yaml", ".csv": "csv"}.get(path.suffix.lower())
    if fmt is None:
        raise ImportError_(f"{path}: unknown file type; use .json, .yaml, .yml or .csv")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportError_(f"{path}: cannot read the file ({exc})") from exc
    try:
        return parse_bytes(raw, fmt)
    except ImportError_ as exc:
        raise ImportError_(f"{path}: {exc}", exc.field) from None


def parse_bytes(raw: bytes, fmt: str) -> list[ArticleIn]:
    """A whole file in one of FORMATS, checked; errors name the line or the article and field."""
    if fmt not in FORMATS:
        raise ImportError_(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportError_(f"the file is not UTF-8 text (byte {exc.start})") from None
    if fmt == "csv":
        return _parse_csv(text)
    try:
        if fmt == "json":
            data = json.loads(text)
        else:
            _check_yaml_size(text)
            data = yaml.load(text, Loader=YAML_LOADER)  # noqa: S506 - a safe loader
    except json.JSONDecodeError as exc:
        raise ImportError_(f"line {exc.lineno}: not valid JSON: {exc.msg}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ImportError_(f"{where}not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:  # JSON nested past the parser's own limit (~1,000 levels)
        raise ImportError_(f"the file is nested too deeply (more than {MAX_DEPTH} levels)") from None
    return parse_articles(data)


def _check_yaml_size(text: str) -> None:
    """Walk the YAML's parse events (constant memory) before building anything: too deep or too
    many nodes is refused here, in a fraction of what building it would cost."""
    depth = nodes = 0
    for event in yaml.parse(text, Loader=YAML_LOADER):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ImportError_(f"line {event.start_mark.line + 1}: the file is nested too deeply "
                                   f"(more than {MAX_DEPTH} levels)")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            continue
        elif not isinstance(event, yaml.NodeEvent):
            continue
        nodes += 1
        if nodes > MAX_YAML_NODES:
            raise ImportError_(f"line {event.start_mark.line + 1}: the file has more than {MAX_YAML_NODES:,} "
                               "values; split it")


def _parse_csv(text: str) -> list[ArticleIn]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ImportError_("line 1: the file is empty; the first line must name the columns")
        header = [h.strip().lower() for h in header]
        missing = [c for c in ("title", "body", "category") if c not in header]
        unknown = [c for c in header if c not in CSV_COLUMNS]
        if unknown or missing:
            raise ImportError_(f"line 1: unknown column {unknown[0]!r}" if unknown else f"line 1: column {missing[0]!r} is missing",
                               (unknown or missing)[0])
        rows, labels = [], []
        start = reader.line_num + 1
        for row in reader:
            if len(rows) == MAX_ARTICLES:
                raise ImportError_(f"line {start}: more than {MAX_ARTICLES:,} articles; split the file")
            if any(cell.strip() for cell in row):
                if len(row) != len(header):
                    raise ImportError_(f"line {start}: {len(row)} values for {len(header)} columns")
                item: dict = dict(zip(header, (csv_unquote(cell) for cell in row)))
                for name in ("questions", "tags"):
                    item[name] = [x.strip() for x in item.get(name, "").split(CSV_LIST_SEPARATOR) if x.strip()]
                for name in ("language", "status"):
                    if name in item and not item[name].strip():
                        del item[name]  # an empty cell means the default
                rows.append(item)
                labels.append(f"line {start}")
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ImportError_(f"line {reader.line_num}: not valid CSV: {exc}") from None
    return parse_articles(rows, labels)


def _quoted(cell: str) -> bool:
    """Starts with apostrophes and then a formula character: what csv_quote made of a cell."""
    return cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_START)


def csv_quote(cell: str) -> str:
    """A cell a spreadsheet shows as text. Cells that already look quoted get one more apostrophe,
    so csv_unquote gives back exactly what was exported."""
    return "'" + cell if cell.startswith(FORMULA_START) or _quoted(cell) else cell


def csv_unquote(cell: str) -> str:
    return cell[1:] if _quoted(cell) else cell


def dump(articles: list[ArticleIn], fmt: str) -> str:
    """The knowledge base as a file parse_bytes reads back to the same articles."""
    items = [{**asdict(a), "questions": list(a.questions), "tags": list(a.tags)} for a in articles]
    for item in items:
        if item["translation_group"] is None:
            del item["translation_group"]
    if fmt == "json":
        return json.dumps(items, ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(items, allow_unicode=True, sort_keys=False, width=100)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for item in items:
            writer.writerow([csv_quote(CSV_LIST_SEPARATOR.join(item[c]) if isinstance(item[c], list) else item[c])
                             for c in CSV_COLUMNS])
        return out.getvalue()
    raise ImportError_(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def parse_articles(data: object, labels: list[str] | None = None) -> list[ArticleIn]:
    """Check a list of article objects; `labels` name them in errors (default "article N")."""
    if not isinstance(data, list):
        raise ImportError_("the file must hold a list of articles")
    if len(data) > MAX_ARTICLES:
        raise ImportError_(f"the file holds {len(data):,} articles; at most {MAX_ARTICLES:,} at a time, split it")
    out: list[ArticleIn] = []
    seen: dict[tuple[str, str], str] = {}
    for i, item in enumerate(data, start=1):
        label = labels[i - 1] if labels else f"article {i}"
        article = check_article(item, label)
        key = (article.title.casefold(), article.language)
        if key in seen:
            raise ImportError_(f"{label} ({article.title!r}): field 'title': same title and language as {seen[key]}",
                               "title")
        seen[key] = label
        out.append(article)
    return out


def check_article(item: object, label: str = "the article") -> ArticleIn:
    """One article object checked (the editor's API uses it too); the error names `label` and the field."""
    where = label
    if not isinstance(item, dict):
        raise ImportError_(f"{where}: must be an object with title, body, category, questions, tags")
    if isinstance(item.get("title"), str) and item["title"].strip():
        where = f"{label} ({item['title'].strip()!r})"
    unknown = sorted(set(item) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise ImportError_(f"{where}: unknown field {unknown[0]!r}", unknown[0])
    for name, kind in {**REQUIRED, **OPTIONAL}.items():
        if name not in item:
            if name in REQUIRED:
                raise ImportError_(f"{where}: field {name!r} is missing", name)
            continue
        value = item[name]
        if not isinstance(value, kind):
            raise ImportError_(f"{where}: field {name!r} must be a {'list of strings' if kind is list else 'string'}", name)
        if kind is str:
            if NOT_TEXT.search(value):
                raise ImportError_(f"{where}: field {name!r} holds a NUL character or a lone surrogate", name)
            if not value.strip():
                raise ImportError_(f"{where}: field {name!r} is empty", name)
            if len(value) > LIMITS.get(name, 10_000):
                raise ImportError_(f"{where}: field {name!r} is longer than {LIMITS[name]} characters", name)
        else:
            if len(value) > MAX_LIST_ITEMS:
                raise ImportError_(f"{where}: field {name!r} has more than {MAX_LIST_ITEMS} items", name)
            for j, entry in enumerate(value, start=1):
                if not isinstance(entry, str) or not entry.strip():
                    raise ImportError_(f"{where}: field {name!r} item {j} must be a non-empty string", name)
                if NOT_TEXT.search(entry):
                    raise ImportError_(f"{where}: field {name!r} item {j} holds a NUL character or a lone surrogate",
                                       name)
                if len(entry) > 500:
                    raise ImportError_(f"{where}: field {name!r} item {j} is longer than 500 characters", name)
    status = item.get("status", "published")
    if status not in STATUSES:
        raise ImportError_(f"{where}: field 'status' must be one of {', '.join(STATUSES)}", "status")
    return ArticleIn(
        title=item["title"].strip(),
        body=item["body"].strip(),
        category=item["category"].strip(),
        questions=tuple(q.strip() for q in item["questions"]),
        tags=tuple(t.strip() for t in item["tags"]),
        language=item.get("language", "en").strip().lower(),
        status=status,
        translation_group=item["translation_group"].strip() if "translation_group" in item else None,
    )
