"""RESULTS.md and the latency plot: tables from the measurements, targets checked against SPEC §7."""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclasses.dataclass
class Target:
    """One SPEC §7 target and what this run measured for it."""

    name: str
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run


@dataclasses.dataclass
class Report:
    command: str
    sections: list[str] = dataclasses.field(default_factory=list)
    targets: list[Target] = dataclasses.field(default_factory=list)

    def section(self, title: str, text: str) -> None:
        self.sections.append(f"## {title}\n\n{text.strip()}\n")

    def markdown(self) -> str:
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        rows = ["| target (SPEC §7) | goal | measured | met |", "|---|---|---|---|"]
        for t in self.targets:
            verdict = "not measured" if t.met is None else ("yes" if t.met else "**no**")
            rows.append(f"| {t.name} | {t.goal} | {t.measured} | {verdict} |")
        return "\n".join([
            "# Benchmark results",
            "",
            f"Date: {datetime.date.today().isoformat()}. Machine: {machine} (shared, noisy).",
            f"Command: `{self.command}`",
            "",
            "Every section starts its servers as processes of their own on free ports and measures",
            "them side by side, interleaved, so a noisy moment falls on all of them alike.",
            "Ratios are what to compare; absolute times move with the machine's load.",
            "",
            "## Targets",
            "",
            *rows,
            "",
            *self.sections,
        ])

    def write(self, path: Path = HERE / "RESULTS.md") -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.markdown())
        tmp.replace(path)


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def plot_latencies(samples: dict[str, list[float]], path: Path) -> None:
    """Cumulative distribution of exec round trips per target, log-scaled milliseconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    for name, values in samples.items():
        ordered = sorted(values)
        ax.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], label=name)
    ax.set_xscale("log")
    ax.set_xlabel("POST /exec round trip (ms, log scale)")
    ax.set_ylabel("fraction of requests")
    ax.set_title("Exec round trip, sequential on one kept-alive connection")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
