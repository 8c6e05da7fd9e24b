"""An .npy form part as a numpy array that shares the request body's buffer.

numpy's own reader (numpy.lib.format) reads the header, so dtype, shape and order travel
as numpy wrote them; the data is not read through a file object (that would copy it) but
wrapped where it lies with numpy.frombuffer (copied once only when it does not start at an
address aligned for its dtype, see read_npy). Object arrays (pickles) are refused: a
request must never run code by being loaded.
"""

from __future__ import annotations

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
        else:  # 3.0 (UTF-8 field names) has no public header reader: numpy reads a copy
            return npy_format.read_array(io.BytesIO(data), allow_pickle=False)
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
    except (ValueError, TypeError, EOFError, OverflowError) as exc:
        raise HttpError(400, f"form part {name!r} is not an .npy array numpy can read: {exc}") from None
