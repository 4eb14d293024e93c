import asyncio

import pytest


@pytest.fixture(scope="session")
def demo_index():
    """The demo shop in both languages, with the real English model (as eval.run builds it for Greek);
    built once: embedding the articles takes a few seconds."""
    from eval.run import DEFAULTS, load_docs
    from knowledge_base.search import SearchIndex

    return SearchIndex(asyncio.run(load_docs(DEFAULTS["el"][1])))
