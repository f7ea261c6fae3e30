"""The named properties.  Each is a function of the kernel state returning a list of messages
(empty: the property holds).  ``WHEN`` says where the checker evaluates it: 'step' after every
step, 'quiescent' in states where every thread has finished.  Definitions: docs/properties.md.
"""

from __future__ import annotations

import copy

from .kernel import list_lru as ll
from .kernel import lru_user
from .kernel import memcontrol as mc
from .kernel import shrinker as sh
from .kernel.folio import PG_anon, PG_hugetlb, PG_partially_mapped
from .kernel.list import list_count, list_entries
from .kernel.sched import run_sync
from .kernel.vmscan import shrink_node
from .kernel.vmstat import mthp_stat_total


def _events(k, kinds) -> list[str]:
    return [str(e) for e in k.events if e.kind in kinds]


def no_warn(k) -> list[str]:
    """No WARN_ON / VM_WARN_ON / WARN_ON_ONCE fired, and no lockdep splat."""
    return _events(k, ("warn", "lockdep"))


def no_oops(k) -> list[str]:
    """No Oops: NULL or dead pointer dereference, BUG, or a task stuck on itself."""
    return _events(k, ("oops", "deadlock"))


def no_use_after_free(k) -> list[str]:
    """No read or write of a freed folio, memcg, sublist or lru object (KASAN)."""
    return _events(k, ("use_after_free",))


def list_integrity(k) -> list[str]:
    """No list op without the protecting lock, no double add, no delete of a deleted entry."""
    return _events(k, ("list",))


# -- where things are queued --------------------------------------------------------------

def _memcg_by_kmemcg_id(k):
    out = {}
    for m in list(k.memcgs.values()) + k.released_memcgs:
        if m.kmemcg_id >= 0 and not m.freed:
            out.setdefault(m.kmemcg_id, m)
    return out


def thp_lists(k):
    """(owner memcg or None, nid or None, list head) of every deferred-split list: list_lru
    sublists (owner None for node lists) or open-coded queues (a memcg's mixes the nodes: nid
    None; a node's has its nid)."""
    possible = k.cfg.node_ids  # the array slots of a node-set hole hold nothing
    if k.cfg.patch.thp_list_lru:
        owners = _memcg_by_kmemcg_id(k)
        for idx, nid, l in ll.lru_sublists(k.deferred_split_lru):
            if nid in possible:
                yield owners.get(idx) if idx >= 0 else None, nid, l.list
    else:
        for nid in possible:
            yield None, nid, k.nodes[nid].deferred_split_queue.split_queue
        for m in _all_memcgs(k):
            yield m, None, m.deferred_split_queue.split_queue


def _all_memcgs(k):
    ms = list(k.memcgs.values())
    if k.root_mem_cgroup is not None:
        ms.insert(0, k.root_mem_cgroup)
    return ms + [m for m in k.released_memcgs if not m.freed]


def queued_folios(k):
    """(owner, folio) for every folio on a deferred-split list."""
    for owner, _, head in thp_lists(k):
        for e in list_entries(head):
            yield owner, e.container


def _effective(k, memcg):
    while memcg is not None and not memcg.online:
        memcg = memcg.parent
    return memcg


def _shrinker_memcg_aware(s) -> bool:
    return bool(s.flags & sh.SHRINKER_MEMCG_AWARE)


# -- quiescent properties -----------------------------------------------------------------

def counters(k) -> list[str]:
    """Every count matches its list: list_lru sublists (dead ones LONG_MIN and empty) and node
    totals, split_queue_len, NR_ANON_PARTIALLY_MAPPED, nr_anon_transparent_hugepages."""
    out = []
    lrus = [k.deferred_split_lru] if k.deferred_split_lru else []
    lrus += [u.lru for u in k.lrus.values()]
    for lru in lrus:
        for nid, node in enumerate(lru.node):
            total = node.lru.nr_items
            for mlru in lru.xa.values():
                total += max(mlru.node[nid].nr_items, 0)
            if total != node.nr_items:
                out.append(f"{lru.name} node {nid}: nr_items {node.nr_items} but sublists "
                           f"hold {total}")
        for _idx, _nid, l in ll.lru_sublists(lru):
            n = list_count(l.list)
            if l.nr_items == ll.LONG_MIN:
                if n:
                    out.append(f"{l.name}: dead but holds {n} items")
            elif l.nr_items != n:
                out.append(f"{l.name}: nr_items {l.nr_items} but {n} on the list")
    if not k.cfg.patch.thp_list_lru:
        queues = [nd.deferred_split_queue for nd in k.nodes]
        queues += [m.deferred_split_queue for m in _all_memcgs(k)]
        for q in queues:
            n = list_count(q.split_queue)
            if q.split_queue_len != n:
                out.append(f"{q.name}: split_queue_len {q.split_queue_len} but {n} queued")
    live = [f for f in k.folios.values() if f is not None and not f.freed]
    pm = sum(1 for f in live if f.flags & PG_partially_mapped and f.order > 1)
    npm = mthp_stat_total(k, "nr_anon_partially_mapped")
    if k.cfg.patch.mthp and npm != pm:
        out.append(f"hugepages-*/stats/nr_anon_partially_mapped {npm} but {pm} folios flagged")
    # anonymous THPs only: not hugetlb (anon-flagged here), shmem or page-cache folios
    thp = sum(1 for f in live if f.pmd_mapped and f.flags & PG_anon and not f.flags & PG_hugetlb)
    if k.vmstat["nr_anon_transparent_hugepages"] != thp:
        out.append(f"nr_anon_transparent_hugepages {k.vmstat['nr_anon_transparent_hugepages']} "
                   f"but {thp} PMD-mapped")
    return out


def split_queue_len(k) -> list[str]:
    """Every change of an open-coded deferred-split queue's split_queue_len is for a folio on
    that queue (or, in 6.1 and V0, on its scanner's private list, which the length counts by
    design): an unqueue that locked another queue leaves both lengths wrong until something
    repairs them, and deferred_split_count() reads them locklessly meanwhile."""
    return _events(k, ("counter",))


def bit_coverage(k) -> list[str]:
    """For a memcg-aware shrinker, every online non-root memcg whose reclaim must see an item
    has the shrinker bit for the item's node: the owner of the memcg sublist or queue holding
    it; for a list that is not per memcg (nokmem), every memcg with items charged there."""
    out = []
    s = k.deferred_split_shrinker
    if _shrinker_memcg_aware(s) and not mc.mem_cgroup_disabled(k):
        for owner, _nid, head in thp_lists(k):
            for e in list_entries(head):
                f = e.container
                need = owner if owner is not None else _effective(k, f.memcg)
                _need_bit(k, need, f.nid, s, f.name, out)
    for user in k.lrus.values():
        if not _shrinker_memcg_aware(user.shrinker) or mc.mem_cgroup_disabled(k):
            continue
        owners = _memcg_by_kmemcg_id(k)
        for idx, nid, l in ll.lru_sublists(user.lru):
            for e in list_entries(l.list):
                obj = e.container
                # a list that is not per memcg: the memcg list_lru_add_obj passes, which is
                # NULL under nokmem (slab objects are not charged), so no bit is set or needed
                need = owners.get(idx) if idx >= 0 else (
                    None if user.lru.memcg_aware else
                    _effective(k, lru_user.mem_cgroup_from_slab_obj(k, obj)))
                _need_bit(k, need, nid, user.shrinker, obj.name, out)
    return out


def _need_bit(k, memcg, nid, s, what, out) -> None:
    if memcg is None or not memcg.online or mc.mem_cgroup_is_root(k, memcg):
        return
    if not sh.shrinker_bit_test(memcg, nid, s.id):
        out.append(f"{what} is queued for {memcg.path} on node {nid}, but {memcg.path}'s bit "
                   f"for {s.name} (id {s.id}) on node {nid} is clear")


def _copy(k):
    c = copy.deepcopy(k)
    c.current = c.task("property")
    c.scan_log = []
    c.isolate_log = []
    return c


def memcg_reclaim_reach(k) -> list[str]:
    """If memcg reclaim of an online memcg M ran now on node N (a full pass, priority 0), its
    deferred-split scan would reach every queued folio charged to M's subtree on N.  Answered
    by running that reclaim on a copy.  When the THP shrinker is not memcg-aware (it fell back:
    7.2 under nokmem, or cgroup_disable=memory) memcg reclaim is not meant to run it; then the
    property asks the same of global reclaim of node N (the accepted 7.2 behaviour)."""
    out = []
    s = k.deferred_split_shrinker
    queued = [f for _, f in queued_folios(k) if not f.freed]
    if not queued:
        return out
    if not _shrinker_memcg_aware(s) or mc.mem_cgroup_disabled(k):
        for nid in k.cfg.node_ids:
            want = {f.name for f in queued if f.nid == nid}
            if want:
                missed = want - _reached(k, nid, None)
                out += [f"global reclaim of node {nid} would not reach {n}" for n in sorted(missed)]
        return out
    out += [f"memcg reclaim of {path} on node {nid} would not reach {n}"
            for path, nid, n in _memcg_reclaim_misses(k, queued)]
    return out


def _memcg_reclaim_misses(k, queued):
    """(memcg path, node, folio name) for each queued folio charged to an online memcg M's
    subtree that memcg reclaim of M on the folio's node would not take off its list."""
    for m in [m for m in k.memcgs.values() if m.online]:
        sub = set(id(x) for x in mc.mem_cgroup_iter(k, m))
        for nid in k.cfg.node_ids:
            want = {f.name for f in queued if f.nid == nid and id(f.memcg) in sub}
            if want:
                for n in sorted(want - _reached(k, nid, m.path)):
                    yield m.path, nid, n


def memcg_reclaim_reach_accepted(k) -> list[str]:
    """What memcg_reclaim_reach accepts by design: when the THP shrinker is not memcg-aware
    (7.2 under cgroup.memory=nokmem: shrinker_alloc fell back), the queued folios charged to
    an online memcg M's subtree that memcg reclaim of M on their node would not reach (only
    global reclaim splits them).  --strict makes these violations."""
    s = k.deferred_split_shrinker
    if _shrinker_memcg_aware(s) or mc.mem_cgroup_disabled(k):
        return []
    queued = [f for _, f in queued_folios(k) if not f.freed]
    return [f"memcg reclaim of {path} on node {nid} would not reach {n} (the THP shrinker is "
            "not memcg-aware: only global reclaim splits it)"
            for path, nid, n in _memcg_reclaim_misses(k, queued)]


def _reached(k, nid, path) -> set:
    c = _copy(k)
    target = c.memcgs[path] if path else None
    run_sync(c, shrink_node(c, nid, target, 0))
    return {f.name for f in c.scan_log}


def node_locality(k) -> list[str]:
    """A deferred-split scan run for node N splits only folios on node N."""
    return [f"reclaim for node {r} split a folio on node {f}"
            + (f" (memcg {m.path or 'root'})" if m is not None else "")
            for r, f, m, _ in k.split_log if r != f]


def _in_subtree(memcg, top) -> bool:
    while memcg is not None:
        if memcg is top:
            return True
        memcg = memcg.parent
    return False


def memcg_locality(k) -> list[str]:
    """A deferred-split scan run for a memcg M (sc->memcg, not the root) splits, isolates
    (takes off a deferred-split list) or frees (drops the last reference of) only folios
    charged to M's subtree (offline descendants included: their folios are still M's).  If M
    was removed while its scan ran, a folio the scan isolated as M's may be charged to an
    ancestor by the time it is split or freed (7.1's lru_reparent_memcg moves M's folios to
    its parent at offline): that is still M's folio, not another memcg's.  (The list_lru walk
    never moves up from a dead sublist: lock_list_lru_of_memcg with skip_empty returns NULL.)
    Accepted by design (memcg_locality_accepted lists it): on the open-coded V1 queue
    (split_queue_walkup, 6.19 .. 7.1) the scan of a dying M walks the queue of its nearest live
    ancestor A, whose folios are charged to A's subtree."""
    out = []
    walked = _walked_up(k)
    for _, _, m, fm in k.split_log:
        if _foreign(k, m, fm) and not _walked_to(walked, m, fm):
            out.append(f"reclaim for memcg {m.path} split a folio charged to {_path(fm)}")
    for _, m, f, fm, what, a in k.isolate_log:
        if _foreign(k, m, fm) and not (a is not None and _in_subtree(fm, a)):
            out.append(f"reclaim for memcg {m.path} {what} {f.name}, charged to {_path(fm)}")
    return out


def _walked_up(k) -> dict:
    """id(M) -> the ancestors whose open-coded queue a scan of dying M walked up to
    (split_queue_lock's walk-up, recorded by the scan in k.isolate_log)."""
    out: dict = {}
    for _, m, _, _, _, a in k.isolate_log:
        if a is not None:
            out.setdefault(id(m), []).append(a)
    return out


def _walked_to(walked: dict, m, fm) -> bool:
    """Whether a scan of M walked up to a queue of an ancestor whose subtree holds fm: its
    split of a folio charged to fm is one of the folios it took from that queue."""
    return any(_in_subtree(fm, a) for a in walked.get(id(m), ()))


def memcg_locality_accepted(k) -> list[str]:
    """What memcg_locality accepts by design: on the open-coded V1 queue (6.19 .. 7.1,
    split_queue_walkup) split_queue_lock_irqsave(sc->nid, sc->memcg) of a dying memcg M (from
    kill_css on; shrink_slab_memcg still runs M's shrinkers until css_offline clears
    CSS_ONLINE) unlocks M's queue and locks its nearest live ancestor A's instead, so the scan
    run for M isolates, splits and frees folios of A's queue: A's own, or reparented from
    A's offline descendants (Qi Zheng, "mm: thp: reparent the split queue during memcg
    offline", <8703f907c4d1f7e8a2ef2bfed3036a84fa53028b.1762762324.git.zhengqi.arch@
    bytedance.com>; on v5 4/4 Harry Yoo: 'we may end up shrinking the parent memcg twice ...
    fine as it'll be rare', <aPdSbO-6xTmr4IsX@hyeyoo>).  --strict makes these violations."""
    out = []
    for _, m, f, fm, what, a in k.isolate_log:
        if a is not None and _in_subtree(fm, a) and not _in_subtree(fm, m):
            out.append(f"reclaim for dying memcg {m.path} {what} {f.name}, charged to "
                       f"{_path(fm)}, from {_path(a)}'s queue (split_queue_lock walked up "
                       "from the dying memcg: V1 by design)")
    walked = _walked_up(k)
    for _, _, m, fm in k.split_log:
        if m is not None and not _in_subtree(fm, m) and _walked_to(walked, m, fm):
            out.append(f"reclaim for dying memcg {m.path} split a folio charged to "
                       f"{_path(fm)} (taken from an ancestor's queue split_queue_lock walked "
                       "up to: V1 by design)")
    return out


def _path(memcg) -> str:
    return memcg.path if memcg is not None and memcg.path else "root"


def _foreign(k, m, fm) -> bool:
    """Whether a folio charged to fm is not memcg reclaim of m's to touch."""
    if m is None or mc.mem_cgroup_is_root(k, m) or _in_subtree(fm, m):
        return False
    # M removed during its scan, its folio reparented after the isolation (7.1+)
    return not (k.cfg.patch.lru_folio_reparent and mc.css_is_dying(m) and fm is not None
                and _in_subtree(m, fm))


def _partially_mapped(f) -> bool:
    """Large, anonymous, still mapped, and not every page of it: what the deferred-split queue
    is for (by the mappings, not PG_partially_mapped, which 6.1 does not have).  A shmem or
    page-cache folio is never a candidate: the rmap removal path queues only anon folios."""
    return (f.order > 1 and f.flags & PG_anon and not f.freed and not f.split and not f.pmd_mapped
            and 0 < f.nr_pages_mapped < 1 << f.order)


def no_orphan(k) -> list[str]:
    """At quiescence every partially mapped large folio is queued where some reclaim path
    reaches it: global reclaim of its node (which walks every memcg, zombies included, and the
    node lists) takes it off a deferred-split list.  Answered on a copy."""
    orphans = {f.name: f for f in k.folios.values() if f is not None and _partially_mapped(f)}
    out = []
    for nid in sorted({f.nid for f in orphans.values()}):
        reached = _reached(k, nid, None)
        for name in sorted(n for n, f in orphans.items() if f.nid == nid):
            if name not in reached:
                at = "queued" if any(f is orphans[name] for _, f in queued_folios(k)) else \
                    "on no deferred-split list"
                out.append(f"{name} is partially mapped and {at}, but no reclaim of node {nid} "
                           "reaches it")
    return out


def no_leak(k) -> list[str]:
    """Once every thread finished and every folio and lru object is freed: every removed memcg
    is released, and every memcg still there holds only its base css reference (plus one per
    child, which pins its parent) and no charged page."""
    objs = [f for f in k.folios.values() if f is not None]
    objs += [o for u in k.lrus.values() for o in u.items.values()]
    if any(not o.freed for o in objs):
        return []
    out = []
    for m in k.memcgs.values():
        # each child not yet released pins its parent (init_and_link_css: css_get(parent);
        # dropped at release, mem_cgroup_css_released)
        want = 1 + sum(1 for c in k.memcgs.values() if c.parent is m)
        if m.dying or not m.online:
            out.append(f"{m.path} was removed but is never released (css_refcnt "
                       f"{m.css_refcnt})")
        elif m.css_refcnt != want:
            out.append(f"{m.path}: css_refcnt {m.css_refcnt} with nothing charged (expected "
                       f"{want}: the base reference and one per child)")
        if m.nr_pages:
            out.append(f"{m.path}: {m.nr_pages} pages still charged with every folio freed")
    return out


def stale_bits(k) -> list[str]:
    """After two reclaim passes of every online memcg on every node (run on a copy), no
    memcg-aware shrinker's bit is set for a (memcg, node) where it has nothing to shrink."""
    if mc.mem_cgroup_disabled(k):
        return []
    c = _copy(k)
    online = [m for m in c.memcgs.values() if m.online]
    # two passes: shrink_slab_memcg clears a bit only when a call finds SHRINK_EMPTY, so a
    # list that the first pass drains keeps its bit until the next pass (lazy clearing, by
    # design); a bit that outlives the second pass is stale
    for _ in range(2):
        for m in online:
            for nid in c.cfg.node_ids:
                run_sync(c, sh.shrink_slab_memcg(c, nid, m, 0))
    out = []
    for m in online:
        for nid in c.cfg.node_ids:
            for i in sh.shrinker_bits(m, nid):
                s = c.shrinker_idr.get(i)
                if s is None or not _shrinker_memcg_aware(s):
                    continue
                n = run_sync(c, s.count_objects(c, s, sh.ShrinkControl(nid, m)))
                if n == 0 or n == sh.SHRINK_EMPTY:
                    out.append(f"{m.path}: bit for {s.name} on node {nid} stays set with "
                               "nothing to shrink")
    return out


def honest_results(k) -> list[str]:
    """An operation reports success exactly when it succeeded (collapse_huge_page's result
    code versus a mapped THP)."""
    out = []
    for text, result, actual in k.results:
        if (result == "SCAN_SUCCEED") != bool(actual):
            out.append(f"{text}: reported {result} but the THP was "
                       f"{'mapped' if actual else 'not created'}")
    return out


def reparent_complete(k) -> list[str]:
    """Nothing stays queued on an offline memcg's own list: at css_offline its items must move
    to the parent, where reclaim can reach them."""
    out = []
    for owner, _, head in thp_lists(k):
        if owner is not None and not owner.online and not mc.mem_cgroup_disabled(k):
            out += [f"{e.container.name} stranded on offline {owner.path}'s queue"
                    for e in list_entries(head)]
    return out


# property -> the behaviours it accepts by design in a state (reported 'ok, accepted: ...';
# violations under --strict)
ACCEPTED = {"memcg_reclaim_reach": memcg_reclaim_reach_accepted,
            "memcg_locality": memcg_locality_accepted}

REGISTRY = {
    "no_warn": (no_warn, "step"),
    "no_oops": (no_oops, "step"),
    "no_use_after_free": (no_use_after_free, "step"),
    "list_integrity": (list_integrity, "step"),
    "counters": (counters, "quiescent"),
    "split_queue_len": (split_queue_len, "step"),
    "bit_coverage": (bit_coverage, "quiescent"),
    "memcg_reclaim_reach": (memcg_reclaim_reach, "quiescent"),
    "node_locality": (node_locality, "step"),
    "stale_bits": (stale_bits, "quiescent"),
    "honest_results": (honest_results, "quiescent"),
    "reparent_complete": (reparent_complete, "quiescent"),
    "memcg_locality": (memcg_locality, "step"),
    "no_orphan": (no_orphan, "quiescent"),
    "no_leak": (no_leak, "quiescent"),
}
# properties of the whole state graph, decided by the checker (check/engine.py: livelocks)
GRAPH_PROPERTIES = ("termination",)
