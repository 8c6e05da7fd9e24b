"""The contact sheet's layout and composition, without Blender: cells in a near-square grid,
each picture centred in its cell, its label in white on black in the cell's top-left corner."""

from __future__ import annotations

import array

import pytest

from blender_http_addon.scene import contact_sheet
from blender_http_addon.scene.contact_sheet import GAP, Layout, Picture


@pytest.mark.parametrize(("count", "columns", "rows"), [(1, 1, 1), (2, 2, 1), (3, 2, 2), (4, 2, 2),
                                                        (5, 3, 2), (6, 3, 2), (7, 3, 3)])
def test_layout(count: int, columns: int, rows: int) -> None:
    grid = contact_sheet.layout(count, 1024)
    assert (grid.columns, grid.rows) == (columns, rows)
    assert grid.cell == (1024 - (columns + 1) * GAP) // columns
    assert grid.width <= 1024 and grid.width == columns * grid.cell + (columns + 1) * GAP
    assert [grid.cell_of(i) for i in range(count)][-1] == {"row": rows - 1, "column": (count - 1) % columns}


def test_a_tiny_sheet_keeps_a_smallest_cell() -> None:
    assert contact_sheet.layout(7, 16).cell == 32


def _pixel(sheet: array.array[float], width: int, x: int, y_from_top: int, height: int) -> list[float]:
    start = ((height - 1 - y_from_top) * width + x) * 4
    return [round(v, 3) for v in sheet[start:start + 4]]


def test_compose_centres_pictures_and_labels_them() -> None:
    grid = Layout(count=2, cell=40)
    red = Picture("top", 20, 10, array.array("f", [1.0, 0.0, 0.0, 1.0]) * 200)
    green = Picture("front", 40, 40, array.array("f", [0.0, 1.0, 0.0, 1.0]) * 1600)
    sheet = contact_sheet.compose([red, green], grid)
    assert len(sheet) == grid.width * grid.height * 4 == (2 * 40 + 3 * GAP) * (40 + 2 * GAP) * 4
    # The red picture sits in the middle of the first cell, the green one fills the second.
    assert _pixel(sheet, grid.width, GAP + 20, GAP + 20, grid.height) == [1.0, 0.0, 0.0, 1.0]
    assert _pixel(sheet, grid.width, GAP + 2, GAP + 35, grid.height) == [0.12, 0.12, 0.12, 1.0]
    assert _pixel(sheet, grid.width, 2 * GAP + 40 + 35, GAP + 35, grid.height) == [0.0, 1.0, 0.0, 1.0]
    # Each label: a black box holding white letters, within its own cell.
    for left in (GAP, 2 * GAP + 40):
        box = [_pixel(sheet, grid.width, x, y, grid.height)
               for x in range(left, left + 40) for y in range(GAP, GAP + 15)]
        assert [1.0, 1.0, 1.0, 1.0] in box and [0.0, 0.0, 0.0, 1.0] in box
    # Between the cells, the gap stays the background.
    assert _pixel(sheet, grid.width, GAP + 40, GAP + 5, grid.height) == [0.12, 0.12, 0.12, 1.0]


def test_every_view_name_has_its_letters() -> None:
    from blender_http_addon.scene.directions import VIEWS

    assert set("".join(VIEWS).upper()) <= set(contact_sheet.GLYPHS)
