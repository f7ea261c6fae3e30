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

from . import memcontrol as mc
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
