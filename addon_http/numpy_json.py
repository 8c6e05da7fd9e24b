"""JSON text of a numpy array, written by numpy for the whole array at once.

`json.dumps(array.tolist())` spends about half a microsecond on every number: a Python
float, its repr, its list. For a million vertices that is seconds. Here numpy computes the
digits of every number in bulk and the text is assembled as bytes:

- bool and integer arrays: `true`/`false` and decimal digits;
- float16, float32, float64: the shortest decimal that reads back as the same value
  (float_digits.py), so 0.1 in a float32 array is written `0.1`, not
  `0.10000000149011612`. What that cannot settle (most random float64 values, subnormal
  and extreme float32s) is written by repr, numpy's or Python's;
- NaN and +-inf: `null` (convert's rule);
- numbers are spelt as Python's repr spells that float (`1e-05`, `100.0`, `1.5e+16`).

Only called with numpy arrays, so numpy is imported here and nowhere else at module level.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from .float_digits import SEARCH, shortest

# Elements per slice: a slice's working arrays stay within the CPU's caches.
CHUNK = 32768
_WIDTH = 24  # the longest number less its sign: 20 digits, or "1.2345678901234567e-308"
_DOT, _ZERO, _OPEN, _CLOSE, _COMMA, _MINUS, _SPACE = (ord(c) for c in ".0[],- ")
# Layouts of a decimal by the exponent X of its leading digit. repr writes -4 <= X < 16
# positionally, one layout per X; the others in scientific notation, by the exponent's sign
# and its number of digits.
_INTEGER_LAYOUT = 0
_POSITIONAL = range(-4, 16)
_SCIENTIFIC = {(-1, 2): 21, (1, 2): 22, (-1, 3): 23, (1, 3): 24}


class _Numbers:
    """A slice's numbers as text, written by a writer: a space-padded byte row per element
    (the number less its sign, in the slice's text matrix), its length, and whether a minus
    sign goes before it."""

    def __init__(self, text: Any) -> None:
        self.text = text
        self.length = np.zeros(text.shape[0], np.int64)
        self.negative = np.zeros(text.shape[0], bool)

    def put(self, rows: Any, word: bytes) -> None:
        self.text[rows, :len(word)] = np.frombuffer(word, np.uint8)
        self.length[rows] = len(word)


Writer = Callable[[Any, _Numbers], None]


def _spaces(rows: int, columns: int) -> Any:
    text = np.empty((rows, columns), np.uint8)
    text.fill(_SPACE)  # a memset, where np.full casts element by element
    return text


def array_text(array: Any) -> str | None:
    """The array as JSON text, or None for a dtype this module does not write (the caller
    converts it another way): structured, complex, object, strings, longdouble."""
    writer = _writer(array.dtype)
    if writer is None or array.ndim == 0:
        return None
    if array.size == 0:
        return _empty(array.shape)
    flat = np.ascontiguousarray(array).reshape(-1)
    if array.dtype.itemsize == 8 and writer is _floats and not _mostly_short(flat):
        return None
    parts = [_slice_text(flat[start:start + CHUNK], start, array.shape, writer)
             for start in range(0, flat.size, CHUNK)]
    return b"".join(parts).translate(None, b" ").decode("ascii")


def _mostly_short(flat: Any) -> bool:
    """Whether most of the values have short decimals, on a sample: random float64 values
    need 17 digits, all of which would go to repr after the bulk check cost its time."""
    sample = flat[::max(1, flat.size // 1024)]
    magnitude = np.abs(sample[np.isfinite(sample) & (sample != 0)].astype(np.float64))
    if magnitude.size == 0:
        return True
    settled, _, _ = shortest(magnitude.astype(flat.dtype), magnitude)
    return bool(settled.mean() >= 0.5)


def _writer(dtype: np.dtype) -> Writer | None:
    if dtype.names is not None or dtype.hasobject:
        return None
    if dtype.kind == "b":
        return _bools
    if dtype.kind in "iu" and dtype.itemsize <= 8:
        return _integers
    if dtype.kind == "f" and dtype.itemsize in SEARCH:
        return _floats
    return None


def _empty(shape: tuple[int, ...]) -> str:
    # A dimension of length 0 ends the nesting: (2, 0, 3) is [[],[]].
    text = "[]"
    for length in reversed(shape[:shape.index(0)]):
        text = "[" + ",".join([text] * length) + "]"
    return text


def _bools(values: Any, numbers: _Numbers) -> None:
    numbers.put(values, b"true")
    numbers.put(~values, b"false")


def _integers(values: Any, numbers: _Numbers) -> None:
    numbers.negative = values < 0
    magnitude = values.astype(np.uint64)
    # Two's complement: 0 - x wraps to |x| in uint64, the most negative int64 included.
    magnitude[numbers.negative] = np.uint64(0) - magnitude[numbers.negative]
    count = _digit_count(magnitude)
    _write_digits(numbers, np.arange(values.size), magnitude, count, count - 1,
                  np.full(values.size, _INTEGER_LAYOUT))


def _floats(values: Any, numbers: _Numbers) -> None:
    with np.errstate(invalid="ignore"):  # a signalling NaN warns as it widens
        wide = values.astype(np.float64)
    finite = np.isfinite(wide)
    magnitude = np.abs(wide)
    regular = finite & (magnitude != 0)
    numbers.negative = np.signbit(wide) & finite
    numbers.put(~finite, b"null")
    numbers.put(finite & ~regular, b"0.0")
    rows = np.flatnonzero(regular)
    settled, mantissa, power = shortest(np.abs(values[rows]), magnitude[rows])
    mantissa = mantissa[settled]
    count = _digit_count(mantissa)
    exponent = count - 1 + power[settled]  # of the leading digit: 1234e-2 is 1.234e+1
    _write_digits(numbers, rows[settled], mantissa, count, exponent, _decimal_layout(exponent))
    _write_repr(numbers, values, rows[~settled])


def _decimal_layout(exponent: Any) -> Any:
    layout = exponent - _POSITIONAL.start + 1  # 1..20 for the positional exponents
    sign = np.where(exponent < 0, -1, 1)
    wide = np.abs(exponent) >= 100
    outside = (exponent < _POSITIONAL.start) | (exponent >= _POSITIONAL.stop)
    for (which, places), code in _SCIENTIFIC.items():
        layout = np.where(outside & (sign == which) & (wide == (places == 3)), code, layout)
    return layout


def _digit_count(mantissa: Any) -> Any:
    count = np.ones(mantissa.size, np.int64)
    if mantissa.size == 0:
        return count
    for places in range(1, len(str(int(mantissa.max())))):
        count += mantissa >= mantissa.dtype.type(10 ** places)
    return count


def _digit_matrix(mantissa: Any, width: int) -> Any:
    """ASCII digits of each number, one row per decimal place, right-aligned in `width`."""
    # The narrowest unsigned type that holds them: 32-bit division is several times faster.
    small = mantissa.size == 0 or mantissa.max() < 2**32
    kind = np.uint32 if small else np.uint64
    rest = mantissa.astype(kind)
    ten = kind(10)
    digits = np.empty((width, mantissa.size), np.uint8)
    for place in range(width - 1, -1, -1):
        tenth = rest // ten
        digits[place] = rest - tenth * ten
        rest = tenth
    digits += _ZERO
    return digits


def _write_digits(numbers: _Numbers, rows: Any, mantissa: Any, count: Any, exponent: Any,
                  layout: Any) -> None:
    """Writes the numbers mantissa (count digits each, the leading one at 10**exponent) that
    share a layout and a digit count together: sorted by both once, each group is a
    contiguous slice."""
    if rows.size == 0:
        return
    key = (layout * 32 + count).astype(np.int16)
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    width = int(count.max())
    digits = _digit_matrix(mantissa[order], width).T
    exponent = exponent[order]
    text = _spaces(rows.size, _WIDTH)
    length = np.empty(rows.size, np.int64)
    bounds = [0, *(np.flatnonzero(ordered[1:] != ordered[:-1]) + 1).tolist(), ordered.size]
    for first, end in itertools.pairwise(bounds):
        group_layout, places = divmod(int(ordered[first]), 32)
        group = slice(first, end)
        length[group] = _write_group(text[group], digits[group, width - places:], group_layout,
                                     exponent[group])
    used = int(length.max())
    numbers.text[rows[order], :used] = text[:, :used]
    numbers.length[rows[order]] = length


def _write_group(text: Any, digits: Any, layout: int, exponent: Any) -> int:
    """Writes numbers of one layout and digit count; returns their length."""
    places = digits.shape[1]
    if layout == _INTEGER_LAYOUT:
        text[:, :places] = digits
        return places
    if layout in _SCIENTIFIC.values():
        return _write_scientific(text, digits, exponent)
    point = _POSITIONAL[layout - 1]
    if point >= places - 1:  # a whole number: 1200.0
        text[:, :places] = digits
        text[:, places:point + 1] = _ZERO
        text[:, point + 1:point + 3] = (_DOT, _ZERO)
        return point + 3
    if point >= 0:  # 12.34
        text[:, :point + 1] = digits[:, :point + 1]
        text[:, point + 1] = _DOT
        text[:, point + 2:places + 1] = digits[:, point + 1:]
        return places + 1
    zeros = -point - 1  # 0.001234
    text[:, :2] = (_ZERO, _DOT)
    text[:, 2:2 + zeros] = _ZERO
    text[:, 2 + zeros:2 + zeros + places] = digits
    return 2 + zeros + places


def _write_scientific(text: Any, digits: Any, exponent: Any) -> int:
    # 1e-05, 1.5e+16, 2.5e-308: the exponent has two digits at least, as in repr.
    places = digits.shape[1]
    text[:, 0] = digits[:, 0]
    end = 1
    if places > 1:
        text[:, 1] = _DOT
        text[:, 2:places + 1] = digits[:, 1:]
        end = places + 1
    text[:, end] = ord("e")
    text[:, end + 1] = np.where(exponent < 0, _MINUS, ord("+"))
    size = len(str(abs(int(exponent[0]))))
    exponent_digits = _digit_matrix(np.abs(exponent), max(size, 2)).T
    text[:, end + 2:end + 2 + exponent_digits.shape[1]] = exponent_digits
    return end + 2 + exponent_digits.shape[1]


def _write_repr(numbers: _Numbers, values: Any, rows: Any) -> None:
    """Numbers the bulk path did not settle, written by repr: Python's for a float64, and
    for narrower floats numpy's shortest digits (which read back as the same float)."""
    if rows.size == 0:
        return
    picked = np.abs(values[rows])
    if values.dtype.itemsize == 8:
        words = [repr(number) for number in picked.tolist()]
    else:
        words = [repr(float(word)) for word in picked.astype(str).tolist()]
    encoded = np.array(words, dtype=f"S{_WIDTH}").view(np.uint8).reshape(rows.size, _WIDTH)
    numbers.text[rows] = np.where(encoded == 0, _SPACE, encoded)
    numbers.length[rows] = [len(word) for word in words]


def _slice_text(values: Any, start: int, shape: tuple[int, ...], writer: Writer) -> bytes:
    """The text of a slice of the array, starting at element `start` of it. One row per
    element, padded with spaces that array_text removes: the "[" of the lists it opens
    (right-aligned), its sign, its number, then the "]" of the lists it closes and a comma."""
    depth = len(shape)
    number_at = depth + 1
    suffix_at = number_at + _WIDTH
    matrix = _spaces(values.size, suffix_at + depth + 1)
    numbers = _Numbers(matrix[:, number_at:suffix_at])
    writer(values, numbers)
    matrix[:, depth] = numbers.negative * np.uint8(_MINUS - _SPACE) + np.uint8(_SPACE)
    matrix[:, suffix_at] = _COMMA
    _brackets(matrix, start, shape, suffix_at)
    used = int(numbers.length.max())
    return np.concatenate((matrix[:, :number_at + used], matrix[:, suffix_at:]), axis=1).tobytes()


def _brackets(matrix: Any, start: int, shape: tuple[int, ...], suffix_at: int) -> None:
    """Writes the brackets of the elements that open or close lists: only those that start
    or end a row of the last axis (every shape[-1]-th element), so few are looked at."""
    depth, row = len(shape), shape[-1]
    index = np.arange(start, start + matrix.shape[0])
    firsts = slice((-start) % row, None, row)
    lasts = slice((row - 1 - start) % row, None, row)
    opens = np.ones(index[firsts].size, np.int64)  # each opens its row, and maybe more
    closes = np.ones(index[lasts].size, np.int64)
    size = row
    for length in reversed(shape[:-1]):
        size *= length
        opens += index[firsts] % size == 0
        closes += (index[lasts] + 1) % size == 0
    column = np.arange(depth + 1)
    opened = column[:depth] >= depth - opens[:, None]
    matrix[firsts, :depth] = opened * np.uint8(_OPEN - _SPACE) + np.uint8(_SPACE)
    closed = column < closes[:, None]
    # "]" for each list closed, then the comma, then spaces.
    matrix[lasts, suffix_at:] = (closed * np.uint8(_CLOSE - _SPACE) + np.uint8(_SPACE)
                                 + (column == closes[:, None]) * np.uint8(_COMMA - _SPACE))
    if index[-1] == size - 1:  # the array's last element: no comma after it
        matrix[-1, suffix_at + depth] = _SPACE
