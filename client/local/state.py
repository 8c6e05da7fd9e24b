"""Records of the servers `blender-http start` launched and `blender-http serve` runs, so
`stop` and the client commands can find them. One file per port; each record names its
process (`pid`), `url`, `mode`, `token` and who made it (`by`: "start" or "serve")."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from . import processes


def state_dir(*, create: bool = True) -> Path:
    """$BLENDER_HTTP_STATE_DIR, else where the platform keeps such things: Windows
    %LOCALAPPDATA%\\blender-http, macOS ~/Library/Application Support/blender-http, elsewhere
    $XDG_STATE_HOME/blender-http or ~/.local/state/blender-http."""
    explicit = os.environ.get("BLENDER_HTTP_STATE_DIR")
    if explicit:
        path = Path(explicit)
    elif sys.platform == "win32":
        path = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "blender-http"
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Application Support" / "blender-http"
    else:
        base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
        path = Path(base) / "blender-http"
    if create:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def record_path(port: int) -> Path:
    return state_dir() / f"server-{port}.json"


def save(port: int, record: dict[str, Any]) -> Path:
    """Write the record atomically, readable by this user only (it may hold the token)."""
    path = record_path(port)
    fd, tmp = tempfile.mkstemp(prefix=".server-", dir=path.parent)
    with os.fdopen(fd, "w") as out:
        json.dump(record, out, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def load_all() -> list[dict[str, Any]]:
    """Every record (of servers that may have ended since: see running())."""
    records: list[dict[str, Any]] = []
    folder = state_dir(create=False)
    if not folder.is_dir():
        return records
    for path in sorted(folder.glob("server-*.json")):
        try:
            records.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return records


def running() -> list[dict[str, Any]]:
    """The records whose process still runs (a crash or a reboot leaves records of none)."""
    return [r for r in load_all() if isinstance(r.get("pid"), int) and processes.alive(r["pid"])]


def remove(port: int, *, pid: int | None = None) -> None:
    """Forget the server on port; with pid, only if the record still names that process
    (a newer server may have taken the port and its record since)."""
    path = record_path(port)
    if pid is not None:
        try:
            if json.loads(path.read_text()).get("pid") != pid:
                return
        except (OSError, ValueError):
            return
    try:
        path.unlink()
    except FileNotFoundError:
        pass


# Logs of Blenders that `start` launched and that ended without a clean stop (kept to read
# why), newest first; older ones are removed when the next Blender starts.
KEPT_LOGS = 5


def prune_logs(keep: int = KEPT_LOGS) -> None:
    """Remove all but the newest `keep` logs that no recorded server writes to."""
    in_use = {str(r.get("log")) for r in load_all()}
    orphans = [p for p in state_dir().glob("blender-*.log") if str(p) not in in_use]
    orphans.sort(key=_mtime, reverse=True)
    for path in orphans[keep:]:
        path.unlink(missing_ok=True)


def remove_log(record: dict[str, Any]) -> None:
    """Remove the log of a server that stopped cleanly."""
    if record.get("log"):
        Path(str(record["log"])).unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
