"""Compare the guest's per-op counter deltas and kernel state with the model's, and format
the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .kernels import RULES_61, KernelRules
from .qemu import OpObservation
from .translate import GuestOp, hog_outcome

# Per-order mTHP stats (hugepages-<size>kB/stats/<item>, 6.9+) compared with the model's
# k.mthp_stat: the items of the anonymous fault, split and deferred-split paths (audit B4).
# The others (swpout, shmem_*, zswpout...) belong to paths the model does not have.
MTHP_ITEMS = ("anon_fault_alloc", "anon_fault_fallback", "anon_fault_fallback_charge",
              "split", "split_failed", "split_deferred", "nr_anon", "nr_anon_partially_mapped")


def mthp_key(key) -> str:
    """The model's per-order stat key as the sysfs path below transparent_hugepage/."""
    if isinstance(key, tuple):
        order, item = key
        return f"hugepages-{4 << int(order)}kB/stats/{item}"
    return str(key)


@dataclass
class StateRow:
    key: str
    kernel: Any
    model: Any


@dataclass
class Row:
    counter: str
    kernel: int | None     # None: the kernel does not have or report this counter
    model: int | None      # None: the model does not keep this counter
    compared: bool
    why_not: str = ""

    @property
    def differs(self) -> bool:
        return self.compared and (self.kernel or 0) != (self.model or 0)


@dataclass
class OpComparison:
    op: GuestOp
    rc: int
    err: str
    rows: list[Row]
    info: dict[str, int] = field(default_factory=dict)   # memcg/node readings (not compared)
    model_result: str = ""                                # the model runner's result string
    model_events: list[str] = field(default_factory=list) # kernel events the model raised
    state: list[StateRow] = field(default_factory=list)   # state keys that differ after the op
    state_keys: int = 0                                   # state keys compared after the op
    kernel_state: dict[str, Any] = field(default_factory=dict)  # the kernel's state after it
    calls: Any = None            # calls.CallDiff where the THP shrinker's calls differ (--calls)
    calls_counted: tuple[int, int] = (0, 0)                 # (kernel, model) calls in the op
    calls_note: str = ""                                    # how they were compared, if not 1:1

    @property
    def disagreements(self) -> list[Row]:
        return [r for r in self.rows if r.differs]


def compare_op(gop: GuestOp, obs: OpObservation, model_delta: dict[str, int],
               model_keys: set[str], rules: KernelRules = RULES_61) -> OpComparison:
    kdelta = obs.delta()
    kvm = {k[3:]: v for k, v in kdelta.items() if k.startswith("vm:")}
    if rules.mthp_stats:
        # per-order stats under their sysfs names; the model's delta holds them the same way
        kvm.update({k[5:]: v for k, v in kdelta.items()
                    if k.startswith("mthp:") and k.rpartition("/")[2] in MTHP_ITEMS})
        model_keys = model_keys | {k for k in kvm if "/stats/" in k}
    info = {k: v for k, v in kdelta.items()
            if not k.startswith("vm:") and not k.startswith("mthp:") and v}
    rows: list[Row] = []
    for name in sorted(model_keys | set(kvm)):
        mine = model_delta.get(name, 0) if name in model_keys else None
        theirs = kvm.get(name)
        if theirs is None and name in rules.absent_counters:
            theirs = 0
        if name in gop.exclude:
            rows.append(Row(name, theirs, mine, False, gop.exclude[name]))
        elif gop.outcome_only and not hog_outcome(name):
            rows.append(Row(name, theirs, mine, False, "outcome-only op"))
        elif mine is None:
            rows.append(Row(name, theirs, None, False, "not modelled"))
        elif theirs is None:
            rows.append(Row(name, None, mine, False, "not reported by this kernel"))
        else:
            rows.append(Row(name, theirs, mine, True))
    return OpComparison(gop, obs.rc, obs.err, rows, info)


@dataclass
class ScenarioComparison:
    path: str
    name: str
    release: str
    kernel_package: str
    variant: str
    patches: dict[str, bool]
    seconds: float
    ops: list[OpComparison]
    workdir: str | None = None
    kernel_name: str = ""
    state_compared: bool = False
    state_why_not: str = ""
    calls_compared: bool = False
    calls_why_not: str = ""
    boot_retry: str = ""            # a first boot that failed before /init, retried once

    @property
    def calls_first_op(self) -> int | None:
        """The first op whose THP shrinker calls differ from the model's (--calls)."""
        return next((o.op.index for o in self.ops if o.calls is not None), None)

    @property
    def state_first_op(self) -> int | None:
        """The first op after which the kernel's state differs from the model's."""
        return next((o.op.index for o in self.ops if o.state), None)

    @property
    def state_disagreements(self) -> list[StateRow]:
        """The differing keys at the first op where state differs (later ones follow from it)."""
        return next((o.state for o in self.ops if o.state), [])

    @property
    def disagreements(self) -> int:
        return (sum(len(o.disagreements) for o in self.ops) + len(self.state_disagreements)
                + (self.calls_first_op is not None))

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "name": self.name, "status": "agree" if not self.disagreements
            else "disagree", "kernel": self.release, "kernel_package": self.kernel_package,
            "kernel_name": self.kernel_name,
            "variant": self.variant, "patches": self.patches,
            "guest_seconds": round(self.seconds, 1),
            "disagreements": self.disagreements, "workdir": self.workdir,
            "state_compared": self.state_compared,
            **({"boot_retry": self.boot_retry} if self.boot_retry else {}),
            **({"state_not_compared": self.state_why_not} if self.state_why_not else {}),
            "state_first_differs_at": self.state_first_op,
            "calls_compared": self.calls_compared,
            **({"calls_not_compared": self.calls_why_not} if self.calls_why_not else {}),
            "calls_first_differ_at": self.calls_first_op,
            "ops": [{
                "index": o.op.index, "line": o.op.line, "op": o.op.kind, "text": o.op.text,
                "guest_action": o.op.action, "rc": o.rc, "err": o.err,
                **({"outcome_only": o.op.outcome_only} if o.op.outcome_only else {}),
                "model_result": o.model_result, "model_events": o.model_events,
                "counters": {r.counter: {"kernel": r.kernel, "model": r.model,
                                         "compared": r.compared, "agree": not r.differs,
                                         **({"not_compared": r.why_not} if r.why_not else {})}
                             for r in o.rows},
                "info": o.info,
                "state_keys": o.state_keys,
                "state": {r.key: {"kernel": r.kernel, "model": r.model} for r in o.state},
                "kernel_state": o.kernel_state,
                **({"calls": {"kernel": o.calls_counted[0], "model": o.calls_counted[1],
                              **({"note": o.calls_note} if o.calls_note else {}),
                              **({"first_difference": {
                                  "position": o.calls.position,
                                  "kernel": list(o.calls.kernel or []) or None,
                                  "model": list(o.calls.model or []) or None}}
                                 if o.calls is not None else {})}}
                   if self.calls_compared else {}),
            } for o in self.ops],
        }


def _show(row: Row) -> bool:
    """Text rows: counters that moved; unmodelled non-THP counters (nr_anon_pages, drop_slab)
    only in --json."""
    if row.why_not == "not modelled" and not row.counter.startswith("thp_"):
        return False
    return bool(row.kernel) or bool(row.model) or row.differs


def format_text(sc: ScenarioComparison) -> str:
    first = sc.state_first_op
    w = max([30] + [len(r.counter) for o in sc.ops for r in o.rows if _show(r)])
    out = [f"{sc.path}: {sc.name}",
           f"  kernel {sc.release} ({sc.kernel_package}) vs model {sc.variant}"
           + (f" with {sc.patches}" if sc.patches else "")
           + f"   [guest {sc.seconds:.1f} s]"
           + (f"\n  ({sc.boot_retry})" if sc.boot_retry else ""),
           f"  {'#':>3} {'line':>4}  {'op':<34} {'counter':<{w}} {'kernel':>7} {'model':>7}"]
    for o in sc.ops:
        head = f"  {o.op.index:>3} {o.op.line:>4}  {o.op.text:<34}"
        if o.err != "0":
            head = f"  {o.op.index:>3} {o.op.line:>4}  {(o.op.text + ' rc=' + o.err):<34}"
        rows = [r for r in o.rows if _show(r)]
        if not rows:
            out.append(f"{head} {'(no counter moved)':<{w}}")
        for i, r in enumerate(rows):
            k = "-" if r.kernel is None else str(r.kernel)
            m = "-" if r.model is None else str(r.model)
            mark = ("  << DIFFERS" if r.differs
                    else "" if r.compared else f"  (not compared: {r.why_not})")
            lead = head if i == 0 else " " * len(head)
            out.append(f"{lead} {r.counter:<{w}} {k:>7} {m:>7}{mark}")
        if o.op.outcome_only:
            out.append(f"{' ' * len(head)} (outcome only: {o.op.outcome_only})")
        if o.op.index == first:
            out.append(f"{' ' * len(head)} kernel state differs after this op:")
            for r in o.state:
                out.append(f"{' ' * len(head)}   {r.key}: kernel {_val(r.kernel)}, "
                           f"model {_val(r.model)}  << DIFFERS")
        if o.op.index == sc.calls_first_op:
            from .calls import show
            d = o.calls
            out.append(f"{' ' * len(head)} THP shrinker calls differ in this op (kernel "
                       f"{d.kernel_calls}, model {d.model_calls}); call #{d.position}:")
            out.append(f"{' ' * len(head)}   kernel {show(d.kernel)}")
            out.append(f"{' ' * len(head)}   model  {show(d.model)}  << DIFFERS")
    n = sc.disagreements
    if not sc.state_compared:
        state = f"state not compared ({sc.state_why_not})"
    elif first is None:
        state = f"state agrees after every op ({sum(o.state_keys for o in sc.ops)} keys)"
    else:
        state = f"state differs from op {first} on"
    if sc.calls_compared:
        first_calls = sc.calls_first_op
        total = sum(o.calls_counted[0] for o in sc.ops)
        state += ("; THP shrinker calls agree in every op "
                  f"({total} call{'s' if total != 1 else ''})" if first_calls is None
                  else f"; THP shrinker calls differ from op {first_calls} on")
    elif sc.calls_why_not:
        state += f"; calls not compared ({sc.calls_why_not})"
    out.append(f"  => {'AGREE' if n == 0 else 'DISAGREE'}: {len(sc.ops)} ops, "
               f"{n} disagreement{'s' if n != 1 else ''}; {state}")
    if sc.workdir:
        out.append(f"  (initramfs, script and logs kept in {sc.workdir})")
    return "\n".join(out)


def _val(v: Any) -> str:
    if v is None:
        return "(absent)"
    if isinstance(v, list):
        return "[" + ", ".join(map(str, v)) + "]"
    return str(v)
