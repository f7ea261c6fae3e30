"""`lrulab simulate`: run a workload under several presets and compare them."""

from __future__ import annotations

import sys
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
def simulate(workload, presets, seed, duration, out, no_plots, as_json):
    """Run WORKLOAD (a file, or a built-in name from workloads/) under each preset.

    Prints a table of deferred-split metrics per preset: memory freed per reclaim pass (on the
    pressured node/memcg or elsewhere), lost memcg reclaim, stale-bit shrinker calls, scan and
    lock cost, queued and stranded THPs."""
    from ..cli import BadInput, kernel_list
    from . import report
    from .engine import simulate as run_one
    from .workload import WorkloadError, builtin_names, load_workload, resolve

    names = kernel_list("--kernel", presets) or list(PRESETS)
    if duration is not None and not duration > 0:
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
    if out:  # fail before an hour of simulation, not after
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise BadInput(f"--out {out}: cannot write there ({e.strerror or e}); give a "
                           "writable directory") from None

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

    if as_json:
        click.echo(report.metrics_json(results, w, seed, duration), nl=False)
    else:
        report.print_table(results, w, seed, duration)
    if out:
        try:
            files = report.write_out(results, w, seed, duration, Path(out), not no_plots)
        except OSError as e:
            raise BadInput(f"--out {out}: cannot write there ({e.strerror or e}); give a "
                           "writable directory") from None
        if not as_json:
            click.echo(f"wrote {', '.join(files)} to {out}")
