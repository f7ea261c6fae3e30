"""`lrulab conform`: run scenarios on real Linux kernels under QEMU and on the model.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from lrulab.kstate import diff

from .calls import FIRST_PASS, kernel_calls
from .calls import add_to_script as add_calls
from .calls import compare as compare_calls_of
from .calls import supported as calls_supported
from .compare import ScenarioComparison, StateRow, compare_op, format_text, mthp_key
from .kernels import DEFAULT_KERNELS, KERNELS, UnknownKernel, spec, spec_for_release
from .qemu import DEFAULT_TIMEOUT, Guest, GuestError, booted_once_more, run_guest
from .tools import ToolError, find_tools, setup
from .translate import NotApplicable, iter_ops, plan


class BadInput(Exception):
    """One-line error for exit status 2."""


@dataclass
class NotCompared:
    """A scenario a kernel did not compare in a run of several: 'skipped' (the kernel cannot
    express it; the status is unchanged) or 'guest-failed' (timed out, died after booting,
    an op failed; the other comparisons still run and the command exits 2)."""
    path: str
    reason: str
    kernel_name: str
    status: str = "skipped"


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
    deltas: list[dict[str, int]]      # per op, vmstat deltas and per-order stats (sysfs names)
    keys: set[str]                    # every counter the model keeps
    results: list[str]                # per op, the model's result string ("oops", ...)
    events: list[list[str]]           # per op, kernel events the model raised
    states: list[dict]                # per op, lrulab.kstate.model.model_state after it
    calls: list[list] = field(default_factory=list)   # per op, the THP shrinker's calls


def _mthp(k) -> dict[str, int]:
    return {mthp_key(key): v for key, v in getattr(k, "mthp_stat", {}).items()}


def run_model(path: Path, variant: str, patches: dict[str, bool],
              lrus: tuple[str, ...] = ()) -> ModelRun:
    """Run the scenario on the model with preset `variant` plus `patches`, op by op in the
    sequential runner's order (setup, then each thread), keeping counters and state per op
    (with the counts and shrinker bits of the list_lru users `lrus`)."""
    from lrulab.kstate.model import model_state
    from lrulab.ops import build_kernel
    from lrulab.runner import execute

    from .calls import model_calls

    scenario = _load(path, {"variant": variant, "patches": patches})
    try:
        k = build_kernel(scenario)
        plan_ = [("setup", op) for op in scenario.setup]
        plan_ += [(f"T{i}", op) for i, ops in enumerate(scenario.threads) for op in ops]
        tasks: dict[str, Any] = {}
        run = ModelRun([], set(k.vmstat), [], [], [])
        k.shrinker_calls = []
        for tname, op in plan_:
            if tname not in tasks:
                tasks[tname] = k.task(tname)
            k.current = tasks[tname]
            before, mbefore, nev = dict(k.vmstat), _mthp(k), len(k.events)
            result = execute(k, op)
            after = {**k.vmstat, **_mthp(k)}
            run.deltas.append({key: v - {**before, **mbefore}.get(key, 0)
                               for key, v in after.items()
                               if v != {**before, **mbefore}.get(key, 0)})
            run.results.append(str(result))
            run.events.append([str(e) for e in k.events[nev:]])
            run.states.append(model_state(k, lrus))
            run.calls.append(model_calls(k.shrinker_calls))
            k.shrinker_calls.clear()
    except Exception as e:  # a model bug, not bad input: one line unless LRULAB_DEBUG is set
        if os.environ.get("LRULAB_DEBUG"):
            raise
        raise BadInput(f"{path}: the model crashed ({type(e).__name__}: {e}); "
                       "set LRULAB_DEBUG=1 for the traceback") from None
    return run


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


class StateHook:
    """Reads the stopped guest's state after every op (drgn); conform_one compares it."""

    def __init__(self, vmlinux: Path, lrus: tuple[str, ...] = ()):
        from lrulab.kstate.reader import ReaderError

        self.vmlinux = vmlinux
        self.lrus = lrus          # scenario lrus read as the private sysfs's dentry lru
        self.reader = None
        self.states: dict[int, dict] = {}
        self.error = ReaderError

    def __call__(self, index: int, guest: Guest) -> None:
        from lrulab.kstate.reader import KernelReader, Where, open_guest, sb_dentry_lru

        from .translate import DCACHE_DIR

        if self.reader is None:
            prog = open_guest(self.vmlinux, guest.ram, guest.release)
            lrus, shrinkers = {}, {}
            for name in self.lrus:
                lrus[name], shrinkers[name] = sb_dentry_lru(prog, DCACHE_DIR)
            self.reader = KernelReader(prog, lrus, shrinkers)
        self.states[index] = self.reader.state(
            {n: Where(f.pid, f.addr, f.size) for n, f in guest.folios.items()})


def _state_tools(tools, want: bool | None) -> tuple[bool, str]:
    """(compare state?, why not): needs drgn and the kernel's vmlinux."""
    if want is False:
        return False, "--no-state"
    why = ""
    try:
        import drgn  # noqa: F401
    except ImportError:
        why = "drgn is not installed (pip install 'lrulab[conform]')"
    if not why and tools.kernel.vmlinux is None:
        why = (f"no vmlinux for {tools.kernel.release} (`lrulab conform --setup` fetches it; "
               "LRULAB_VMLINUX=PATH for --kernel-image)")
    if why and want:
        raise BadInput(f"--state: {why}")
    return not why, why


@dataclass
class KernelRun:
    """What one guest boot observed: its counters per op and (with the state) the kernel state
    after every op.  The kernel side depends only on the kernel image and the guest script, so
    one boot can be compared with several model configurations (see `GuestCache`)."""
    guest: Any                        # qemu.GuestRun
    states: dict[int, dict]


class GuestCache(dict):
    """Kernel runs by (kernel image, guest script, nodes, boot options, state compared), for
    callers that compare one kernel run with several models in one process (the qemu tests:
    a wrong model against the suite's own guest).  Only passed explicitly.  A run with `keep`
    always boots (its work directory is its own) but is stored for later runs without it."""


def conform_one(path: Path, *, kernel_image: str | None, variant: str | None,
                patches: dict[str, bool], keep: bool, timeout: float,
                kernel: str = DEFAULT_KERNELS[0], state: bool | None = None,
                guests: GuestCache | None = None, calls: bool = False) -> ScenarioComparison:
    scenario = _load(path)
    tools = find_tools(kernel_image, name=kernel)
    try:
        kspec = spec_for_release(tools.kernel.release) if kernel_image else spec(kernel)
    except UnknownKernel as e:
        raise BadInput(str(e)) from None
    gplan = plan(scenario, kspec.rules)              # NotApplicable propagates
    point_variant, point_patches = kspec.model.resolve(_presets())
    model_variant = variant or point_variant
    base = point_patches if variant is None else {}
    all_patches = {**base, **(getattr(scenario.kernel, "patches", {}) or {}), **patches}
    model = run_model(path, model_variant, all_patches, gplan.lrus)
    n_ops = len(iter_ops(scenario))
    if len(model.deltas) != n_ops:
        raise BadInput(f"{path}: the model ran {len(model.deltas)} ops, the scenario has {n_ops}")
    compare_state, why_not = _state_tools(tools, state)
    compare_calls = calls and calls_supported(kspec.rules.series)
    calls_why_not = ("" if compare_calls or not calls else
                     f"Linux {kspec.rules.series} has no fprobe events (6.6+)")
    if compare_calls:
        gplan.script = add_calls(gplan.script)
    key = (str(tools.kernel.image), gplan.script, gplan.nodes, tuple(gplan.boot), compare_state)
    reused = guests is not None and not keep and key in guests
    if reused:
        guest, states = guests[key].guest, guests[key].states
        workdir = guest.workdir
    else:
        guest, states, workdir = _boot(path, tools, gplan, compare_state, timeout)
        if guests is not None:
            guests[key] = KernelRun(guest, states)
    ops = []
    for i, gop in enumerate(gplan.ops):
        obs = guest.ops.get(gop.index)
        if obs is None:
            raise GuestError(f"guest reported nothing for op {gop.index}")
        c = compare_op(gop, obs, model.deltas[i], model.keys, kspec.rules)
        c.model_result, c.model_events = model.results[i], model.events[i]
        if compare_state:
            kst, mst = states.get(gop.index, {}), model.states[i]
            c.state = [StateRow(*d) for d in diff(kst, mst)]
            c.state_keys = len(set(kst) | set(mst))
            c.kernel_state = kst
        if compare_calls:
            kc = kernel_calls(obs.trace, guest.cgids)
            first_pass = "drop_caches" in gop.action
            c.calls = compare_calls_of(kc, model.calls[i], first_pass)
            c.calls_counted = (len(kc), len(model.calls[i]))
            c.calls_note = FIRST_PASS if first_pass else ""
        ops.append(c)
    if not keep and not reused:
        shutil.rmtree(workdir, ignore_errors=True)
    return ScenarioComparison(str(path), getattr(scenario, "name", path.stem), guest.release,
                              tools.kernel.version, model_variant, all_patches, guest.seconds,
                              ops, str(workdir) if keep else None, kspec.name, compare_state,
                              why_not, compare_calls, calls_why_not,
                              "" if reused else guest.boot_retry)


def _boot(path: Path, tools, gplan, compare_state: bool, timeout: float
          ) -> tuple[Any, dict[int, dict], Path]:
    """Run the guest (reading its state after every op when `compare_state`)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"lrulab-conform-{path.stem}-"))
    hook = None

    def boot():
        nonlocal hook
        hook = StateHook(tools.kernel.vmlinux, gplan.lrus) if compare_state else None
        return run_guest(tools, gplan.script, workdir, gplan.nodes, gplan.boot,
                         timeout=timeout, on_pause=hook)

    try:
        # a kernel that dies before /init (a TCG boot flake) is booted once more, and the
        # result says so
        guest, retry = booted_once_more(boot, workdir)
        guest.boot_retry = retry
    except GuestError as e:
        # a failed guest keeps its console log (and script) even without --keep
        (workdir / "initramfs.cpio.gz").unlink(missing_ok=True)
        raise GuestError(f"{e} [logs kept in {workdir}]") from None
    except Exception as e:
        if hook is not None and isinstance(e, hook.error):
            raise BadInput(f"{path}: reading the kernel state: {e}") from None
        raise
    return guest, (hook.states if hook is not None else {}), workdir


def _presets() -> set[str]:
    from lrulab.kernel.config import PRESETS

    return set(PRESETS)


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
        do_setup: bool = False, timeout: float = DEFAULT_TIMEOUT, echo=click.echo,
        kernels: tuple[str, ...] = (), state: bool | None = None,
        guests: GuestCache | None = None, calls: bool = False) -> int:
    """The whole command; returns the exit status.  `guests`: reuse kernel runs across calls
    (see GuestCache)."""
    t0 = time.monotonic()
    try:
        names = real_kernels(kernels) or DEFAULT_KERNELS
        if variant is not None:
            _model_kernel(variant)
        if kernel_image:
            names = (names[0],)           # the image's own release picks its rules
        if do_setup:
            for tools in setup(install=True, names=names, debug=state is not False):
                echo(f"conform setup: {tools.qemu}; kernel {tools.kernel.version} "
                     f"({tools.kernel.image}, release {tools.kernel.release}); vmlinux "
                     f"{tools.kernel.vmlinux or '-'}; probe {tools.probe}", err=bool(files))
            if not files:
                return 0
        patches = _parse_patch(patch)
        paths = expand(files)
        results: list[ScenarioComparison | NotCompared] = []
        single = len(paths) == 1 and len(names) == 1  # its failure is the command's error
        for p in paths:
            for name in names:
                try:
                    results.append(conform_one(p, kernel_image=kernel_image, variant=variant,
                                               patches=patches, keep=keep, timeout=timeout,
                                               kernel=name, state=state, guests=guests,
                                               calls=calls))
                except NotApplicable as e:
                    if single:
                        raise BadInput(f"not applicable to {name}: {e}") from None
                    results.append(NotCompared(str(p), str(e), name))
                except GuestError as e:
                    if single:
                        raise
                    results.append(NotCompared(str(p), str(e), name, "guest-failed"))
                if not as_json:
                    echo(_text_of(results[-1]))
                    echo("")
        if all(isinstance(r, NotCompared) and r.status == "skipped" for r in results):
            raise BadInput("no scenario can run on " + ", ".join(names) + ": "
                           + "; ".join(f"{r.kernel_name}: {r.reason}" for r in results))
    except (BadInput, ToolError, GuestError) as e:
        from lrulab.cli import one_line  # a value typed with a newline stays on one line
        echo(f"lrulab conform: {one_line(str(e))}", err=True)
        return 2
    ran = [r for r in results if isinstance(r, ScenarioComparison)]
    bad = [r for r in ran if r.disagreements]
    failed = [r for r in results if isinstance(r, NotCompared) and r.status == "guest-failed"]
    total = time.monotonic() - t0
    if as_json:
        echo(json.dumps({
            "agree": not bad, "seconds": round(total, 1), "guests_failed": len(failed),
            "scenarios": [_json_of(r) for r in results]}, indent=2))
    else:
        skipped = len(results) - len(ran) - len(failed)
        echo(f"conform: {len(ran) - len(bad)} agree, {len(bad)} disagree, {skipped} skipped"
             f"{f', {len(failed)} guests failed' if failed else ''} in {total:.0f} s")
    if failed:
        # a failed guest is not a verdict: say which, on one line each, and exit as a tool error
        from lrulab.cli import one_line
        for r in failed:
            echo(f"lrulab conform: {r.path} on {r.kernel_name}: {one_line(r.reason)}",
                 err=True)
        return 2
    return 1 if bad else 0


def _text_of(r) -> str:
    if isinstance(r, ScenarioComparison):
        return format_text(r)
    return f"{r.path}: {r.status.replace('-', ' ').upper()} on {r.kernel_name}: {r.reason}"


def _json_of(r) -> dict:
    if isinstance(r, ScenarioComparison):
        return r.to_json()
    return {"path": r.path, "status": r.status, "reason": r.reason,
            "kernel_name": r.kernel_name}


def _point_of(name: str) -> str | None:
    """The point of history a real kernel of KERNELS is (debian-6.1 -> debian-6.1.192)."""
    from lrulab.kernel import history
    for cand in KERNELS[name].model.presets:
        try:
            return history.resolve(cand)
        except KeyError:
            continue
    return None


def real_kernels(values) -> tuple[str, ...]:
    """--kernel NAME,... (repeatable, comma-separated): a real kernel of KERNELS, or the point
    of history it is (debian-6.1.192 boots debian-6.1); BadInput otherwise."""
    by_point = {_point_of(n): n for n in KERNELS}
    out = []
    for value in values:
        parts = [n for n in value.split(",") if n.strip()]
        if not parts:
            raise BadInput(f"--kernel {value!r}: name one or more kernels: {', '.join(KERNELS)}")
        for raw in parts:
            name = raw if raw in KERNELS else by_point.get(raw)
            if name is None:  # the value as typed (a newline in it is shown escaped)
                raise BadInput(f"--kernel {raw}: unknown; choose one of: "
                               f"{', '.join(KERNELS)} (or the points "
                               f"{', '.join(p for p in by_point if p)})")
            out.append(name)
    return tuple(dict.fromkeys(out))


def _model_kernel(name: str) -> None:
    """--variant/--preset: a kernel of the model (a point of history or a preset)."""
    from lrulab.kernel.config import ConfigError, kernel_flags
    try:
        kernel_flags(name)
    except ConfigError as e:
        raise BadInput(f"--variant {name}: {e}") from None


@click.command("conform")
@click.argument("files", nargs=-1, type=click.Path())
@click.option("--kernel", "kernels", multiple=True, metavar="NAME,...",
              help=f"real kernel to run on, repeatable or comma-separated: "
                   f"{', '.join(KERNELS)} or the point of history each is (debian-6.1.192) "
                   "(default: each, for every scenario it can express)")
@click.option("--kernel-image", type=click.Path(), default=None,
              help="vmlinuz to boot instead (its release picks the rules; LRULAB_VMLINUX "
                   "gives its vmlinux)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
@click.option("--keep", is_flag=True, help="keep the initramfs, guest script and serial logs")
@click.option("--variant", "--preset", "variant", default=None,
              help="model kernel to compare with: a point of history or preset (default: "
                   "the kernel's point of history, see docs/conformance.md); --preset: the "
                   "same")
@click.option("--state/--no-state", default=None,
              help="compare the kernel state after every op (drgn); default: when the "
                   "kernel's vmlinux is cached and drgn is installed")
@click.option("--calls", is_flag=True,
              help="also compare each op's THP shrinker calls (deferred_split_count/scan: "
                   "node, memcg, nr_to_scan, result) via fprobe events (6.12; not 6.1)")
@click.option("--patch", multiple=True, metavar="FLAG=BOOL", help="override a model patch flag")
@click.option("--setup", "do_setup", is_flag=True,
              help="install qemu-system-x86/gcc/binutils (apt), fetch the kernels and (unless "
                   "--no-state) their -dbg vmlinux, build the probe")
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True,
              help="seconds one guest may run")
def conform(files, kernels, kernel_image, as_json, keep, variant, state, calls, patch, do_setup,
            timeout):
    """Run scenario FILES (or directories of them) on real Linux kernels under QEMU and on the
    model, and compare the per-op counter deltas and the kernel state after every op.
    Exit 0 agree, 1 disagree, 2 bad input/missing tools."""
    sys.exit(run(tuple(files), kernel_image=kernel_image, as_json=as_json, keep=keep,
                 variant=variant, patch=tuple(patch), do_setup=do_setup, timeout=timeout,
                 kernels=tuple(kernels), state=state, calls=calls))


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
