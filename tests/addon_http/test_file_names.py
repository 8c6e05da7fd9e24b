"""One name rule for the work folder, the strictest (Windows'), on every platform: the
add-on, the gateway and the OpenAPI pattern say the same."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blender_http_addon.protocol import FILE_PATH, MAX_FILE_NAME_BYTES, file_path_problem

GOOD = ["a.txt", "my scene.blend", ".hidden", "renders/frame 1.png", "café/x", "..x", "CONSOLE.txt",
        "com10.txt", "nul_file", "a.b.c", "x" * MAX_FILE_NAME_BYTES, "LPT", "(1) [copy] {x} #%&'+,;=@^`~"]
# (name, words the refusal says)
WINDOWS = [
    ("C:x", "':'"), ("C:/Windows/x", "':'"), ("a.txt:stream", "':'"), ("a.txt::$DATA", "':'"),
    ("\\\\server\\share\\x", "backslash"), ("a\\b", "backslash"),
    ("CON", "device name"), ("nul", "device name"), ("Aux.txt", "device name"), ("COM1.txt", "device name"),
    ("lpt9.tar.gz", "device name"), ("sub/PRN", "device name"), ("CONIN$", "device name"),
    ("COM¹", "device name"), ("NUL .txt", "device name"),
    ("name.", "dot or a space"), ("name ", "dot or a space"), ("dir./x", "dot or a space"), ("...", "dot"),
    ("a<b", "'<'"), ("a>b", "'>'"), ('a"b', "'\"'"), ("a|b", "'|'"), ("a?b", "'?'"), ("a*b", "'*'"),
    ("a\x01b", "'\\x01'"), ("tab\there", "'\\t'"), ("line\nbreak", "'\\n'"),
    ("x" * (MAX_FILE_NAME_BYTES + 1), "255 bytes"), ("é" * 128, "255 bytes"),
    ("a/" * 600 + "a", "1024 characters"),
]
POSIX = [("", "empty"), ("a\x00b", "NUL"), ("/etc/x", "absolute"), ("a/../b", "'..'"), ("./a", "'.'"),
         ("a//b", "empty segments"), ("..", "'..'"), ("a/", "'a/'")]


@pytest.mark.parametrize("name", GOOD)
def test_ordinary_names_are_taken(name: str) -> None:
    assert file_path_problem(name) is None
    assert re.fullmatch(FILE_PATH, name)


@pytest.mark.parametrize(("name", "words"), WINDOWS + POSIX)
def test_names_unsafe_anywhere_are_refused_in_words(name: str, words: str) -> None:
    problem = file_path_problem(name)
    assert problem is not None and words in problem, (name, problem)
    if "bytes" not in words:  # the pattern counts characters, not bytes
        assert not re.fullmatch(FILE_PATH, name), name


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from([*"aZ. :/\\<|*?\x00\x1f$¹", "CON", "nul", "com1", "LPT2", ".txt"]),
                max_size=8).map("".join))
def test_the_pattern_and_the_words_agree(name: str) -> None:
    assert (file_path_problem(name) is None) == bool(re.fullmatch(FILE_PATH, name)), name
