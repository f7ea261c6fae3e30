"""The sequential runner: setup, then each thread's ops one after another, each op to
completion on its own task; the kernel functions each op went through; property verdicts."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from . import asserts as am
from .kernel.sched import KernelEvent, Oops, run_sync
from .ops import build_kernel, run_op
from .properties import REGISTRY
from .scenario import Op, Scenario
from .view import memcg_counts, snapshot

_HELPER_MODULES = ("lrulab.kernel.sched", "lrulab.kernel.list", "lrulab.kernel.vmstat",
                   "lrulab.kernel.config")


_NOISE = {"__init__", "__repr__", "mem_cgroup_disabled", "mem_cgroup_kmem_disabled",
          "mem_cgroup_is_root", "memcg_kmem_id", "css_get", "list_lru_memcg_aware", "bit_memcg",
          "folio_test", "mem_cgroup_online", "css_is_dying", "parent_mem_cgroup", "folio_memcg"}


@dataclass
class OpRecord:
    thread: str
    op: Op
    result: str
    functions: list
    vmstat_delta: dict
    state: dict
    events: list = field(default_factory=list)
    asserts: list = field(default_factory=list)  # [(Assert, failure messages)]


@dataclass
class RunResult:
    scenario: Scenario
    variant: str
    patches: dict
    boot: list
    ops: list
    vmstat: dict
    memcgs: dict
    events: list
    properties: dict  # name -> list of messages
    kernel: object = None
    accepted: dict = field(default_factory=dict)  # name -> behaviours accepted by design

    @property
    def ok(self) -> bool:
        return not any(self.properties.values())


class _CallTrace:
    """sys.setprofile hook collecting the model's kernel functions in first-call order."""

    def __init__(self):
        self.names: list[str] = []
        self.seen: set = set()

    def __call__(self, frame, event, arg):
        if event != "call":
            return
        mod = frame.f_globals.get("__name__", "")
        if mod.startswith("lrulab.kernel.") and mod not in _HELPER_MODULES:
            name = frame.f_code.co_name
            # _helpers are the model's own; __list_lru_add and friends are kernel names
            model_helper = name.startswith("_") and not name.startswith("__")
            if name not in self.seen and name not in _NOISE and not model_helper:
                self.seen.add(name)
                self.names.append(name)


def decide_from(op: Op):
    """Allocation choices of the sequential runner: fail exactly the sites the op lists."""
    sites = set(op.args.get("fail", ()))
    return lambda site: site not in sites


def execute(k, op: Op, decide=None):
    """Run one op to completion on k.current.  An Oops (or a NULL dereference in the model's
    kernel code) ends the op and is recorded as a kernel event."""
    try:
        return run_sync(k, run_op(k, op), decide or decide_from(op))
    except Oops as e:
        k.events.append(KernelEvent("oops", str(e), k.current.name, _tb_stack(e)))
    except AttributeError as e:
        if "'NoneType' object has no attribute" not in str(e):
            raise
        k.events.append(KernelEvent("oops", f"BUG: kernel NULL pointer dereference ({e})",
                                    k.current.name, _tb_stack(e)))
    return "oops"


def _tb_stack(e: BaseException) -> tuple:
    names = []
    tb = e.__traceback__
    while tb is not None:
        mod = tb.tb_frame.f_globals.get("__name__", "")
        if mod.startswith("lrulab.kernel.") and mod not in _HELPER_MODULES:
            names.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    return tuple(names)


def run_scenario(sc: Scenario, trace: bool = True) -> RunResult:
    """Run a scenario sequentially and evaluate its properties at the end."""
    k = build_kernel(sc)
    records: list = []
    plan = [("setup", op) for op in sc.setup]
    for i, ops in enumerate(sc.threads):
        plan += [(f"T{i}", op) for op in ops]
    # sequence -> counters at its previous assert (vmstat deltas); 'after' starts from the
    # end of setup
    marks: dict = {"setup end": am.counters(k)}
    _run_plan(k, plan, records, marks, trace)
    k.current = k.tasks[0]
    props = {name: REGISTRY[name][0](k) for name in sc.check if name in REGISTRY}
    accepted = accepted_notes(k, sc)
    if sc.strict:  # --strict: nothing accepted by design
        for name, msgs in accepted.items():
            props[name] = props.get(name, []) + [f"{m} [--strict]" for m in msgs]
        accepted = {}
    if sc.after or sc.after_asserts:
        k.current = k.task("after")
        marks["after"] = marks["setup end"]
        lead = [(a, am.evaluate(k, a, marks["after"])) for a in sc.after_asserts]
        if lead:
            records.append(OpRecord("after", None, "", [], {}, snapshot(k), [], lead))
            marks["after"] = am.counters(k)
        _run_plan(k, [("after", op) for op in sc.after], records, marks, trace)
        for name in sc.check:  # step properties (events only grow) cover the after ops too
            if name in REGISTRY and REGISTRY[name][1] == "step":
                props[name] = REGISTRY[name][0](k)
    if am.ASSERTION in sc.check:
        props[am.ASSERTION] = [m for r in records for _, msgs in r.asserts for m in msgs]
    ks = sc.kernel
    return RunResult(sc, ks.variant, dict(ks.patches), list(ks.boot), records, am.counters(k),
                     memcg_counts(k), [str(e) for e in k.events], props, k, accepted)


def accepted_notes(k, sc: Scenario) -> dict:
    """What the scenario's properties accept by design in this state (properties.ACCEPTED);
    with sc.strict the caller counts them as violations instead."""
    from .properties import ACCEPTED
    return {name: msgs for name in sc.check if name in ACCEPTED
            for msgs in [ACCEPTED[name](k)] if msgs}


def _run_plan(k, plan, records, marks, trace) -> None:
    tasks: dict = {}
    for tname, op in plan:
        if tname not in tasks:
            tasks[tname] = k.task(tname)
        k.current = tasks[tname]
        marks.setdefault(tname, am.counters(k))
        before = am.counters(k)
        nev = len(k.events)
        tracer = _CallTrace() if trace else None
        if tracer:
            sys.setprofile(tracer)
        try:
            result = execute(k, op)
        finally:
            if tracer:
                sys.setprofile(None)
        after = am.counters(k)
        delta = {key: after[key] - before.get(key, 0) for key in after
                 if after[key] != before.get(key, 0)}
        checked = []
        for a in op.asserts if str(result) != "oops" else ():  # the task died in the op
            checked.append((a, am.evaluate(k, a, marks[tname])))
            marks[tname] = am.counters(k)
        records.append(OpRecord(tname, op, str(result), tracer.names if tracer else [], delta,
                                snapshot(k), [str(e) for e in k.events[nev:]], checked))
        if tname == "setup":
            marks["setup end"] = am.counters(k)

