"""The import reader behind the three layer tests: what counts as an import, and a circle."""

from __future__ import annotations

from pathlib import Path

from tests import layers


def test_lazy_imports_count_and_type_only_ones_do_not(tmp_path: Path) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "__init__.py").write_text("")
    (tmp_path / "core" / "result.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..ext import view\n"
        "def show():\n    from ..ext.view import html\n    return html\n")
    (tmp_path / "ext").mkdir()
    (tmp_path / "ext" / "view.py").write_text("import httpx\nfrom pkg.core import result\n")
    found = layers.read(tmp_path, "pkg")
    assert found["core/result"].own == {"ext/view"}
    assert found["ext/view"].own == {"core/result"} and found["ext/view"].external == {"httpx"}
    assert layers.find_cycle(found) == ["core/result", "ext/view", "core/result"]


def test_no_cycle_is_none(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from . import b\n")
    (tmp_path / "b.py").write_text("import json\n")
    assert layers.find_cycle(layers.read(tmp_path, "pkg")) is None
