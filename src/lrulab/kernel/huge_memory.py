"""mm/huge_memory.c: the THP deferred-split queue on list_lru (the 2026 series, 9/9), the
split path, the PMD fault, and the entry points that dispatch to the open-coded designs of
split_queue.py when thp_list_lru is off."""

from __future__ import annotations

from . import list_lru as ll
from . import memcontrol as mc
from . import shrinker as sh
from . import split_queue
from .folio import (
    HPAGE_PMD_NR,
    HPAGE_PMD_ORDER,
    Folio,
    PG_anon,
    PG_has_hwpoisoned,
    PG_large_rmappable,
    PG_mlocked,
    PG_partially_mapped,
    PG_swapcache,
    folio_lock,
    folio_put,
    folio_ref_freeze,
    folio_test,
    folio_test_clear,
    folio_try_get,
    folio_trylock,
    folio_unlock,
    free_folio,
)
from .list import ListHead, list_del_init, list_empty
from .sched import (
    WARN_ON,
    WARN_ON_ONCE,
    data_race,
    may_fail,
    rcu_read_lock,
    rcu_read_unlock,
    run_sync,
)
from .vmstat import count_mthp_stat, count_vm_event, mod_mthp_stat, mod_node_page_state

SCAN_FAIL, SCAN_SUCCEED, SCAN_ALLOC_HUGE_PAGE_FAIL, SCAN_CGROUP_CHARGE_FAIL = (
    "SCAN_FAIL", "SCAN_SUCCEED", "SCAN_ALLOC_HUGE_PAGE_FAIL", "SCAN_CGROUP_CHARGE_FAIL")


def thp_shrinker_init(k) -> None:
    """mm/huge_memory.c: thp_shrinker_init (6.1: hugepage_init) -- "thp-deferred_split",
    NUMA_AWARE | MEMCG_AWARE (| NONSLAB until 7.2); with thp_list_lru the memcg-aware
    deferred_split_lru with its own (IRQ-safe) lockdep class."""
    flags = sh.SHRINKER_NUMA_AWARE | sh.SHRINKER_MEMCG_AWARE
    if k.cfg.patch.shrinker_nonslab:
        flags |= sh.SHRINKER_NONSLAB
    s = run_sync(k, sh.shrinker_alloc(k, flags, "thp-deferred_split"))
    if k.cfg.patch.thp_list_lru:
        lru = ll.ListLru("deferred_split_lru")
        ll.__list_lru_init(k, lru, True, s, irqsafe=True)
        k.deferred_split_lru = lru
    s.count_objects = deferred_split_count
    s.scan_objects = deferred_split_scan
    run_sync(k, sh.shrinker_register(k, s))
    k.deferred_split_shrinker = s


def folio_memcg_alloc_deferred(k, folio: Folio):
    """mm/huge_memory.c: folio_memcg_alloc_deferred (series) -- the deferred_split_lru sublists
    for the folio's memcg and its ancestors; v4 returns 0 under cgroup_disable=memory
    (alloc_deferred_memcg_disabled_guard).  Open-coded designs need nothing: returns 0."""
    if not k.cfg.patch.thp_list_lru:
        return 0
    if k.cfg.patch.alloc_deferred_memcg_disabled_guard and mc.mem_cgroup_disabled(k):
        return 0
    return (yield from ll.folio_memcg_list_lru_alloc(k, folio, k.deferred_split_lru))


def mark_partially_mapped(k, folio: Folio, partially_mapped: bool) -> None:
    """mm/huge_memory.c: deferred_split_folio, its flag part (under the queue lock): the first time
    a folio becomes partially mapped it is flagged and counted (thp_deferred_split_page for PMD
    size, the mTHP split_deferred stat, the per-order nr_anon_partially_mapped)."""
    if partially_mapped:
        if not folio_test(k, folio, PG_partially_mapped):
            folio.flags |= PG_partially_mapped
            if folio.order == HPAGE_PMD_ORDER:
                count_vm_event(k, "thp_deferred_split_page")
            count_mthp_stat(k, folio.order, "split_deferred")
            mod_mthp_stat(k, folio.order, "nr_anon_partially_mapped", 1)
    else:
        WARN_ON(k, bool(folio.flags & PG_partially_mapped),
                f"{folio.name}: cannot become non-partially mapped")


def clear_partially_mapped_locked(k, folio: Folio) -> None:
    """mm/huge_memory.c: folio_clear_partially_mapped + mod_mthp_stat(NR_ANON_PARTIALLY_MAPPED, -1),
    as every unqueue site does it under the queue lock."""
    folio.flags &= ~PG_partially_mapped
    mod_mthp_stat(k, folio.order, "nr_anon_partially_mapped", -1)


def deferred_split_folio(k, folio: Folio, partially_mapped: bool):
    """mm/huge_memory.c: deferred_split_folio -- list_lru design: lock the (memcg, node) sublist
    (walking up past dying memcgs), flag, __list_lru_add with the bit on the memcg the lock
    function returned (v5 1/9) or the one asked for (before)."""
    if folio.order <= 1:
        return
    if not partially_mapped and not k.cfg.sysfs["shrink_underused"]:
        return
    if folio.flags & PG_swapcache:
        return
    if not k.cfg.patch.thp_list_lru:
        yield from split_queue.deferred_split_folio(k, folio, partially_mapped)
        return
    lru = k.deferred_split_lru
    nid = folio.nid
    yield "deferred_split_folio"
    rcu_read_lock(k)
    memcg = mc.folio_memcg(k, folio)
    l, eff = yield from ll.list_lru_lock(k, lru, nid, memcg, irq=True)
    mark_partially_mapped(k, folio, partially_mapped)
    ll.__list_lru_add(k, lru, l, folio._deferred_list, nid, ll.bit_memcg(k, memcg, eff))
    ll.list_lru_unlock(k, l, irq=True)
    rcu_read_unlock(k)


def deferred_split_huge_page(k, folio: Folio):
    """mm/huge_memory.c: deferred_split_huge_page (6.1) -- see split_queue."""
    return split_queue.deferred_split_huge_page(k, folio)


def folio_unqueue_deferred_split(k, folio: Folio):
    """mm/internal.h: folio_unqueue_deferred_split -- only large rmappable folios of order > 1;
    a lockless list_empty() check first (free_lockless_fastpath; 6.1 always locks)."""
    if folio.order <= 1 or not folio.flags & PG_large_rmappable:
        return False
    if k.cfg.patch.free_lockless_fastpath:
        yield "folio_unqueue_deferred_split"
        with data_race():  # data_race(list_empty(&folio->_deferred_list)): marked racy
            empty = list_empty(folio._deferred_list)
        if empty:
            return False
    return (yield from __folio_unqueue_deferred_split(k, folio))


def __folio_unqueue_deferred_split(k, folio: Folio):
    """mm/huge_memory.c: __folio_unqueue_deferred_split -- refcount is 0 (free or frozen
    migration); lock the folio's sublist (walk-up) and delete it if queued."""
    if not k.cfg.patch.thp_list_lru:
        return (yield from split_queue.__folio_unqueue_deferred_split(k, folio))
    WARN_ON_ONCE(k, folio.refcount != 0, "__folio_unqueue_deferred_split: refcount != 0")
    WARN_ON_ONCE(k, not mc.mem_cgroup_disabled(k) and folio.memcg is None,
                 "__folio_unqueue_deferred_split: uncharged folio")
    lru = k.deferred_split_lru
    rcu_read_lock(k)
    memcg = mc.folio_memcg(k, folio)
    l, _ = yield from ll.list_lru_lock(k, lru, folio.nid, memcg, irq=True)
    unqueued = False
    if ll.__list_lru_del(k, lru, l, folio._deferred_list, folio.nid):
        if folio.flags & PG_partially_mapped:
            clear_partially_mapped_locked(k, folio)
        unqueued = True
    ll.list_lru_unlock(k, l, irq=True)
    rcu_read_unlock(k)
    return unqueued


# -- the shrinker -------------------------------------------------------------------------

def deferred_split_count(k, s, sc):
    """mm/huge_memory.c: deferred_split_count -- list_lru_shrink_count of (sc->nid,
    sc->memcg); SHRINK_EMPTY when 0 with count_shrink_empty (7.2), else 0 (bit never cleared)."""
    if not k.cfg.patch.thp_list_lru:
        return (yield from split_queue.deferred_split_count(k, s, sc))
    n = yield from ll.list_lru_shrink_count(k, k.deferred_split_lru, sc)
    if n == 0 and k.cfg.patch.count_shrink_empty:
        return sh.SHRINK_EMPTY
    return n


def deferred_split_isolate(k, item: ListHead, l, cb_arg):
    """mm/huge_memory.c: deferred_split_isolate -- walk callback, sublist locked, IRQs off.
    A folio we can pin moves to the dispose list; refcount 0 means we raced with folio_put
    (whose lockless list_empty check may then skip the lock and free it): the flag must be
    cleared before list_lru_isolate publishes the empty list_head (v5; v4 did it after: B5).
    cb_arg is the dispose list, as in the kernel, and the model's shrink_control beside it
    (note_scan names the reclaim)."""
    dispose, sc = cb_arg
    folio = item.container
    k.scan_log.append(folio)
    if (yield from folio_try_get(k, folio)):
        ll.list_lru_isolate_move(k, l, item, dispose)
        note_scan(k, sc, folio, scan_memcg(folio), "isolated")
        return ll.LRU_REMOVED
    if k.cfg.patch.isolate_flags_before_isolate:
        yield from _drop_partially_mapped(k, folio)
        ll.list_lru_isolate(k, l, item)
        note_scan(k, sc, folio, scan_memcg(folio), "isolated")
    else:
        ll.list_lru_isolate(k, l, item)
        note_scan(k, sc, folio, scan_memcg(folio), "isolated")
        yield from _drop_partially_mapped(k, folio)
    return ll.LRU_REMOVED


def _drop_partially_mapped(k, folio: Folio):
    if (yield from folio_test_clear(k, folio, PG_partially_mapped)):
        mod_mthp_stat(k, folio.order, "nr_anon_partially_mapped", -1)


def thp_underused(k, folio: Folio) -> bool:
    """mm/huge_memory.c: thp_underused -- more than khugepaged_max_ptes_none zero-filled
    subpages; off when max_ptes_none is HPAGE_PMD_NR - 1 (the default) or the folio has a
    poisoned page."""
    max_ptes_none = k.cfg.sysfs["khugepaged_max_ptes_none"]
    if max_ptes_none == HPAGE_PMD_NR - 1 or folio.flags & PG_has_hwpoisoned:
        return False
    return (1 << folio.order) - folio.written > max_ptes_none


def note_split(k, sc, folio: Folio) -> None:
    """Model helper (no kernel counterpart): record a shrinker-driven split: (reclaim node, folio
    node, reclaim memcg, folio memcg), for node_locality and the simulator's cross-node/cross-memcg
    numbers."""
    k.split_log.append((sc.nid, folio.nid, sc.memcg, folio.memcg))


def note_scan(k, sc, folio: Folio, memcg, what: str, walked=None) -> None:
    """Model helper (no kernel counterpart): record a folio a shrinker-driven scan took off a
    deferred-split list ('isolated') or freed by dropping its last reference ('freed'):
    (reclaim node, reclaim memcg, folio, the folio's memcg then, what, walked), for
    memcg_locality.  ``walked``: the memcg whose open-coded queue the scan took the folio from
    when split_queue_lock() walked up to it from a dying sc->memcg (V1), else None."""
    k.isolate_log.append((sc.nid, sc.memcg, folio, memcg, what, walked))


def scan_memcg(folio: Folio):
    """Model helper: the folio's memcg for note_scan's record.  The kernel makes no such read,
    so it is a marked access: no_data_race must not pair it with a racing write (migration's
    mem_cgroup_migrate clears the old folio's memcg_data under the folio lock only)."""
    with data_race():
        return folio.memcg


def note_scan_put(k, sc, folio: Folio, memcg, walked=None) -> None:
    """Model helper: after a scan's folio_put, note it if that put freed the folio (``memcg``:
    its memcg before the put, which uncharged it)."""
    if folio.freed:
        note_scan(k, sc, folio, memcg, "freed", walked)


def try_split_queued(k, folio: Folio, sc=None):
    """mm/huge_memory.c: deferred_split_scan, the per-folio body of its second phase (V0, V1,
    list_lru design): partially mapped -> try to split; fully mapped -> only if underused (and,
    from 6.18, deferred_split_skip_mlocked, not mlocked). Returns (did_split, requeue) where
    requeue means a trylock miss."""
    underused = False
    if not folio_test(k, folio, PG_partially_mapped):
        if k.cfg.patch.deferred_split_skip_mlocked and folio_test(k, folio, PG_mlocked):
            # "mm: skip mlocked THPs that are underused early in deferred_split_scan()"
            return False, False
        underused = thp_underused(k, folio)
        if not underused:
            return False, False
    if not (yield from folio_trylock(k, folio)):
        return False, True
    did_split = False
    if (yield from split_huge_page(k, folio)) == 0:
        did_split = True
        if sc is not None:
            note_split(k, sc, folio)
        if underused:
            count_vm_event(k, "thp_underused_split_page")
    folio_unlock(k, folio)
    return did_split, False


def deferred_split_scan(k, s, sc):
    """mm/huge_memory.c: deferred_split_scan -- list_lru design: walk (sc->nid, sc->memcg)
    within the budget onto a private list, then per folio split / drop / requeue
    (list_lru_add_irq, possibly onto an ancestor's sublist), then put."""
    if not k.cfg.patch.thp_list_lru:
        return (yield from split_queue.deferred_split_scan(k, s, sc))
    lru = k.deferred_split_lru
    dispose = ListHead("deferred_split_scan.dispose")
    isolated = yield from ll.list_lru_shrink_walk(k, lru, sc, deferred_split_isolate,
                                                  (dispose, sc),
                                                  irq_off=True)
    split = 0
    pos = dispose.next
    while pos is not dispose:
        nxt = pos.next
        folio = pos.container
        list_del_init(k, pos)
        did_split, requeue = yield from try_split_queued(k, folio, sc)
        if did_split:
            split += 1
        elif requeue or folio_test(k, folio, PG_partially_mapped):
            yield "list_lru_add_irq"
            rcu_read_lock(k)
            yield from ll.list_lru_add(k, lru, folio._deferred_list, folio.nid,
                                       mc.folio_memcg(k, folio), irq=True)
            rcu_read_unlock(k)
        memcg = scan_memcg(folio)
        yield from folio_put(k, folio)
        note_scan_put(k, sc, folio, memcg)
        pos = nxt
    if not split and not isolated:
        return sh.SHRINK_STOP
    return split


# -- splitting ----------------------------------------------------------------------------

def can_split_folio(k, folio: Folio) -> bool:
    """mm/huge_memory.c: can_split_folio -- mapcount == refcount - extra_pins - 1 (the caller's
    pin; extra_pins = nr_pages in swap cache)."""
    extra = (1 << folio.order) if folio.flags & PG_swapcache else 0
    return folio.mapcount == folio.refcount - extra - 1


def _freeze_and_dequeue_lru(k, folio: Folio, count: int):
    """mm/huge_memory.c: __folio_freeze_and_split_unmapped (series) -- for anon order > 1 the
    sublist is locked BEFORE the freeze so the shrinker never sees the frozen folio as a lost
    race; dequeue on success."""
    lru = k.deferred_split_lru
    dequeue = folio.order > 1
    l = None
    if dequeue:
        rcu_read_lock(k)
        memcg = mc.folio_memcg(k, folio)
        l, _ = yield from ll.list_lru_lock(k, lru, folio.nid, memcg, irq=True)
    frozen = yield from folio_ref_freeze(k, folio, count)
    if dequeue:
        if frozen:
            ll.__list_lru_del(k, lru, l, folio._deferred_list, folio.nid)
            if folio.flags & PG_partially_mapped:
                clear_partially_mapped_locked(k, folio)
        ll.list_lru_unlock(k, l, irq=True)
        rcu_read_unlock(k)
    return frozen


def _unmap_folio(k, folio: Folio):
    """mm/huge_memory.c: unmap_folio -> try_to_migrate(TTU_SPLIT_HUGE_PMD): mappings become
    migration entries (references dropped).  In 6.1 the PMD split with freeze reaches
    page_remove_rmap for every subpage, which queues the THP (and counts the event).
    A PTE-mapped folio: mm/rmap.c try_to_migrate_one replaces one PTE at a time, each through
    folio_remove_rmap_pte -> __folio_remove_rmap (6.12; 6.1 page_remove_rmap), so the folio
    is partially mapped from the first PTE on, while others are still mapped: 6.12 queues a
    fully mapped one as partially mapped (split_deferred +1, thp_deferred_split_page for PMD
    order), 6.1 queues any compound page whose subpage loses its mapping.
    The mappings become migration entries under the page-table lock, which a racing munmap's
    zap takes too: it sees them as migration entries, never half-converted (the queueing
    below runs inside that lock in the kernel, so it is a step here only for the queue's
    own lock)."""
    pmd, ptes = folio.pmd_mapped, folio.nr_pages_mapped
    folio.refcount -= folio.mapcount
    folio.mapcount = 0
    folio.migration = True
    if pmd:
        count_vm_event(k, "thp_split_pmd")
        mod_node_page_state(k, "nr_anon_transparent_hugepages", -1)
        if not k.cfg.patch.partially_mapped_flag:
            yield from split_queue.deferred_split_huge_page(k, folio)
    elif folio.order > 1 and ptes:
        if k.cfg.patch.partially_mapped_flag:
            # 8422acdc97ed: partially_mapped = nr && _nr_pages_mapped, only if not flagged yet
            if ptes > 1 and not folio.flags & PG_partially_mapped:
                yield from deferred_split_folio(k, folio, True)
        else:
            yield from split_queue.deferred_split_huge_page(k, folio)


def _remap(k, folio: Folio) -> None:
    """mm/huge_memory.c: remap_page -- the migration entries still in the page tables become
    mappings again (those a racing munmap cleared are gone)."""
    folio.migration = False
    folio.mapcount = 1 if folio.pmd_mapped else folio.nr_pages_mapped
    folio.refcount += folio.mapcount
    if folio.pmd_mapped:
        mod_node_page_state(k, "nr_anon_transparent_hugepages", 1)


def split_huge_page(k, folio: Folio, new_order: int = 0):
    """mm/huge_memory.c: split_huge_page_to_list(_to_order) -> __folio_split -- caller holds
    the folio lock and one pin; ``new_order`` > 0 (c010d47f107f, 6.9: split_to_order) makes
    folios of that order instead of small pages (_split_to_order).  Pin check, unmap,
    freeze with the queue locked, dequeue, split:
    still-mapped subpages stay as small pages, the others are freed and uncharged (6.12+,
    split_remap_zeropage: the zero-filled mapped subpages go to the shared zeropage and are
    freed too).  Returns 0 or -EAGAIN; counts thp_split_page / thp_split_page_failed for PMD
    order only and the per-order split / split_failed stats (6.12: __folio_split's end)."""
    yield "split_huge_page"
    if folio.split:
        return -16  # no longer a large folio
    if new_order and folio.flags & PG_anon and not k.cfg.patch.split_anon_large_order:
        # c010d47f107f's file-folio checks ran for anon folios too, until 6a50c9b512f7 "mm:
        # huge_memory: fix misused mapping_large_folio_support() for anon folios"
        WARN_ON_ONCE(k, True, "Cannot split file folio to non-0 order")
        return -22
    if not can_split_folio(k, folio):
        count_split(k, folio.order, False)
        return -11
    yield from _unmap_folio(k, folio)
    extra = (1 << folio.order) if folio.flags & PG_swapcache else 0
    if k.cfg.patch.thp_list_lru:
        frozen = yield from _freeze_and_dequeue_lru(k, folio, 1 + extra)
    else:
        frozen = yield from split_queue.freeze_and_dequeue(k, folio, 1 + extra)
    if not frozen:
        _remap(k, folio)
        count_split(k, folio.order, False)
        return -11
    mapped = (1 << folio.order) if folio.pmd_mapped else folio.nr_pages_mapped  # remap_page
    folio.migration = False
    if k.cfg.patch.split_remap_zeropage and not new_order:
        # (only small pages: a page of a compound folio cannot go to the zero page)
        # b1f202060afe: remap_page(..., RMP_USE_SHARED_ZEROPAGE) for every anon split.  The
        # model's subpages: the first `written` hold data, unmaps take the top of the range,
        # so the mapped zero-filled ones are those beyond `written`.
        mapped = min(mapped, folio.written)
    order = folio.order
    mod_mthp_stat(k, order, "nr_anon", -1)
    if new_order:
        _split_to_order(k, folio, new_order, mapped)
        count_split(k, order, True)
        return 0
    freed = folio.nr_pages - mapped
    mc.mem_cgroup_uncharge_pages(k, folio, freed)
    k.nodes[folio.nid].nr_used_pages -= freed
    folio.nr_pages = mapped
    folio.order = 0
    folio.split = True
    folio.flags &= ~PG_large_rmappable
    folio.pmd_mapped = False
    folio.nr_pages_mapped = mapped
    folio.mapcount = mapped
    folio.refcount = 1 + mapped
    folio.frozen = False
    count_split(k, order, True)
    return 0


def _split_to_order(k, folio: Folio, new_order: int, mapped: int) -> None:
    """mm/huge_memory.c: __split_huge_page to ``new_order`` (c010d47f107f) and remap_page: the
    head becomes the first folio of that order, every other part of the range a folio of its
    own, large rmappable (anon: order >= 2), charged to the same memcg (a css reference each)
    and counted in its order's nr_anon.  The model's mapped pages are the bottom ``mapped``
    of the range, so a part with none is freed (free_folio_and_swap_cache).  No part is
    queued: remove_migration_ptes maps them again without __folio_remove_rmap."""
    n = 1 << new_order
    old = folio.order
    memcg = folio.memcg
    for start in range(n, 1 << old, n):
        m = max(0, min(mapped - start, n))
        if m == 0:  # nothing maps it: freed with the split's pin (uncharged, back to buddy)
            mc.mem_cgroup_uncharge_pages(k, folio, n)
            k.nodes[folio.nid].nr_used_pages -= n
            continue
        name = f"{folio.name}+{start}"  # the page offset of the part in the folio
        part = Folio(name, new_order, folio.nid)
        if new_order > 1:
            part.flags |= PG_large_rmappable
        part.nr_pages_mapped = part.mapcount = part.refcount = m
        part.written = max(0, min(folio.written - start, n))
        if memcg is not None:
            mc.css_get(memcg)
            part.memcg = memcg
            memcg.lru_folios.append(part)
        mod_mthp_stat(k, new_order, "nr_anon", 1)
        k.folios[name] = part
    m0 = min(mapped, n)
    folio.order = new_order
    folio.nr_pages = n
    folio.written = min(folio.written, n)
    if new_order <= 1:
        folio.flags &= ~PG_large_rmappable
    folio.pmd_mapped = False
    folio.nr_pages_mapped = folio.mapcount = m0
    folio.refcount = 1 + m0
    folio.frozen = False
    mod_mthp_stat(k, new_order, "nr_anon", 1)


def count_split(k, order: int, ok: bool) -> None:
    """mm/huge_memory.c: the end of __folio_split (6.12: split_huge_page_to_list_to_order) --
    thp_split_page(_failed) only for HPAGE_PMD_ORDER, the per-order split(_failed) stat for
    every order."""
    if order == HPAGE_PMD_ORDER:
        count_vm_event(k, "thp_split_page" if ok else "thp_split_page_failed")
    count_mthp_stat(k, order, "split" if ok else "split_failed")


def split_folio(k, folio: Folio):
    """include/linux/huge_mm.h: split_folio for an external caller (debugfs split_huge_pages,
    memory failure): pin, lock, split, unlock, put."""
    yield "split_folio"
    if not (yield from folio_try_get(k, folio)):
        return -16
    yield from folio_lock(k, folio)
    ret = yield from split_huge_page(k, folio)
    folio_unlock(k, folio)
    yield from folio_put(k, folio)
    return ret


# -- the PMD fault ------------------------------------------------------------------------

def vma_alloc_anon_folio_pmd(k, name: str, memcg, nid: int):
    """mm/huge_memory.c: vma_alloc_anon_folio_pmd -- allocate (site thp_alloc), charge (site
    charge), then folio_memcg_alloc_deferred (series); failures count the fallback events (a
    charge failure thp_fault_fallback_charge and, with the mTHP stats, the PMD order's
    anon_fault_fallback and anon_fault_fallback_charge) and return None so the fault falls
    back to small pages."""
    ok = yield from may_fail("thp_alloc")
    if not ok:
        count_vm_event(k, "thp_fault_fallback")
        count_mthp_stat(k, HPAGE_PMD_ORDER, "anon_fault_fallback")
        return None
    folio = new_folio(k, name, HPAGE_PMD_ORDER, nid)
    if (yield from mc.mem_cgroup_charge(k, folio, memcg)):
        _free_new(k, folio)
        count_vm_event(k, "thp_fault_fallback")
        count_vm_event(k, "thp_fault_fallback_charge")
        count_mthp_stat(k, HPAGE_PMD_ORDER, "anon_fault_fallback")
        count_mthp_stat(k, HPAGE_PMD_ORDER, "anon_fault_fallback_charge")
        return None
    if (yield from folio_memcg_alloc_deferred(k, folio)):
        mc.mem_cgroup_uncharge(k, folio)
        _free_new(k, folio)
        count_vm_event(k, "thp_fault_fallback")
        count_mthp_stat(k, HPAGE_PMD_ORDER, "anon_fault_fallback")
        return None
    return folio


def new_folio(k, name: str, order: int, nid: int) -> Folio:
    """mm/page_alloc.c: __folio_alloc + prep_transhuge_page / folio_prep_large_rmappable."""
    folio = Folio(name, order, nid)
    if order > 1:
        folio.flags |= PG_large_rmappable
    k.nodes[nid].nr_used_pages += folio.nr_pages
    return folio


def _free_new(k, folio: Folio) -> None:
    folio.refcount = 0
    free_folio(k, folio)


def map_anon_folio_pmd(k, folio: Folio, memcg):
    """mm/huge_memory.c: map_anon_folio_pmd_(no)pf (7.x; 6.12: in __do_huge_pmd_anonymous_page)
    -- map by PMD, count, and (6.12+) queue as maybe-underused."""
    from .rmap import folio_add_new_anon_rmap
    folio_add_new_anon_rmap(k, folio, pmd=True)
    if k.cfg.patch.queue_at_fault:
        yield from deferred_split_folio(k, folio, False)


def do_huge_pmd_anonymous_page(k, name: str, memcg, nid: int, written: int):
    """mm/huge_memory.c: do_huge_pmd_anonymous_page -> __do_huge_pmd_anonymous_page -- returns
    the mapped folio, or None after a fallback."""
    yield "do_huge_pmd_anonymous_page"
    folio = yield from vma_alloc_anon_folio_pmd(k, name, memcg, nid)
    if folio is None:
        return None
    folio.written = written
    count_vm_event(k, "thp_fault_alloc")
    count_mthp_stat(k, HPAGE_PMD_ORDER, "anon_fault_alloc")
    if folio.memcg is not None:
        folio.memcg.stat["thp_fault_alloc"] += 1
    yield from map_anon_folio_pmd(k, folio, memcg)
    return folio


