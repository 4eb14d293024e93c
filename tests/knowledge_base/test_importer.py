import json

import pytest
from sqlalchemy import select

from app.cli import import_kb, main
from knowledge_base.importer import ImportError_, load_file, parse_articles
from knowledge_base.models import Article

GOOD = [
    {"title": "Delivery times", "body": "Two working days.", "category": "Shipping",
     "questions": ["How long does delivery take?"], "tags": ["delivery"]},
    {"title": "Returns policy", "body": "30 days.", "category": "Returns", "questions": [], "tags": [],
     "language": "en", "status": "draft"},
]


def write(tmp_path, data, name="kb.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.mark.parametrize(
    "broken, message",
    [
        ({"title": "X", "body": "b", "category": "c", "tags": []}, "article 2 ('X'): field 'questions' is missing"),
        ({"title": "X", "body": "b", "category": "c", "questions": "q", "tags": []}, "article 2 ('X'): field 'questions' must be a list"),
        ({"title": "X", "body": 5, "category": "c", "questions": [], "tags": []}, "article 2 ('X'): field 'body' must be a string"),
        ({"title": "X", "body": "b", "category": "c", "questions": [3], "tags": []}, "article 2 ('X'): field 'questions' item 1"),
        ({"title": "X", "body": "b", "category": "c", "questions": [], "tags": [], "status": "live"}, "article 2 ('X'): field 'status'"),
        ({"title": "X", "body": "b", "category": "c", "questions": [], "tags": [], "colour": "red"}, "article 2 ('X'): unknown field 'colour'"),
        ({"title": " ", "body": "b", "category": "c", "questions": [], "tags": []}, "article 2: field 'title' is empty"),
        ("just a string", "article 2: must be an object"),
    ],
)
def test_invalid_article_is_named_with_its_field(broken, message):
    with pytest.raises(ImportError_) as err:
        parse_articles([GOOD[0], broken])
    assert message in str(err.value)


def test_duplicate_title_is_refused():
    with pytest.raises(ImportError_, match="article 2 .*same title and language as article 1"):
        parse_articles([GOOD[0], dict(GOOD[0])])


def test_yaml_and_json_give_the_same_articles(tmp_path):
    import yaml

    from_json = load_file(write(tmp_path, GOOD))
    from_yaml = load_file(write(tmp_path, yaml.safe_dump(GOOD), "kb.yaml"))
    assert from_json == from_yaml
    assert from_json[1].status == "draft" and from_json[0].language == "en"


def test_not_a_list_and_bad_syntax(tmp_path):
    with pytest.raises(ImportError_, match="list of articles"):
        load_file(write(tmp_path, {"title": "x"}))
    with pytest.raises(ImportError_, match="not valid JSON"):
        load_file(write(tmp_path, "[{", "bad.json"))


async def _titles(sessionmaker):
    async with sessionmaker() as db:
        return sorted((a.title, a.status) for a in await db.scalars(select(Article)))


async def test_import_upserts_and_replace_replaces(tmp_path, db_url, sessionmaker):
    import asyncio

    path = write(tmp_path, GOOD)
    counts = await asyncio.to_thread(import_kb, db_url, str(path), False)
    assert (len(counts["added"]), counts["changed"], counts["removed"]) == (2, [], [])
    again = await asyncio.to_thread(import_kb, db_url, str(path), False)
    assert (again["added"], again["changed"], again["unchanged"]) == ([], [], 2)
    other = write(tmp_path, [dict(GOOD[0], title="Payment methods")], "other.json")
    replaced = await asyncio.to_thread(import_kb, db_url, str(other), True)
    assert (replaced["added"], len(replaced["removed"])) == (["Payment methods"], 2)
    # replaced articles go to the trash (recoverable), so the bot and the export see only the new one
    async with sessionmaker() as db:
        live = sorted(a.title for a in await db.scalars(select(Article).where(Article.deleted_at.is_(None))))
    assert live == ["Payment methods"]


async def test_cli_rejects_an_invalid_file_and_imports_nothing(tmp_path, db_url, sessionmaker, monkeypatch, capsys):
    import asyncio

    monkeypatch.setenv("SHOPCHAT_DATABASE_URL", db_url)
    bad = write(tmp_path, [GOOD[0], {"title": "Broken", "body": "b", "category": "c", "questions": [], "tags": "x"}])
    code = await asyncio.to_thread(main, ["import-kb", str(bad)])
    assert code == 2
    err = capsys.readouterr().err
    assert "article 2 ('Broken'): field 'tags' must be a list of strings" in err
    assert await _titles(sessionmaker) == []
