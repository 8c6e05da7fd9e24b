"""Every speed target of SPEC §7 in one run, side by side with its baseline.

    .venv/bin/python -m benchmarks.run            # full run, writes RESULTS.md and latency.png
    .venv/bin/python -m benchmarks.run --quick --no-write --modes module,background

Sections: exec round trip (floor, module, background, GUI, gateway), throughput with 1, 8
and 32 clients, 1M vertices binary vs JSON, data into Blender (multipart vs JSON args vs
/files, an image, JSON out), cancel latency, start-up to healthy, and 100 small jobs
against cold `blender -b` runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import statistics
import sys
from pathlib import Path

from . import batch, cancel, datain, latency, startup, throughput, vertices
from .report import HERE, Report, Target, plot_latencies, table
from .stats import summary
from .targets import FLOOR, gateway, gateway_available, server

FLOOR_NAME = "floor (stdlib http.server, in-thread)"
# The module server is measured directly and through the gateway, whose pool of kept-alive
# connections to it stays open between rounds: room for both at 32 clients each.
SERVER_ENV = {**datain.SERVER_ENV, "BLENDER_HTTP_MAX_CONNECTIONS": "256"}
GATEWAY_NAME = "gateway → module"
WHERE_THE_TIME_GOES = """\
Where the difference goes: the floor evaluates the code and writes an answer. blender-http
makes every exec a job (an id, the recent-jobs store, cancel and timeout hooks), captures
stdout and stderr per job, checks `Host`, `Origin` and the token, validates the framing
(repeated `Content-Length`, header limits) and converts the result. Its main thread answers
kept-alive connections itself, with no thread hand-off, so what is left is that Python
work: compare the server CPU per request in the 1-client rows of the throughput table.
With 8 or more clients the floor's threads contend for the GIL and blender-http's single
main thread keeps up with it. The ratio moves from run to run on this shared machine,
mostly with the floor: 1.15 to 1.46 over the full runs so far, with the floor's p50
between 0.12 and 0.17 ms and blender-http's between 0.17 and 0.20 ms; the target of
1.25 is met in some runs and missed in others."""


@dataclasses.dataclass(frozen=True)
class Counts:
    requests: int = 4000
    rounds: int = 10
    clients: tuple[int, ...] = (1, 8, 32)
    seconds: float = 1.0
    throughput_rounds: int = 5
    vertices: int = 1_000_000
    vertex_repeats: int = 7
    image_side: int = 4096
    cancels: int = 20
    starts: int = 3
    jobs: int = 100
    map_items: int = 1000


QUICK = Counts(requests=40, rounds=2, clients=(1, 8), seconds=0.2, throughput_rounds=1, vertices=10_000,
               vertex_repeats=1, image_side=64, cancels=2, starts=1, jobs=2, map_items=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="module,background,gui")
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the benchmark runs")
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout of an earlier version: its servers run side by side with these")
    options = parser.parse_args(argv)
    modes = [m for m in options.modes.split(",") if m]
    counts = QUICK if options.quick else Counts()
    command = "python -m benchmarks.run" + ("".join(f" {a}" for a in (argv or sys.argv[1:])))
    report = Report(command=command)
    plotted: dict[str, list[float]] = {}

    headless = [m for m in modes if m != "gui"]
    if headless:
        _headless_group(headless, counts, report, plotted, options.baseline)
    if "gui" in modes:
        _gui_group(counts, report, plotted)
    _startup(modes, counts, report)
    if "background" in modes and "module" in modes:
        _batch(counts, report)

    print(report.markdown())
    if not options.no_write:
        report.write()
        plot_latencies(plotted, HERE / "latency.png")
    return 0


def _headless_group(modes: list[str], counts: Counts, report: Report,
                    plotted: dict[str, list[float]], baseline: Path | None = None) -> None:
    gateway_missing = gateway_available() if "module" in modes else "needs module mode"
    with contextlib.ExitStack() as stack:
        targets = {FLOOR_NAME: stack.enter_context(server(FLOOR))}
        for mode in modes:
            targets[f"blender-http {mode}"] = stack.enter_context(server(mode, env=SERVER_ENV))
            if baseline is not None:
                targets[f"baseline {mode}"] = stack.enter_context(server(mode, env=SERVER_ENV,
                                                                         baseline=baseline))
        if gateway_missing is None:
            targets[GATEWAY_NAME] = stack.enter_context(gateway(targets["blender-http module"]))
        samples = latency.measure(targets, counts.requests, counts.rounds)
        plotted.update(samples)
        _latency_section(report, samples, counts, "Exec round trip", WHERE_THE_TIME_GOES)
        _throughput_section(report, targets, counts)
        blender_targets = {name: url for name, url in targets.items() if name.startswith("blender-http")}
        if baseline is not None:
            _baseline_note(report, baseline)
        _cancel_section(report, cancel.measure(blender_targets, counts.cancels))
        _vertices_section(report, blender_targets, counts)
        _datain_section(report, blender_targets, counts)
    floor = statistics.median(samples[FLOOR_NAME])
    for mode in modes:
        p50 = statistics.median(samples[f"blender-http {mode}"])
        report.targets.append(Target(f"exec p50, {mode}", "≤ 1.25 x floor",
                                     f"{p50:.3f} ms = {p50 / floor:.2f} x floor ({floor:.3f} ms)",
                                     p50 <= 1.25 * floor))
    if gateway_missing is None:
        module = statistics.median(samples["blender-http module"])
        added = statistics.median(samples[GATEWAY_NAME]) - module
        report.targets.append(Target("gateway, added at p50", "≤ 0.3 ms", f"{added:.3f} ms", added <= 0.3))
    else:
        report.targets.append(Target("gateway, added at p50", "≤ 0.3 ms", gateway_missing, None))


def _baseline_note(report: Report, baseline: Path) -> None:
    report.section("Baseline", f"Rows named `baseline <mode>` are the checkout at `{baseline.name}` "
                   "(an earlier version of this project), started the same way and measured in "
                   "the same interleaved rounds as the current code.")


def _gui_group(counts: Counts, report: Report, plotted: dict[str, list[float]]) -> None:
    # A desktop Blender's event loop keeps a core busy, which on a small machine changes how
    # fast every other process wakes: the GUI gets a group, and a floor, of its own.
    with server(FLOOR) as floor_url, server("gui") as gui_url:
        targets = {f"{FLOOR_NAME}, GUI group": floor_url, "blender-http gui": gui_url}
        samples = latency.measure(targets, counts.requests, counts.rounds)
        cancels = cancel.measure({"blender-http gui": gui_url}, counts.cancels)
    plotted["blender-http gui"] = samples["blender-http gui"]
    _latency_section(report, samples, counts, "Exec round trip, GUI (Xvfb)")
    _cancel_section(report, cancels, title="Cancel latency, GUI")
    p50 = statistics.median(samples["blender-http gui"])
    report.targets.append(Target("exec p50, gui", "≤ 6 ms", f"{p50:.3f} ms", p50 <= 6.0))


def _latency_section(report: Report, samples: dict[str, list[float]], counts: Counts, title: str,
                     note: str = "") -> None:
    floor = statistics.median(next(iter(samples.values())))
    rows = []
    for name, values in samples.items():
        s = summary(values)
        rows.append([name, f"{s['p50']:.3f}", f"{s['p99']:.3f}", f"{s['mean']:.3f}",
                     f"{s['p50'] / floor:.2f}"])
    report.section(title, f"`POST /exec` of `{latency.CODE.decode()}` as `text/plain`, sequential on one "
                   f"kept-alive connection: {counts.requests} requests per target in {counts.rounds} "
                   "interleaved rounds.\n\n"
                   + table(["target", "p50 ms", "p99 ms", "mean ms", "p50 / floor"], rows)
                   + (f"\n\n{note}" if note else ""))


def _throughput_section(report: Report, targets: dict[str, str], counts: Counts) -> None:
    rows = []
    for clients in counts.clients:
        samples, cpu = throughput.measure(targets, clients, counts.seconds, counts.throughput_rounds)
        floor = statistics.median(samples[FLOOR_NAME])
        for name, values in samples.items():
            rps = statistics.median(values)
            rows.append([str(clients), name, f"{rps:,.0f}", f"{rps / floor:.2f}", f"{cpu[name]:.0f}"])
            if clients in (1, 8) and name == GATEWAY_NAME:  # the target holds for both
                report.targets.append(Target(
                    f"gateway CPU per proxied exec, {clients} client{'s' if clients > 1 else ''}",
                    "≤ 200 µs", f"{cpu[name]:.0f} µs", cpu[name] <= 200.0))
            if clients == 8 and name.startswith("blender-http"):
                mode = name.removeprefix("blender-http ")
                report.targets.append(Target(f"8-client throughput, {mode}", "≥ 0.9 x floor",
                                             f"{rps:,.0f}/s = {rps / floor:.2f} x floor", rps >= 0.9 * floor))
    report.section("Throughput", f"N clients, each a kept-alive connection sending `POST /exec` back to back "
                   f"for {counts.seconds:g} s, {counts.throughput_rounds} interleaved rounds (median shown). "
                   "One asyncio process drives every connection. CPU is the serving process's user + "
                   "system time per request.\n\n"
                   + table(["clients", "target", "requests/s", "÷ floor", "server CPU µs/request"], rows))


def _cancel_section(report: Report, samples: dict[str, list[float]], title: str = "Cancel latency") -> None:
    rows = []
    for name, values in samples.items():
        s = summary(values)
        rows.append([name, f"{s['p50']:.1f}", f"{max(values):.1f}"])
        report.targets.append(Target(f"cancel, {name.removeprefix('blender-http ')}", "≤ 50 ms",
                                     f"p50 {s['p50']:.1f} ms, max {max(values):.1f} ms", max(values) <= 50.0))
    report.section(title, f"`DELETE /jobs/{{id}}` of a running `while True: pass`, {len(values)} times per "
                   "target; the DELETE answers once the job has stopped.\n\n"
                   + table(["target", "p50 ms", "max ms"], rows))


def _vertices_section(report: Report, targets: dict[str, str], counts: Counts) -> None:
    rows = []
    for name, url in targets.items():
        for way, result in vertices.measure(url, counts.vertices, counts.vertex_repeats).items():
            if isinstance(result, str):
                rows.append([name, way, result, ""])
                continue
            p50 = statistics.median(result)
            rows.append([name, way, f"{p50:.1f}", f"{min(result):.1f}"])
            if way.startswith("exec, binary"):
                report.targets.append(Target(f"{counts.vertices:,} vertices as numpy, {name.split()[-1]}",
                                             "≤ 150 ms", f"{p50:.1f} ms", p50 <= 150.0))
    report.section("Mesh vertices to numpy", f"{counts.vertices:,} vertex coordinates fetched and "
                   f"decoded into a `(N, 3)` float32 numpy array in the client, {counts.vertex_repeats} "
                   "times each.\n\n"
                   + table(["server", "way", "p50 ms", "best ms"], rows))


def _datain_section(report: Report, targets: dict[str, str], counts: Counts) -> None:
    results = {name: datain.measure(url, counts.vertices, counts.vertex_repeats, counts.image_side)
               for name, url in targets.items()}
    for name, samples in results.items():
        mode = name.split()[-1]
        multipart = statistics.median(samples[f"{counts.vertices:,} vertices in, multipart .npy part"])
        report.targets.append(Target(f"{counts.vertices:,} vertices in as multipart .npy, {mode}",
                                     f"≤ {datain.TARGET_MS:g} ms", f"{multipart:.1f} ms",
                                     multipart <= datain.TARGET_MS))
        for what, row in (("answered (its last byte)", datain.OUT_UNPARSED),
                          ("parsed by the Python client", datain.OUT_PARSED)):
            out = statistics.median(samples[f"{counts.vertices:,} vertices out as JSON, {row}"])
            report.targets.append(Target(f"{counts.vertices:,} vertices out as JSON, {what}, {mode}",
                                         "≤ 1000 ms", f"{out:.0f} ms", out <= 1000.0))
    results["in-process"] = datain.conversion(counts.vertices, counts.vertex_repeats)
    now = statistics.median(results["in-process"][f"{counts.vertices:,} vertices to JSON text, server side "
                                                  "(CPU ms), now: numpy array"])
    report.targets.append(Target(f"{counts.vertices:,} vertices to JSON text, server side", "≤ 1000 ms",
                                 f"{now:.0f} ms CPU", now <= 1000.0))
    report.section("Data into Blender", datain.section(results))


def _startup(modes: list[str], counts: Counts, report: Report) -> None:
    rows = []
    for mode, values in startup.measure(modes, counts.starts).items():
        healthy, own = statistics.median(values["healthy"]), statistics.median(values["baseline"])
        rows.append([mode, f"{healthy:.2f}", f"{own:.2f}", f"{healthy - own:+.2f}"])
        if mode == "background":
            report.targets.append(Target("`start --background` healthy", "≤ Blender's start-up + 0.3 s",
                                         f"{healthy:.2f} s vs {own:.2f} s ({healthy - own:+.2f} s)",
                                         healthy - own <= 0.3))
    report.section("Start-up to healthy", startup.EXPLAINED + "\n\n"
                   + table(["mode", "healthy s", "Blender alone s", "difference s"], rows))


def _batch(counts: Counts, report: Report) -> None:
    with server("module") as url:
        served = batch.through_server_s(url, counts.jobs)
        mapped = [("`Blender.map`, direct to the module server", batch.mapped_s(url, counts.map_items))]
    if gateway_available() is None:
        for workers in (1, 2):
            with batch.spawned_gateway(workers) as url:
                mapped.append((f"`Blender.map` through `gateway --spawn {workers}`",
                               batch.mapped_s(url, counts.map_items)))
    cold = batch.cold_blender_s(counts.jobs)
    rows = [_rate_row("blender-http module, one request each", counts.jobs, served)]
    rows += [_rate_row(how, counts.map_items, took) for how, took in mapped]
    rows.append(_rate_row("`blender -b --python-expr` per job", counts.jobs, cold))
    map_speedup = (cold / counts.jobs) / (mapped[0][1] / counts.map_items)
    report.section("Small jobs: server against cold Blender runs",
                   "Jobs that add a cube, count the objects and remove it; `Blender.map` with its "
                   "default concurrency (a quarter of the workers' queue bound).\n\n"
                   + table(["how", "jobs", "total s", "jobs/s"], rows)
                   + f"\n\nThe server is {cold / served:,.0f}x faster for this batch one request "
                   f"at a time; `Blender.map` direct is {map_speedup:,.0f}x.")
    report.targets.append(Target(f"{counts.jobs} small jobs vs cold `blender -b`", "faster",
                                 f"{served:.2f} s vs {cold:.2f} s ({cold / served:,.0f}x)", served < cold))


def _rate_row(how: str, jobs: int, seconds: float) -> list[str]:
    return [how, str(jobs), f"{seconds:.2f}", f"{jobs / seconds:,.1f}"]


if __name__ == "__main__":
    sys.exit(main())
