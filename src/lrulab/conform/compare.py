"""Compare the guest's per-op counter deltas with the model's, and format the answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .qemu import OpObservation
from .translate import GuestOp

# Counters a 6.1 kernel does not have. The model may still keep them (newer designs); on the
# real kernel they are 0, so a model delta != 0 for one of these is a disagreement.  (The
# per-order hugepages-*/stats/* the model keeps from 6.12 on, nr_anon_partially_mapped among
# them, are not counted at all on the 6.1 presets: mod_mthp_stat needs the mthp flag.)
ABSENT_IN_61 = ("thp_underused_split_page", "thp_migration_split")


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

    @property
    def disagreements(self) -> list[Row]:
        return [r for r in self.rows if r.differs]


def compare_op(gop: GuestOp, obs: OpObservation, model_delta: dict[str, int],
               model_keys: set[str]) -> OpComparison:
    kdelta = obs.delta()
    kvm = {k[3:]: v for k, v in kdelta.items() if k.startswith("vm:")}
    info = {k: v for k, v in kdelta.items() if not k.startswith("vm:") and v}
    rows: list[Row] = []
    for name in sorted(model_keys | set(kvm)):
        mine = model_delta.get(name, 0) if name in model_keys else None
        theirs = kvm.get(name)
        if theirs is None and name in ABSENT_IN_61:
            theirs = 0
        if name in gop.exclude:
            rows.append(Row(name, theirs, mine, False, gop.exclude[name]))
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

    @property
    def disagreements(self) -> int:
        return sum(len(o.disagreements) for o in self.ops)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "name": self.name, "status": "agree" if not self.disagreements
            else "disagree", "kernel": self.release, "kernel_package": self.kernel_package,
            "variant": self.variant, "patches": self.patches,
            "guest_seconds": round(self.seconds, 1),
            "disagreements": self.disagreements, "workdir": self.workdir,
            "ops": [{
                "index": o.op.index, "line": o.op.line, "op": o.op.kind, "text": o.op.text,
                "guest_action": o.op.action, "rc": o.rc, "err": o.err,
                "model_result": o.model_result, "model_events": o.model_events,
                "counters": {r.counter: {"kernel": r.kernel, "model": r.model,
                                         "compared": r.compared, "agree": not r.differs,
                                         **({"not_compared": r.why_not} if r.why_not else {})}
                             for r in o.rows},
                "info": o.info,
            } for o in self.ops],
        }


def _show(row: Row) -> bool:
    """Text rows: counters that moved; unmodelled non-THP counters (nr_anon_pages, drop_slab)
    only in --json."""
    if row.why_not == "not modelled" and not row.counter.startswith("thp_"):
        return False
    return bool(row.kernel) or bool(row.model) or row.differs


def format_text(sc: ScenarioComparison) -> str:
    out = [f"{sc.path}: {sc.name}",
           f"  kernel {sc.release} ({sc.kernel_package}) vs model {sc.variant}"
           + (f" with {sc.patches}" if sc.patches else "")
           + f"   [guest {sc.seconds:.1f} s]",
           f"  {'#':>3} {'line':>4}  {'op':<34} {'counter':<30} {'kernel':>7} {'model':>7}"]
    for o in sc.ops:
        head = f"  {o.op.index:>3} {o.op.line:>4}  {o.op.text:<34}"
        if o.err != "0":
            head = f"  {o.op.index:>3} {o.op.line:>4}  {(o.op.text + ' rc=' + o.err):<34}"
        rows = [r for r in o.rows if _show(r)]
        if not rows:
            out.append(f"{head} {'(no counter moved)':<30}")
        for i, r in enumerate(rows):
            k = "-" if r.kernel is None else str(r.kernel)
            m = "-" if r.model is None else str(r.model)
            mark = ("  << DIFFERS" if r.differs
                    else "" if r.compared else f"  (not compared: {r.why_not})")
            out.append(f"{head if i == 0 else ' ' * len(head)} {r.counter:<30} {k:>7} {m:>7}{mark}")
    n = sc.disagreements
    out.append(f"  => {'AGREE' if n == 0 else 'DISAGREE'}: {len(sc.ops)} ops, "
               f"{n} disagreeing counter{'s' if n != 1 else ''}")
    if sc.workdir:
        out.append(f"  (initramfs, script and logs kept in {sc.workdir})")
    return "\n".join(out)
