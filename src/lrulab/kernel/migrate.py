"""mm/migrate.c: migrating a large anonymous folio to another node."""

from __future__ import annotations

from . import huge_memory, hugetlb
from . import memcontrol as mc
from .folio import (
    HPAGE_PMD_ORDER,
    PG_hugetlb,
    PG_large_rmappable,
    PG_partially_mapped,
    folio_lock,
    folio_put,
    folio_ref_freeze,
    folio_ref_unfreeze,
    folio_try_get,
    folio_unlock,
)
from .list import list_empty
from .rmap import folio_add_new_anon_rmap
from .sched import data_race, may_fail
from .vmstat import count_vm_event, count_vm_events, mod_node_page_state


def migrate_pages(k, folio, nid: int, new_name: str, isolated: bool = False):
    """mm/migrate.c: migrate_pages -> migrate_folio_unmap / migrate_folio_move for one folio.

    The destination (same order, same memcg, node nid; allocation site migrate_alloc) takes over
    the mappings.  The source, frozen, leaves the deferred-split queue in
    __folio_migrate_mapping; since the 2026 fix (migrate_requeue_dst) the destination is queued
    again with the source's partially-mapped state before it becomes visible.  6.1: unmapping a
    PTE-mapped source queues it first (page_remove_rmap).  6.10+ (migrate_split_deferred):
    a queued, partially mapped source is split instead and its small folios migrate (see
    try_split_folio).  Returns the destination (the split folio itself after a split) or
    None.  ``isolated``: the caller already holds the folio's isolation reference, taken where
    it found the folio mapped (mm/migrate.c: add_page_for_migration, under mmap_read_lock)."""
    yield "migrate_pages"
    if not isolated and not (yield from folio_try_get(k, folio)):
        return None
    if folio.flags & PG_hugetlb:
        return (yield from migrate_hugetlb(k, folio, nid, new_name))
    yield from folio_lock(k, folio)
    if k.cfg.patch.migrate_split_deferred:
        yield "migrate_pages_batch"  # the lockless list_empty(&folio->_deferred_list)
        with data_race():  # !data_race(list_empty(&folio->_deferred_list))
            queued = not list_empty(folio._deferred_list)
        if (folio.order > 1 and queued
                and (not k.cfg.patch.partially_mapped_flag
                     or folio.flags & PG_partially_mapped)):
            if (yield from try_split_folio(k, folio, nid)) == 0:
                folio_unlock(k, folio)
                yield from folio_put(k, folio)
                return folio
    dst = None
    ok = yield from may_fail("migrate_alloc")
    if ok:
        dst = yield from _move(k, folio, nid, new_name)
    folio_unlock(k, folio)
    if dst is None:
        count_vm_event(k, "thp_migration_fail")
        yield from folio_put(k, folio)
        return None
    count_vm_event(k, "thp_migration_success")
    count_vm_events(k, "pgmigrate_success", 1 << dst.order)
    yield from folio_put(k, folio)  # our pin: the source is now freed
    return dst


def folio_migrate_mapping(k, src):
    """mm/migrate.c: __folio_migrate_mapping (6.10: folio_migrate_mapping), the anonymous (no
    mapping) case, with the caller's isolation reference the only one left (expected_count):
    from be9581ea8c05 "mm: fix crashes from deferred split racing folio migration" a large
    rmappable source is frozen, taken off its deferred-split queue (folio_undo_large_rmappable,
    6.12: folio_unqueue_deferred_split) and unfrozen again at once; before, the refcount is only
    compared (the source stays queued until it is freed).  False (-EAGAIN) when someone else
    holds a reference.  The rest of the migration runs with the source unfrozen."""
    if k.cfg.patch.migrate_unqueue_frozen and src.order > 1 \
            and src.flags & PG_large_rmappable:
        if not (yield from folio_ref_freeze(k, src, 1)):
            return False
        yield from huge_memory.folio_unqueue_deferred_split(k, src)
        folio_ref_unfreeze(k, src, 1)
        return True
    yield "folio_migrate_mapping"  # folio_ref_count(folio) != expected_count
    return src.refcount == 1


def migrate_hugetlb(k, src, nid: int, new_name: str):
    """mm/migrate.c: migrate_hugetlbs -> unmap_and_move_huge_page for an anonymous hugetlb
    folio (the caller holds its isolation reference): a pool folio on ``nid`` (site
    migrate_alloc), try_to_migrate, then move_to_new_folio -> migrate_folio ->
    __migrate_folio -> folio_migrate_mapping (which, from be9581ea8c05, unqueues a large
    rmappable source: bug #14 while f6a8dd98a2ce left hugetlb folios large_rmappable), and
    remove_migration_ptes.  folio_migrate_flags skips mem_cgroup_migrate for hugetlb.  Only
    pgmigrate_success counts (no THP events).  Returns the destination or None."""
    yield "migrate_hugetlbs"
    yield from folio_lock(k, src)
    dst = yield from hugetlb.alloc_hugetlb_folio(k, new_name, nid, "migrate_alloc")
    if dst is None:
        folio_unlock(k, src)
        yield from folio_put(k, src)
        return None
    src.refcount -= src.mapcount  # try_to_migrate: a migration entry replaces the mapping
    src.mapcount = 0
    src.migration = True
    # __folio_migrate_mapping: a pin (get_user_pages) holds it: -EAGAIN until the retries
    # give up
    if not (yield from folio_migrate_mapping(k, src)):
        src.migration = False
        src.mapcount = 1 if src.pmd_mapped else 0
        src.refcount += src.mapcount
        hugetlb.free_huge_folio(k, dst)
        folio_unlock(k, src)
        yield from folio_put(k, src)
        return None
    src.migration = False
    if src.pmd_mapped:  # remove_migration_ptes(src, dst): the entry a munmap left
        dst.pmd_mapped = True
        dst.mapcount = dst.refcount = 1
    else:
        yield from folio_put(k, dst)
    src.pmd_mapped = False
    folio_unlock(k, src)
    count_vm_events(k, "pgmigrate_success", 1 << dst.order)
    yield from folio_put(k, src)
    return dst


def try_split_folio(k, folio, nid: int):
    """mm/migrate.c: migrate_pages_batch -> try_split_folio (7262f208ca68, 6.10; 6.12 tests
    folio_test_partially_mapped too) -- split instead of migrating whole: counted as
    thp_migration_fail and thp_migration_split (PMD size), not as a success; then the small
    folios (split_folios) migrate one by one.  Every subpage is on split_folios
    (mm/huge_memory.c: lru_add_page_tail takes a reference for the list), the unmapped ones
    too: migrate_folio_unmap finds those with a refcount of 1 ("freed from under us") and
    counts them succeeded, so pgmigrate_success grows by the whole folio (6.12.117 under
    QEMU, conformance 09: 512 for a THP with 256 pages still mapped)."""
    order = folio.order
    ret = yield from huge_memory.split_huge_page(k, folio)
    if ret:
        return ret
    if order == HPAGE_PMD_ORDER:
        count_vm_event(k, "thp_migration_fail")
        count_vm_event(k, "thp_migration_split")
    n = folio.nr_pages
    yield "migrate_pages_batch(split_folios)"
    k.nodes[folio.nid].nr_used_pages -= n
    k.nodes[nid].nr_used_pages += n
    folio.nid = nid
    count_vm_events(k, "pgmigrate_success", 1 << order)  # the freed subpages count too
    return 0


def mem_cgroup_migrate(k, src, dst):
    """mm/memcontrol.c: mem_cgroup_migrate -- dst gets src's memcg.  Before 85ce2c517ade
    (flag migrate_memcg_transfer off) dst is charged anew and src keeps its charge and memcg
    until it is freed.  From 85ce2c517ade "memcontrol: only transfer the memcg data for
    migration" (6.7-rc1) the charge and the css reference move to dst and src's memcg_data
    is cleared -- while a queued src still sits on its memcg's deferred split queue, so its
    later unqueue locks the node queue instead (history bug 12).  9bcef5973e31 "mm: memcg:
    fix split queue list crash when large folio migration" (6.7, flag migrate_unqueue_old)
    unqueues a large rmappable src first (folio_undo_large_rmappable); from be9581ea8c05
    (6.10-rc7) __folio_migrate_mapping has unqueued the frozen src before this runs, and
    6.12's f8f931bba0f9 (free_lockless_fastpath) leaves only a WARN here."""
    memcg = src.memcg
    dst.memcg = memcg
    memcg.lru_folios.append(dst)
    if not k.cfg.patch.migrate_memcg_transfer:
        mc.css_get(memcg)
        memcg.nr_pages += dst.nr_pages
        return
    if k.cfg.patch.migrate_unqueue_old and not k.cfg.patch.free_lockless_fastpath:
        yield from huge_memory.folio_unqueue_deferred_split(k, src)
    # the charge and the css reference are dst's now: old->memcg_data = 0
    memcg.lru_folios.remove(src)
    src.memcg = None


def _move(k, src, nid: int, new_name: str):
    was_queued = not list_empty(src._deferred_list)
    was_partial = bool(src.flags & PG_partially_mapped)
    if not k.cfg.patch.partially_mapped_flag and not src.pmd_mapped and src.nr_pages_mapped:
        yield from huge_memory.deferred_split_huge_page(k, src)  # 6.1: unmap queues the source
    src.refcount -= src.mapcount  # migration entries
    src.mapcount = 0
    src.migration = True
    if src.pmd_mapped:
        mod_node_page_state(k, "nr_anon_transparent_hugepages", -1)
    if not (yield from folio_migrate_mapping(k, src)):
        # remove_migration_ptes(src, src): the entries a racing munmap left are remapped
        src.migration = False
        src.mapcount = 1 if src.pmd_mapped else src.nr_pages_mapped
        src.refcount += src.mapcount
        if src.pmd_mapped:
            mod_node_page_state(k, "nr_anon_transparent_hugepages", 1)
        return None
    dst = huge_memory.new_folio(k, new_name, src.order, nid)
    dst.written = src.written
    # folio_migrate_flags -> mem_cgroup_migrate (which clears the source's memcg_data): the
    # source left its queue frozen in __folio_migrate_mapping from be9581ea8c05, here
    # (unfrozen) from 9bcef5973e31 until then
    if src.memcg is not None:
        yield from mem_cgroup_migrate(k, src, dst)
    if k.cfg.patch.migrate_requeue_dst and was_queued and dst.order > 1:
        yield from huge_memory.deferred_split_folio(k, dst, was_partial)
    # remove_migration_ptes(src, dst): the migration entries still in the page tables (a
    # racing munmap cleared the others, rmap.zap_migration_entries) now map dst
    pmd, ptes = src.pmd_mapped, src.nr_pages_mapped
    src.migration = False
    if pmd:
        folio_add_new_anon_rmap(k, dst, pmd=True)
    elif ptes:
        folio_add_new_anon_rmap(k, dst, pmd=False)
        dst.nr_pages_mapped = ptes
        dst.mapcount = dst.refcount = ptes
    else:
        yield from folio_put(k, dst)  # unmapped meanwhile: the allocation reference was the last
    # the source keeps the caller's isolation reference (and any a racing scan took meanwhile)
    src.mapcount = 0
    src.pmd_mapped = False
    src.nr_pages_mapped = 0
    return dst
