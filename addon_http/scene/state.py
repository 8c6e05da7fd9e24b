"""Leaving the user's scene as it was found: settings changed for one render or export,
the selection and the active object are put back afterwards, even on error or cancel."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

import bpy


@contextlib.contextmanager
def kept_attributes(owner: Any, names: Iterable[str]) -> Iterator[None]:
    """Restore owner's attributes on the way out (those it has; others are skipped)."""
    saved = [(name, getattr(owner, name)) for name in names if hasattr(owner, name)]
    try:
        yield
    finally:
        for name, value in reversed(saved):
            try:
                setattr(owner, name, value)
            except (AttributeError, TypeError, ValueError, ReferenceError):
                pass  # e.g. the camera object was deleted meanwhile


@contextlib.contextmanager
def kept_selection(view_layer: bpy.types.ViewLayer) -> Iterator[None]:
    """Restore which objects are selected and which is active; objects added meanwhile
    end up unselected."""
    selected = {obj.name for obj in layer_objects(view_layer) if obj.select_get(view_layer=view_layer)}
    active = view_layer.objects.active
    active_name = active.name if active is not None else None
    try:
        yield
    finally:
        for obj in layer_objects(view_layer):
            try:
                obj.select_set(obj.name in selected, view_layer=view_layer)
            except RuntimeError:  # not selectable in this view layer
                pass
        view_layer.objects.active = view_layer.objects.get(active_name) if active_name else None


def select_only(view_layer: bpy.types.ViewLayer, objects: Iterable[bpy.types.Object]) -> None:
    """Make exactly these objects selected (for exporters' "selection only")."""
    wanted = {obj.name for obj in objects}
    for obj in layer_objects(view_layer):
        try:
            obj.select_set(obj.name in wanted, view_layer=view_layer)
        except RuntimeError:
            pass


def layer_objects(view_layer: bpy.types.ViewLayer) -> list[bpy.types.Object]:
    """The view layer's objects. Right after code removed objects (`D.objects.remove`) and
    before the layer is synced again, iterating it yields None where they were."""
    return [obj for obj in view_layer.objects if obj is not None]
