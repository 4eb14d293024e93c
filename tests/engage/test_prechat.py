"""The pre-chat form's settings and a visitor's answers."""
import pytest

from engage.prechat import check_answers, check_config
from engage.rules import RuleError

CONFIG = check_config({"mode": "always", "fields": [
    {"kind": "name", "required": True, "labels": {"el": {"label": "Όνομα"}}},
    {"kind": "email", "required": True},
    {"kind": "phone"},
    {"kind": "order"},
    {"kind": "consent", "required": True, "privacy_url": "https://shop.test/privacy"},
    {"kind": "choice", "options": ["Order", "Return", "Other"]},
], "texts": {"en": {"title": "Before we start", "intro": "Tell us who you are"}}})


def test_config_keeps_what_it_knows():
    assert CONFIG["mode"] == "always" and [f["kind"] for f in CONFIG["fields"]][0] == "name"
    assert CONFIG["fields"][0]["labels"] == {"el": {"label": "Όνομα"}}
    assert CONFIG["fields"][4]["privacy_url"] == "https://shop.test/privacy"
    assert check_config({})["mode"] == "off"


@pytest.mark.parametrize("data, field", [
    ({"mode": "sometimes"}, "mode"),
    ({"mode": "always", "fields": []}, "fields"),
    ({"mode": "always", "fields": [{"kind": "age"}]}, "fields"),
    ({"mode": "always", "fields": [{"kind": "name"}, {"kind": "name"}]}, "fields"),
    ({"mode": "always", "fields": [{"kind": "name", "required": "yes"}]}, "fields"),
    ({"mode": "always", "fields": [{"kind": "consent", "privacy_url": "javascript:alert(1)"}]}, "fields"),
    ({"mode": "always", "fields": [{"kind": "choice", "options": []}]}, "fields"),
    ({"mode": "always", "fields": [{"kind": "name"}], "texts": {"en": {"footer": "x"}}}, "texts"),
    ({"mode": "person", "fields": [{"kind": "name", "labels": {"english": {"label": "x"}}}]}, "fields[0].labels"),
])
def test_bad_configs_name_the_field(data, field):
    with pytest.raises(RuleError) as err:
        check_config(data)
    assert err.value.field == field


def test_answers():
    ok = {"name": "  Ada   Lovelace ", "email": "ada@example.com", "phone": "+30 231 000 0000", "order": "PC-1234",
          "consent": True, "choice": "Return"}
    assert check_answers(CONFIG, ok) == {**ok, "name": "Ada Lovelace"}
    assert check_answers(CONFIG, {"name": "Ada", "email": "ada@example.com", "consent": True}) == {
        "name": "Ada", "email": "ada@example.com", "consent": True}


@pytest.mark.parametrize("change, field", [
    ({"name": " "}, "name"),
    ({"email": "not-an-address"}, "email"),
    ({"phone": "call me"}, "phone"),
    ({"order": "<script>"}, "order"),
    ({"consent": False}, "consent"),
    ({"choice": "Something else"}, "choice"),
    ({"name": "x" * 101}, "name"),
])
def test_bad_answers_name_the_field(change, field):
    answers = {"name": "Ada", "email": "ada@example.com", "consent": True, **change}
    with pytest.raises(RuleError) as err:
        check_answers(CONFIG, answers)
    assert err.value.field == field
