"""Shared test policy: real-Blender tests skip on a laptop without Blender, but fail
when BLENDER_HTTP_REQUIRE_BLENDER=1 (set by the test script and CI)."""

from __future__ import annotations

import os

import pytest


def blender_required() -> bool:
    return os.environ.get("BLENDER_HTTP_REQUIRE_BLENDER") == "1"


def missing(reason: str) -> None:
    """Skip, or fail where a skipped Blender test would hide a broken promise."""
    if blender_required():
        pytest.fail(f"required for this test but missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True, scope="session")
def _own_state_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Servers the tests start record themselves (`serve`, `start`): in a folder of the test
    run's own, never in the user's ~/.local/state, where a server a test killed would be left
    recorded. Tests that need their own folder set BLENDER_HTTP_STATE_DIR themselves."""
    os.environ.setdefault("BLENDER_HTTP_STATE_DIR", str(tmp_path_factory.mktemp("state")))
