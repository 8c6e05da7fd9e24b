"""Raw array answers (Accept: application/octet-stream) decoded with numpy, imported lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    import numpy


def from_response(response: httpx.Response) -> numpy.ndarray:
    """The array a binary answer holds: X-Result-Dtype and X-Result-Shape describe the body."""
    import numpy

    dtype = response.headers.get("X-Result-Dtype", "uint8")
    shape_text = response.headers.get("X-Result-Shape", "")
    array = numpy.frombuffer(response.content, dtype=numpy.dtype(dtype))
    if shape_text:
        array = array.reshape(tuple(int(n) for n in shape_text.split(",") if n.strip()))
    return array
