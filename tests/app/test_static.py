"""Serving the widget: compression, caching and framing headers, and the size budget."""
import subprocess

import httpx
import pytest

from app.main import create_app
from app.settings import ROOT, Settings


@pytest.fixture
async def client(sqlite_url):
    app = create_app(Settings(database_url=sqlite_url, frame_ancestors="https://shop.example"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as c:
        yield c


async def test_loader_is_revalidated_and_compressed(client):
    r = await client.get("/widget/loader.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-cache"
    assert r.headers.get("content-encoding") == "gzip"


async def test_chat_page_may_only_be_framed_by_the_configured_shops(client):
    r = await client.get("/widget/chat.html")
    assert "frame-ancestors https://shop.example" in r.headers["content-security-policy"]
    assert "x-frame-options" not in r.headers


async def test_demo_shop_embeds_the_widget_with_one_tag(client):
    r = await client.get("/demo/")
    assert r.status_code == 200 and r.text.count('<script src="/widget/loader.js" async></script>') == 1


def test_widget_size_budget():
    """loader <= 5 KB and everything to chat <= 40 KB gzipped (widget/scripts/check-size.mjs)."""
    result = subprocess.run(["npm", "run", "--silent", "size"], cwd=ROOT / "widget", capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", [
    "/widget/console/index.html", "/widget//console/index.html", "/widget/%2fconsole/index.html",
    "/widget/%2Fconsole%2Findex.html", "/widget/..%2fconsole/index.html", "/widget/x/..%2F..%2Fconsole/index.html",
    "/widget/..%5cconsole%5cindex.html", "/widget/%5c..%5cconsole%5cindex.html", "/widget//editor/",
    "/widget/%2feditor/index.html", "/widget/.%2fchat.html", "/widget/",
])
async def test_the_widget_route_serves_only_the_widgets_own_files(client, path):
    """A staff page reached through /widget/ would carry the widget's frame-ancestors (clickjacking)."""
    r = await client.get(path)
    assert r.status_code == 404, (path, r.headers)
    assert "frame-ancestors https://shop.example" not in r.headers.get("content-security-policy", "")


async def test_staff_pages_are_never_framed(client):
    for path in ("/console/", "/console/index.html", "/editor/", "/console/nothing-here.js"):
        r = await client.get(path)
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"], path
        assert r.headers["x-frame-options"] == "DENY", path
