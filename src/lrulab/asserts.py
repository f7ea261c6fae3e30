"""Assertions in scenario files: ``assert:`` after an op (setup, a thread, ``after:``).

An assert is a mapping of predicates that must all hold when the thread reaches it (right
after the op it follows has finished, in the same atomic step).  Parsing checks every name
(folio, memcg, shrinker, counter) against what the scenario has declared so far; evaluation
reads the kernel state and returns one message per failed predicate, each naming the
assert's ``file:line``.  The checker reports failures under the property ``assertion``;
``lrulab run`` prints pass or fail at the assert's line.  Format: docs/scenarios.md.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from .kernel import memcontrol as mc
from .kernel import shrinker as sh
from .kernel.config import node_ids, nodes_text
from .kernel.list import list_entries
from .kernel.sched import Oops, run_sync
from .kernel.vmscan import shrink_node
from .kernel.vmstat import mthp_stats, new_vmstat

ASSERTION = "assertion"  # the property failing asserts are reported under
MEMCG_STATES = ("online", "dying", "offline", "released")
PREDICATES = ("split", "not_split", "queued", "not_queued", "bit", "vmstat", "reachable",
              "unreachable", "state", "any_of")
THP_SHRINKER = "thp-deferred_split"  # shrinker_alloc(..., "thp-deferred_split")
# per-order mTHP stats, named as under /sys/kernel/mm/transparent_hugepage/
_MTHP = re.compile(r"^hugepages-(\d+)kB/stats/([a-z_]+)$")
_MTHP_ITEMS = ("anon_fault_alloc", "anon_fault_fallback", "anon_fault_fallback_charge",
               "split", "split_failed", "split_deferred", "nr_anon", "nr_anon_partially_mapped")


@dataclass(frozen=True)
class Assert:
    """One ``assert:`` entry: predicates ``((name, value), ...)`` in file order."""

    preds: tuple
    line: int
    file: str = ""

    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def text(self) -> str:
        return f"assert: {self.body()}"

    def body(self) -> str:
        """The predicates as written: ``{name: value, ...}``."""
        inner = ", ".join(f"{n}: [{', '.join(a.body() for a in v)}]" if n == "any_of"
                          else f"{n}: {v}" for n, v in self.preds)
        return f"{{{inner}}}"

    def uses_vmstat(self) -> bool:
        return any(n == "vmstat" or (n == "any_of" and any(a.uses_vmstat() for a in v))
                   for n, v in self.preds)


# -- parsing ------------------------------------------------------------------------------

def counter_names() -> set:
    """Names a ``vmstat:`` predicate accepts: the model's /proc/vmstat counters."""
    return set(new_vmstat())


def _mthp_order(name: str):
    """The folio order of a per-order stat name, or None when it is not one."""
    mt = _MTHP.match(name)
    if not mt or mt.group(2) not in _MTHP_ITEMS:
        return None
    kb = int(mt.group(1))
    order = max((kb // 4).bit_length() - 1, 0)
    return order if 4 << order == kb and 2 <= order <= 9 else None


def parse_assert(fail, body, line: int, path: str, names) -> Assert:
    """Validate one ``assert:`` body.  ``fail(line, msg)`` raises the scenario error;
    ``names`` has .folios, .memcgs, .kernel (lrus) as known at this point of the file."""
    if not isinstance(body, dict) or not body:
        fail(line, "assert takes a mapping of predicates, e.g. 'assert: {split: [f1]}'; "
             "predicates: " + ", ".join(PREDICATES))
    preds = []
    for key, val in body.items():
        if key not in PREDICATES:
            fail(line, f"assert: unknown predicate {key!r}; known: {', '.join(PREDICATES)}")
        preds.append((key, _PARSE[key](fail, line, val, names)))
    return Assert(tuple(preds), line, path)


def _folio(fail, line, val, names, what="folio"):
    if not isinstance(val, str) or val not in names.folios:
        fail(line, f"assert: unknown {what} {val!r}; create it first with fault/collapse "
             "'as: NAME'")
    return val


def _p_folios(fail, line, val, names):
    vals = [val] if isinstance(val, str) else val
    if not isinstance(vals, list) or not vals:
        fail(line, "assert: give a folio name or a list of them")
    return tuple(_folio(fail, line, v, names) for v in vals)


def _memcg(fail, line, val, names):
    if not isinstance(val, str) or (val != "root" and val not in names.memcgs):
        fail(line, f"assert: unknown memcg {val!r}; declare it under memcgs: or mkdir it "
             "first (root is 'root')")
    return val


def _node(fail, line, val, names, allow_all=False):
    if allow_all and val == "all":
        return val
    ids = node_ids(names.kernel.nodes)
    if not isinstance(val, int) or isinstance(val, bool) or val not in ids:
        fail(line, f"assert: node {val!r} does not exist; this kernel has nodes "
             f"{nodes_text(ids)}" + (" (or 'all')" if allow_all else ""))
    return val


def _keys(fail, line, val, pred, required, optional=()):
    if not isinstance(val, dict):
        fail(line, f"assert: {pred} takes a mapping with {', '.join(required + optional)}")
    for key in val:
        if key not in required + optional:
            fail(line, f"assert: {pred}: unknown field {key!r}; fields: "
                 f"{', '.join(required + optional)}")
    for key in required:
        if key not in val:
            fail(line, f"assert: {pred}: missing field '{key}'")


def _p_queued(fail, line, val, names):
    if isinstance(val, str):
        val = {"folio": val}
    _keys(fail, line, val, "queued", ("folio",), ("memcg", "node"))
    out = {"folio": _folio(fail, line, val["folio"], names)}
    if "memcg" in val:
        out["memcg"] = _memcg(fail, line, val["memcg"], names)
    if "node" in val:
        out["node"] = _node(fail, line, val["node"], names)
    return tuple(out.items())


def _p_bit(fail, line, val, names):
    _keys(fail, line, val, "bit", ("memcg", "node", "set"), ("shrinker",))
    lrus = getattr(names, "lrus", names.kernel.lrus)  # kernel.lrus and registered ones
    shrinkers = [THP_SHRINKER] + [f"{n}-shrinker" for n in lrus]
    s = val.get("shrinker", THP_SHRINKER)
    if s not in shrinkers:
        fail(line, f"assert: bit: unknown shrinker {s!r}; known: {', '.join(shrinkers)}")
    if not isinstance(val["set"], bool):
        fail(line, "assert: bit: set must be true or false")
    return (("memcg", _memcg(fail, line, val["memcg"], names)),
            ("node", _node(fail, line, val["node"], names)), ("shrinker", s),
            ("set", val["set"]))


def _p_vmstat(fail, line, val, names):
    if not isinstance(val, dict) or not val:
        fail(line, "assert: vmstat takes {COUNTER: DELTA, ...}")
    known = counter_names()
    for name, delta in val.items():
        if name not in known and _mthp_order(str(name)) is None:
            fail(line, f"assert: vmstat: unknown counter {name!r}; use a /proc/vmstat name "
                 f"({', '.join(sorted(known))}) or hugepages-<size>kB/stats/<item>")
        if not isinstance(delta, int) or isinstance(delta, bool):
            fail(line, f"assert: vmstat: {name}: the change must be an integer")
    return tuple(val.items())


def _p_reach(fail, line, val, names):
    _keys(fail, line, val, "reachable", ("folio", "by"))
    by = val["by"]
    _keys(fail, line, by, "reachable: by", ("memcg",), ("node",))
    return (("folio", _folio(fail, line, val["folio"], names)),
            ("memcg", _memcg(fail, line, by["memcg"], names)),
            ("node", _node(fail, line, by.get("node", "all"), names, allow_all=True)))


def _p_state(fail, line, val, names):
    _keys(fail, line, val, "state", ("memcg", "is"))
    if val["memcg"] == "root":
        fail(line, "assert: state: the root memcg is always online; name a child memcg")
    if val["is"] not in MEMCG_STATES:
        fail(line, f"assert: state: is must be one of {', '.join(MEMCG_STATES)}")
    return (("memcg", _memcg(fail, line, val["memcg"], names)), ("is", val["is"]))


def _p_any_of(fail, line, val, names):
    if not isinstance(val, list) or len(val) < 2 or not all(isinstance(a, dict) for a in val):
        fail(line, "assert: any_of takes a list of two or more mappings of predicates, e.g. "
             "'any_of: [{split: [f1]}, {queued: f1}]'")
    return tuple(parse_assert(fail, alt, line, "", names) for alt in val)


_PARSE = {"split": _p_folios, "not_split": _p_folios, "queued": _p_queued, "not_queued": _p_folios,
          "bit": _p_bit, "vmstat": _p_vmstat, "reachable": _p_reach, "unreachable": _p_reach,
          "state": _p_state, "any_of": _p_any_of}


# -- evaluation ---------------------------------------------------------------------------

def counters(k) -> dict:
    """The counters a ``vmstat:`` predicate reads: /proc/vmstat, then the per-order stats under
    their sysfs names (hugepages-<size>kB/stats/<item>)."""
    return {**k.vmstat, **mthp_stats(k)}


def evaluate(k, a: Assert, base: dict | None) -> list[str]:
    """The failed predicates of ``a`` in kernel state ``k``; ``base``: the counters at the
    previous assert of the same sequence (for ``vmstat``)."""
    return [f"{a.where()}: {name}: {why}" for name, why in _failures(k, a, base)]


def _failures(k, a: Assert, base: dict | None) -> list[tuple[str, str]]:
    out = []
    for name, val in a.preds:
        why = _EVAL[name](k, val, base)
        if why:
            out.append((name, why))
    return out


def _folio_of(k, name):
    return k.folios.get(name)


def _describe(f) -> str:
    if f is None:
        return "never created (the fault fell back to small pages)"
    if f.freed:
        return "freed"
    return "split" if f.split else "not split"


def _split(k, names, _base):
    bad = [n for n in names if not (_folio_of(k, n) is not None and _folio_of(k, n).split)]
    return "; ".join(f"{n} is {_describe(_folio_of(k, n))}" for n in bad)


def _not_split(k, names, _base):
    bad = [n for n in names if _folio_of(k, n) is not None and _folio_of(k, n).split]
    return "; ".join(f"{n} was split" for n in bad)


def where_queued(k, folio):
    """(memcg path or 'root', node) of the deferred-split list holding ``folio``, or None.
    Lists that are not per memcg (node lists) count as root's; the open-coded queues mix
    nodes, so their node is the folio's."""
    from .properties import thp_lists
    for owner, nid, head in thp_lists(k):
        for e in list_entries(head):
            if e.container is folio:
                path = "root" if owner is None or not owner.path else owner.path
                return path, (folio.nid if nid is None else nid)
    return None


def _queued(k, spec, _base):
    spec = dict(spec)
    f = _folio_of(k, spec["folio"])
    at = where_queued(k, f) if f is not None else None
    if at is None:
        return f"{spec['folio']} is on no deferred-split list"
    want = (spec.get("memcg", at[0]), spec.get("node", at[1]))
    if want != at:
        return f"{spec['folio']} is queued on {at[0]} node {at[1]}, not {want[0]} node {want[1]}"
    return ""


def _not_queued(k, names, _base):
    out = []
    for n in names:
        f = _folio_of(k, n)
        at = where_queued(k, f) if f is not None else None
        if at is not None:
            out.append(f"{n} is queued on {at[0]} node {at[1]}")
    return "; ".join(out)


def memcg_named(k, path):
    """The memcg a path names now: live, or the last released one of that path."""
    if path == "root":
        return k.root_mem_cgroup
    m = k.memcgs.get(path)
    if m is None:
        m = next((r for r in reversed(k.released_memcgs) if r.path == path), None)
    return m


def _shrinker(k, name):
    return next((s for s in k.shrinker_idr.values() if s.name == name), None) \
        or (k.deferred_split_shrinker if name == THP_SHRINKER else None)


def _bit(k, spec, _base):
    d = dict(spec)
    m = memcg_named(k, d["memcg"])
    s = _shrinker(k, d["shrinker"])
    is_set = bool(m is not None and s is not None and k.memcgs.get(m.path, m) is m
                  and sh.shrinker_bit_test(m, d["node"], s.id))
    if is_set != d["set"]:
        return (f"{d['memcg']}'s bit for {d['shrinker']} on node {d['node']} is "
                f"{'set' if is_set else 'clear'}")
    return ""


def _vmstat(k, spec, base):
    now = counters(k)
    base = base or {}
    out = []
    for name, want in spec:
        got = now.get(name, 0) - base.get(name, 0)
        if got != want:
            out.append(f"{name} changed by {got:+d}, not {want:+d}")
    return "; ".join(out)


def reached_by(k, folio_name: str, path: str, node) -> bool | None:
    """Whether one reclaim pass (priority 0) of ``path`` ('root': global) on ``node`` (or
    every node) would have a deferred-split scan take the folio off its list.  Runs on a
    copy; the state is untouched.  None when the pass would wait for a lock another thread
    holds (the predicate then holds: no false alarm from a state it cannot judge)."""
    c = copy.deepcopy(k)
    c.current = c.task("assert")
    c.scan_log = []
    c.isolate_log = []
    target = None if path == "root" or mc.mem_cgroup_disabled(c) else memcg_named(c, path)
    nodes = c.cfg.node_ids if node == "all" else [node]
    try:
        for nid in nodes:
            run_sync(c, shrink_node(c, nid, target, 0))
    except Oops as e:
        if str(e).startswith("deadlock:"):
            # another thread is inside a critical section the pass needs: it would wait, and
            # what it then reaches depends on that thread; no answer from this state
            return None
        raise
    f = c.folios.get(folio_name)
    return any(x is f for x in c.scan_log)


def _reach_text(spec) -> str:
    d = dict(spec)
    who = "global reclaim" if d["memcg"] == "root" else f"memcg reclaim of {d['memcg']}"
    return d, f"{who} on {'every node' if d['node'] == 'all' else 'node ' + str(d['node'])}"


def _reachable(k, spec, _base):
    d, who = _reach_text(spec)
    f = _folio_of(k, d["folio"])
    if f is None or f.freed or f.split:
        return f"{d['folio']} is {_describe(f)}: nothing to reach"
    return "" if reached_by(k, d["folio"], d["memcg"], d["node"]) is not False else \
        f"{who} would not reach {d['folio']}"


def _unreachable(k, spec, _base):
    d, who = _reach_text(spec)
    f = _folio_of(k, d["folio"])
    if f is None or f.freed or f.split:
        return ""
    return f"{who} would reach {d['folio']}" if reached_by(k, d["folio"], d["memcg"],
                                                           d["node"]) is True else ""


def memcg_state(k, path: str) -> str:
    """online | dying (rmdir begun, still online) | offline | released."""
    m = k.memcgs.get(path)
    if m is None:
        return "released"
    if m.online:
        return "dying" if m.dying else "online"
    return "offline"


def _state(k, spec, _base):
    d = dict(spec)
    got = memcg_state(k, d["memcg"])
    return "" if got == d["is"] else f"{d['memcg']} is {got}"


def _any_of(k, alts, base):
    """Holds when all the predicates of one alternative hold; else names every failure."""
    whys = []
    for alt in alts:
        fails = _failures(k, alt, base)
        if not fails:
            return ""
        whys.append("; ".join(f"{name}: {why}" for name, why in fails))
    return "none holds: " + " | ".join(f"({i}) {w}" for i, w in enumerate(whys, 1))


_EVAL = {"split": _split, "not_split": _not_split, "queued": _queued, "not_queued": _not_queued,
         "bit": _bit, "vmstat": _vmstat, "reachable": _reachable, "unreachable": _unreachable,
         "state": _state, "any_of": _any_of}
