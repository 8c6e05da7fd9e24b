"""Code and data the sync and async twin tests share, so the twins stay the same tests."""

from __future__ import annotations

import os
from typing import Any

PRINT_AND_COUNT = "print('objects')\nlen(D.objects)"
FAILING = "print('before')\nobjects = {}\nobjects['Nope']"
PRINTS_SLOWLY = "import time\nfor i in range(3):\n    print('line', i)\n    time.sleep(0.05)\n'finished'"
ARANGE = "import numpy as np\nnp.arange(12, dtype=np.float32).reshape(4, 3)"
# Larger than any single read or write chunk, so streaming is exercised.
BIG_BLOB = os.urandom(3 * 1024 * 1024 + 17)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMALL_RENDER: dict[str, Any] = {"width": 32, "height": 18, "samples": 1}
DEFAULT_OBJECTS = {"Camera", "Cube", "Light"}
# Removes the objects an import test created, so every test sees the default scene.
REMOVE_OBJECTS = ("for name in args['names']:\n"
                  "    D.objects.remove(D.objects[name], do_unlink=True)")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == PNG_SIGNATURE, data[:16]
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def render_engine(scene: dict) -> str:
    """An engine this Blender renders with headless: Cycles when it has it (always on CPU)."""
    engines = scene["render"]["engines"]
    return "CYCLES" if "CYCLES" in engines else engines[0]


def make_files(folder: str, count: int) -> str:
    """Code that makes count empty files in folder of the work folder and gives their paths
    as GET /files lists them."""
    return (f"import os\nnames = [f'f{{n:05d}}.txt' for n in range({count})]\n"
            f"os.makedirs(os.path.join(WORKDIR, {folder!r}), exist_ok=True)\n"
            f"for name in names:\n    open(os.path.join(WORKDIR, {folder!r}, name), 'w').close()\n"
            f"[{folder!r} + '/' + name for name in names]")


def remove_folder(folder: str) -> str:
    return f"import shutil, os\nshutil.rmtree(os.path.join(WORKDIR, {folder!r}))"
