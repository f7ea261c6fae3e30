"""Checking many generated scenarios and folding their violations into distinct ones.

A distinct violation is keyed by (triage verdict, property, where): *where* is the kernel
function in which a step property fired (the innermost function of the event's stack, or of
the step that raised it), or, for a quiescent property (checked where every thread has
finished, so no function fired it), ``end:`` and its message with names and numbers replaced
by placeholders.  Each keeps its shortest trace (fewest steps, then preemptions, then seed).
"""

from __future__ import annotations

import re
import time
import traceback
from dataclasses import dataclass, field

from ..check.engine import Bounds, explore
from ..check.report import render_violation, trace_lines
from ..kernel.config import PRESETS
from ..properties import REGISTRY
from ..scenario import ScenarioError, parse_scenario
from ..world import MODEL_ERROR, KernelWorld
from . import triage
from .gen import scenario_text

_STACK = re.compile(r"\[([^\[\]]+)\]\s*$")
_NUMBER = re.compile(r"-?\d+")


def default_presets() -> list[str]:
    """The Debian points (6.1: a ``debian-6.1.*`` preset if history has one, else linux-6.1;
    6.12: a ``debian-6.12*`` preset, else v0) and the newest point of history (the last
    preset)."""
    names = list(PRESETS)
    six1 = [p for p in names if p.startswith("debian-6.1.")] or ["linux-6.1"]
    six12 = [p for p in names if p.startswith("debian-6.12")] or [p for p in names if p == "v0"]
    out = [p for p in six1[:1] + six12[:1] if p in names]
    if names[-1] not in out:
        out.append(names[-1])
    return out


def where_of(sc, prop: str, message: str, trace: list) -> str:
    """Where a violation fired (see the module docstring)."""
    if prop == MODEL_ERROR or REGISTRY.get(prop, (None, "step"))[1] == "step":
        if "deadlock:" in message:
            return "deadlock"
        m = _STACK.search(message)
        if m:
            return m.group(1).split(" > ")[-1].strip()
        for s in reversed(trace):
            if s["functions"]:
                return s["functions"][-1]
        return "setup" if not trace else "-"
    return "end: " + normalise(sc, message)


def normalise(sc, message: str) -> str:
    """A quiescent property's message with the scenario's names and all numbers abstracted."""
    names = {p: "M" for p in sc.memcgs}
    for op in sc.all_ops():
        a = op.args
        if op.kind == "mkdir":
            names[a["path"]] = "M"
        for key, ph in (("as", "F"), ("item", "I")):
            if key in a:
                names[a[key]] = ph
    out = message
    for n in sorted(names, key=len, reverse=True):
        out = re.sub(rf"(?<![\w/]){re.escape(n)}(?![\w/])", names[n], out)
    return _NUMBER.sub("N", out)


@dataclass
class Outcome:
    """One (seed, preset) check."""
    seed: int
    preset: str
    verdict: str  # ok | violation | incomplete | rejected
    states: int = 0
    seconds: float = 0.0
    cpu: float = 0.0  # seconds of CPU (on a loaded machine: what the check itself cost)
    violations: list = field(default_factory=list)  # dicts: property, where, message, ...
    bound_hit: list = field(default_factory=list)
    boot: tuple = ()
    flags: dict = field(default_factory=dict)
    error: str = ""


def check_seed(args) -> Outcome:
    """Generate and check one scenario (a picklable job: (seed, preset, Bounds))."""
    seed, preset, bounds = args
    text = scenario_text(seed, preset)
    t0 = time.monotonic()
    c0 = time.process_time()
    try:
        sc = parse_scenario(text, f"sweep-{seed}.yaml")
    except ScenarioError as e:
        return Outcome(seed, preset, "rejected", error=str(e))
    out = Outcome(seed, preset, "ok", boot=tuple(sc.kernel.boot),
                  flags=dict(PRESETS[preset][1], **sc.kernel.patches))
    try:
        w = KernelWorld(sc)
    except Exception as e:  # noqa: BLE001 -- a model error in the sequential setup
        tb = traceback.extract_tb(e.__traceback__)
        fn = next((f.name for f in reversed(tb) if "/lrulab/kernel/" in f.filename), "setup")
        out.verdict = "violation"
        out.violations.append({"property": MODEL_ERROR, "where": fn, "steps": 0,
                               "preemptions": 0, "message": f"{e.__class__.__name__}: {e} "
                               "(in the setup)", "trace": []})
        out.seconds = time.monotonic() - t0
        out.cpu = time.process_time() - c0
        return out
    w.property_order = list(sc.check)
    res = explore(w, bounds, sleep=True, commute=True)
    out.verdict, out.states, out.bound_hit = res.verdict, res.states, list(res.bound_hit)
    for v in res.violations:
        r = render_violation(w, v)
        out.violations.append({"property": v.property, "message": v.message,
                               "where": where_of(sc, v.property, v.message, r["trace"]),
                               "steps": v.steps, "preemptions": v.preemptions,
                               "trace": trace_lines(r)})
    out.seconds = time.monotonic() - t0
    out.cpu = time.process_time() - c0
    return out


@dataclass
class Distinct:
    verdict: str  # a triage id, or "untriaged"
    property: str
    where: str
    count: int = 0
    presets: set = field(default_factory=set)
    best: tuple = ()  # (steps, preemptions, seed, preset)
    trace: list = field(default_factory=list)
    message: str = ""


@dataclass
class Summary:
    presets: list
    per_preset: dict = field(default_factory=dict)  # preset -> counts
    distinct: dict = field(default_factory=dict)  # (verdict, property, where) -> Distinct
    rejected: list = field(default_factory=list)
    seconds: float = 0.0

    def untriaged(self) -> list:
        return [d for d in self.distinct.values() if d.verdict == triage.UNTRIAGED]

    def by_kind(self, kind: str) -> list:
        return [d for d in self.distinct.values() if triage.kind_of(d.verdict) == kind]


def summarise(outcomes, presets) -> Summary:
    s = Summary(list(presets))
    for p in presets:
        s.per_preset[p] = {"scenarios": 0, "states": 0, "ok": 0, "violation": 0,
                           "incomplete": 0, "rejected": 0, "seconds": 0.0, "by_property": {}}
    for o in outcomes:
        c = s.per_preset[o.preset]
        c["scenarios"] += 1
        c["states"] += o.states
        c[o.verdict] += 1
        c["seconds"] += o.seconds
        if o.verdict == "rejected":
            s.rejected.append((o.seed, o.preset, o.error))
        for v in o.violations:
            c["by_property"][v["property"]] = c["by_property"].get(v["property"], 0) + 1
            tid = triage.classify(o.flags, o.boot, v["property"], v["where"], v["message"])
            key = (tid, v["property"], v["where"])
            d = s.distinct.setdefault(key, Distinct(tid, v["property"], v["where"]))
            d.count += 1
            d.presets.add(o.preset)
            rank = (v["steps"], v["preemptions"], o.seed, o.preset)
            if not d.best or rank < d.best:
                d.best, d.trace, d.message = rank, v["trace"], v["message"]
    return s


def sweep(presets, count: int, first: int = 0, bounds: Bounds | None = None, jobs: int = 1,
          progress=None) -> Summary:
    """Check ``count`` scenarios (seeds first .. first+count-1) on every preset."""
    bounds = bounds or Bounds(max_states=3000, timeout=10)
    todo = [(seed, p, bounds) for p in presets for seed in range(first, first + count)]
    t0 = time.monotonic()
    outcomes = []
    if jobs > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(jobs) as pool:
            for o in pool.imap(check_seed, todo, chunksize=4):
                outcomes.append(o)
                if progress:
                    progress(len(outcomes), len(todo))
    else:
        for j in todo:
            outcomes.append(check_seed(j))
            if progress:
                progress(len(outcomes), len(todo))
    s = summarise(outcomes, presets)
    s.seconds = time.monotonic() - t0
    return s
