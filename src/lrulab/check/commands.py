"""``lrulab check``, ``lrulab replay`` and ``lrulab bugs``.

Exit codes: 0 ok, 1 violation, 2 bad input, 3 incomplete (a bound was hit, nothing found).
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time

import click

from ..cli import (
    BadInput,
    boot_opt,
    configured,
    json_opt,
    load,
    overrides,
    patch_opt,
    select_opts,
    selection,
    variant_opt,
)
from . import report as rp
from .engine import Bounds
from .outcome import expectation, ktap_check, ktap_matrix

EXIT = {"ok": 0, "violation": 1, "incomplete": 3}
CATALOG = os.path.join("scenarios", "bugs")


def _bounds(max_steps, max_preemptions, max_states, timeout) -> Bounds:
    for name, val in (("--max-steps", max_steps), ("--max-preemptions", max_preemptions),
                      ("--max-states", max_states)):
        if val is not None and val < 0:
            raise BadInput(f"{name} {val}: give a non-negative number")
    if timeout is not None and timeout <= 0:
        raise BadInput(f"--timeout {timeout}: give a positive number of seconds")
    return Bounds(max_steps, max_preemptions, max_states, timeout)


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
@click.option("--trace-out", metavar="FILE", help="write the counterexample as JSON")
@click.option("--no-reduction", is_flag=True,
              help="no sleep sets: plain search over the state graph")
@click.option("--no-state-cache", is_flag=True,
              help="plain search that does not merge equal states either (the tree of all "
                   "interleavings; implies --no-reduction)")
@click.option("--symmetry/--no-symmetry", default=False, show_default=True,
              help="merge states equal up to interchangeable memcgs (scenarios whose memcgs, "
                   "setup and threads are invariant under swapping them; replaces sleep "
                   "sets when the scenario has such a symmetry)")
@select_opts
@first_opt
@format_opt
def check(file, variant, patch, boot, as_json, jobs, max_steps, max_preemptions, max_states,
          timeout, trace_out, no_reduction, no_state_cache, symmetry, check_props,
          ignore_props, strict, first, fmt):
    """Explore every interleaving of FILE's threads, step by atomic kernel step, and check its
    properties.  Prints, for each violated property and failing assert, its shortest
    counterexample, or ok within the bounds."""
    kov = overrides(variant, patch, boot)
    ov = {**kov, **selection(check_props, ignore_props, strict)}
    bounds = _bounds(max_steps, max_preemptions, max_states, timeout)
    jobs = _jobs(jobs)
    sc = load(file, ov)
    from ..world import KernelWorld
    w = KernelWorld(sc)
    prog = _progress()
    w, res, rendered = rp.check_file(file, ov, bounds, jobs=jobs, cache=not no_state_cache,
                                     progress=prog, world=w, reduction=not no_reduction,
                                     symmetry=symmetry, stop_at_first=first)
    _end_progress(prog)
    violated = {r["property"] for r in rendered}
    exp = None if configured(kov) else expectation(sc.expect, res.verdict, violated)
    if trace_out and rendered:
        try:
            with open(trace_out, "w") as f:
                json.dump(rp.trace_file_json(w, rendered[0], ov), f, indent=1)
        except OSError as e:
            raise BadInput(f"--trace-out {trace_out}: cannot write ({e.strerror}); give a "
                           "writable path") from None
    if as_json:
        out = rp.result_json(w, res, rendered, ov)
        if exp is not None:
            out["expect"] = {"violation": sc.expect["violation"], "outcome": exp[0]}
        click.echo(json.dumps(out, indent=1))
    elif fmt == "ktap":
        tests = [p for p in sc.check if p != "assertion"]
        tests += [f"assertion {a.where()}" for a in sc.all_asserts() if "assertion" in sc.check]
        fails = {_ktap_name(r): rp.trace_lines(r) for r in rendered}
        want = sc.expect.get("violation") if exp is not None else None
        for line in ktap_check(rp.summary_line(w, res).splitlines()[0], tests, fails,
                               res.verdict, want, res.accepted, res.bound_hit):
            click.echo(line)
    else:
        click.echo(rp.summary_line(w, res))
        if exp is not None:
            click.echo(f"expect: {exp[0]}")
        for r in rendered:
            click.echo("")
            for line in rp.trace_lines(r):
                click.echo(line)
    sys.exit(exp[1] if exp is not None else EXIT[res.verdict])


def _ktap_name(r: dict) -> str:
    if r["property"] == "assertion":
        return f"assertion {r['message'].split(': ', 1)[0]}"
    return r["property"]


@click.command()
@click.argument("file")
@json_opt
def replay(file, as_json):
    """Re-run a trace written by 'lrulab check --trace-out' and print it again.  Exit 0 when
    the model follows it to the same violation, 1 when it no longer does, 2 on a bad file."""
    from ..world import ReplayError
    try:
        t = rp.load_trace(file)
    except FileNotFoundError:
        raise BadInput(f"{file}:0: no such file; give a trace written by --trace-out") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"{file}:0: cannot read ({e.__class__.__name__}); give a trace "
                       "file") from None
    except json.JSONDecodeError as e:
        raise BadInput(f"{file}:{e.lineno}: not JSON ({e.msg}); give a trace written by "
                       "--trace-out") from None
    if not isinstance(t, dict) or t.get("format") != rp.TRACE_FORMAT:
        raise BadInput(f"{file}:1: not a {rp.TRACE_FORMAT} trace; give a file written by "
                       "'lrulab check --trace-out'")
    try:
        sched = [(int(i), c) for i, c in t["schedule"]]
        for _, c in sched:
            if c is not None and not isinstance(c, bool):
                raise ValueError
        ov = {"variant": t["variant"], "patches": dict(t["patches"]), "boot": list(t["boot"])}
        prop = t["property"]
        scen = t["scenario"]
    except (KeyError, TypeError, ValueError):
        raise BadInput(f"{file}:1: trace lacks scenario/variant/patches/boot/property/schedule "
                       "or has a bad schedule; regenerate it with --trace-out") from None
    sc = load(scen, ov)
    from ..world import KernelWorld
    w = KernelWorld(sc)
    if any(i < 0 or i >= len(w.threads) for i, _ in sched):
        raise BadInput(f"{file}:1: schedule names a thread {scen} does not have; regenerate it")
    try:
        steps, h = w.render(sched)
    except ReplayError as e:
        click.echo(f"lrulab: {file}: the model no longer follows this trace: {e}", err=True)
        sys.exit(1)
    last = steps[-1]["detail"] if steps else []
    found = [d for d in last if d == f"VIOLATES {prop}" or d.startswith(f"VIOLATES {prop}: ")]
    if not found and not sched:
        found = [m for p, m in w.initial_violations() if p == prop]
    if not found and not w.moves(h):
        found = [m for p, m in w.end_violations(h) if p == prop]
    r = {"property": prop, "message": t.get("message", ""),
         "steps": len(sched), "preemptions": t.get("preemptions", 0),
         "schedule": [[i, c] for i, c in sched],
         "trace": [{"thread": s["thread"], "op": s["op"], "functions": s["functions"],
                    "detail": "; ".join(s["detail"]), "lines": s["detail"]} for s in steps]}
    if as_json:
        out = rp.trace_file_json(w, r, ov)
        out["reproduced"] = bool(found)
        click.echo(json.dumps(out, indent=1))
    else:
        for line in rp.trace_lines(r):
            click.echo(line)
    if not found:
        click.echo(f"lrulab: {file}: the schedule ran but {prop} is no longer violated at its "
                   "end", err=True)
        sys.exit(1)
    sys.exit(0)


@click.command()
@click.argument("files", nargs=-1)
@json_opt
@click.option("--jobs", default=1, show_default=True, help="worker processes")
@click.option("--kernel", "--preset", "presets", multiple=True, metavar="NAME,...",
              help="only these kernels (presets or points of history; repeatable or "
                   "comma-separated; --preset: the same)")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="per check, seconds")
@click.option("--symmetry/--no-symmetry", default=False, show_default=True,
              help="merge states equal up to interchangeable memcgs (scenarios whose memcgs, "
                   "setup and threads are invariant under swapping them; replaces sleep "
                   "sets when the scenario has such a symmetry)")
@select_opts
@first_opt
@format_opt
def bugs(files, as_json, jobs, presets, timeout, symmetry, check_props, ignore_props, strict,
         first, fmt):
    """Check every bug scenario (default: scenarios/bugs/*.yaml) against every preset and
    print the matrix, then each bug's shortest trace in the first preset that has it."""
    from ..cli import kernel_list
    from ..kernel.config import PRESETS
    jobs = _jobs(jobs)
    select = selection(check_props, ignore_props, strict)
    cols = kernel_list("--kernel", presets) or list(PRESETS)
    if not files:
        files = sorted(glob.glob(os.path.join(CATALOG, "*.yaml")))
        if not files:
            raise BadInput(f"{CATALOG}:0: no bug scenarios found; run from the repository "
                           "root or name the files")
    for f in files:
        load(f, select)  # bad input: fail before any work
    t0 = time.monotonic()
    bounds = Bounds(timeout=timeout)
    jobs_list = [(f, p, bounds, symmetry, select, first) for f in files for p in cols]
    if jobs > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(jobs) as pool:
            cells = pool.map(rp.check_cell, jobs_list, chunksize=1)
    else:
        cells = [rp.check_cell(j) for j in jobs_list]
    total = time.monotonic() - t0
    by = {(c["file"], c["preset"]): c for c in cells}
    rows = []
    for f in files:
        first = next((by[(f, p)] for p in cols if by[(f, p)]["verdict"] == "violation"), None)
        rows.append((f, first))
    if fmt == "ktap" and not as_json:
        ktap_rows = []
        for f in files:
            cells_k = []
            for p in cols:
                c = by[(f, p)]
                detail = (f"violation of {', '.join(c['violated'])} ({c['steps']} steps)"
                          if c["verdict"] == "violation" else c["verdict"])
                cells_k.append((p, c["verdict"], detail))
            ktap_rows.append((os.path.splitext(os.path.basename(f))[0], cells_k))
        for line in ktap_matrix(ktap_rows):
            click.echo(line)
    elif as_json:
        click.echo(json.dumps({
            "presets": cols, "seconds": round(total, 3),
            "bugs": [{"file": f, "name": by[(f, cols[0])]["name"],
                      "check": by[(f, cols[0])]["check"],
                      "cells": {p: {k: by[(f, p)][k] for k in ("verdict", "steps", "states",
                                                                "seconds", "violated")}
                                for p in cols},
                      "first": ({"preset": first["preset"],
                                 "property": first["violation"]["property"],
                                 "message": first["violation"]["message"],
                                 "steps": first["violation"]["steps"],
                                 "preemptions": first["violation"]["preemptions"],
                                 "trace": rp._public(first["violation"]["trace"])}
                                if first else None)}
                     for f, first in rows]}, indent=1))
    else:
        names = [os.path.splitext(os.path.basename(f))[0] for f in files]
        w0 = max(len(n) for n in names)
        texts = {(f, p): rp.cell_text(by[(f, p)]["verdict"], by[(f, p)]["steps"])
                 for f in files for p in cols}
        widths = [max(len(p), *(len(texts[(f, p)]) for f in files)) for p in cols]
        colw = list(zip(cols, widths, strict=True))
        click.echo(" " * w0 + "  " + "  ".join(p.ljust(wd) for p, wd in colw))
        for f, n in zip(files, names, strict=True):
            cells_txt = "  ".join(texts[(f, p)].ljust(wd) for p, wd in colw)
            click.echo((n.ljust(w0) + "  " + cells_txt).rstrip())
        click.echo(f"\n{len(cells)} checks in {total:.1f}s")
        for (_, first), n in zip(rows, names, strict=True):
            click.echo("\n" + "=" * 78)
            if first is None:
                click.echo(f"{n}: no violation in any preset")
                continue
            click.echo(f"{n}  [{first['preset']}]  {first['name']}")
            click.echo("")
            for line in rp.trace_lines(first["violation"]):
                click.echo(line)
    bad = any(c["verdict"] == "incomplete" for c in cells)
    sys.exit(3 if bad else 0)
