"""The sync client is generated from the async one (scripts/unasync.py) and the two stay twins:
CI fails when a generated module is out of date or when their public signatures part."""

from __future__ import annotations

import importlib.util
import inspect
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from blender_http import AsyncBlender, AsyncJob, AsyncSession, Blender, Job, Session

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "unasync.py"
TWINS = [(Blender, AsyncBlender), (Job, AsyncJob), (Session, AsyncSession)]
# The async names of the same operations.
SYNC_NAMES = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}
DUNDERS = {"__init__", "__repr__", "__enter__", "__exit__", "__aenter__", "__aexit__"}


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("unasync", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_sync_modules_are_what_unasync_generates() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_prints_a_diff_and_fails_when_a_sync_module_was_edited(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    unasync = _script()
    source, target = unasync.PAIRS[0]
    edited = tmp_path / target.name
    edited.write_text(target.read_text().replace("def close(self)", "def shut(self)"))
    assert unasync.check([(source, edited)], set()) == 1
    diff = capsys.readouterr().out
    assert "-    def shut(self) -> None:" in diff and "+    def close(self) -> None:" in diff
    edited.write_text(target.read_text())
    assert unasync.check([(source, edited)], set()) == 0


def test_a_sync_module_with_no_async_source_is_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unasync = _script()
    monkeypatch.setattr(unasync, "SYNC", tmp_path)
    for name in ("__init__.py", "batch_runner.py", "client.py", "gone.py"):
        (tmp_path / name).write_text("")
    assert unasync.stale([(unasync.ASYNC / "client.py", tmp_path / "client.py")]) == [tmp_path / "gone.py"]


def test_unasync_rewrites_keeps_alignment_and_drops_marked_lines(tmp_path: Path) -> None:
    source = tmp_path / "async_thing.py"
    source.write_text(
        "import anyio  # unasync: remove\n"
        "from .other import AsyncOther\n"
        "\n"
        "\n"
        "async def fetch(self, a: int,\n"
        "                b: int) -> AsyncIterator[AsyncOther]:\n"
        "    size = (await anyio.Path(a).stat()).st_size\n"
        "    async with await anyio.open_file(a) as handle:\n"
        "        async for line in handle:\n"
        "            yield await anyio.to_thread.run_sync(self.parse, line, size)\n"
        "    await self.aclose()\n")
    assert _script().generate(source).split("\n", 2)[2] == (
        "from .other import Other\n"
        "\n"
        "\n"
        "def fetch(self, a: int,\n"
        "          b: int) -> Iterator[Other]:\n"
        "    size = Path(a).stat().st_size\n"
        "    with open(a) as handle:\n"
        "        for line in handle:\n"
        "            yield self.parse(line, size)\n"
        "    self.close()\n")


def test_unasync_refuses_a_line_no_rule_makes_sync(tmp_path: Path) -> None:
    source = tmp_path / "async_thing.py"
    source.write_text("async def f() -> None:\n    await anyio.sleep(1)\n")
    with pytest.raises(SystemExit, match="no rule makes this line sync"):
        _script().generate(source)


def _members(cls: type) -> dict[str, Any]:
    """The public members of a client class by their sync name, with the dunders users call."""
    names = {name for name in dir(cls) if not name.startswith("_")}
    names |= {name for name in DUNDERS if name in vars(cls)}
    return {SYNC_NAMES.get(name, name): inspect.getattr_static(cls, name) for name in names}


def _unasync(annotation: Any) -> Any:
    # Annotations are strings (from __future__ import annotations); AsyncJob is Job's twin.
    return re.sub(r"\bAsync(?=[A-Z])", "", annotation) if isinstance(annotation, str) else annotation


def _shape(member: Any) -> Any:
    """What users see of a member: a property's presence, or a callable's parameters."""
    if isinstance(member, property):
        return "property"
    signature = inspect.signature(member)
    return ([(p.name, p.kind, p.default, _unasync(p.annotation)) for p in signature.parameters.values()],
            _unasync(signature.return_annotation))


@pytest.mark.parametrize(("sync", "async_"), TWINS, ids=[sync.__name__ for sync, _ in TWINS])
def test_the_twins_have_the_same_public_signatures(sync: type, async_: type) -> None:
    sync_members, async_members = _members(sync), _members(async_)
    assert sorted(sync_members) == sorted(async_members)
    for name, member in sync_members.items():
        assert _shape(member) == _shape(async_members[name]), name
        if not name.startswith("_"):
            assert member.__doc__ and async_members[name].__doc__, f"{name} has no docstring"
