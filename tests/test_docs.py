"""The user docs: a short README, relative links (and their #anchors) that resolve, the benchmark table's markers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.report import TARGET, render

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def prose(path: Path) -> str:
    """The file's text without fenced code blocks (a `[x](y)` in code is not a link)."""
    return re.sub(r"^```.*?^```", "", path.read_text(), flags=re.S | re.M)


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    heads = re.findall(r"^#+\s+(.+?)\s*$", prose(path), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in heads}


def test_readme_is_short():
    n = len((ROOT / "README.md").read_text().splitlines())
    assert n <= 160, f"README.md has {n} lines; move reference material to docs/"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc):
    broken = []
    for target in LINK.findall(prose(doc)):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        dest = (doc.parent / file).resolve() if file else doc
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no heading #{anchor} in {dest.name}")
    assert not broken, f"{doc.relative_to(ROOT)}: " + "; ".join(broken)


def test_benchmark_table_has_its_markers():
    text = TARGET.read_text()
    assert text.count("<!-- bench:start -->") == 1 and text.count("<!-- bench:end -->") == 1
    out = render(text, ["| what | figure | machine |", "|---|---|---|", "| x | y | z |"])
    assert "| x | y | z |" in out and out.count("<!-- bench:start -->") == 1
    with pytest.raises(ValueError, match="markers"):
        render("no table here", [])
