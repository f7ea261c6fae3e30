"""``lrulab bugs``: the bug catalog as history.

Every file is checked at every point of history the model covers (or the --kernel list); a
file stating ``expect: {violation: P, introduced: C, fixed: C|none}`` is judged at each point:
the violation of P must be found exactly where the bug lives (bughistory.present).  One line per
bug -- introduced in, fixed in, whether the checker agrees everywhere -- then each bug's
shortest trace; --matrix the bugs x points table.  Points whose flags are equal share one check.

Exit codes: 0 the checker agrees everywhere (files without a history are not judged), 1 a point
deviates from a file's history, 2 bad input, 3 a check was incomplete and nothing deviates.
"""

from __future__ import annotations

import glob
import json
import os
import sys
import time

import click

from .. import bughistory as bhist
from ..cli import BadInput, json_opt, kernel_list, load, seconds_option, select_opts, selection
from ..kernel import history
from ..scenario import ScenarioError, load_scenario
from . import report as rp
from .commands import CATALOG, _jobs, first_opt, format_opt, symmetry_opt
from .engine import Bounds
from .outcome import ktap_history

NA = "n/a"


def _files(files) -> list:
    if files:
        return list(files)
    found = sorted(glob.glob(os.path.join(CATALOG, "*.yaml")))
    if not found:
        raise BadInput(f"{CATALOG}:0: no bug scenarios found; run from the repository root or "
                       "name the files")
    return found


def _valid(f: str, p: str, select: dict) -> bool:
    try:
        load_scenario(f, {"variant": p, **select})
    except ScenarioError:
        return False  # e.g. an mTHP order before 6.8: the file is no scenario there
    return True


def _flags_key(p: str) -> tuple:
    return tuple(sorted(history.flags_at(history.resolve(p)).items()))


def _run_cells(files, cols, select, bounds, symmetry, first, jobs) -> tuple[dict, int]:
    """(file, point) -> cell; a point whose flags equal an earlier one's shares its check."""
    jobs_for, owner = {}, {}
    for f in files:
        for p in cols:
            if not _valid(f, p, select):
                continue
            key = (f, _flags_key(p))
            if key not in jobs_for:
                jobs_for[key] = (f, p, bounds, symmetry, select, first)
            owner[(f, p)] = key
    todo = list(jobs_for.values())
    if jobs > 1 and len(todo) > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(jobs) as pool:
            done = pool.map(rp.check_cell, todo, chunksize=1)
    else:
        done = [rp.check_cell(j) for j in todo]
    by_key = dict(zip(jobs_for, done, strict=True))
    cells = {}
    for f in files:
        for p in cols:
            cells[(f, p)] = {**by_key[owner[(f, p)]], "preset": p} if (f, p) in owner else \
                {"file": f, "preset": p, "verdict": NA, "steps": None, "states": 0,
                 "seconds": 0.0, "violation": None, "violated": []}
    return cells, len(todo)


def _judge(bh, checked: bool, cell: dict, first: bool) -> tuple[bool | None, str | None]:
    """(expected, deviation text or None) of one cell.  expected is None where the file is not
    judged (no history, its property not checked, not a scenario there, incomplete)."""
    if bh is None or not checked or cell["verdict"] == NA:
        return None, None
    want = bhist.present(bh, cell["preset"])
    found = bh.prop in cell["violated"]
    if found == want:
        return want, None
    if cell["verdict"] == "incomplete" or (first and cell["verdict"] == "violation"):
        return want, None  # no verdict on P: a bound was hit, or --first stopped at another
    if want:
        got = f"violation of {', '.join(cell['violated'])}" if cell["violated"] else "ok"
        return want, f"expected a violation of {bh.prop}, found {got}"
    return want, f"expected no violation of {bh.prop} (the bug is not there), found one"


def _rows(files, cols, cells, select, first) -> list[dict]:
    rows = []
    for f in files:
        sc = load(f, select)
        bh = bhist.of(sc.expect)
        checked = bh is not None and bh.prop in sc.check
        judged = {p: _judge(bh, checked, cells[(f, p)], first) for p in cols}
        devs = [{"point": p, "found": cells[(f, p)]["verdict"], "message": d}
                for p, (_, d) in judged.items() if d]
        viol = [p for p in cols if cells[(f, p)]["verdict"] == "violation"]
        own = [p for p in viol if bh is None or bh.prop in cells[(f, p)]["violated"]]
        first_p = (own or viol or [None])[0]
        rows.append({"file": f, "name": sc.name, "check": list(sc.check), "history": bh,
                     "judged": checked, "expected": {p: e for p, (e, _) in judged.items()},
                     "deviations": devs, "first": first_p})
    return rows


def _commit_json(c) -> dict | None:
    if c is None:
        return None
    return {"commit": c.commit, "msgid": c.msgid, "flag": c.flag, "subject": c.subject,
            "release": c.release, "posted": list(c.posted), "backports": list(c.backports),
            "point": bhist.first_point(c), "before_model": bhist.before_scope(c)}


def _json(rows, cols, cells, total, distinct) -> str:
    out = []
    for r in rows:
        f, bh = r["file"], r["history"]
        cell = {p: {k: cells[(f, p)][k] for k in ("verdict", "steps", "states", "seconds",
                                                  "violated")} | {"expected": r["expected"][p]}
                for p in cols}
        fp = r["first"]
        v = cells[(f, fp)]["violation"] if fp else None
        out.append({
            "file": f, "name": r["name"], "check": r["check"],
            "property": bh.prop if bh else None,
            "introduced": _commit_json(bh.introduced) if bh else None,
            "fixed": _commit_json(bh.fixed) if bh else None,
            "judged": r["judged"], "agrees": (not r["deviations"]) if r["judged"] else None,
            "deviations": r["deviations"], "cells": cell,
            "first": ({"preset": fp, "point": fp, "property": v["property"],
                       "message": v["message"], "steps": v["steps"],
                       "preemptions": v["preemptions"], "trace": rp._public(v["trace"])}
                      if v else None)})
    return json.dumps({"points": cols, "presets": cols, "seconds": round(total, 3),
                       "checks": distinct, "bugs": out}, indent=1)


def _symbol(cell: dict, prop: str | None, deviates: bool) -> str:
    v = cell["verdict"]
    s = {"violation": "X", "ok": ".", "incomplete": "?", NA: "-"}[v]
    if v == "violation" and prop is not None and prop not in cell["violated"]:
        s = "x"  # only another property's violation
    return s + ("!" if deviates else "")


def _matrix_lines(rows, cols, cells, names) -> list[str]:
    w0 = max(len(n) for n in names)
    widths = [max(len(p), 2) for p in cols]
    out = [" " * w0 + "  " + " ".join(p.ljust(w) for p, w in zip(cols, widths, strict=True))]
    for r, n in zip(rows, names, strict=True):
        bad = {d["point"] for d in r["deviations"]}
        prop = r["history"].prop if r["history"] else None
        syms = [_symbol(cells[(r["file"], p)], prop, p in bad).ljust(w)
                for p, w in zip(cols, widths, strict=True)]
        out.append((n.ljust(w0) + "  " + " ".join(syms)).rstrip())
    out.append("X violation (of the bug's property, for a file with history), . none, "
               "x another property's only, - not a scenario there, ? incomplete, ! deviates "
               "from the file's history")
    return out


def _history_line(r, n, w0, cols) -> str:
    bh = r["history"]
    if bh is None:
        return f"{n.ljust(w0)}  (no history: expect names no 'introduced')"
    checked = [p for p in cols if r["expected"][p] is not None]
    if not r["judged"]:
        verdict = f"not judged: {bh.prop} is not checked (--check/--ignore)"
    elif r["deviations"]:
        verdict = "DEVIATES at " + ", ".join(d["point"] for d in r["deviations"])
    else:
        verdict = f"agrees at {len(checked)} point{'' if len(checked) == 1 else 's'}"
    return (f"{n.ljust(w0)}  {bh.prop:<19} {verdict:<20}  introduced "
            f"{bhist.where(bh.introduced)};  fixed {bhist.where(bh.fixed)}")


def _text(rows, cols, cells, total, distinct, matrix: bool) -> None:
    names = [os.path.splitext(os.path.basename(r["file"]))[0] for r in rows]
    w0 = max(len(n) for n in names)
    if matrix:
        for line in _matrix_lines(rows, cols, cells, names):
            click.echo(line)
        click.echo("")
    for r, n in zip(rows, names, strict=True):
        click.echo(_history_line(r, n, w0, cols))
    click.echo(f"\n{len(rows)} bugs x {len(cols)} points: {distinct} checks in {total:.1f}s")
    for r in rows:
        for d in r["deviations"]:
            click.echo(f"{r['file']}: at {d['point']}: {d['message']}")
    for r, n in zip(rows, names, strict=True):
        click.echo("\n" + "=" * 78)
        if r["first"] is None:
            click.echo(f"{n}: no violation at any point checked")
            continue
        click.echo(f"{n}  [{r['first']}]  {r['name']}")
        click.echo("")
        for line in rp.trace_lines(cells[(r["file"], r["first"])]["violation"]):
            click.echo(line)


def _ktap(rows, cols, cells) -> None:
    items = []
    for r in rows:
        name = os.path.splitext(os.path.basename(r["file"]))[0]
        bad = {d["point"]: d["message"] for d in r["deviations"]}
        subs = []
        for p in cols:
            c = cells[(r["file"], p)]
            detail = (f"violation of {', '.join(c['violated'])} ({c['steps']} steps)"
                      if c["verdict"] == "violation" else c["verdict"])
            subs.append((p, c["verdict"], detail, r["expected"][p], bad.get(p)))
        items.append((name, r["history"] is not None and r["judged"], subs))
    for line in ktap_history(items):
        click.echo(line)


@click.command()
@click.argument("files", nargs=-1)
@json_opt
@click.option("--jobs", type=int, default=None,
              help="worker processes  [default: one per core this process may run on]")
@click.option("--kernel", "--preset", "--presets", "presets", multiple=True, metavar="NAME,...",
              help="only these kernels (points of history or presets; repeatable or "
                   "comma-separated; default: every point the model covers)")
@click.option("--matrix", is_flag=True, help="print the full bugs x points table first")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="per check, seconds")
@symmetry_opt
@select_opts
@first_opt
@format_opt
def bugs(files, as_json, jobs, presets, matrix, timeout, symmetry, check_props, ignore_props,
         strict, first, fmt):
    """Check every bug scenario (default: scenarios/bugs/*.yaml) at every point of history the
    model covers and compare with the history each file states (expect: introduced, fixed):
    one line per bug, then each bug's shortest trace.  Exit 1 when a point deviates."""
    # the main job: its checks are independent, so by default they use every core
    jobs = _jobs(jobs if jobs is not None else len(os.sched_getaffinity(0)))
    seconds_option("--timeout", timeout)
    select = selection(check_props, ignore_props, strict)
    cols = kernel_list("--kernel/--preset", presets) or bhist.checked_points()
    files = _files(files)
    for f in files:
        load(f, select)  # bad input: fail before any work
    t0 = time.monotonic()
    cells, distinct = _run_cells(files, cols, select, Bounds(timeout=timeout), symmetry,
                                 first, jobs)
    total = time.monotonic() - t0
    rows = _rows(files, cols, cells, select, first)
    if as_json:
        click.echo(_json(rows, cols, cells, total, distinct))
    elif fmt == "ktap":
        _ktap(rows, cols, cells)
    else:
        _text(rows, cols, cells, total, distinct, matrix)
    if any(r["deviations"] for r in rows):
        sys.exit(1)
    sys.exit(3 if any(c["verdict"] == "incomplete" for c in cells.values()) else 0)
