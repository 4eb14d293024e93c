"""Canned responses as the console fills them in (widget/src/canned_fill.js, run by Node): every
demo response, English and Greek, reads right with and without the visitor's name and order
number, and with a shop name that ends in a period."""
import json
import shutil
import subprocess

import pytest
import yaml

from app.settings import ROOT

FILL = ROOT / "widget" / "src" / "canned_fill.js"
DEMO = [ROOT / "knowledge_base" / "demo" / name for name in ("canned_responses.yaml", "canned_responses_el.yaml")]


def fill_all(texts: list[str], variables: dict) -> list[str]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is needed to build the widget anyway")
    script = (f"import {{ fillCanned }} from {json.dumps(FILL.as_uri())};\n"
              "const [texts, vars] = JSON.parse(process.argv[1]);\n"
              "console.log(JSON.stringify(texts.map((t) => fillCanned(t, vars))));")
    out = subprocess.run([node, "--input-type=module", "-e", script, json.dumps([texts, variables])],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def demo_texts() -> list[str]:
    return [r["text"] for path in DEMO for r in yaml.safe_load(path.read_text())]


def test_nothing_known_about_the_visitor():
    texts = demo_texts()
    filled = fill_all(texts, {"visitor_name": "", "agent_name": "Nora", "shop_name": "Pinecone & Co.",
                              "order_number": ""})
    for before, after in zip(texts, filled):
        assert ".." not in after, after  # "Pinecone & Co.."
        assert "order your order" not in after and "your order order" not in after, after
        if "παραγγελ" in before:  # Greek stays Greek
            assert "your order" not in after, after
        assert "{" not in after and ", there" not in after and " ," not in after and ",." not in after, after
    by_start = dict(zip(texts, filled))
    delay = next(t for t in texts if t.startswith("I'm really sorry that order"))
    assert by_start[delay].startswith("I'm really sorry that your order is taking longer than expected. I've")
    hello = next(t for t in texts if t.startswith("Hi {visitor_name}, I'm {agent_name} from {shop_name}."))
    assert by_start[hello] == "Hi there, I'm Nora from Pinecone & Co. How can I help you today?"
    portal = next(t for t in texts if "Enter order number {order_number}" in t)
    assert "Enter your order number and your e-mail" in by_start[portal]


def test_everything_known():
    [hello, delay] = fill_all(["Hi {visitor_name}, I'm {agent_name} from {shop_name}. How can I help?",
                               "I'm sorry that order {order_number} is late, {visitor_name}. {unknown}"],
                              {"visitor_name": "Maria", "agent_name": "Nora", "shop_name": "Acme Ltd.",
                               "order_number": "PC-1234"})
    assert hello == "Hi Maria, I'm Nora from Acme Ltd. How can I help?"
    assert delay == "I'm sorry that order PC-1234 is late, Maria. {unknown}"
