"""Every relative link in README.md and docs/*.md leads to a file that exists and, when it
names one, to an anchor of that page."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.docs import markdown

EXTERNAL = ("http://", "https://", "mailto:")


@pytest.mark.parametrize("page", markdown.PAGES, ids=lambda p: str(p.relative_to(markdown.ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for line, target in markdown.links(page):
        if target.startswith(EXTERNAL):
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / unquote(path)).resolve() if path else page
        where = f"{page.relative_to(markdown.ROOT)}:{line}: {target}"
        if not file.exists():
            broken.append(f"{where}: no such file")
        elif anchor and file.suffix == ".md" and anchor not in markdown.anchors(file):
            broken.append(f"{where}: no heading with that anchor in {file.name}")
    assert not broken, "\n".join(broken)


def test_the_anchors_are_githubs() -> None:
    assert markdown.slug("Use with agents (MCP)") == "use-with-agents-mcp"
    assert markdown.slug("Many workers: DNS and `--spawn`") == "many-workers-dns-and---spawn"
    assert markdown.slug("Inside `client/`") == "inside-client"
    assert markdown.slug("What `/exec` means") == "what-exec-means"


def test_the_reader_finds_links_outside_code_only(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# A\n\n[b](other.md#b) `[c](not.md)`\n\n```sh\n[d](code.md)\n```\n\n## A\n")
    assert markdown.links(page) == [(3, "other.md#b")]
    assert markdown.anchors(page) == {"a", "a-1"}
