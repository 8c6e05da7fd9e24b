"""Close matches for a missing name, and the 404 that lists them."""

from __future__ import annotations

from blender_http_addon.scene.lookup import close_matches, not_found


def test_a_typo_finds_the_name() -> None:
    assert close_matches("Cub", ["Camera", "Cube", "Light"]) == ["Cube"]


def test_case_differences_come_first() -> None:
    assert close_matches("cube", ["Cube.001", "Cube", "Tube"])[0] == "Cube"


def test_a_prefix_finds_numbered_copies() -> None:
    assert set(close_matches("Cube", ["Cube.001", "Cube.002", "Light"])) == {"Cube.001", "Cube.002"}


def test_no_match_is_an_empty_list_and_at_most_five() -> None:
    assert close_matches("Zebra", ["Camera", "Cube"]) == []
    assert len(close_matches("Cube", [f"Cube.{i:03}" for i in range(20)])) == 5


def test_not_found_is_a_404_with_the_matches() -> None:
    error = not_found("object", "Cub", ["Cube", "Camera"])
    assert (error.status, error.type) == (404, "NotFound")
    assert error.body()["error"]["close_matches"] == ["Cube"]
    assert error.message == "no object 'Cub'; close matches: Cube"
    assert not_found("object", "X", [], status=400).type == "BadRequest"
