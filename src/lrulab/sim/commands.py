"""`lrulab simulate`: run a workload under several presets and compare them."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import click

from ..kernel.config import PRESETS, ConfigError


class Duration(click.ParamType):
    """Seconds, or a number with s, m, h or d."""

    name = "duration"
    UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        text = str(value).strip()
        scale = self.UNITS.get(text[-1:].lower(), None)
        try:
            return float(text[:-1] if scale else text) * (scale or 1)
        except ValueError:
            self.fail(f"{value!r} is not a duration; write seconds or e.g. 90m, 2h, 1d",
                      param, ctx)


MARKER = ".lrulab-simulate"  # in every --out directory lrulab made: it may write there again
OUT_FILES = ("report.md", "metrics.json", "metrics.csv", "samples.csv", "queue.png",
             "freed.png", "lost.png")
MAX_EVENTS = 1_000_000_000  # default --max-events: hours of simulation per preset
NOTE_SECONDS = 600  # say how long a run will take when it is longer than this


def _claim_out(out: Path, workload: str) -> None:
    """Make ``out`` ours before simulating: a new (or empty) directory gets the marker; an
    existing one must carry it.  A user's directory, a file, or the workload itself is
    refused, so a report never overwrites what the user wrote."""
    from ..cli import BadInput
    if out.exists() and not out.is_dir():
        raise BadInput(f"--out {out}: is a file, not a directory; give a new directory")
    if out.is_dir() and not (out / MARKER).is_file() and any(out.iterdir()):
        raise BadInput(f"--out {out}: exists and was not made by 'lrulab simulate'; give a "
                       "new directory (nothing in it is overwritten)")
    for name in OUT_FILES:
        target = out / name
        try:
            same = target.exists() and os.path.samefile(target, workload)
        except OSError:
            same = False
        if same:
            raise BadInput(f"--out {out}: {name} there is the workload file; give another "
                           "directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / MARKER).write_text("written by lrulab simulate; it may overwrite the report "
                                  "files here\n")
    except OSError as e:
        raise BadInput(f"--out {out}: cannot write there ({e.strerror or e}); give a "
                       "writable directory") from None


def _write_out(results, w, seed, duration, out: Path, plots: bool) -> list[str]:
    """Write every file into a temporary directory beside them, then move each into ``out``
    (a rename each): a failure leaves the old files or the new, never half a file."""
    from . import report
    tmp = Path(tempfile.mkdtemp(prefix=".lrulab-tmp-", dir=out))
    try:
        files = report.write_out(results, w, seed, duration, tmp, plots)
        for name in files:
            os.replace(tmp / name, out / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return files


@click.command()
@click.argument("workload")
@click.option("--kernel", "--presets", "--preset", "presets", multiple=True,
              metavar="A,B,C", help="kernels to compare, repeatable or comma-separated "
              "(default: every preset; 'lrulab variants'); --presets: the same")
@click.option("--seed", type=int, default=None, help="random seed (default: the workload's)")
@click.option("--duration", type=Duration(), default=None, help="time to simulate: seconds, "
              "or with a unit like 90m, 2h, 1d (default: the workload's)")
@click.option("--out", "out", default=None, metavar="DIR",
              help="write report.md, PNG plots, metrics.json/csv and samples.csv here")
@click.option("--no-plots", is_flag=True, help="with --out: skip the PNG plots")
@click.option("--json", "as_json", is_flag=True, help="metrics as one JSON object on stdout")
@click.option("--max-events", type=click.FloatRange(min=1), default=MAX_EVENTS,
              show_default=True, help="refuse a run expected to draw more events than this "
              "per preset (about 60,000 events per second)")
def simulate(workload, presets, seed, duration, out, no_plots, as_json, max_events):
    """Run WORKLOAD (a file, or a built-in name from workloads/) under each preset.

    Prints a table of deferred-split metrics per preset: memory freed per reclaim pass (on the
    pressured node/memcg or elsewhere), lost memcg reclaim, stale-bit shrinker calls, scan and
    lock cost, queued and stranded THPs."""
    from ..cli import BadInput, kernel_list
    from . import report
    from .engine import simulate as run_one
    from .workload import (
        EVENTS_PER_SECOND,
        WorkloadError,
        builtin_names,
        expected_events,
        load_workload,
        resolve,
    )

    names = kernel_list("--kernel/--presets/--preset", presets) or list(PRESETS)
    if duration is not None and not 0 < duration < float("inf"):
        raise BadInput(f"--duration {duration}: give a positive number of seconds")
    if seed is not None and seed < 0:
        raise BadInput(f"--seed {seed}: give a non-negative integer")
    try:
        w = load_workload(resolve(workload))
    except WorkloadError as e:
        msg = str(e)
        if ":0: no such file" in msg:
            msg += f" (built-in: {', '.join(builtin_names())})" if "built-in" not in msg else ""
        raise BadInput(msg) from None
    seed = w.seed if seed is None else seed
    duration = w.duration if duration is None else duration
    if out and not no_plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise BadInput("--out needs matplotlib for the plots: pip install 'lrulab[sim]', "
                           "or add --no-plots") from None
    if duration / w.sample_every > 100_000:
        raise BadInput(f"--duration {duration:g}: over 100,000 samples of {w.sample_every:g} s; "
                       "give a shorter duration or a larger sample_every in the workload")
    events = expected_events(w, duration)
    if events > max_events:
        raise BadInput(f"{w.path}:1: about {events:.3g} events per preset at these rates, "
                       f"over --max-events {max_events:.3g} (about "
                       f"{events / EVENTS_PER_SECOND / 3600:.3g} h each); lower the rates, "
                       "counts or --duration, or raise --max-events")
    wall = events * len(names) / EVENTS_PER_SECOND
    if wall > NOTE_SECONDS:
        click.echo(f"lrulab: note: about {events:.3g} events per preset, expect about "
                   f"{wall / 60:.0f} min", err=True)
    if out:  # fail before an hour of simulation, not after
        _claim_out(Path(out), w.path)

    results = []
    show = sys.stderr.isatty() and not as_json
    try:
        if show:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
            with Progress(TextColumn("{task.description}"), BarColumn(),
                          TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                          console=Console(stderr=True), transient=True) as prog:
                for p in names:
                    task = prog.add_task(f"{p:<11}", total=duration)
                    results.append(run_one(w, p, seed, duration,
                                           lambda t, task=task: prog.update(task, completed=t)))
                    prog.update(task, completed=duration)
        else:
            for p in names:
                results.append(run_one(w, p, seed, duration))
    except ConfigError as e:
        raise BadInput(f"{w.path}:1: {e}") from None

    # the results are written before anything is printed: a long run is never lost
    files, failed = [], None
    if out:
        try:
            files = _write_out(results, w, seed, duration, Path(out), not no_plots)
        except OSError as e:
            failed = BadInput(f"--out {out}: cannot write there ({e.strerror or e}); give a "
                              "writable directory")
    if as_json:
        click.echo(report.metrics_json(results, w, seed, duration), nl=False)
    else:
        report.print_table(results, w, seed, duration)
    if failed is not None:
        raise failed
    if out and not as_json:
        click.echo(f"wrote {', '.join(files)} to {out}")
