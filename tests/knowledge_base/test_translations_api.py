"""Linking translations in the editor's API (issue 16, docs/editor.md "Languages"): which articles lack
a translation, linking and unlinking (audited, refused when it makes no sense), and the bot's offer
of an English article to a Greek visitor stopping once a Greek translation is linked."""
from tests.knowledge_base.test_editor_api import _client, _new, app, erin  # noqa: F401 (fixtures)

GREEK = {"title": "Συσκευασία δώρου", "body": "Τυλίγουμε κάθε παραγγελία για 3,50 €.", "category": "Παραγγελίες",
         "questions": ["μπορείτε να τυλίξετε το δώρο μου;"], "tags": ["δώρα"], "language": "el", "status": "published"}


async def test_missing_translations_are_listed_and_editors_link_them(app, erin):  # noqa: F811
    gift = await _new(erin)
    greek = await _new(erin, **GREEK)
    other = await _new(erin, title="Opening hours", body="Open 10-18.", questions=["when are you open"])
    listed = (await erin.get("/api/kb/articles")).json()
    rows = {a["id"]: a for a in listed["articles"]}
    assert rows[gift["id"]]["missing"] == ["el"] and rows[greek["id"]]["missing"] == ["en"]
    assert listed["facets"]["untranslated"] == {"el": 2, "en": 1}
    lacking = (await erin.get("/api/kb/articles", params={"untranslated": "el"})).json()["articles"]
    assert sorted(a["title"] for a in lacking) == ["Gift wrapping", "Opening hours"]

    # a Greek visitor asking about it is offered the English article while no Greek one is linked...
    await erin.delete(f"/api/kb/articles/{greek['id']}")
    assert [h.article_id for h in await app.ctx.kb.untranslated("τυλίγετε δώρα;", "el")][:1] == [gift["id"]]
    await erin.post(f"/api/kb/articles/{greek['id']}/restore")

    r = await erin.post(f"/api/kb/articles/{gift['id']}/translations", json={"article_id": greek["id"]})
    assert r.status_code == 200, r.text
    linked = r.json()["article"]
    assert linked["translations"] == [{"id": greek["id"], "language": "el", "title": "Συσκευασία δώρου"}]
    assert linked["missing"] == []
    assert (await erin.get(f"/api/kb/articles/{greek['id']}")).json()["article"]["translations"][0]["id"] == gift["id"]
    # ... and no longer once it is: the bot's search sees the link at once
    assert gift["id"] not in [h.article_id for h in await app.ctx.kb.untranslated("τυλίγετε δώρα;", "el")]
    assert (await app.ctx.kb.translation(gift["id"], "el")).title == "Συσκευασία δώρου"

    # refused, nothing changed: same language, itself, a language the group has, no article
    bad = [(other["id"], gift["id"], 422), (gift["id"], gift["id"], 422), (greek["id"], 999999, 404)]
    second = await _new(erin, **{**GREEK, "title": "Χάρτινη συσκευασία"})
    bad.append((gift["id"], second["id"], 409))
    for a, b, code in bad:
        r = await erin.post(f"/api/kb/articles/{a}/translations", json={"article_id": b})
        assert r.status_code == code, (a, b, r.text)
    r = await erin.post(f"/api/kb/articles/{gift['id']}/translations", json={"article_id": "2"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "article_id"
    assert (await erin.get(f"/api/kb/articles/{second['id']}")).json()["article"]["translations"] == []

    r = await erin.delete(f"/api/kb/articles/{greek['id']}/translations")
    assert r.status_code == 200 and r.json()["article"]["translations"] == []
    assert (await erin.get(f"/api/kb/articles/{gift['id']}")).json()["article"]["missing"] == ["el"]
    assert (await erin.delete(f"/api/kb/articles/{greek['id']}/translations")).status_code == 409
    audit = (await erin.get("/api/kb/audit")).json()
    actions = [e["action"] for e in audit.get("entries", audit.get("audit", []))]
    assert "linked" in actions and "unlinked" in actions

    agent = await _client(app, "alex@kb.test")
    assert (await agent.post(f"/api/kb/articles/{gift['id']}/translations", json={"article_id": greek["id"]})).status_code == 403


async def test_try_the_bot_answers_in_the_visitors_language(app, erin):  # noqa: F811
    await _new(erin)
    greek = await _new(erin, **GREEK)
    r = (await erin.post("/api/kb/try", json={"text": "τυλίγετε δώρα;"})).json()
    assert r["language"] == "el" and r["hits"][0]["article_id"] == greek["id"]
    r = (await erin.post("/api/kb/try", json={"text": "tyligete dwra?", "language": "el"})).json()
    assert r["language"] == "el" and r["hits"][0]["article_id"] == greek["id"]
    r = (await erin.post("/api/kb/try", json={"text": "can you wrap my present"})).json()
    assert r["language"] == "en" and r["hits"][0]["title"] == "Gift wrapping"
    assert all(h["article_id"] != greek["id"] for h in r["hits"])
    bad = await erin.post("/api/kb/try", json={"text": "hi", "language": "<b>"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "language"
