"""User code that tries to take the server down, against a real Blender in module and
background mode (and a GUI smoke test): every job gets a structured answer, and
Blender keeps serving.

tests/blender/test_exec.py already checks the plain cases (sys.exit(4), raise
KeyboardInterrupt, unbounded recursion, a timed-out loop); these are their nastier
relatives.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.blender import servers

from .conftest import start_server

MIB = 1024 * 1024


@pytest.fixture(scope="module", params=["module", "background"])
def blender(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[servers.Running]:
    running = start_server(request.param, tmp_path_factory.mktemp(f"hostile-{request.param}"))
    yield running
    running.stop()


@pytest.fixture
def client(blender: servers.Running) -> Iterator[httpx.Client]:
    with blender.client() as c:
        yield c


def _still_up(client: httpx.Client) -> None:
    """Blender answers /health and runs bpy code, with its stdout captured as usual."""
    assert client.get("/health").json()["status"] == "ok"
    body = client.post("/exec", content=b"print('up')\nlen(D.objects)").json()
    assert (body["result"], body["stdout"]) == (3, "up\n"), body


def _failed(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False and body["job"]
    assert body["error"]["type"] == kind, body["error"]
    return dict(body)


# (code, the exception type the answer names, a word its message must hold)
RAISING = {
    "an exception whose __str__ raises": (
        "class Sneaky(Exception):\n    def __str__(self):\n        raise ValueError('no')\nraise Sneaky()",
        "Sneaky", "could not be built"),
    "an exception whose __str__ is not a str": (
        "class Odd(Exception):\n    def __str__(self):\n        return 42\nraise Odd()",
        "Odd", "could not be built"),
    "sys.exit with an object whose repr raises": (
        "import sys\nclass Code:\n    def __repr__(self):\n        raise RuntimeError\nsys.exit(Code())",
        "SystemExit", "could not be built"),
    "SystemExit from a finally": (
        "try:\n    pass\nfinally:\n    raise SystemExit(0)", "SystemExit", "sys.exit(0)"),
    "KeyboardInterrupt raised while handling another": (
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n    raise KeyboardInterrupt('stop')",
        "KeyboardInterrupt", "stop"),
    "an exception chain that loops": (
        "a, b = ValueError('a'), ValueError('b')\na.__context__, b.__context__ = b, a\nraise a",
        "ValueError", "a"),
    "GeneratorExit": ("raise GeneratorExit('gen')", "GeneratorExit", "gen"),
    "MemoryError": ("raise MemoryError('full')", "MemoryError", "full"),
    "recursion inside a comprehension": (
        "def f(n):\n    return [f(n + 1) for _ in (1,)]\nf(0)", "RecursionError", "recursion"),
}


@pytest.mark.parametrize("case", RAISING.values(), ids=RAISING.keys())
def test_code_that_raises_gets_a_422_envelope(client: httpx.Client, case: tuple[str, str, str]) -> None:
    code, kind, word = case
    body = _failed(client.post("/exec", json={"code": code}), 422, kind)
    assert word in body["error"]["message"]
    assert body["error"]["line"] is not None
    assert 'File "<exec>"' in body["error"]["traceback"]
    _still_up(client)


def test_an_endless_loop_that_catches_exceptions_is_still_stopped_by_its_timeout(
        client: httpx.Client) -> None:
    # The interrupt derives from BaseException, so `except Exception` cannot swallow it.
    code = "while True:\n    try:\n        sum(range(1000))\n    except Exception:\n        pass"
    body = _failed(client.post("/exec", json={"code": code, "timeout": 0.5}), 504, "Timeout")
    assert "timeout of 0.5 s" in body["error"]["message"]
    _still_up(client)


@pytest.mark.parametrize("code", [
    "for _ in range(100_000):\n    print('x' * 999)",  # 100 MB in many writes
    "print('y' * 100_000_000)",  # 100 MB in one
    "import sys\nfor _ in range(1000):\n    sys.stderr.write('e' * 100_000)",
], ids=["many prints", "one print", "stderr"])
def test_printing_100_mb_is_capped_and_marked_truncated(client: httpx.Client, code: str) -> None:
    response = client.post("/exec", json={"code": code})
    assert response.status_code == 200
    body = response.json()
    stream = "stderr" if "stderr" in code else "stdout"
    assert body["truncated"] == [stream]
    assert len(body[stream].encode()) == MIB
    assert len(response.content) < 2 * MIB
    _still_up(client)


UNSERIALISABLE = {
    "a generator": ("(i for i in range(3))", "generator object"),
    "an endless iterator": ("import itertools\nitertools.count()", "count(0)"),
    "a repr that recurses": (
        "class R:\n    def __repr__(self):\n        return repr(self)\nR()", "repr failed"),
    "a repr that raises": ("class R:\n    def __repr__(self):\n        raise OSError\nR()", "repr failed"),
    "an impostor of numpy": (
        "class F:\n    __module__ = 'numpy'\n    def tolist(self):\n        raise MemoryError\nF()",
        "numpy.F object"),
    "an exception object": ("ValueError('not raised')", "ValueError('not raised')"),
    "a module": ("import os\nos", "module 'os'"),
    "a lock": ("import threading\nthreading.Lock()", "lock object"),
}


@pytest.mark.parametrize("case", UNSERIALISABLE.values(), ids=UNSERIALISABLE.keys())
def test_unserialisable_results_come_back_as_repr(client: httpx.Client, case: tuple[str, str]) -> None:
    code, text = case
    response = client.post("/exec", json={"code": code})
    assert response.status_code == 200, response.text
    assert text in response.json()["result"]["$repr"]
    _still_up(client)


def test_unserialisable_values_inside_containers_and_keys(client: httpx.Client) -> None:
    code = ("l = [1]\nl.append(l)\n"
            "{(1, 2): {frozenset({3}): object}, 'loop': l, 'nan': float('nan'), 'big': 10 ** 5000,"
            " 'bytes': b'\\x00', None: D.objects['Cube']}")
    result = client.post("/exec", json={"code": code}).json()["result"]
    assert result["[1,2]"] == {"[3]": {"$repr": "<class 'object'>"}}
    assert result["loop"][0] == 1 and "$repr" in result["loop"][1]
    assert (result["nan"], result["bytes"]) == (None, {"$bytes": "AA=="})
    assert result["null"] == {"$id": "Object", "name": "Cube"}
    _still_up(client)


@pytest.mark.parametrize("replacement", [
    "io.StringIO()", "None", "Broken()", "open(os.devnull, 'w')",
], ids=["a StringIO", "None", "a stream whose write raises", "devnull"])
def test_code_that_replaces_sys_stdout_does_not_break_capture(client: httpx.Client,
                                                              replacement: str) -> None:
    code = ("import io, os, sys\n"
            "class Broken:\n    def write(self, text):\n        raise OSError('no')\n"
            "    def flush(self):\n        raise OSError('no')\n"
            f"sys.stdout = sys.stderr = {replacement}\n"
            "try:\n    print('hidden')\nexcept OSError:\n    pass\n'replaced'")
    body = client.post("/exec", json={"code": code}).json()
    assert body["result"] == "replaced"
    assert "hidden" not in body["stdout"]
    # The next jobs get their own capture again, however the last one left sys.stdout.
    following = client.post("/exec", content=b"import sys\nprint('mine')\n"
                                              b"print('err', file=sys.stderr)").json()
    assert (following["stdout"], following["stderr"]) == ("mine\n", "err\n")
    failed = _failed(client.post("/exec", content=b"print('before')\n1 / 0"), 422, "ZeroDivisionError")
    assert failed["stdout"] == "before\n"
    _still_up(client)


def test_a_thread_that_prints_never_leaks_into_other_jobs(client: httpx.Client,
                                                          blender: servers.Running) -> None:
    started = client.post("/exec", content=(
        b"import threading, time\n"
        b"def chatter():\n"
        b"    end = time.monotonic() + 2\n"
        b"    while time.monotonic() < end:\n"
        b"        print('LEAK from a user thread', flush=True)\n"
        b"        time.sleep(0.001)\n"
        b"threading.Thread(target=chatter, daemon=True).start()\n"
        b"print('starter')\n'started'")).json()
    assert (started["result"], started["stdout"]) == ("started", "starter\n")

    def one(n: int) -> dict[str, Any]:
        with blender.client() as c:
            return dict(c.post("/exec", json={"code": "print(args['n'])\nimport time; time.sleep(0.002)\n"
                                              "print(args['n'])", "args": {"n": n}}).json())

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(one, range(60)))
    assert [a["stdout"] for a in answers] == [f"{n}\n{n}\n" for n in range(60)]
    thread_exit = client.post("/exec", content=(
        b"import sys, threading\nt = threading.Thread(target=sys.exit, args=(3,))\n"
        b"t.start()\nt.join()\n'exited a thread'")).json()
    assert thread_exit["result"] == "exited a thread"
    _still_up(client)
    assert "LEAK from a user thread" in blender.log_text()  # went to Blender's console instead


def test_a_thread_printing_across_the_end_of_its_job_cannot_crash_blender(
        client: httpx.Client, blender: servers.Running) -> None:
    # print() in a user thread holds a borrowed reference to the sys.stdout it found
    # while it formats its argument; here that job's stream is replaced when the job
    # ends, and the print writes to it one job later (a freed stream crashed Python).
    started = client.post("/exec", json={"session": "late-print", "code": (
        "import threading\n"
        "release, entered = threading.Event(), threading.Event()\n"
        "class Slow:\n"
        "    def __str__(self):\n"
        "        entered.set()\n"
        "        release.wait(10)\n"
        "        return 'LATE LINE from a user thread'\n"
        "printer = threading.Thread(target=lambda: print(Slow(), flush=True), daemon=True)\n"
        "printer.start()\n"
        "entered.wait(10)")}).json()
    assert started["ok"], started
    # Allocations that would reuse a freed stream's memory.
    garbage = client.post("/exec", content=b"junk = [object() for _ in range(100000)]\n"
                                           b"table = {str(n): n for n in range(10000)}")
    assert garbage.status_code == 200
    released = client.post("/exec", json={"session": "late-print", "code": (
        "release.set()\nprinter.join(10)\nprint('mine')\nprinter.is_alive()")}).json()
    assert (released["result"], released["stdout"]) == (False, "mine\n")
    _still_up(client)
    assert "LATE LINE from a user thread" in blender.log_text()


def test_gui_mode_survives_hostile_code(own_server: Callable[..., servers.Running]) -> None:
    running = own_server("gui")
    with running.client() as client:
        _failed(client.post("/exec", content=b"import sys\nsys.exit(1)"), 422, "SystemExit")
        _failed(client.post("/exec", content=b"raise KeyboardInterrupt"), 422, "KeyboardInterrupt")
        _failed(client.post("/exec", content=b"def f(): f()\nf()"), 422, "RecursionError")
        _failed(client.post("/exec", json={"code": "while True:\n    pass", "timeout": 0.5}), 504, "Timeout")
        flood = client.post("/exec", content=b"print('y' * 100_000_000)").json()
        assert flood["truncated"] == ["stdout"] and len(flood["stdout"]) == MIB
        replaced = client.post("/exec", content=b"import sys, io\nsys.stdout = io.StringIO()\nprint('x')\n1")
        assert replaced.json()["result"] == 1
        assert "$repr" in client.post("/exec", content=b"(i for i in ())").json()["result"]
        _still_up(client)
        assert client.get("/health").json()["mode"] == "gui"
