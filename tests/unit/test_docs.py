"""The docs say what the code does: metric names, the lookup cache's lifetime, and links that resolve inside
the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dlrhub.adapters import metrics
from dlrhub.services import lookups

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
#: Markdown links `[text](target)`, without a scheme (those leave the repository) or an in-page anchor.
LINK = re.compile(r"\]\((?![a-z]+:|#)([^)\s]+)\)")


def exported_names() -> set[str]:
    """The metric names a scrape shows: a counter's gain `_total`, as prometheus_client writes them."""
    return {
        family.name + ("_total" if family.type == "counter" else "")
        for family in metrics.Metrics().registry.collect()
    }


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_metric_names_in_the_docs_are_the_exported_ones(doc: Path) -> None:
    mentioned = set(re.findall(r"\bdlrhub_[a-z_]+\b", doc.read_text(encoding="utf-8")))
    mentioned = {name for name in mentioned if not name.startswith("dlrhub_bench")}  # bench databases
    assert mentioned <= exported_names(), sorted(mentioned - exported_names())


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_in_the_repository_and_resolve(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert not re.search(r"shared/|spec/|DESIGN\.md|DECISIONS|PROTOCOLS", text), (
        "points outside the repository"
    )
    for target in LINK.findall(text):
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), target


def test_the_lookup_cache_lifetime_is_the_code_s() -> None:
    said = {
        float(seconds)
        for doc in DOCS
        for seconds in re.findall(r"cached for (\d+(?:\.\d+)?) s", doc.read_text(encoding="utf-8"))
    }
    assert said == {lookups.TTL_S}
