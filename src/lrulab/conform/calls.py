"""The THP shrinker's calls, on the kernel and in the model, per op (`lrulab conform --calls`).

On 6.12 the guest records every call of ``deferred_split_count`` and ``deferred_split_scan``
(mm/huge_memory.c) with fprobe events (kernel/trace/trace_fprobe.c, CONFIG_FPROBE_EVENTS, with
BTF arguments, CONFIG_PROBE_EVENTS_BTF_ARGS; both set in Debian's 6.12.117 config): at entry
``sc->nid``, the memcg's cgroup id (``sc->memcg->css.cgroup->kn->id``, which is the inode
number of its cgroup directory: the probe reports it per memcg) and, for the scan,
``sc->nr_to_scan``; at return the result.  The model records the same at its
``do_shrink_slab`` calls (kernel/shrinker.py: ``k.shrinker_calls``).  A call is
``(kind, nid, memcg path, nr_to_scan or None, result)``; per op the two lists are compared in
order, and the first op where they differ is reported with the first differing call.
6.1 has no fprobe events (they came in 6.6): there the calls are not compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THP_SHRINKER = "thp-deferred_split"      # the model's name (huge_memory.thp_shrinker_init)
TRACEFS = "/sys/kernel/tracing"
_CG = "cg=sc->memcg->css.cgroup->kn->id"

# probe script lines: E adds a dynamic event, K enables the group, T prints the buffer per op
SCRIPT = [
    f"E f:lrulab/dscount deferred_split_count nid=sc->nid {_CG}",
    "E f:lrulab/dscount_ret deferred_split_count%return ret=$retval",
    f"E f:lrulab/dsscan deferred_split_scan nid=sc->nid {_CG} nr=sc->nr_to_scan",
    "E f:lrulab/dsscan_ret deferred_split_scan%return ret=$retval",
    f"K {TRACEFS}/events/lrulab/enable 1",
    "T",
]

_EVENT = re.compile(r"\s(dscount|dscount_ret|dsscan|dsscan_ret): \(.*?\)\s*(.*)$")
_KIND = {"dscount": "count", "dsscan": "scan"}

Call = tuple  # (kind, nid, memcg, nr_to_scan, result)


def supported(series: str) -> bool:
    """fprobe events with BTF arguments: 6.6+ (6.12 here); not 6.1."""
    major, _, minor = series.partition(".")
    return (int(major), int(minor or 0)) >= (6, 6)


def add_to_script(script: str) -> str:
    """`script` with the event lines before its first op (after the memcgs exist)."""
    lines = script.splitlines()
    first_op = next((i for i, ln in enumerate(lines) if ln.startswith("O ")), len(lines))
    return "\n".join(lines[:first_op] + SCRIPT + lines[first_op:]) + "\n"


def _fields(text: str) -> dict[str, str]:
    return dict(kv.split("=", 1) for kv in text.split() if "=" in kv)


def _int(v: str | None):
    if v is None:
        return None
    try:
        return int(v, 0)
    except ValueError:
        return v                       # "(fault)": a NULL sc->memcg


def kernel_calls(trace: list[str], cgids: dict[int, str]) -> list[Call]:
    """The calls in one op's trace lines: each entry paired with the next return of the same
    function (the probe runs everything on CPU 0; reclaim runs in its context)."""
    open_: dict[str, list[dict]] = {"count": [], "scan": []}
    out: list[Call] = []
    for line in trace:
        m = _EVENT.search(line)
        if not m:
            continue
        event, f = m.group(1), _fields(m.group(2))
        kind = _KIND[event.removesuffix("_ret")]
        if not event.endswith("_ret"):
            open_[kind].append(f)
            continue
        if not open_[kind]:
            continue                   # the entry was before the buffer was cleared
        entry = open_[kind].pop()
        cg = _int(entry.get("cg"))
        # a NULL sc->memcg (cgroup_disable=memory) reads as 0 or "(fault)"; a cgroup's
        # kernfs id is never 0 (the root's is 1)
        memcg = cgids.get(cg, f"cgid:{cg}") if isinstance(cg, int) and cg else "-"
        nr = _int(entry.get("nr")) if kind == "scan" else None
        out.append((kind, _int(entry.get("nid")), memcg, nr, _int(f.get("ret"))))
    return out


def model_calls(recorded: list[tuple]) -> list[Call]:
    """The THP shrinker's calls among the model's (kernel/shrinker.py: _record_call)."""
    return [(kind, nid, memcg, nr, result)
            for kind, name, nid, memcg, nr, result in recorded if name == THP_SHRINKER]


@dataclass
class CallDiff:
    position: int            # index of the first differing call in the op
    kernel: Call | None
    model: Call | None
    kernel_calls: int
    model_calls: int


# drop_slab_node (mm/vmscan.c) repeats its pass over every memcg while the pass freed more
# than 10 objects; the other shrinkers it runs (proc/sysfs/cgroupfs dentries and inodes) are
# not in the model, so the kernel may make passes the model does not
FIRST_PASS = ("drop_caches repeats its pass while the other shrinkers free more than 10 "
              "objects (drop_slab_node), which the model does not hold: the kernel's calls "
              "are compared up to the model's last")


def compare(kernel: list[Call], model: list[Call], first_pass: bool = False
            ) -> CallDiff | None:
    """None when the two lists are equal (with `first_pass`, when the model's calls are the
    kernel's first ones), else where they first differ."""
    if first_pass and len(kernel) > len(model):
        d = compare(kernel[:len(model)], model)
        if d is not None:
            d.kernel_calls = len(kernel)
        return d
    if kernel == model:
        return None
    i = next((i for i, (a, b) in enumerate(zip(kernel, model, strict=False)) if a != b),
             min(len(kernel), len(model)))
    return CallDiff(i, kernel[i] if i < len(kernel) else None,
                    model[i] if i < len(model) else None, len(kernel), len(model))


def show(c: Call | None) -> str:
    if c is None:
        return "(none)"
    kind, nid, memcg, nr, result = c
    nr_s = f" nr_to_scan={nr}" if kind == "scan" else ""
    return f"deferred_split_{kind}(nid={nid} memcg={memcg}{nr_s}) = {_result(result)}"


def _result(r) -> str:
    if r == (1 << 64) - 1:
        return "SHRINK_STOP"
    if r == (1 << 64) - 2:
        return "SHRINK_EMPTY"
    return str(r)
