"""Finding a thing by name, and a 404 that names the close matches that do exist."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ..errors import HttpError

MAX_MATCHES = 5


def close_matches(name: str, names: Iterable[str], limit: int = MAX_MATCHES) -> list[str]:
    """Existing names that look like name: case-insensitive equals first, then similar ones."""
    names = list(names)
    folded = name.casefold()
    exact = [n for n in names if n.casefold() == folded]
    by_fold: dict[str, list[str]] = {}
    for n in names:
        by_fold.setdefault(n.casefold(), []).append(n)
    similar = difflib.get_close_matches(folded, list(by_fold), n=limit, cutoff=0.6)
    out = exact + [n for key in similar for n in by_fold[key] if n not in exact]
    # Prefix matches help with long names ("Cube" -> "Cube.001") that difflib scores low.
    out += [n for n in names if n.casefold().startswith(folded) and n not in out]
    return out[:limit]


def not_found(kind: str, name: str, names: Iterable[str], *, status: int = 404) -> HttpError:
    """The error for a missing kind named name, listing close matches."""
    matches = close_matches(name, names)
    hint = f"close matches: {', '.join(matches)}" if matches else "no close matches"
    return HttpError(status, f"no {kind} {name!r}; {hint}", extra={"close_matches": matches})
