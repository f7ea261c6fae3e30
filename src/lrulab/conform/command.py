"""`lrulab conform`: run scenarios on a real Linux 6.1 kernel under QEMU and on the model.

Exit status: 0 every compared counter agrees, 1 some disagree, 2 bad input, missing tools or
a guest that did not finish. ``main(argv) -> int`` is the same thing without click's exit.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .compare import ScenarioComparison, compare_op, format_text
from .qemu import DEFAULT_TIMEOUT, GuestError, run_guest
from .tools import ToolError, find_tools, setup
from .translate import NotApplicable, iter_ops, plan

DEFAULT_VARIANT = "linux-6.1"


class BadInput(Exception):
    """One-line error for exit status 2."""


@dataclass
class Skipped:
    path: str
    reason: str


def _load(path: Path, overrides: dict | None = None) -> Any:
    try:
        from lrulab.scenario import ScenarioError, load_scenario
    except ImportError as e:  # pragma: no cover - only before the loader exists
        raise BadInput(f"lrulab.scenario is not available ({e})") from None
    try:
        return load_scenario(path, overrides)
    except ScenarioError as e:
        raise BadInput(str(e)) from None


@dataclass
class ModelRun:
    deltas: list[dict[str, int]]      # per op, as the model's vmstat_delta
    keys: set[str]                    # every counter the model keeps
    results: list[str]                # per op, the model's result string ("oops", ...)
    events: list[list[str]]           # per op, kernel events the model raised


def run_model(path: Path, variant: str, patches: dict[str, bool]) -> ModelRun:
    """Run the scenario on the model with preset `variant` plus `patches` (sequential runner)."""
    try:
        from lrulab.runner import run_scenario
    except ImportError as e:  # pragma: no cover
        raise BadInput(f"lrulab.runner (the model) is not available ({e})") from None
    scenario = _load(path, {"variant": variant, "patches": patches})
    try:
        res = run_scenario(scenario, trace=False)
    except Exception as e:  # a model bug, not bad input: one line unless LRULAB_DEBUG is set
        if os.environ.get("LRULAB_DEBUG"):
            raise
        raise BadInput(f"{path}: the model crashed ({type(e).__name__}: {e}); "
                       "set LRULAB_DEBUG=1 for the traceback") from None
    return ModelRun([dict(r.vmstat_delta) for r in res.ops], set(res.vmstat),
                    [str(r.result) for r in res.ops], [list(r.events) for r in res.ops])


def expand(paths: tuple[str, ...]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.suffix in (".yaml", ".yml"))
        elif p.exists():
            out.append(p)
        else:
            raise BadInput(f"{p}: no such file or directory")
    if not out:
        raise BadInput("no scenario files given")
    return out


def conform_one(path: Path, *, kernel_image: str | None, variant: str | None,
                patches: dict[str, bool], keep: bool, timeout: float) -> ScenarioComparison:
    scenario = _load(path)
    gplan = plan(scenario)                       # NotApplicable propagates
    model_variant = variant or DEFAULT_VARIANT
    all_patches = {**(getattr(scenario.kernel, "patches", {}) or {}), **patches}
    model = run_model(path, model_variant, all_patches)
    n_ops = len(iter_ops(scenario))
    if len(model.deltas) != n_ops:
        raise BadInput(f"{path}: the model ran {len(model.deltas)} ops, the scenario has {n_ops}")
    tools = find_tools(kernel_image)
    workdir = Path(tempfile.mkdtemp(prefix=f"lrulab-conform-{path.stem}-"))
    try:
        guest = run_guest(tools, gplan.script, workdir, gplan.nodes, gplan.boot, timeout=timeout)
    except GuestError:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    ops = []
    for i, gop in enumerate(gplan.ops):
        obs = guest.ops.get(gop.index)
        if obs is None:
            raise GuestError(f"guest reported nothing for op {gop.index}")
        c = compare_op(gop, obs, model.deltas[i], model.keys)
        c.model_result, c.model_events = model.results[i], model.events[i]
        ops.append(c)
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return ScenarioComparison(str(path), getattr(scenario, "name", path.stem), guest.release,
                              tools.kernel.version, model_variant, all_patches, guest.seconds,
                              ops, str(workdir) if keep else None)


def _parse_patch(items: tuple[str, ...]) -> dict[str, bool]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        v = value.strip().lower()
        if not sep or v not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            raise BadInput(f"--patch {item}: expected NAME=true or NAME=false")
        out[name.strip()] = v in ("true", "1", "yes", "on")
    return out


def run(files: tuple[str, ...], *, kernel_image: str | None = None, as_json: bool = False,
        keep: bool = False, variant: str | None = None, patch: tuple[str, ...] = (),
        do_setup: bool = False, timeout: float = DEFAULT_TIMEOUT, echo=click.echo) -> int:
    """The whole command; returns the exit status."""
    t0 = time.monotonic()
    try:
        if do_setup:
            tools = setup(install=True)
            echo(f"conform setup: {tools.qemu}; kernel {tools.kernel.version} "
                 f"({tools.kernel.image}); probe {tools.probe}", err=bool(files))
            if not files:
                return 0
        patches = _parse_patch(patch)
        paths = expand(files)
        results: list[ScenarioComparison | Skipped] = []
        for p in paths:
            try:
                results.append(conform_one(p, kernel_image=kernel_image, variant=variant,
                                           patches=patches, keep=keep, timeout=timeout))
            except NotApplicable as e:
                if len(paths) == 1:
                    raise BadInput(f"not applicable to Linux 6.1: {e}") from None
                results.append(Skipped(str(p), str(e)))
            if not as_json:
                r = results[-1]
                echo(format_text(r) if isinstance(r, ScenarioComparison)
                     else f"{r.path}: SKIPPED: {r.reason}")
                echo("")
    except (BadInput, ToolError, GuestError) as e:
        echo(f"lrulab conform: {e}", err=True)
        return 2
    ran = [r for r in results if isinstance(r, ScenarioComparison)]
    bad = [r for r in ran if r.disagreements]
    total = time.monotonic() - t0
    if as_json:
        echo(json.dumps({
            "agree": not bad, "seconds": round(total, 1),
            "scenarios": [r.to_json() if isinstance(r, ScenarioComparison)
                          else {"path": r.path, "status": "skipped", "reason": r.reason}
                          for r in results]}, indent=2))
    else:
        skipped = len(results) - len(ran)
        echo(f"conform: {len(ran) - len(bad)} agree, {len(bad)} disagree, {skipped} skipped "
             f"in {total:.0f} s")
    return 1 if bad else 0


@click.command("conform")
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--kernel-image", type=click.Path(), default=None,
              help="vmlinuz to boot (default: Debian's linux-image-6.1.*-amd64, fetched and "
                   "cached)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.option("--keep", is_flag=True, help="keep the initramfs, guest script and serial logs")
@click.option("--variant", default=None,
              help=f"model preset to compare with (default {DEFAULT_VARIANT})")
@click.option("--patch", multiple=True, metavar="FLAG=BOOL", help="override a model patch flag")
@click.option("--setup", "do_setup", is_flag=True,
              help="install qemu-system-x86/gcc (apt), fetch the kernel, build the probe")
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True,
              help="seconds one guest may run")
def conform(files, kernel_image, as_json, keep, variant, patch, do_setup, timeout):
    """Run scenario FILES (or directories of them) on Linux 6.1 under QEMU and on the model,
    and compare the per-op counter deltas. Exit 0 agree, 1 disagree, 2 bad input/missing tools."""
    sys.exit(run(tuple(files), kernel_image=kernel_image, as_json=as_json, keep=keep,
                 variant=variant, patch=tuple(patch), do_setup=do_setup, timeout=timeout))


def main(argv: list[str] | None = None) -> int:
    """`lrulab conform` as a function: returns the exit status instead of exiting."""
    try:
        conform.main(args=list(argv if argv is not None else sys.argv[1:]),
                     prog_name="lrulab conform", standalone_mode=True)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
