"""An .npy form part as a numpy array that shares the request body's buffer.

numpy's own reader (numpy.lib.format) reads the header, so dtype, shape and order travel
as numpy wrote them; the data is not read through a file object (that would copy it) but
wrapped where it lies with numpy.frombuffer (copied once only when it does not start at an
address aligned for its dtype, see read_npy). Object arrays (pickles) are refused: a
request must never run code by being loaded.
"""

from __future__ import annotations

import ast
import io
import math
from typing import Any

from ..errors import HttpError

# Enough for any .npy header numpy writes (it pads them to 64 bytes; version 2 allows 4 GiB,
# but numpy refuses headers over 10000 bytes unless told otherwise).
HEADER_READ = 1 << 16


def read_npy(data: memoryview, name: str) -> Any:
    """The array in an .npy part's bytes; 400 if numpy cannot read it or is missing."""
    try:
        import numpy
        from numpy.lib import format as npy_format
    except ImportError:
        raise HttpError(400, f"form part {name!r} is an .npy array, but this Blender's Python has "
                             "no numpy; send it as raw bytes (application/octet-stream)") from None
    header = io.BytesIO(data[:HEADER_READ])
    try:
        version = npy_format.read_magic(header)
        if version == (1, 0):
            shape, fortran, dtype = npy_format.read_array_header_1_0(header)
        elif version == (2, 0):
            shape, fortran, dtype = npy_format.read_array_header_2_0(header)
        elif version == (3, 0):  # 2.0 with a UTF-8 header; numpy has no public reader for it
            shape, fortran, dtype = _header_3_0(header, npy_format)
        else:
            raise ValueError(f"format version {version[0]}.{version[1]} is not one numpy writes")
        if dtype.hasobject:
            raise ValueError("object arrays (pickles) are not accepted")
        count = math.prod(shape)
        offset = header.tell()
        if len(data) - offset != count * dtype.itemsize:
            raise ValueError(f"{count} items of {dtype.str} need {count * dtype.itemsize} bytes "
                             f"after the header, the part has {len(data) - offset}")
        flat = numpy.frombuffer(data, dtype=dtype, count=count, offset=offset)
        if not flat.flags.aligned:
            # Where the part lies in the body is up to the sender; misaligned data is slow
            # and Blender's foreach_set refuses it ("incorrect sequence item type: =f").
            flat = flat.copy()
        return flat.reshape(shape, order="F" if fortran else "C")
    except (ValueError, TypeError, EOFError, OverflowError, SyntaxError, MemoryError) as exc:
        raise HttpError(400, f"form part {name!r} is not an .npy array numpy can read: {exc}") from None


def _header_3_0(header: io.BytesIO, npy_format: Any) -> tuple[tuple[int, ...], bool, Any]:
    """Shape, Fortran order and dtype of a version 3.0 header: its length (4 bytes, little
    endian), then a dict literal in UTF-8, read the way numpy reads the others."""
    size = int.from_bytes(header.read(4), "little")
    text = header.read(size)
    if len(text) != size or size > HEADER_READ:
        raise ValueError("the header is cut short or too long")
    fields = ast.literal_eval(text.decode("utf-8"))
    if not isinstance(fields, dict) or set(fields) != {"descr", "fortran_order", "shape"}:
        raise ValueError("the header must hold exactly 'descr', 'fortran_order' and 'shape'")
    shape, fortran = fields["shape"], fields["fortran_order"]
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ValueError(f"shape is not a tuple of sizes: {shape!r}")
    if not isinstance(fortran, bool):
        raise ValueError(f"fortran_order is not a bool: {fortran!r}")
    return shape, fortran, npy_format.descr_to_dtype(fields["descr"])
