"""The shortest decimal of each float in an array, found by numpy in bulk.

For each value: the fewest significant digits m, and the power p, with m * 10**p reading
back as the value. Reading back is what a JSON reader does: the decimal to the nearest
double (and a float32 or float16 then to its own type). Each candidate is rounded with
double arithmetic and checked by reading it back; only what can be checked exactly is
settled (a mantissa of at most 15 digits, a power of ten of at most 22), and the caller
writes the rest with repr.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Significant digits tried, by float size. From: a value's nearest decimal of that many
# digits is, less its trailing zeros, its shortest whenever a shorter one reads back (as
# 10**d < 2**(mantissa bits - 1)), so fewer need no try. To: what reads back every float16
# and float32; for float64, the most a double holds exactly (the rest go to repr).
SEARCH = {2: (3, 5), 4: (6, 9), 8: (15, 15)}
_EXACT_POW = 22  # 10**k is exact in a double up to here
_POW10 = 10.0 ** np.arange(_EXACT_POW + 1)
_POWERS_FROM, _POWERS_TO = -330, 308  # past the smallest double; the largest power that fits
_POWERS = 10.0 ** np.arange(_POWERS_FROM, _POWERS_TO + 1)


def shortest(target: Any, magnitude: Any) -> tuple[Any, Any, Any]:
    """For target (an array of floats, none zero, NaN or infinite) and its magnitude as
    float64: whether each value is settled, and then its fewest significant digits m
    (float64 holding an integer) and the power p with m * 10**p reading back as it."""
    if magnitude.size == 0:
        return np.zeros(0, bool), np.zeros(0), np.zeros(0, np.int64)
    estimate = np.floor(np.log10(magnitude)).astype(np.int64)
    # log10 may round up just below a power of ten (the table's powers need not be exact).
    estimate -= magnitude < _POWERS[np.clip(estimate, _POWERS_FROM, _POWERS_TO) - _POWERS_FROM]
    settled = np.zeros(magnitude.size, bool)
    mantissa = np.zeros(magnitude.size)
    power = np.zeros(magnitude.size, np.int64)
    low, high = SEARCH[target.dtype.itemsize]
    for digits in range(low, high + 1):
        fits, rounded, exponent = _round_trip(target, magnitude, estimate, digits)
        new = fits & ~settled
        np.copyto(mantissa, rounded, where=new)
        np.copyto(power, exponent, where=new)
        settled |= fits
        if settled.all():
            break
    # To repr: subnormal values, which have fewer digits of precision than the search
    # assumes, and values whose shorter tries could not be checked exactly (|scale| > 22).
    settled &= magnitude >= np.finfo(target.dtype).tiny
    settled &= (np.abs(low - 1 - estimate) <= _EXACT_POW) & (np.abs(high - 1 - estimate) <= _EXACT_POW)
    mantissa, power = _strip_zeros(mantissa, power)
    return settled, mantissa, power


def _round_trip(target: Any, magnitude: Any, estimate: Any, digits: int) -> tuple[Any, Any, Any]:
    """Rounds each value to `digits` significant digits, m * 10**p; and whether that
    decimal, read into a double (and then into the array's dtype), is the value again."""
    scale = digits - 1 - estimate  # m = value * 10**scale
    exact = np.abs(scale) <= _EXACT_POW
    factor = _POW10[np.minimum(np.abs(scale), _EXACT_POW)]
    up = None if scale.min() >= 0 else scale >= 0  # None: all up, the usual case
    with np.errstate(over="ignore"):  # a huge value times 10**k: inf, which does not fit
        scaled = _times(magnitude, factor, up)
        mantissa = np.rint(scaled)
        fits = exact & _reads_back(mantissa, factor, up, target)
        # The decimal on the value's other side may read back where the nearest does not:
        # at a tie, and at a power of two, whose gap below is half the gap above.
        retry = np.flatnonzero(~fits & exact & ((scaled - np.floor(scaled) == 0.5)
                                                | (np.frexp(magnitude)[0] == 0.5)))
        if retry.size:
            other = np.where(mantissa[retry] > scaled[retry], mantissa[retry] - 1, mantissa[retry] + 1)
            again = _reads_back(other, factor[retry], None if up is None else up[retry], target[retry])
            mantissa[retry[again]] = other[again]
            fits[retry[again]] = True
    return fits, mantissa, -scale


def _times(magnitude: Any, factor: Any, up: Any) -> Any:
    """magnitude * 10**scale, where factor = 10**|scale|: 10**-k is not exact in binary and
    10**k is (k <= 22), so a negative scale divides by it."""
    if up is None:
        return magnitude * factor
    return np.where(up, magnitude * factor, magnitude / factor)


def _reads_back(mantissa: Any, factor: Any, up: Any, target: Any) -> Any:
    back = mantissa / factor if up is None else np.where(up, mantissa / factor, mantissa * factor)
    return back.astype(target.dtype) == target


def _strip_zeros(mantissa: Any, power: Any) -> tuple[Any, Any]:
    # 9.96 to 2 digits is 10 and 1.5 to 6 digits is 150000: repr writes 1e1 and 15e-1.
    while True:
        tenth = np.floor(mantissa / 10)
        zero = (tenth * 10 == mantissa) & (mantissa > 0)
        if not zero.any():
            return mantissa, power
        mantissa = np.where(zero, tenth, mantissa)
        power = power + zero
