"""Several images laid out on one, each with its label: the multi-view screenshot. Pure
Python on float RGBA pixel arrays in Blender's order (rows bottom to top), so it runs
without Blender and needs no imaging library; the labels come from a 5x7 pixel font of
the letters the view names use."""

from __future__ import annotations

import array
import dataclasses
import math

# A 5x7 pixel font of the letters in the view names (FRONT, BACK, LEFT, RIGHT, TOP, BOTTOM,
# CAMERA): each row of a glyph, top to bottom, "#" for a lit pixel.
GLYPHS: dict[str, tuple[str, ...]] = {
    "A": (".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "B": ("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."),
    "C": (".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "F": ("#####", "#....", "#....", "####.", "#....", "#....", "#...."),
    "G": (".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".###."),
    "H": ("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "I": (".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "K": ("#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"),
    "L": ("#....", "#....", "#....", "#....", "#....", "#....", "#####"),
    "M": ("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"),
    "N": ("#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#", "#...#"),
    "O": (".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "P": ("####.", "#...#", "#...#", "####.", "#....", "#....", "#...."),
    "R": ("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    " ": (".....",) * 7,
}
GLYPH_WIDTH, GLYPH_HEIGHT = 5, 7
# Gaps between cells and around labels, in pixels.
GAP = 2
LABEL_MARGIN = 3
BACKGROUND = (0.12, 0.12, 0.12, 1.0)
LABEL_BOX = (0.0, 0.0, 0.0, 1.0)
LABEL_INK = (1.0, 1.0, 1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Picture:
    """One image of the sheet: its label, size and RGBA floats (rows bottom to top)."""

    label: str
    width: int
    height: int
    pixels: array.array[float]


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where the cells go: columns x rows cells of cell x cell pixels, GAP apart."""

    count: int
    cell: int

    @property
    def columns(self) -> int:
        return math.ceil(math.sqrt(self.count))

    @property
    def rows(self) -> int:
        return math.ceil(self.count / self.columns)

    @property
    def width(self) -> int:
        return self.columns * self.cell + (self.columns + 1) * GAP

    @property
    def height(self) -> int:
        return self.rows * self.cell + (self.rows + 1) * GAP

    def origin(self, index: int) -> tuple[int, int]:
        """The bottom-left pixel of cell index (cells run left to right, top to bottom)."""
        row, column = divmod(index, self.columns)
        x = GAP + column * (self.cell + GAP)
        y = self.height - (row + 1) * (self.cell + GAP)
        return x, y

    def cell_of(self, index: int) -> dict[str, int]:
        """Where cell index is, as the answer says it: its row and column from the top left."""
        row, column = divmod(index, self.columns)
        return {"row": row, "column": column}


def layout(count: int, max_size: int, *, smallest: int = 32) -> Layout:
    """Cells for count images on a sheet whose longest side is about max_size."""
    columns = math.ceil(math.sqrt(count))
    return Layout(count, max(smallest, (max_size - (columns + 1) * GAP) // columns))


def compose(pictures: list[Picture], grid: Layout) -> array.array[float]:
    """The sheet's RGBA floats: each picture centred in its cell, its label at the top left."""
    sheet = array.array("f", BACKGROUND) * (grid.width * grid.height)
    for index, picture in enumerate(pictures):
        x, y = grid.origin(index)
        left = x + (grid.cell - picture.width) // 2
        bottom = y + (grid.cell - picture.height) // 2
        row_floats = picture.width * 4
        for row in range(picture.height):
            start = ((bottom + row) * grid.width + left) * 4
            sheet[start:start + row_floats] = picture.pixels[row * row_floats:(row + 1) * row_floats]
        _label(sheet, grid.width, x, y + grid.cell, picture.label, scale=2 if grid.cell >= 160 else 1,
               right=x + grid.cell)
    return sheet


def _label(sheet: array.array[float], width: int, left: int, top: int, text: str, *, scale: int,
           right: int) -> None:
    """text in LABEL_INK on a LABEL_BOX box whose top-left corner is (left, top - 1), cut
    at x = right (the cell's edge)."""
    text = text.upper()
    box_w = (len(text) * (GLYPH_WIDTH + 1) + 1) * scale + 2 * LABEL_MARGIN
    box_h = (GLYPH_HEIGHT + 2) * scale + 2 * LABEL_MARGIN
    for y in range(top - box_h, top):
        for x in range(left, min(left + box_w, right)):
            _put(sheet, width, x, y, LABEL_BOX)
    pen_x, pen_top = left + LABEL_MARGIN + scale, top - LABEL_MARGIN - scale
    for char in text:
        for row, line in enumerate(GLYPHS.get(char, GLYPHS[" "])):
            for column, lit in enumerate(line):
                if lit != "#":
                    continue
                for dy in range(scale):
                    for dx in range(scale):
                        x = pen_x + column * scale + dx
                        if x < right:
                            _put(sheet, width, x, pen_top - 1 - row * scale - dy, LABEL_INK)
        pen_x += (GLYPH_WIDTH + 1) * scale


def _put(sheet: array.array[float], width: int, x: int, y: int, rgba: tuple[float, ...]) -> None:
    start = (y * width + x) * 4
    if 0 <= start and start + 4 <= len(sheet) and 0 <= x < width:
        sheet[start:start + 4] = array.array("f", rgba)
