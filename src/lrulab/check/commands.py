"""``lrulab check``, ``lrulab replay`` and ``lrulab bugs``.

Exit codes: 0 ok, 1 violation, 2 bad input, 3 incomplete (a bound was hit, nothing found).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time

import click

from ..cli import (
    BadInput,
    boot_opt,
    configured,
    json_opt,
    kernel_option,
    load,
    overrides,
    patch_opt,
    select_opts,
    selection,
    variant_opt,
)
from . import report as rp
from .engine import Bounds, expire, reset_expired
from .outcome import expectation, ktap_check

EXIT = {"ok": 0, "violation": 1, "incomplete": 3}
CATALOG = os.path.join("scenarios", "bugs")


def _bounds(max_steps, max_preemptions, max_states, timeout) -> Bounds:
    for name, val in (("--max-steps", max_steps), ("--max-preemptions", max_preemptions),
                      ("--max-states", max_states)):
        if val is not None and val < 0:
            raise BadInput(f"{name} {val}: give a non-negative number")
    if timeout is not None and not (0 < timeout and math.isfinite(timeout)):
        raise BadInput(f"--timeout {timeout}: give a positive number of seconds")
    return Bounds(max_steps, max_preemptions, max_states, timeout)


class _OutOfTime(BaseException):
    """--timeout ran out outside the search (loading, setup, rendering).  A BaseException, as
    KeyboardInterrupt is: the model turns an Exception raised inside a kernel step into a
    model error of that thread, and this one must unwind the whole command instead."""


@contextlib.contextmanager
def _alarm(seconds: float | None):
    """Raise _OutOfTime in the main thread after ``seconds``: the backstop that makes --timeout
    bound the whole command (the search stops itself at the same deadline)."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum, frame):
        # the flag first: if the exception is swallowed (the alarm went off inside a gc
        # callback or a __del__), the search still stops at its next state
        expire()
        _interrupt()

    reset_expired()
    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        reset_expired()


def _interrupt() -> None:
    """Unwind the command from wherever the alarm found it."""
    raise _OutOfTime


def _is_trace(path: str) -> bool:
    """Whether ``path`` holds an lrulab trace (so --trace-out may replace it)."""
    try:
        if os.path.getsize(path) > rp.MAX_TRACE_BYTES:
            return False
        with open(path, encoding="utf-8") as f:
            t = json.load(f)
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(t, dict) and t.get("format") == rp.TRACE_FORMAT


def _check_trace_out(trace_out: str, scenario: str, force: bool) -> None:
    """Refuse (before any search) a --trace-out that would destroy what the user wrote: the
    scenario being checked (whatever the spelling: symlinks, ./, ..), a directory, or an
    existing file that is not an lrulab trace (unless --force)."""
    if not os.path.lexists(trace_out):
        return
    try:
        same = os.path.samefile(trace_out, scenario)
    except OSError:
        same = False
    if same:
        raise BadInput(f"--trace-out {trace_out}: that is the scenario being checked; give "
                       "another file")
    if os.path.isdir(trace_out):
        raise BadInput(f"--trace-out {trace_out}: is a directory; give a file name")
    if not force and not _is_trace(trace_out):
        raise BadInput(f"--trace-out {trace_out}: exists and is not an lrulab trace; give a new "
                       "file, or add --force to overwrite it")


def _write_trace(trace_out: str, data: dict) -> None:
    """Write beside the target and rename over it: a failure leaves the old file whole."""
    d = os.path.dirname(os.path.abspath(trace_out))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".lrulab-trace-", dir=d)
    except OSError as e:
        raise BadInput(f"--trace-out {trace_out}: cannot write ({e.strerror}); give a "
                       "writable path") from None
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
        os.replace(tmp, trace_out)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise BadInput(f"--trace-out {trace_out}: cannot write ({e.strerror}); give a "
                       "writable path") from None


def _progress():
    if not sys.stderr.isatty():
        return None
    t0 = time.monotonic()

    def show(level, states, transitions):
        click.echo(f"\r  depth {level}  states {states}  transitions {transitions}  "
                   f"{time.monotonic() - t0:.1f}s", err=True, nl=False)
    return show


def _end_progress(p):
    if p is not None:
        click.echo("\r" + " " * 70 + "\r", err=True, nl=False)


def _jobs(jobs):
    if jobs < 1:
        raise BadInput(f"--jobs {jobs}: give 1 or more")
    return jobs


bound_opts = [
    click.option("--max-steps", type=int, help="explore schedules up to this many steps"),
    click.option("--max-preemptions", type=int,
                 help="switch away from a thread that could go on at most this often"),
    click.option("--max-states", type=int, help="stop after this many distinct states"),
    click.option("--timeout", type=float, help="stop after this many seconds"),
]
first_opt = click.option("--first", is_flag=True,
                         help="stop at the first violation (default: every violated property "
                              "and failing assert, each with its own shortest schedule)")
symmetry_opt = click.option(
    "--symmetry/--no-symmetry", default=False, show_default=True,
    help="merge states equal up to interchangeable memcgs (scenarios whose memcgs, setup and "
         "threads are invariant under swapping them; replaces sleep sets when the scenario "
         "has such a symmetry)")
format_opt = click.option("--format", "fmt", type=click.Choice(["text", "ktap"]),
                          default="text", show_default=True,
                          help="ktap: KTAP, as kselftests print")


def _apply(opts):
    def deco(f):
        for o in reversed(opts):
            f = o(f)
        return f
    return deco


@click.command()
@click.argument("file")
@variant_opt
@patch_opt
@boot_opt
@json_opt
@click.option("--jobs", default=1, show_default=True, help="worker processes")
@_apply(bound_opts)
@click.option("--trace-out", metavar="FILE", help="write the counterexample as JSON (never over "
              "the scenario, nor over a file that is not a trace unless --force)")
@click.option("--force", is_flag=True, help="let --trace-out replace a file that is not a trace")
@click.option("--no-reduction", is_flag=True,
              help="no sleep sets: plain search over the state graph")
@click.option("--no-state-cache", is_flag=True,
              help="plain search that does not merge equal states either (the tree of all "
                   "interleavings; implies --no-reduction)")
@symmetry_opt
@select_opts
@first_opt
@format_opt
def check(file, variant, patch, boot, as_json, jobs, max_steps, max_preemptions, max_states,
          timeout, trace_out, force, no_reduction, no_state_cache, symmetry, check_props,
          ignore_props, strict, first, fmt):
    """Explore every interleaving of FILE's threads, step by atomic kernel step, and check its
    properties.  Prints, for each violated property and failing assert, its shortest
    counterexample, or ok within the bounds.  --timeout bounds the whole command: loading,
    setup, search, the shortest traces and their rendering."""
    t0 = time.monotonic()
    kov = overrides(variant, patch, boot)
    ov = {**kov, **selection(check_props, ignore_props, strict)}
    bounds = _bounds(max_steps, max_preemptions, max_states, timeout)
    jobs = _jobs(jobs)
    if trace_out:
        _check_trace_out(trace_out, file, force)
    phase = "loading the scenario"
    prog = None
    try:
        with _alarm(timeout):
            sc = load(file, ov)
            from ..world import KernelWorld
            phase = "running the setup ops"
            w = KernelWorld(sc)
            phase = "the search"
            if timeout is not None:  # the search stops itself first, leaving time to render
                bounds.timeout = max(0.9 * (timeout - (time.monotonic() - t0)), 1e-6)
            prog = _progress()
            w, res, rendered = rp.check_file(file, ov, bounds, jobs=jobs,
                                             cache=not no_state_cache, progress=prog, world=w,
                                             reduction=not no_reduction, symmetry=symmetry,
                                             stop_at_first=first)
            _end_progress(prog)
            phase = "rendering"
            violated = {r["property"] for r in rendered}
            exp = None if configured(kov) else expectation(sc.expect, res.verdict, violated)
            if trace_out and rendered:
                _write_trace(trace_out, rp.trace_file_json(w, rendered[0], ov))
            res.seconds = time.monotonic() - t0
            out = _report(w, sc, res, rendered, ov, exp, as_json, fmt)
    except _OutOfTime:
        _end_progress(prog)
        _out_of_time(file, phase, time.monotonic() - t0, as_json)
        sys.exit(EXIT["incomplete"])
    click.echo(out)
    sys.exit(exp[1] if exp is not None else EXIT[res.verdict])


def _report(w, sc, res, rendered, ov, exp, as_json: bool, fmt: str) -> str:
    """The check's report: JSON, KTAP or text."""
    if as_json:
        out = rp.result_json(w, res, rendered, ov)
        if exp is not None:
            out["expect"] = {"violation": sc.expect["violation"], "outcome": exp[0]}
        return json.dumps(out, indent=1)
    if fmt == "ktap":
        tests = [p for p in sc.check if p != "assertion"]
        tests += [f"assertion {a.where()}" for a in sc.all_asserts() if "assertion" in sc.check]
        fails = {_ktap_name(r): rp.trace_lines(r) for r in rendered}
        want = sc.expect.get("violation") if exp is not None else None
        return "\n".join(ktap_check(rp.summary_line(w, res).splitlines()[0], tests, fails,
                                    res.verdict, want, res.accepted, res.bound_hit))
    lines = [rp.summary_line(w, res)]
    if exp is not None:
        lines.append(f"expect: {exp[0]}")
    for r in rendered:
        lines.append("")
        lines.extend(rp.trace_lines(r))
    return "\n".join(lines)


def _ktap_name(r: dict) -> str:
    if r["property"] == "assertion":
        return f"assertion {r['message'].split(': ', 1)[0]}"
    return r["property"]


def _out_of_time(file: str, phase: str, seconds: float, as_json: bool) -> None:
    """The incomplete verdict of a check whose --timeout ran out outside the search."""
    if as_json:
        click.echo(json.dumps({"scenario": file, "verdict": "incomplete", "violations": [],
                               "states": 0, "executions": 0, "transitions": 0,
                               "bounds_hit": ["timeout"], "timed_out_in": phase,
                               "seconds": round(seconds, 3)}, indent=1))
    else:
        click.echo(f"{file}\nverdict: incomplete (bounds hit: timeout) -- out of time in {phase}"
                   f", {seconds:.2f}s")



def _key_line(text: str, key: str) -> int:
    """The line of the first '"key":' in a trace's text (json keeps no lines), else 1."""
    i = text.find(f'"{key}"')
    return text.count("\n", 0, i) + 1 if i >= 0 else 1


def _known_kernel(name: str) -> bool:
    """Whether ``name`` is a kernel check may have written into a trace: a preset or a point
    of history the model covers (check --kernel takes both)."""
    from ..kernel.config import ConfigError, kernel_flags
    try:
        kernel_flags(name)
    except ConfigError:
        return False
    return True


def _trace_fields(file: str, t) -> tuple:
    """(scenario, overrides, property, schedule, key -> line) of a parsed trace, each checked
    for its type and its names (variant, flags, boot options, properties); BadInput naming
    the trace's own file:line otherwise."""
    from ..kernel.config import BOOT_OPTIONS, FLAGS, PRESETS
    from ..scenario import PROPERTIES
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        text = ""

    def bad(key, msg):
        raise BadInput(f"{file}:{_key_line(text, key)}: {msg}; regenerate it with "
                       "'lrulab check --trace-out'")
    if not isinstance(t, dict) or t.get("format") != rp.TRACE_FORMAT:
        raise BadInput(f"{file}:1: not a {rp.TRACE_FORMAT} trace; give a file written by "
                       "'lrulab check --trace-out'")
    for key in ("scenario", "variant", "patches", "boot", "property", "schedule"):
        if key not in t:
            bad("format", f"trace lacks {key!r}")
    scen, variant, patches, boot, prop, sched = (
        t[k] for k in ("scenario", "variant", "patches", "boot", "property", "schedule"))
    if not isinstance(scen, str) or not scen:
        bad("scenario", "'scenario' must be the scenario file's path")
    if not isinstance(variant, str) or not _known_kernel(variant):
        bad("variant", f"unknown variant {variant!r}; a preset ({', '.join(PRESETS)}) or a "
            "point 'lrulab variants' lists")
    if not isinstance(patches, dict) or any(
            k not in FLAGS or not isinstance(v, bool) for k, v in patches.items()):
        bad("patches", "'patches' must map known flags to true or false")
    if not isinstance(boot, list) or any(not isinstance(b, str) or b not in BOOT_OPTIONS
                                         for b in boot):
        bad("boot", f"'boot' must list boot options from: {', '.join(BOOT_OPTIONS)}")
    if not isinstance(prop, str) or prop not in PROPERTIES:
        bad("property", f"unknown property {prop!r}")
    if not isinstance(sched, list) or any(
            not isinstance(m, list) or len(m) != 2 or type(m[0]) is not int or m[0] < 0
            or not (m[1] is None or isinstance(m[1], bool)) for m in sched):
        bad("schedule", "'schedule' must be a list of [thread index, null|true|false]")
    ov = {"variant": variant, "patches": dict(patches), "boot": list(boot)}
    ov.update(_trace_selection(t, prop, bad))
    return scen, ov, prop, [(i, c) for i, c in sched], lambda key: _key_line(text, key)


def _trace_selection(t: dict, prop: str, bad) -> dict:
    """The property selection a trace records ('check': the properties check ran, after
    --check/--ignore; 'strict': --strict), as overrides for the scenario.  A trace written
    before they were recorded: the file's 'check:' plus the trace's property."""
    from ..scenario import PROPERTIES
    ov: dict = {}
    chk = t.get("check")
    if chk is not None:
        if not isinstance(chk, list) or any(not isinstance(p, str) or p not in PROPERTIES
                                            for p in chk):
            bad("check", f"'check' must list properties from: {', '.join(PROPERTIES)}")
        if prop not in chk:
            bad("check", f"'check' does not list the trace's property {prop!r}")
        ov["check"] = list(chk)
    else:
        ov["also_check"] = prop
    strict = t.get("strict", False)
    if not isinstance(strict, bool):
        bad("strict", "'strict' must be true or false")
    if strict:
        ov["strict"] = True
    return ov


@click.command()
@click.argument("file")
@click.option("--kernel", "--variant", "--preset", "variant", metavar="NAME",
              help="replay on this kernel instead of the trace's (a point of history or a "
                   "preset; the trace's patches and boot options are kept)")
@json_opt
def replay(file, variant, as_json):
    """Re-run a trace written by 'lrulab check --trace-out' and print it again.  Exit 0 when
    the model follows it to the same violation, 1 when it no longer does, 2 on a bad file.
    With --json, one JSON object on stdout whatever the exit status.  --kernel NAME asks
    whether the same schedule still reaches the violation on another kernel."""
    try:
        if variant is not None:
            kernel_option("--kernel/--variant/--preset", variant)
        _replay(file, as_json, variant)
    except BadInput as e:
        if as_json:
            click.echo(json.dumps({"trace": file, "reproduced": False, "status": "bad input",
                                   "error": e.format_message()}, indent=1))
        raise


def _replay(file, as_json, kernel=None):
    from ..scenario import ScenarioError, load_scenario
    from ..world import KernelWorld, ReplayError
    try:
        t = rp.load_trace(file)
    except FileNotFoundError:
        raise BadInput(f"{file}:0: no such file; give a trace written by --trace-out") from None
    except (OSError, ValueError) as e:
        if isinstance(e, rp.TraceError):
            raise BadInput(f"{file}:{e.line}: {e.msg}; give a trace written by "
                           "--trace-out") from None
        raise BadInput(f"{file}:0: cannot read ({e.__class__.__name__}); give a trace "
                       "file") from None
    scen, ov, prop, sched, line_of = _trace_fields(file, t)
    if kernel is not None:
        ov["variant"] = kernel
    if not os.path.isfile(scen):
        raise BadInput(f"{file}:{line_of('scenario')}: its scenario {scen!r} is not a file; "
                       "run replay where check ran, or fix the path")
    try:
        sc = load_scenario(scen, ov)
    except ScenarioError as e:
        raise BadInput(str(e)) from None
    w = KernelWorld(sc)
    if not sched and not any(p == prop for p, _ in w.initial_violations()):
        raise BadInput(f"{file}:{line_of('schedule')}: empty schedule, and the setup of {scen} "
                       f"does not violate {prop}; regenerate it with 'lrulab check --trace-out'")
    if any(i >= len(w.threads) for i, _ in sched):
        raise BadInput(f"{file}:{line_of('schedule')}: schedule names a thread {scen} does not "
                       "have; regenerate it")

    def no_longer(msg: str, r=None):
        if as_json:
            out = rp.trace_file_json(w, r, ov) if r is not None else {
                "format": rp.TRACE_FORMAT, "scenario": scen, "property": prop}
            out.update(reproduced=False, status="not reproduced", error=msg)
            click.echo(json.dumps(out, indent=1))
        click.echo(f"lrulab: {file}: {msg}", err=True)
        sys.exit(1)
    try:
        steps, h = w.render(sched)
    except ReplayError as e:
        no_longer(f"the model no longer follows this trace: {e}")
    last = steps[-1]["detail"] if steps else []
    found = [d for d in last if d == f"VIOLATES {prop}" or d.startswith(f"VIOLATES {prop}: ")]
    if not found and not sched:
        found = [m for p, m in w.initial_violations() if p == prop]
    if not found and not w.moves(h):
        # (an Accepted end result is no violation: a --strict trace replayed without it)
        found = [v[1] for v in w.end_violations(h) if isinstance(v, tuple) and v[0] == prop]
    message = t.get("message", "")
    pre = t.get("preemptions", 0)
    r = {"property": prop, "message": message if isinstance(message, str) else "",
         "steps": len(sched), "preemptions": pre if type(pre) is int else 0,
         "schedule": [[i, c] for i, c in sched],
         "trace": [{"thread": s["thread"], "op": s["op"], "functions": s["functions"],
                    "detail": "; ".join(s["detail"]), "lines": s["detail"]} for s in steps]}
    if not found:
        if not as_json:
            for line in rp.trace_lines(r):
                click.echo(line)
        no_longer(f"the schedule ran but {prop} is no longer violated at its end", r)
    if as_json:
        out = rp.trace_file_json(w, r, ov)
        out.update(reproduced=True, status="reproduced")
        click.echo(json.dumps(out, indent=1))
    else:
        for line in rp.trace_lines(r):
            click.echo(line)
    sys.exit(0)
