"""Compact views of the kernel state: a snapshot (path -> value) for diffs and JSON, and the
text lines the runner and traces print."""

from __future__ import annotations

from .kernel import shrinker as sh
from .kernel.list import list_entries
from .kernel.list_lru import lru_sublists
from .properties import queued_folios, thp_lists


def _mpath(m) -> str:
    if m is None:
        return "node"
    return m.path or "root"


def snapshot(k) -> dict:
    """Flat view of what a kernel person looks at: memcg states, bits, queues, counters."""
    s: dict = {}
    for m in [k.root_mem_cgroup] + list(k.memcgs.values()) if k.root_mem_cgroup else []:
        name = _mpath(m)
        state = "online" if m.online else "offline"
        if m.dying:
            state = "dying" if m.online else "offline"
        s[f"memcg {name}"] = state
        for nid in k.cfg.node_ids:
            bits = sh.shrinker_bits(m, nid)
            if bits:
                s[f"bits {name} node{nid}"] = bits
    for owner, nid, head in thp_lists(k):
        names = [e.container.name for e in list_entries(head)]
        if names:
            where = _mpath(owner) + (f" node{nid}" if nid is not None else "")
            s[f"queue {where}"] = names
    for name, user in k.lrus.items():
        for idx, nid, l in lru_sublists(user.lru):
            items = [e.container.name for e in list_entries(l.list)]
            if items:
                s[f"{name} kmemcg_id {idx} node{nid}"] = items
    for name, f in k.folios.items():
        if f is None:
            continue
        if f.freed:
            s[f"folio {name}"] = "freed"
            continue
        desc = f"order {f.order} node {f.nid} memcg {_mpath(f.memcg)} ref {f.refcount}"
        if f.pmd_mapped:
            desc += " pmd"
        elif f.nr_pages_mapped:
            desc += f" ptes {f.nr_pages_mapped}"
        if f.flags & 1:
            desc += " partially_mapped"
        if f.split:
            desc += " split"
        s[f"folio {name}"] = desc
    return s


def diff(before: dict, after: dict) -> list[str]:
    out = []
    for key in after:
        if before.get(key) != after[key]:
            out.append(f"{key}: {before.get(key, '-')} -> {after[key]}")
    for key in before:
        if key not in after:
            out.append(f"{key}: {before[key]} -> -")
    return out


def state_lines(k) -> list[str]:
    return [f"{key}: {val}" for key, val in snapshot(k).items()]


def memcg_counts(k) -> dict:
    """Per-memcg numbers for reports: usage pages, events, queued THPs."""
    out = {}
    queued: dict = {}
    for _, f in queued_folios(k):
        key = _mpath(f.memcg)
        queued[key] = queued.get(key, 0) + 1
    for m in ([k.root_mem_cgroup] if k.root_mem_cgroup else []) + list(k.memcgs.values()):
        name = _mpath(m)
        out[name] = {"pages": m.nr_pages, **m.stat, "queued_thps": queued.get(name, 0)}
    return out


def tree_lines(k) -> list[str]:
    """The memcg tree with, per memcg, its state, shrinker bits per node and the length of its
    deferred-split sublists (list_lru) or queue (open-coded), plus the node lists."""
    per: dict = {}
    for owner, nid, head in thp_lists(k):
        n = sum(1 for _ in list_entries(head))
        per.setdefault(id(owner) if owner is not None else None, []).append((nid, n))
    out = []
    node_lists = per.get(None, [])
    out.append("node lists: " + ", ".join(
        f"node{nid if nid is not None else i}={n}" for i, (nid, n) in enumerate(node_lists)))
    if k.root_mem_cgroup is None:
        return out

    def walk(m, depth):
        state = "online" if m.online else "offline"
        if m.dying and m.online:
            state = "dying"
        lists = per.get(id(m), [])
        qs = " ".join(f"n{nid}:{n}" if nid is not None else f"queue:{n}" for nid, n in lists)
        bits = " ".join(f"n{nid}{sh.shrinker_bits(m, nid)}" for nid in k.cfg.node_ids
                        if sh.shrinker_bits(m, nid))
        out.append(f"{'  ' * depth}{_mpath(m).rpartition('/')[2] or 'root'} [{state}]"
                   + (f" thp {qs}" if qs else "") + (f" bits {bits}" if bits else ""))
        for c in m.children:
            walk(c, depth + 1)

    walk(k.root_mem_cgroup, 0)
    return out
