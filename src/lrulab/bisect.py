"""``lrulab bisect``: the point of history, then the single commit, where a verdict changes.

Like ``git bisect``: the scenario is checked at the --good end, then at each point of history
on the way to the --bad end (kernel/history.py: ``path``), in order, until the verdict differs
from the good end's.  Inside that step the commits are applied one at a time in merge order
(``history.steps``); the first whose verdict differs is the first bad commit, and the
shortest trace of the violating side is printed.

Exit codes: 0 found, 1 the verdict never changes, 2 bad input, 3 incomplete (a check hit a
bound, so no verdict can be compared).
"""

from __future__ import annotations

import json
import sys

import click

from .check import report as rp
from .check.engine import Bounds
from .cli import BadInput, json_opt, kernel_option, seconds_option, selection
from .kernel import history
from .scenario import ScenarioError, load_scenario


class Incomplete(Exception):
    """A check hit a bound: no verdict to compare."""


def _verdict(file: str, point: str, patches: dict, select: dict, bounds: Bounds):
    """(verdict, rendered violations) of FILE at ``point`` with ``patches`` flipped; None when
    the scenario is not valid at that kernel (e.g. an mTHP order before 6.8)."""
    ov = {"variant": point, **select}
    if patches:
        ov["patches"] = patches
    try:
        load_scenario(file, ov)
    except ScenarioError:
        return None
    _, res, rendered = rp.check_file(file, ov, bounds, stop_at_first=True)
    if res.verdict == "incomplete":
        raise Incomplete(f"{point}{' + ' + ', '.join(patches) if patches else ''}")
    return res.verdict, rendered


def _ends(file: str, good: str | None, bad: str | None) -> tuple[str, str]:
    bad = history.resolve(bad) if bad else history.newest()
    if good:
        return history.resolve(good), bad
    # the oldest point the model covers on bad's line where the file is a valid scenario
    for p in history.lineage(bad):
        if history.in_model(p):
            try:
                load_scenario(file, {"variant": p})
                return p, bad
            except ScenarioError:
                continue
    raise BadInput(f"{file}:1: not a valid scenario at any point before {bad}; give --good")


def bisect_file(file: str, good: str | None, bad: str | None, select: dict,
                bounds: Bounds, log=lambda line: None) -> dict:
    """Walk the points from good to bad, then the commits of the step where the verdict
    changes.  Returns a JSON-ready dict; ``found`` False when the verdict never changes."""
    good, bad = _ends(file, good, bad)
    first = _verdict(file, good, {}, select, bounds)
    if first is None:
        raise BadInput(f"{file}:1: not a valid scenario at {good}; give another --good")
    want = first[0]
    out = {"scenario": file, "good": good, "bad": bad, "good_verdict": want,
           "points": [{"point": good, "verdict": want}], "skipped": []}
    log(f"  {good:<16} {want}")
    prev, step = good, None
    for p in history.path(good, bad)[1:]:
        v = _verdict(file, p, {}, select, bounds)
        if v is None:
            out["skipped"].append(p)
            log(f"  {p:<16} skipped (not a valid scenario there)")
            continue
        out["points"].append({"point": p, "verdict": v[0]})
        log(f"  {p:<16} {v[0]}")
        if v[0] != want:
            step = (prev, p, v)
            break
        prev = p
    if step is None:
        out["found"] = False
        return out
    a, b, vb = step
    out["step"] = [a, b]
    present, last = history.commits_at(a), first
    for group in _commits(history.steps(a, b)):
        trial = _apply(present, group)
        if history.flags_of(trial) == history.flags_of(present):
            present = trial  # unmodelled records: nothing to check
            continue
        v = _verdict(file, a, _patches(trial, a), select, bounds)
        if v is None:
            present = trial
            continue
        c, on = group[0]
        log(f"    {'+' if on else '-'} {_id(c)} "
            f"{', '.join(f'{x.flag}={_onoff(x.value)}' for x, _ in group)}  {v[0]}")
        if v[0] != want:
            hunk = _hunk(file, a, present, group, want, select, bounds) or c
            out["commit"] = {**history.record_json(hunk), "applied": on, "verdict": v[0],
                             "hunks": [x.flag for x, _ in group]}
            side = v if v[0] == "violation" else last
            out["trace"] = side[1][0] if side and side[1] else None
            out["found"] = True
            return out
        present, last = trial, v
    # no single modelled commit changes it alone (e.g. the file's own patches interfere)
    out["found"] = True
    out["commit"] = None
    side = vb if vb[0] == "violation" else first
    out["trace"] = side[1][0] if side[1] else None
    return out


def _key(c: history.Commit) -> str:
    return c.commit or c.msgid or c.subject


def _commits(steps: list) -> list[list]:
    """The steps grouped by commit (id, else Message-ID, else subject), in order of first
    appearance: the records of one commit -- the flags it sets, the hunks of one patch --
    are applied together, as the commit is."""
    groups: dict = {}
    for c, on in steps:
        groups.setdefault((_key(c), on), []).append((c, on))
    return list(groups.values())


def _apply(present: list, group: list) -> list:
    for c, on in group:
        present = present + [c] if on else [x for x in present if x is not c]
    return present


def _patches(present: list, point: str) -> dict:
    base = history.flags_at(point)
    return {f: v for f, v in history.flags_of(present).items() if v != base[f]}


def _hunk(file, a, present, group, want, select, bounds) -> history.Commit | None:
    """The record of ``group`` that alone changes the verdict (which hunk of the commit), or
    None when only the whole commit does."""
    if len(group) == 1:
        return group[0][0]
    for c, on in group:
        trial = _apply(present, [(c, on)])
        if history.flags_of(trial) == history.flags_of(present):
            continue
        v = _verdict(file, a, _patches(trial, a), select, bounds)
        if v is not None and v[0] != want:
            return c
    return None


def _onoff(value: bool) -> str:
    return "on" if value else "off"


def _id(c: history.Commit) -> str:
    return c.commit or (f"<{c.msgid}>" if c.msgid else "(id not seen)")


@click.command()
@click.argument("file")
@click.option("--good", metavar="KERNEL", help="one end (default: the oldest point the model "
              "covers where FILE is valid)")
@click.option("--bad", metavar="KERNEL", help="the other end (default: the newest point)")
@click.option("--property", "prop", metavar="P", help="compare this property's verdict only")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="per check, seconds")
@json_opt
def bisect(file, good, bad, prop, timeout, as_json):
    """Find the point of history, then the single commit, where FILE's verdict changes, and
    print the shortest trace there."""
    for opt, name in (("--good", good), ("--bad", bad)):
        if name is not None:
            kernel_option(opt, name)
    seconds_option("--timeout", timeout)
    select = selection(prop, None, check_opt="--property")
    try:
        load_scenario(file, select)
    except ScenarioError as e:
        raise BadInput(str(e)) from None
    log = (lambda line: None) if as_json else click.echo
    if not as_json:
        click.echo(f"bisect {file}" + (f" [{prop}]" if prop else ""))
    try:
        out = bisect_file(file, good, bad, select, Bounds(timeout=timeout), log)
    except Incomplete as e:
        if as_json:
            click.echo(json.dumps({"scenario": file, "incomplete": str(e)}, indent=1))
        else:
            click.echo(f"incomplete: the check at {e} hit a bound; raise --timeout")
        sys.exit(3)
    if as_json:
        click.echo(json.dumps(out, indent=1))
    elif not out["found"]:
        click.echo(f"the verdict stays {out['good_verdict']} from {out['good']} to "
                   f"{out['bad']}")
    else:
        _print_found(out)
    sys.exit(0 if out["found"] else 1)


def _print_found(out: dict) -> None:
    a, b = out["step"]
    c = out["commit"]
    if c is None:
        click.echo(f"the verdict changes between {a} and {b}, but no single commit of that step "
                   "changes it alone")
    else:
        ident = c["commit"] or (f"<{c['msgid']}>" if c["msgid"] else "(id not seen)")
        where = c["release"] or (c["posted"][0] if c["posted"] else "unreleased")
        if c["posted"] and c["release"]:
            where += f", posted in {c['posted'][0]}"
        taken = "" if c["applied"] else " (taken out)"
        click.echo(f"first bad commit: {ident} {c['subject']} ({where}){taken}")
        extra = f"; Message-ID <{c['msgid']}>" if c["commit"] and c["msgid"] else ""
        hunks = c.get("hunks") or [c["flag"]]
        flag = f"flag {c['flag']}" + (f" (of {', '.join(hunks)})" if len(hunks) > 1 else "")
        click.echo(f"  {c['author']}; {flag}{extra}; {out['good_verdict']} -> {c['verdict']}")
    if out.get("trace"):
        click.echo("")
        for line in rp.trace_lines(out["trace"]):
            click.echo(line)
