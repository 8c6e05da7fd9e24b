"""The tools one request to /mcp is offered: the server's selection, narrowed to the
read-only set when the request carries tools.READ_ONLY_HEADER (the gateway marks the
requests of its read-only API keys so). The header only ever narrows: a caller who may
reach /mcp at all could run code anyway, so trusting it gives nobody more."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ..errors import HttpError
from . import tools


def for_request(selection: tools.Selection, headers: Mapping[str, str]) -> tools.Selection:
    """selection, read-only when headers ask for it; 400 for a value other than READ_ONLY_VALUE."""
    value = headers.get(tools.READ_ONLY_HEADER)
    if value is None:
        return selection
    if value.strip() != tools.READ_ONLY_VALUE:
        raise HttpError(400, f"{tools.READ_ONLY_HEADER} takes only {tools.READ_ONLY_VALUE!r} "
                             "(read-only); leave it out for the server's own tool set")
    if selection.read_only:
        return selection
    return dataclasses.replace(selection, read_only=True, read_only_by=tools.CALLER_READ_ONLY)
