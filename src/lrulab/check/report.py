"""Checking a scenario file end to end, and the trace format (text and JSON).

A trace file (``--trace-out``) is JSON: the scenario file and its configuration, the violated
property, the schedule as ``[thread index, choice]`` pairs (choice: the answer to an
allocation that may fail, else null) and the rendered steps.  ``lrulab replay`` re-runs the
schedule and checks that the model still follows it and still violates the property.
"""

from __future__ import annotations

import json
import os
import time

from .engine import Bounds, Result, explore

TRACE_FORMAT = "lrulab-trace/1"
MAX_TRACE_BYTES = 16 << 20  # a trace of thousands of steps is a few MiB
MAX_INT_DIGITS = 20


def world_for(path: str, ov: dict):
    """Load a scenario (ScenarioError on bad input) and build its world."""
    from ..scenario import load_scenario
    from ..world import KernelWorld
    return KernelWorld(load_scenario(path, ov))


def _factory(path, ov):
    return world_for(path, ov)


def check_file(path: str, ov: dict, bounds: Bounds, jobs: int = 1, cache: bool = True,
               progress=None, world=None, reduction: bool = True, stop_at_first: bool = False,
               symmetry: bool = False):
    """Check one scenario; returns (world, Result, rendered violations): every violated
    property (and failing assert) with its own shortest schedule, or only the first level's
    with ``stop_at_first`` (--first).  ``reduction``:
    sleep sets on top of state caching (or, where sleep sets are off -- termination is
    checked -- the commuting search: the same state graph, fewer steps run); ``cache``
    False: the plain tree of interleavings;
    ``symmetry``: merge states equal up to interchangeable memcgs (instead of sleep sets)."""
    w = world if world is not None else world_for(path, ov)
    w.property_order = list(w.sc.check)
    res = explore(w, bounds, cache=cache, jobs=jobs, world_factory=(_factory, (path, ov)),
                  progress=progress, sleep=reduction and cache, stop_at_first=stop_at_first,
                  symmetry=symmetry, commute=reduction and cache)
    rendered = [render_violation(w, v) for v in res.violations]
    return w, res, rendered


def render_violation(w, v) -> dict:
    steps, _ = w.render(v.path)
    return {"property": v.property, "message": v.message, "steps": v.steps,
            "preemptions": v.preemptions,
            "schedule": [[m[0], m[1]] for m in v.path],
            "trace": [{"thread": s["thread"], "op": s["op"], "functions": s["functions"],
                       "detail": "; ".join(s["detail"]), "lines": s["detail"]}
                      for s in steps]}


def _public(trace) -> list:
    return [{k: s[k] for k in ("thread", "op", "functions", "detail")} for s in trace]


def result_json(w, res: Result, rendered, ov) -> dict:
    sc = w.sc
    return {"scenario": sc.path, "name": sc.name, "variant": sc.kernel.variant,
            "patches": dict(sc.kernel.patches), "boot": list(sc.kernel.boot),
            "check": list(sc.check), "verdict": res.verdict,
            "violations": [{"property": r["property"], "message": r["message"],
                            "steps": r["steps"], "preemptions": r["preemptions"],
                            "trace": _public(r["trace"])} for r in rendered],
            "states": res.states, "executions": res.executions,
            "transitions": res.transitions, "steps_run": res.steps_run,
            "bounds_hit": list(res.bound_hit), "seconds": round(res.seconds, 3),
            "accepted": [{"property": p, "message": m} for p, m in res.accepted]}


def trace_file_json(w, r: dict, ov: dict) -> dict:
    sc = w.sc
    return {"format": TRACE_FORMAT, "scenario": sc.path, "variant": sc.kernel.variant,
            "patches": dict(sc.kernel.patches), "boot": list(sc.kernel.boot),
            # the properties checked (the file's 'check:' after --check/--ignore) and
            # --strict: replay checks the same ones
            "check": list(sc.check), "strict": sc.strict,
            "property": r["property"], "message": r["message"], "steps": r["steps"],
            "preemptions": r["preemptions"], "schedule": r["schedule"],
            "trace": _public(r["trace"])}


def trace_lines(r: dict) -> list:
    out = [f"violation of {r['property']}: {r['message']}",
           f"shortest schedule: {r['steps']} steps, {r['preemptions']} preemption"
           f"{'' if r['preemptions'] == 1 else 's'}", ""]
    width = len(str(len(r["trace"])))
    for n, s in enumerate(r["trace"], 1):
        fn = " > ".join(s["functions"])
        out.append(f"{n:>{width}}. {s['thread']}  {s['op']}" + (f"   [{fn}]" if fn else ""))
        pad = " " * (width + 2)
        for d in s.get("lines") or s["detail"].split("; "):
            out.append(f"{pad}    {d}")
    out.append("")
    out.append(f"=> {r['property']} violated: {r['message']}")
    return out


def summary_line(w, res: Result) -> str:
    sc = w.sc
    flips = "".join(f" {k}={'on' if v else 'off'}" for k, v in sc.kernel.patches.items())
    boot = (" " + " ".join(sc.kernel.boot)) if sc.kernel.boot else ""
    extra = f" (bounds hit: {', '.join(res.bound_hit)})" if res.bound_hit else ""
    if res.violations:
        extra += " of " + ", ".join(dict.fromkeys(v.property for v in res.violations))
    acc = ""
    if res.accepted:
        acc = ", accepted: " + "; ".join(f"{p}: {m}" for p, m in res.accepted[:3])
        if len(res.accepted) > 3:
            acc += f"; and {len(res.accepted) - 3} more (--json lists them)"
        acc += " (--strict makes these violations)"
    return (f"{sc.name}  [{sc.kernel.variant}{flips}{boot}]  check: {', '.join(sc.check)}\n"
            f"verdict: {res.verdict}{extra}{acc}  -- {res.states} states, {res.transitions} "
            f"transitions, {res.executions} executions, {res.seconds:.2f}s")


NOT_APPLICABLE = "n/a"  # a bugs cell where the file is not a scenario of that kernel


def cell_text(res_verdict: str, steps: int | None) -> str:
    if res_verdict == "violation":
        return f"violation ({steps} steps)"
    return res_verdict


def check_cell(args):
    """One cell of the bugs matrix (a picklable job)."""
    from ..scenario import ScenarioError, load_scenario
    path, preset, bounds, *rest = args
    symmetry, select, first = (list(rest) + [False, {}, True][len(rest):])[:3]
    t0 = time.monotonic()
    try:
        w, res, rendered = check_file(path, {"variant": preset, **select}, bounds,
                                      symmetry=bool(symmetry), stop_at_first=first)
    except ScenarioError as e:
        # not a scenario at this kernel (charge_move after 6.13, a split to order 4 before
        # 6.9): no verdict here, as bisect skips such points; the cell says why
        sc = load_scenario(path, select)
        return {"file": path, "preset": preset, "verdict": NOT_APPLICABLE, "steps": None,
                "states": 0, "seconds": round(time.monotonic() - t0, 3), "violation": None,
                "name": sc.name, "check": list(sc.check), "violated": [], "reason": str(e)}
    steps = rendered[0]["steps"] if rendered else None
    return {"file": path, "preset": preset, "verdict": res.verdict, "steps": steps,
            "states": res.states, "seconds": round(time.monotonic() - t0, 3),
            "violation": rendered[0] if rendered else None, "name": w.sc.name,
            "check": list(w.sc.check),
            "violated": list(dict.fromkeys(r["property"] for r in rendered))}


class TraceError(ValueError):
    """A trace file that cannot be read: str() is 'line: what'; ``line`` is its line."""

    def __init__(self, line: int, msg: str):
        super().__init__(f"{line}: {msg}")
        self.line = line
        self.msg = msg


def _no_constant(name: str):
    raise TraceError(0, f"{name} is not a JSON number lrulab writes")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise TraceError(0, f"integer of {len(text)} digits")
    return int(text)


def load_trace(path: str):
    """Parse a trace file, refusing what a trace never holds: a file that is not a regular
    file or is over MAX_TRACE_BYTES, non-UTF-8 text, NaN/Infinity, integers over
    MAX_INT_DIGITS digits, nesting that would exhaust the parser.  Raises TraceError
    (line 0: the file as a whole), or FileNotFoundError."""
    import stat
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise TraceError(0, "not a regular file")
    if st.st_size > MAX_TRACE_BYTES:
        raise TraceError(0, f"{st.st_size:,} bytes, over the {MAX_TRACE_BYTES:,}-byte limit")
    with open(path, "rb") as f:
        data = f.read(MAX_TRACE_BYTES + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TraceError(data[:e.start].count(b"\n") + 1, "not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_int=_int)
    except json.JSONDecodeError as e:
        raise TraceError(e.lineno, f"not JSON ({e.msg})") from None
    except RecursionError:
        raise TraceError(1, "nested too deeply") from None
    except TraceError as e:
        raise TraceError(1, e.msg) from None
