"""Ranking API entries against a few words (pure: the words and the scoring, no bpy).

An entry is found by its identifier's parts ("SubsurfModifier" -> subsurf, modifier), its
UI name ("Subdivision Surface Modifier") and its description. Words match whole, by a
shared start (subdiv ~ subdivision) or inside the description; an entry that matches
every word ranks above one that matches some."""

from __future__ import annotations

import dataclasses
import re

_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_WORD = re.compile(r"[a-z0-9]+")
KIND_BONUS = {"type": 0.3, "operator": 0.2, "property": 0.0}


def words(text: str) -> list[str]:
    """Lower-case words of an identifier, dotted name or sentence."""
    parts: list[str] = []
    for chunk in re.split(r"[^A-Za-z0-9]+", text):
        parts.extend(piece.lower() for piece in _CAMEL.findall(chunk))
    return [_stem(w) for w in parts if w]


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@dataclasses.dataclass(frozen=True)
class Entry:
    kind: str  # "type", "property" or "operator"
    name: str  # e.g. "SubsurfModifier", "SubsurfModifier.levels", "bpy.ops.mesh.primitive_cube_add"
    title: str
    description: str
    key_words: frozenset[str]
    text_words: frozenset[str]


def entry(kind: str, name: str, title: str, description: str) -> Entry:
    keys = frozenset(words(name) + words(title))
    return Entry(kind, name, title, description, keys, frozenset(_stem(w) for w in _WORD.findall(
        description.lower())))


def score(query: list[str], item: Entry) -> float:
    """How well item matches the query's words (0: not at all)."""
    total, matched = 0.0, 0
    for word in query:
        best = 0.0
        if word in item.key_words:
            best = 3.0
        elif len(word) >= 4 and any(k.startswith(word[:5]) and len(k) >= 4 for k in item.key_words):
            best = 2.0
        elif word in item.text_words:
            best = 1.0
        total += best
        matched += best > 0
    if not matched:
        return 0.0
    return total + (2.0 if matched == len(query) else 0.0) + KIND_BONUS[item.kind]


def ranked(query: str, items: list[Entry], limit: int) -> list[Entry]:
    """The best items for query, best first (ties: shorter names first)."""
    wanted = words(query)
    if not wanted:
        return []
    scored = [(score(wanted, item), item) for item in items]
    scored = [pair for pair in scored if pair[0] > 0]
    scored.sort(key=lambda pair: (-pair[0], len(pair[1].name), pair[1].name))
    return [item for _, item in scored[:limit]]
