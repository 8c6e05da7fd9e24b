"""The gateway's own cost, side by side with a direct worker, and with an older gateway.

    .venv/bin/python -m benchmarks.gateway                       # this gateway vs direct
    .venv/bin/python -m benchmarks.gateway --baseline 2850789    # ... and the gateway at a commit

Every target runs at once in front of one module-mode worker and is measured in interleaved
rounds, so the load of a shared machine falls on all alike: compare the ratios more than the
absolute figures. Added latency is the gateway's p50 minus the worker's own p50 (sequential
`POST /exec` on one kept-alive connection); CPU is the gateway process's user + system time
per request while 8 clients send `POST /exec` back to back."""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from . import latency, throughput
from .report import table
from .targets import gateway, server

DIRECT = "worker, direct"
CURRENT = "gateway"
ADDED_P50_TARGET_MS = 0.3
CPU_TARGET_US = 200.0


@contextlib.contextmanager
def gateway_at(commit: str) -> Iterator[Path]:
    """A folder holding the gateway package as it was at commit (put it first on PYTHONPATH)."""
    with tempfile.TemporaryDirectory(prefix="bench-gateway-") as folder:
        archive = subprocess.run(["git", "archive", commit, "gateway"], check=True, capture_output=True,
                                 cwd=Path(__file__).resolve().parent.parent).stdout
        archive_path = Path(folder) / "gateway.tar"
        archive_path.write_bytes(archive)
        with tarfile.open(archive_path) as tar:
            tar.extractall(folder, filter="data")
        (Path(folder) / "gateway").rename(Path(folder) / "blender_http_gateway")
        yield Path(folder)


def measure(baseline: str | None, requests: int, rounds: int, seconds: float,
            workers: int) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, float]]:
    """Latency samples (ms), throughput samples (requests/s) and CPU µs per request, by target."""
    with contextlib.ExitStack() as stack:
        worker = stack.enter_context(server("module"))
        targets = {DIRECT: worker, CURRENT: stack.enter_context(gateway(worker))}
        if baseline:
            folder = stack.enter_context(gateway_at(baseline))
            targets[f"gateway at {baseline}"] = stack.enter_context(
                gateway(worker, env={"PYTHONPATH": str(folder)}))
        if workers > 1:
            # Its CPU is spread over child processes: only its rate is shown.
            targets[f"gateway --workers {workers}"] = stack.enter_context(
                gateway(worker, "--workers", str(workers)))
        samples = latency.measure(targets, requests, rounds)
        rates, cpu = throughput.measure(targets, 8, seconds, rounds)
    return samples, rates, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="also measure the gateway as it was at this commit")
    parser.add_argument("--workers", type=int, default=1, help="also measure `--workers N`")
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the benchmark runs")
    options = parser.parse_args(argv)
    requests, rounds, seconds = (40, 2, 0.2) if options.quick else (2000, 10, 1.0)
    samples, rates, cpu = measure(options.baseline, requests, rounds, seconds, options.workers)
    direct = statistics.median(samples[DIRECT])
    rows = []
    for name, values in samples.items():
        p50 = statistics.median(values)
        cpu_text = f"{cpu[name]:.0f}" if name != DIRECT and "--workers" not in name else ""
        rows.append([name, f"{p50:.3f}", f"{p50 - direct:+.3f}" if name != DIRECT else "",
                     f"{statistics.median(rates[name]):,.0f}", cpu_text])
    print(table(["target", "exec p50 ms", "added p50 ms", "8-client exec/s", "gateway CPU µs/exec"], rows))
    added = statistics.median(samples[CURRENT]) - direct
    print(f"\nadded p50 {added:.3f} ms (target ≤ {ADDED_P50_TARGET_MS} ms); gateway CPU "
          f"{cpu[CURRENT]:.0f} µs per exec (target ≤ {CPU_TARGET_US:.0f} µs)")
    if options.baseline:
        old = f"gateway at {options.baseline}"
        old_added = statistics.median(samples[old]) - direct
        print(f"against {options.baseline}: CPU per exec x{cpu[CURRENT] / cpu[old]:.2f}, added p50 "
              f"x{added / old_added:.2f}, 8-client rate "
              f"x{statistics.median(rates[CURRENT]) / statistics.median(rates[old]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
