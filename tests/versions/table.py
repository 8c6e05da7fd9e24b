"""The supported-versions table, built from what the matrix ran: a row per target with the
tests that passed and what the Blender did (engines rendered, formats exported and
imported, the add-on's kind). The table in docs/VERSIONS.md is checked against it:

    .venv/bin/python -m tests.versions.table --check docs/VERSIONS.md
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from tests.versions.matrix import ROOT, TARGETS, Target

BEGIN, END = "<!-- versions table -->", "<!-- end versions table -->"
OUTPUT = ROOT / "test-results" / "versions.md"
PAGE = ROOT / "docs" / "VERSIONS.md"  # the page whose table the check compares


@dataclasses.dataclass
class Row:
    target: Target
    python: str = ""  # as the server reported it
    outcomes: dict[str, str] = dataclasses.field(default_factory=dict)
    engines: list[str] = dataclasses.field(default_factory=list)
    exported: list[str] = dataclasses.field(default_factory=list)
    imported: list[str] = dataclasses.field(default_factory=list)
    addon: str = ""

    def record(self, test: str, outcome: str) -> None:
        # A failure in setup or teardown outweighs the call's pass.
        if self.outcomes.get(test) in (None, "passed"):
            self.outcomes[test] = outcome

    def cells(self) -> list[str]:
        passed = sum(1 for outcome in self.outcomes.values() if outcome == "passed")
        result = f"{passed}/{len(self.outcomes)} passed"
        python = self.python or "?"
        if self.target.executable is None:
            python += " (Blender's own)"
        return [self.target.blender, self.target.mode, python, result,
                ", ".join(self.engines) or "-", ", ".join(self.exported) or "-",
                ", ".join(self.imported) or "-", self.addon or "-"]


ROWS: dict[str, Row] = {}
HEADER = ["Blender", "mode", "Python", "contract", "render engines", "export", "import", "add-on as"]


def row(target: Target) -> Row:
    """The row of target, created on first use."""
    return ROWS.setdefault(target.id, Row(target))


def markdown() -> str:
    """The rows in the matrix's order, as a Markdown table between markers."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for target in TARGETS:
        if target.id in ROWS:
            lines.append("| " + " | ".join(ROWS[target.id].cells()) + " |")
    return "\n".join([BEGIN, *lines, END]) + "\n"


def section(text: str) -> str | None:
    """The table between the markers in text, markers included."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start:end + len(END)] + "\n"


def check(page: Path, output: Path = OUTPUT) -> str | None:
    """Why page's table differs from the one the last matrix run wrote, or None."""
    if not output.exists():
        return f"{output} is missing: run the version matrix (pytest tests/versions)"
    ran = output.read_text()
    shown = section(page.read_text())
    if shown is None:
        return f"{page} has no versions table between {BEGIN} and {END}; paste:\n{ran}"
    if shown != ran:
        return f"{page}'s versions table differs from what the matrix ran; paste:\n{ran}"
    return None


if __name__ == "__main__":
    if sys.argv[1:2] != ["--check"] or len(sys.argv) != 3:
        sys.exit("usage: python -m tests.versions.table --check docs/VERSIONS.md")
    problem = check(Path(sys.argv[2]))
    if problem:
        sys.exit(problem)
