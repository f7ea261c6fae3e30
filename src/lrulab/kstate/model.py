"""The model Kernel's state in the shape of ``lrulab.kstate`` (the same dict the drgn reader
returns for a real kernel)."""

from __future__ import annotations

from lrulab.kernel import shrinker as sh
from lrulab.kernel.list import list_entries
from lrulab.kernel.list_lru import lru_sublists
from lrulab.properties import thp_lists

from . import State


def _path(m) -> str:
    return m.path or "root" if m is not None else "-"


def _memcgs(k) -> list:
    """Every memcg still in the cgroup tree: root first, then pre-order."""
    if k.root_mem_cgroup is None:
        return []
    out, stack = [], [k.root_mem_cgroup]
    while stack:
        m = stack.pop()
        out.append(m)
        stack.extend(reversed(m.children))
    return out


def model_state(k, lrus: tuple[str, ...] = ()) -> State:
    """`k`'s state; `lrus` names the list_lru users (``k.lrus``) whose counts are included."""
    s: State = {}
    memcgs = _memcgs(k) if not k.cfg.memcg_disabled else []
    thp = k.deferred_split_shrinker
    for m in memcgs:
        p = _path(m)
        s[f"memcg {p}"] = ("dying" if m.dying else "online") if m.online else "offline"
        s[f"memcg {p} kmemcg_id"] = m.kmemcg_id
        for nid in range(k.cfg.nodes):
            if thp is not None:
                s[f"shrinker_bit thp {p} node{nid}"] = int(thp.id in sh.shrinker_bits(m, nid))
            for name in lrus:
                s[f"shrinker_bit {name} {p} node{nid}"] = int(
                    k.lrus[name].shrinker.id in sh.shrinker_bits(m, nid))
    node_lists = 0
    for owner, nid, head in thp_lists(k):
        if owner is None and nid is None:
            # open-coded per-node queues come in k.nodes order, without their nid
            nid, node_lists = k.nodes[node_lists].node_id, node_lists + 1
        names = [e.container.name for e in list_entries(head)]
        if not names:
            continue
        if owner is None:
            where = f"node{nid}"
        else:
            where = _path(owner) + (f" node{nid}" if nid is not None else "")
        s[f"deferred_split {where}"] = names
    owners: dict = {}
    for m in memcgs:   # an id shared after reparenting belongs to the first, the ancestor
        if m.kmemcg_id >= 0:
            owners.setdefault(m.kmemcg_id, m)
    for name in lrus:
        for idx, nid, l in lru_sublists(k.lrus[name].lru):
            n = sum(1 for _ in list_entries(l.list))
            if n:
                where = _path(owners.get(idx)) if idx >= 0 else "root"
                s[f"list_lru {name} {where} node{nid}"] = n
    for name, f in k.folios.items():
        if f is None:
            continue
        if f.split:
            s[f"folio {name}"] = "split"
            continue
        if f.freed:
            s[f"folio {name}"] = "freed"
            continue
        s[f"folio {name}"] = "live"
        s[f"folio {name} order"] = f.order
        s[f"folio {name} node"] = f.nid
        s[f"folio {name} memcg"] = _path(f.memcg)
        s[f"folio {name} refcount"] = f.refcount
        s[f"folio {name} mapped"] = ("pmd" if f.pmd_mapped else
                                     f"ptes {f.nr_pages_mapped}" if f.nr_pages_mapped else "none")
    return s
