"""The tools that check work on every Blender of the matrix: inspect's counts after
modifiers, a checkpoint restored, and the multi-view contact sheet (Workbench renders from
temporary cameras), over the add-on's /mcp."""

from __future__ import annotations

import pytest

from tests.blender import servers
from tests.mcp.test_checking_tools import SETUP, _difference, call, image, run, value

pytestmark = pytest.mark.timeout(300)


def test_inspect_checkpoint_and_views(server: servers.Running) -> None:
    assert run(server, SETUP) == ["CheckHole", "CheckStretched", "CheckSub"]
    found = value(call(server, "inspect", {"objects": ["CheckSub", "CheckHole"]}))
    counts = {obj["name"]: obj["evaluated"] for obj in found["objects"]}
    assert counts["CheckSub"]["polygons"] == 96 and counts["CheckHole"]["non_manifold_edges"] == 4
    assert counts["CheckSub"]["triangles"] == 192

    assert value(call(server, "checkpoint", {"name": "matrix"}))["name"] == "matrix"
    run(server, "D.objects.remove(D.objects['CheckSub'])\nlen(D.objects)")
    assert not call(server, "restore_checkpoint", {"name": "matrix"})["isError"]
    assert run(server, "D.objects['CheckSub'].modifiers[0].levels") == 2

    sheet = call(server, "screenshot", {"views": ["front", "top"], "max_size": 256})
    assert not sheet["isError"], sheet
    picture = image(sheet)
    cell = (256 - 3 * 2) // 2
    assert picture.size == (2 * cell + 3 * 2, cell + 2 * 2)
    front = picture.crop((2, 2, 2 + cell, 2 + cell))
    top = picture.crop((4 + cell, 2, 4 + 2 * cell, 2 + cell))
    assert _difference(front, top) > 2.0
