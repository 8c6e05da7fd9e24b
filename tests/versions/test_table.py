"""The supported-versions table: rows from what ran, and the check of docs/VERSIONS.md against it."""

from __future__ import annotations

from pathlib import Path

from tests.versions import table
from tests.versions.matrix import TARGETS, Target


def test_a_row_counts_passes_and_marks_blenders_own_python() -> None:
    background = next(t for t in TARGETS if t.mode == "background")
    row = table.Row(background, python="3.11.2", engines=["CYCLES"], exported=["obj"],
                    addon="add-on, enabled")
    row.record("test_a", "passed")
    row.record("test_b", "passed")
    row.record("test_b", "failed")  # its teardown failed after the call passed
    cells = row.cells()
    assert cells[2:4] == ["3.11.2 (Blender's own)", "1/2 passed"]
    assert cells[4:] == ["CYCLES", "obj", "-", "add-on, enabled"]
    module = table.Row(Target("5.3.0", "module", "3.13"), python="3.13.0")
    assert module.cells()[2] == "3.13.0"


def test_the_check_finds_a_missing_or_stale_table(tmp_path: Path) -> None:
    output = tmp_path / "versions.md"
    page = tmp_path / "VERSIONS.md"
    page.write_text("# Supported versions\n")
    assert "is missing" in (table.check(page, output) or "")
    ran = f"{table.BEGIN}\n| a |\n{table.END}\n"
    output.write_text(ran)
    assert "has no versions table" in (table.check(page, output) or "")
    page.write_text(f"# Supported versions\n\n{table.BEGIN}\n| old |\n{table.END}\n\nmore\n")
    assert "differs" in (table.check(page, output) or "")
    page.write_text(f"# Supported versions\n\n{ran}\nmore\n")
    assert table.check(page, output) is None


def test_the_page_the_test_script_checks_holds_the_table() -> None:
    """scripts/test checks table.PAGE: the table must live there, between its markers."""
    shown = table.section(table.PAGE.read_text())
    assert shown is not None and shown.splitlines()[1] == "| " + " | ".join(table.HEADER) + " |"
    script = (table.ROOT / "scripts" / "test").read_text()
    assert f"tests.versions.table --check {table.PAGE.relative_to(table.ROOT)}" in script
