"""The docs say what the code does: metric names, the lookup cache's lifetime, and links that resolve inside
the repository."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

from dlrhub.adapters import metrics
from dlrhub.services import keys, lookups

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


#: A time given to a key rotation in a doc's example (`--old-valid-until X`, `"old_valid_until": X`), to the line's end.
ROTATION_TIME = re.compile(r"""(?:--old-valid-until |"old_valid_until\\?": )(.*)""")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_rotation_times_in_the_docs_never_go_stale(doc: Path) -> None:
    # A time written out goes into the past one day, and the service refuses it ("is in the past"): examples
    # have `date` work theirs out when they run, which this runs. Placeholders (`ISO`, `…`) are left alone.
    for given in ROTATION_TIME.findall(doc.read_text(encoding="utf-8")):
        assert not re.match(r'[\\"\']*\d', given), f"a rotation time written out: {given}"
        command = re.search(r"\$\((date [^)]*)\)", given)
        if command is None:
            continue
        out = subprocess.run(["bash", "-c", command.group(1)], capture_output=True, text=True, check=True)
        when = dt.datetime.fromisoformat(out.stdout.strip())
        keys._old_until(dt.datetime.now(dt.UTC), when, None)  # raises errors.InvalidInput when refused
