"""Ranking API entries (pure, no Blender)."""

from __future__ import annotations

from blender_http_addon.scene.rna_search import entry, ranked, words


def test_words_split_identifiers_and_sentences() -> None:
    assert words("SubsurfModifier.levels") == ["subsurf", "modifier", "level"]
    assert words("bpy.ops.mesh.primitive_cube_add") == ["bpy", "ops", "mesh", "primitive", "cube", "add"]
    assert words("UVProjectModifier") == ["uv", "project", "modifier"]


def test_the_entry_matching_every_word_ranks_first() -> None:
    items = [
        entry("type", "Modifier", "Modifier", "Modifier affecting the geometry data of an object"),
        entry("type", "SubsurfModifier", "Subdivision Surface Modifier", "Subdivision surface modifier"),
        entry("property", "SubsurfModifier.levels", "Levels", "Number of subdivisions to perform"),
        entry("operator", "bpy.ops.object.subdivision_set", "Subdivision Set", "Sets a Subdivision "
                                                                                "Surface level (1-5)"),
    ]
    best = ranked("subdivision modifier", items, 3)
    assert best[0].name == "SubsurfModifier"
    assert ranked("nothing like it", items, 3) == []
    assert ranked("  ", items, 3) == []
