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
