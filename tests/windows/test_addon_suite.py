"""The add-on's pure test suite (tests/addon_http: no Blender) passes under Windows CPython,
run by that Python's own pytest from a copy of the test files, against the add-on installed
from the wheel. Both Pythons run at once (conftest.addon_suites); this test waits for one."""

from __future__ import annotations

import pytest

from tests.windows.conftest import SuiteRun

# The first test to run may set up Wine, the Pythons and their packages (minutes, on a fresh
# machine) before its own work.
pytestmark = pytest.mark.timeout(1200)

# Why a test of the suite may skip under Windows and Wine: it needs Linux (renameat2), or links
# (wine's os.symlink makes nothing), or a long double wider than a double (not on Windows).
ALLOWED_SKIPS = ("renameat2", "symbolic links cannot be made", "long double is a plain double")


def test_the_pure_suite_passes(addon_suites: dict[str, SuiteRun], version: str) -> None:
    run = addon_suites[version]
    done = run.wait()
    tail = done.stdout[-6000:] + done.stderr[-3000:]
    assert done.returncode == 0, f"pytest under Windows {version} failed:\n{tail}"
    suite = run.report().find("testsuite")
    assert suite is not None, tail
    counts = {name: int(suite.get(name, 0)) for name in ("tests", "failures", "errors", "skipped")}
    assert counts["failures"] == counts["errors"] == 0, (counts, tail)
    # It ran what this Python collects from the same files with the same options, at least
    # 300 tests of them, and skipped only for the known reasons.
    assert counts["tests"] == run.expected and run.expected >= 300, (counts, run.expected, run.options)
    skipped = {f"{case.get('classname')}.{case.get('name')}": found.get("message", "")
               for case in suite.iter("testcase") if (found := case.find("skipped")) is not None}
    unexpected = {name: why for name, why in skipped.items() if not any(a in why for a in ALLOWED_SKIPS)}
    assert not unexpected, unexpected
    print(f"Windows {version}: {counts} in {run.seconds:.0f} s; {' '.join(run.options)}")

