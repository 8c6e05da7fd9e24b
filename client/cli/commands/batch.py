"""`blender-http batch`: run one script per item of a JSON-lines file, many at a time, and
append each result to a JSON-lines file as it arrives; a rerun skips what is done."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import anyio
import click

from ... import settings
from ..._async.client import AsyncBlender
from ...batching import ItemResult, default_concurrency
from .. import batch_files
from ..exit_codes import EXIT_FAILED, EXIT_INTERRUPTED
from ..support import client_errors, client_options
from ..terminal import Quiet

# Piped output: one progress line at most this often.
PLAIN_EVERY_S = 2.0


@click.command()
@click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--items", "items_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON lines, one item per line: an object is the script's `args`, any other "
                   "value is args['item'].")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="JSON lines, one result per item, appended as they arrive; items already "
                   "in it are skipped (an interrupted batch resumes).")
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Jobs in flight [default: a quarter of what /health says the workers can queue].")
@click.option("--retries", type=click.IntRange(min=0), default=0, show_default=True,
              help="Times an item whose worker died runs again (only for scripts safe to repeat).")
@click.option("--timeout", type=float, default=None, help="Seconds before the server interrupts an item.")
@click.option("--retry-failed", is_flag=True, help="Run the items that failed in an earlier run again.")
@client_options
def batch(script: Path, items_path: Path, out: Path, concurrency: int | None, retries: int,
          timeout: float | None, retry_failed: bool, url: str | None, token: str | None) -> None:
    """Run SCRIPT once per item of --items, results to --out (exit 0 only if all succeeded)."""
    code = script.read_text(encoding="utf-8")
    try:
        items = batch_files.read_items(items_path)
    except batch_files.BadItems as exc:
        raise click.BadParameter(str(exc), param_hint="--items") from exc
    if retry_failed and out.exists():
        batch_files.drop_failed(out)
    earlier, stale = batch_files.done_items(out, items)
    if stale:
        click.echo(f"blender-http batch: {stale} line(s) of {out} belong to other items than "
                   f"{items_path} now holds at their index; those items run again", err=True)
    todo = [(i, item) for i, item in enumerate(items) if i not in earlier]
    results = batch_files.ResultsFile(out)
    earlier_ok = sum(1 for ok in earlier.values() if ok)
    tally = Tally(total=len(items), earlier_ok=earlier_ok, earlier_failed=len(items) - len(todo) - earlier_ok)
    key = batch_files.batch_key(code, items_path, out, timeout)
    try:
        anyio.run(_run, code, todo, results, tally, url, token, concurrency, retries, timeout, key)
    except KeyboardInterrupt:
        click.echo(f"\nblender-http batch: interrupted; {tally.summary()}; rerun the same command "
                   "to resume", err=True)
        raise Quiet(EXIT_INTERRUPTED) from None
    finally:
        results.close()
    click.echo(f"blender-http batch: {tally.summary()}; results in {out}", err=True)
    if tally.failed or tally.done < tally.total:
        raise Quiet(EXIT_FAILED)


async def _run(code: str, todo: list[tuple[int, Any]], results: batch_files.ResultsFile, tally: Tally,
               url: str | None, token: str | None, concurrency: int | None, retries: int,
               timeout: float | None, key: str) -> None:
    try:
        chosen_url, chosen_token = settings.choose(url, token)
    except settings.AmbiguousServer as exc:
        raise click.UsageError(str(exc)) from exc
    async with AsyncBlender(chosen_url, token=chosen_token) as blender:
        with client_errors():
            tally.concurrency = concurrency or default_concurrency(await blender.health())
        with Progress(tally) as progress:
            # Each item keeps its line number in the items file: its result line and its
            # idempotency key name it, however many items an earlier run already did.
            # concurrency None: map re-reads the capacity as it runs (workers added meanwhile).
            async for outcome in blender.map(code, [item for _, item in todo], concurrency=concurrency,
                                             retries=retries, ordered=False, timeout=timeout,
                                             batch_key=key, indexes=[i for i, _ in todo]):
                results.write(outcome)
                tally.add(outcome)
                progress.update()


class Tally:
    """How far the batch is: counts (this run's and an earlier one's), rate, what runs."""

    def __init__(self, *, total: int, earlier_ok: int, earlier_failed: int) -> None:
        self.total, self.earlier_ok, self.earlier_failed = total, earlier_ok, earlier_failed
        self.ok_now = self.failed_now = 0
        self.concurrency = 1
        self.started = time.monotonic()
        self.first_failure: str | None = None

    def add(self, outcome: ItemResult) -> None:
        if outcome.error is None:
            self.ok_now += 1
            return
        self.failed_now += 1
        if self.first_failure is None:
            kind = getattr(outcome.error, "type", type(outcome.error).__name__)
            self.first_failure = f"item {outcome.index}: {kind}: {outcome.error}"

    @property
    def ran(self) -> int:
        return self.ok_now + self.failed_now

    @property
    def failed(self) -> int:
        return self.earlier_failed + self.failed_now

    @property
    def done(self) -> int:
        return self.earlier_ok + self.earlier_failed + self.ran

    @property
    def running(self) -> int:
        return min(self.concurrency, self.total - self.done)

    @property
    def rate(self) -> float:
        return self.ran / max(time.monotonic() - self.started, 1e-9)

    def summary(self) -> str:
        elapsed = time.monotonic() - self.started
        text = (f"{self.done}/{self.total} items done, {self.earlier_ok + self.ok_now} succeeded, "
                f"{self.failed} failed")
        if self.earlier_ok + self.earlier_failed:
            text += f" ({self.earlier_ok + self.earlier_failed} done by an earlier run)"
        text += f"; {self.ran} ran in {elapsed:.1f} s ({self.rate:.1f} items/s)"
        if self.first_failure:
            text += f"; first failure: {self.first_failure}"
        return text


class Progress:
    """A rich progress bar on a terminal (done, failed, running, rate, ETA); a plain line
    every few seconds when stderr is piped."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self._last_line = 0.0
        self._bar: Any = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.fields[detail]}"), TimeRemainingColumn(),
                                     console=Console(stderr=True))
            self._task = self._bar.add_task("batch", total=tally.total, completed=tally.done,
                                            detail=self._detail())

    def _detail(self) -> str:
        t = self.tally
        return f"failed {t.failed}  running {t.running}  {t.rate:.1f}/s"

    def update(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.tally.done, detail=self._detail())
            return
        now = time.monotonic()
        if now - self._last_line >= PLAIN_EVERY_S:
            self._last_line = now
            t = self.tally
            click.echo(f"blender-http batch: {t.done}/{t.total} done, {t.failed} failed, "
                       f"{t.running} running, {t.rate:.1f} items/s", err=True)

    def __enter__(self) -> Progress:
        if self._bar is not None:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
