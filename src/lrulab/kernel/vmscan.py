"""mm/vmscan.c (and memory_reclaim of mm/memcontrol.c, drop_slab of mm/shrinker.c): the
reclaim drivers that call shrink_slab.

The model has no LRU pages, so nothing is ever counted as reclaimed -- as on a machine
without swap, where THP splits are not counted either (6.1 §2.6).  So direct and memcg reclaim
(do_try_to_free_pages) run their priorities down to 0 and, from 6.11 on
(reclaim_full_walk_retry), run the whole sweep once more; kswapd (balance_pgdat) stops at
priority 1 (9aa41348a8d1 "mm: vmscan: do not allow kswapd to scan at maximum priority", 4.8).

Not modelled: the shared partial memcg iterator of 6.11+ direct reclaim (a partial walk breaks
early only once nr_to_reclaim is met, which never happens here, so alone it visits what a full
walk visits; concurrent reclaimers splitting one walk between them are not modelled)."""

from __future__ import annotations

from . import huge_memory, memcontrol_v1, rmap
from . import memcontrol as mc
from .folio import (
    PG_partially_mapped,
    PG_swapcache,
    __folio_put,
    folio_put,
    folio_ref_freeze,
    folio_trylock,
    folio_unlock,
)
from .list import list_empty
from .sched import data_race
from .shrinker import DEF_PRIORITY, shrink_slab

MAX_RECLAIM_RETRIES = 16


def shrink_node_memcgs(k, nid: int, target, priority: int, scan_limit=None):
    """mm/vmscan.c: shrink_node_memcgs -- every memcg of the target's subtree (zombies
    included; each pinned by mem_cgroup_iter while it is visited), then shrink_slab(nid,
    memcg); with memcg disabled once with memcg NULL."""
    freed = 0
    for memcg in mc.mem_cgroup_iter_pinned(k, target):
        freed += yield from shrink_slab(k, nid, memcg, priority, scan_limit)
    return freed


def shrink_node(k, nid: int, target, priority: int, scan_limit=None):
    """mm/vmscan.c: shrink_node -- one pass over one node at one priority."""
    k.reclaim_passes += 1
    return (yield from shrink_node_memcgs(k, nid, target, priority, scan_limit))


def do_try_to_free_pages(k, nodes, target, scan_limit=None):
    """mm/vmscan.c: do_try_to_free_pages -- priority DEF_PRIORITY down to 0, every node of the
    zonelist once per priority (no LRU progress, so no early exit).  Nothing reclaimed: 6.11+
    (reclaim_full_walk_retry) sets sc->memcg_full_walk, resets the priority and goes back to
    retry once; 6.1 returns (its skipped_deactivate and memcg_low_skipped retries need LRU
    pages and memory.low, which the model has not)."""
    freed = 0
    memcg_full_walk = False
    while True:
        for priority in range(DEF_PRIORITY, -1, -1):
            for nid in nodes:
                freed += yield from shrink_node(k, nid, target, priority, scan_limit)
        if not k.cfg.patch.reclaim_full_walk_retry or memcg_full_walk:
            return freed
        # 6be5e186fd65 "mm: vmscan: restore incremental cgroup iteration" (+ "mm: vmscan:
        # reset sc->priority on retry"): sc->priority = initial_priority; goto retry
        memcg_full_walk = True


def kswapd_shrink_node(k, nid: int, priority: int, scan_limit=None):
    """mm/vmscan.c: kswapd_shrink_node -- shrink_node of kswapd's node, a full memcg walk."""
    return shrink_node(k, nid, None, priority, scan_limit)


def balance_pgdat(k, nid: int, scan_limit=None):
    """mm/vmscan.c: balance_pgdat -- kswapd of node nid: priority DEF_PRIORITY down to 1, never
    0 (9aa41348a8d1); with no progress the priority drops every round; no retry sweep."""
    for priority in range(DEF_PRIORITY, 0, -1):
        yield from kswapd_shrink_node(k, nid, priority, scan_limit)


def try_to_free_mem_cgroup_pages(k, memcg, nodes, scan_limit=None):
    """mm/vmscan.c: try_to_free_mem_cgroup_pages -- memcg reclaim of memcg's subtree via
    do_try_to_free_pages (6.1 has no nodemask: every node; a node-restricted variant is what
    'reclaim: {memcg, node: N}' models).  Returns pages reclaimed: always 0 here."""
    yield from do_try_to_free_pages(k, nodes, memcg, scan_limit)
    return 0


def memory_reclaim(k, memcg, scan_limit=None):
    """mm/memcontrol.c: memory_reclaim (the memory.reclaim file) -- retries
    try_to_free_mem_cgroup_pages while nothing is reclaimed: 1 + MAX_RECLAIM_RETRIES calls (each
    one sweep, two from 6.11), then -EAGAIN."""
    nodes = k.cfg.node_ids
    for _ in range(1 + MAX_RECLAIM_RETRIES):
        yield from try_to_free_mem_cgroup_pages(k, memcg, nodes, scan_limit)
    return -11


def drop_slab_node(k, nid: int):
    """mm/shrinker.c (6.1: mm/vmscan.c): drop_slab_node -- every memcg at priority 0, repeated
    while (freed >> shift++) > 1."""
    shift = 0
    while True:
        freed = yield from shrink_node_memcgs(k, nid, None, 0)
        k.reclaim_passes += 1
        if (freed >> shift) <= 1:
            break
        shift += 1


def drop_slab(k):
    """mm/shrinker.c: drop_slab -- /proc/sys/vm/drop_caches 2: every online node."""
    for nid in k.cfg.node_ids:
        yield from drop_slab_node(k, nid)


# -- swap-out of one folio (shrink_folio_list) ----------------------------------------------

def folio_isolate_lru(k, folio) -> bool:
    """mm/vmscan.c: folio_isolate_lru (isolate_lru_folios' part for one folio) -- a live folio
    still on its LRU is taken off it with a reference; one that reclaim, migration or charge
    moving holds isolated, or that is frozen or freed, is not."""
    if folio.freed or folio.isolated or folio.refcount <= 0 or folio.migration or folio.split:
        return False
    folio.refcount += 1
    folio.isolated = True
    return True


def _split_before_swap(k, folio) -> bool:
    """mm/vmscan.c: shrink_folio_list, "Split partially mapped folios right away" -- which large
    anon folios reclaim splits before add_to_swap (the rest go to swap whole)."""
    with data_race():  # data_race(!list_empty(&folio->_deferred_list))
        queued = not list_empty(folio._deferred_list)
    if k.cfg.patch.partially_mapped_flag:
        # 8422acdc97ed "mm: introduce a pageflag for partially mapped folios": && partially mapped
        return queued and bool(folio.flags & PG_partially_mapped)
    if k.cfg.patch.reclaim_split_queued_only:
        # 5ed890ce5147 "mm: vmscan: avoid split during shrink_folio_list()": queued ones only
        return queued
    return not folio.pmd_mapped  # !folio_entire_mapcount(folio): split those without a PMD map


def try_to_unmap(k, folio):
    """mm/rmap.c: try_to_unmap(folio, TTU_SPLIT_HUGE_PMD) -- the rmap walk, not mmap_lock: under
    the page table lock, one step here, a PMD mapping is split and every PTE becomes a swap
    entry; the rmap removal may try to queue the THP, which the swapcache test refuses.  (Not
    the range's mmap_lock: a debugfs split holds that while it waits for the folio lock, which
    reclaim holds.)"""
    yield "try_to_unmap"
    if folio.pmd_mapped:
        rmap.__split_huge_pmd(k, folio)
    if folio.nr_pages_mapped:
        yield from rmap.folio_remove_rmap_ptes(k, folio, folio.nr_pages_mapped)


def shrink_folio_list(k, folio):
    """mm/vmscan.c: shrink_folio_list for one large anon folio that reclaim isolates from its
    LRU (isolate_lru_folios; swap available, synchronous swap writes as with zram): trylock;
    can_split_folio; split first when _split_before_swap says so; add_to_swap (PG_swapcache,
    one reference per page); try_to_unmap; pageout; __remove_mapping freezes the refcount
    (isolation + swap cache), cgroup v1's mem_cgroup_swapout uncharges, the folio leaves the
    swap cache and is freed (deferred-split unqueue, uncharge on v2, free).  Returns a result
    string."""
    yield "isolate_lru_folios"
    if not folio_isolate_lru(k, folio):
        return "not on the LRU"
    if not (yield from folio_trylock(k, folio)):
        folio.isolated = False
        yield from folio_put(k, folio)
        return "busy (folio locked)"
    nr = 1 << folio.order
    if not folio.flags & PG_swapcache:
        if not huge_memory.can_split_folio(k, folio):  # extra references: activate_locked
            return (yield from keep_locked(k, folio, "busy (extra references)"))
        if _split_before_swap(k, folio):
            ret = yield from huge_memory.split_huge_page(k, folio)
            return (yield from keep_locked(k, folio, "split first (its small folios are not "
                                           "swapped by the model)" if ret == 0 else
                                           "split failed"))
        yield "add_to_swap"  # folio_alloc_swap + add_to_swap_cache under the swap xa_lock
        folio.flags |= PG_swapcache
        folio.refcount += nr
    yield from try_to_unmap(k, folio)
    yield "__remove_mapping"  # pageout done; xa_lock_irq(&mapping->i_pages)
    if not (yield from folio_ref_freeze(k, folio, 1 + nr)):
        return (yield from keep_locked(k, folio, "kept in the swap cache (extra references)"))
    yield from memcontrol_v1.mem_cgroup_swapout(k, folio)
    folio.flags &= ~PG_swapcache  # __delete_from_swap_cache (its references were frozen)
    folio_unlock(k, folio)
    folio.frozen = False  # free_it: the frozen folio is freed as by its last put
    folio.isolated = False
    yield from __folio_put(k, folio)
    return "swapped out"


def keep_locked(k, folio, res: str):
    """mm/vmscan.c: shrink_folio_list's keep_locked / activate_locked: unlock, back to the
    LRU (putback), drop the isolation reference."""
    folio_unlock(k, folio)
    folio.isolated = False
    yield from folio_put(k, folio)
    return res
