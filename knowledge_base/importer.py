"""The knowledge-base import format (README "Import format"): parse and check a JSON or YAML file
holding a list of articles. Checking is all-or-nothing: one bad field rejects the whole file."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge_base.models import STATUSES

REQUIRED = {"title": str, "body": str, "category": str, "questions": list, "tags": list}
OPTIONAL = {"language": str, "status": str}
LIMITS = {"title": 200, "category": 100, "body": 100_000, "language": 16}


class ImportError_(ValueError):
    """The file is not a valid knowledge base; the message names the article and field."""


@dataclass(frozen=True)
class ArticleIn:
    title: str
    body: str
    category: str
    questions: tuple[str, ...]
    tags: tuple[str, ...]
    language: str = "en"
    status: str = "published"


def load_file(path: str | Path) -> list[ArticleIn]:
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportError_(f"{path}: cannot read the file ({exc})") from exc
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        elif path.suffix.lower() in (".yaml", ".yml"):
            data = yaml.safe_load(raw)
        else:
            raise ImportError_(f"{path}: unknown file type; use .json, .yaml or .yml")
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ImportError_(f"{path}: not valid {path.suffix[1:].upper()}: {exc}") from exc
    return parse_articles(data)


def parse_articles(data: object) -> list[ArticleIn]:
    if not isinstance(data, list):
        raise ImportError_("the file must hold a list of articles")
    out: list[ArticleIn] = []
    seen: dict[tuple[str, str], int] = {}
    for i, item in enumerate(data, start=1):
        article = _check_article(i, item)
        key = (article.title.casefold(), article.language)
        if key in seen:
            raise ImportError_(f"article {i} ({article.title!r}): field 'title': same title and language as article {seen[key]}")
        seen[key] = i
        out.append(article)
    return out


def _check_article(i: int, item: object) -> ArticleIn:
    where = f"article {i}"
    if not isinstance(item, dict):
        raise ImportError_(f"{where}: must be an object with title, body, category, questions, tags")
    if isinstance(item.get("title"), str) and item["title"].strip():
        where = f"article {i} ({item['title'].strip()!r})"
    unknown = sorted(set(item) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise ImportError_(f"{where}: unknown field {unknown[0]!r}")
    for name, kind in {**REQUIRED, **OPTIONAL}.items():
        if name not in item:
            if name in REQUIRED:
                raise ImportError_(f"{where}: field {name!r} is missing")
            continue
        value = item[name]
        if not isinstance(value, kind):
            raise ImportError_(f"{where}: field {name!r} must be a {'list of strings' if kind is list else 'string'}")
        if kind is str:
            if not value.strip():
                raise ImportError_(f"{where}: field {name!r} is empty")
            if len(value) > LIMITS.get(name, 10_000):
                raise ImportError_(f"{where}: field {name!r} is longer than {LIMITS[name]} characters")
        else:
            for j, entry in enumerate(value, start=1):
                if not isinstance(entry, str) or not entry.strip():
                    raise ImportError_(f"{where}: field {name!r} item {j} must be a non-empty string")
                if len(entry) > 500:
                    raise ImportError_(f"{where}: field {name!r} item {j} is longer than 500 characters")
    status = item.get("status", "published")
    if status not in STATUSES:
        raise ImportError_(f"{where}: field 'status' must be one of {', '.join(STATUSES)}")
    return ArticleIn(
        title=item["title"].strip(),
        body=item["body"].strip(),
        category=item["category"].strip(),
        questions=tuple(q.strip() for q in item["questions"]),
        tags=tuple(t.strip() for t in item["tags"]),
        language=item.get("language", "en").strip().lower(),
        status=status,
    )
