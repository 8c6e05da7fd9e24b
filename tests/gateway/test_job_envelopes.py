"""Exec envelopes carry the gateway's job id: the tail rewritten in place when the add-on
wrote it last (its own compact JSON), the whole document otherwise; anything else untouched."""

from __future__ import annotations

import json

import pytest

from blender_http_gateway.workers.backends import Backend
from blender_http_gateway.workers.jobids import backend_tag, exec_envelope

BACKEND = Backend(key="http://127.0.0.1:7777", url="http://127.0.0.1:7777")
GLOBAL = backend_tag(BACKEND) + ".3f9c2d1e"


@pytest.mark.parametrize("body", [
    b'{"ok":true,"result":2,"stdout":"","stderr":"","job":"3f9c2d1e"}',
    b'{"ok":true,"result":2,"job":"3f9c2d1e"}\n',
    b'{"ok":true,"result":"a \\",\\"job\\":\\"x\\"} b","job":"3f9c2d1e"}  \r\n',
    b'{"ok":false,"job":"3f9c2d1e","error":{"type":"Cancelled","message":"stopped"}}',
    b'{"ok":true, "result": 2, "job": "3f9c2d1e"}',
])
def test_the_job_id_becomes_the_gateways_and_nothing_else_changes(body: bytes) -> None:
    rewritten = exec_envelope(BACKEND)(body)
    assert json.loads(rewritten) == {**json.loads(body), "job": GLOBAL}


@pytest.mark.parametrize("body", [b"not json", b'{"ok":true,"result":1}', b"[1,2]", b"",
                                  b'{"ok":true,"job":5}'])
def test_answers_without_a_job_id_pass_as_they_came(body: bytes) -> None:
    assert exec_envelope(BACKEND)(body) == body


def test_an_id_with_other_characters_is_rewritten_from_the_whole_document() -> None:
    body = b'{"ok":true,"result":1,"job":"a/b"}'
    assert json.loads(exec_envelope(BACKEND)(body))["job"] == backend_tag(BACKEND) + ".a/b"
