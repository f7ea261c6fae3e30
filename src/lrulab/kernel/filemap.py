"""mm/shmem.c, mm/filemap.c and mm/memory.c's file fault: large folios of a shared mapping, as
far as the deferred-split queue meets them -- it never takes them.

``kind: shmem`` is a shmem THP of a MAP_SHARED | MAP_ANONYMOUS mapping (shmem_fault ->
shmem_get_folio_gfp), ``kind: file`` a large page-cache folio of a file mapping (filemap_fault).
Both are charged to the faulting task's memcg when added to the page cache, and mapped by one
PMD (do_set_pmd, order 9) or by PTEs (set_pte_range / filemap_map_pages, lower orders).  In
every release in scope the rmap removal path queues only anonymous folios: 6.1's
page_remove_rmap returns through page_remove_file_rmap for !PageAnon before the
deferred_split_huge_page call; 6.12's and 7.x's __folio_remove_rmap test folio_test_anon
before deferred_split_folio (seen: a 5.x/6.1-era page_remove_rmap, index file 251393466; a
6.12-era rmap.c, index file 26590879; a 2025 patch to 7.x's __folio_remove_rmap, index file
7340859791).  A PMD split of a file VMA (__split_huge_pmd_locked,
!vma_is_anonymous) zaps the PMD instead of remapping PTEs.  So no partial unmap queues such a
folio and the THP shrinker never splits it.

The page cache holds its own references (__filemap_add_folio: one per page) that no unmap
drops: after the last unmap the folio stays cached, charged, until truncation or LRU reclaim
frees it -- neither of which the scenario ops model, so an unmapped shmem/file folio is never
freed here.
"""

from __future__ import annotations

from . import huge_memory
from . import memcontrol as mc
from .folio import HPAGE_PMD_ORDER, Folio, PG_anon, PG_large_rmappable, PG_swapbacked
from .sched import may_fail
from .vmstat import count_vm_event


def filemap_alloc_folio(k, name: str, nid: int, order: int, kind: str) -> Folio:
    """mm/shmem.c: shmem_alloc_folio / mm/filemap.c: filemap_alloc_folio -- a large folio with
    no anon mapping; shmem's is swap-backed (__folio_set_swapbacked)."""
    folio = huge_memory.new_folio(k, name, order, nid)
    if order == 1:
        # 8897277acfef (6.9): an order-1 page-cache folio is large_rmappable too
        # (page_rmappable_folio), but nothing ever queues or unqueues it: order <= 1 returns
        # early in deferred_split_folio and folio_undo_large_rmappable
        folio.flags |= PG_large_rmappable
    folio.flags &= ~PG_anon
    if kind == "shmem":
        folio.flags |= PG_swapbacked
    return folio


def filemap_add_folio(k, folio: Folio, memcg):
    """mm/filemap.c: filemap_add_folio (shmem: shmem_add_to_page_cache) -- charge the folio to
    the faulting task's memcg (mem_cgroup_charge), then the page cache takes one reference per
    page (folio_ref_add in __filemap_add_folio).  Returns nonzero when the charge fails."""
    ret = yield from mc.mem_cgroup_charge(k, folio, memcg)
    if ret:
        return ret
    folio.refcount += folio.nr_pages
    # shmem counts the allocation of a PMD-sized folio (shmem_get_folio_gfp /
    # shmem_alloc_and_add_folio: folio_test_pmd_mappable -> THP_FILE_ALLOC); a page-cache
    # folio from readahead counts no THP event.  Left uncounted: shmem's per-order stats
    # (shmem_alloc, 6.11+), NR_SHMEM_THPS / NR_FILE_THPS and the NR_FILE_PAGES family.
    if folio.flags & PG_swapbacked and folio.order == HPAGE_PMD_ORDER:
        count_vm_event(k, "thp_file_alloc")
    return 0


def map_file_folio(k, folio: Folio) -> None:
    """mm/memory.c: do_set_pmd (folio_add_file_rmap_pmd, THP_FILE_MAPPED) for a PMD-sized
    folio, else set_pte_range (folio_add_file_rmap_ptes) for every page; the fault's
    reference becomes the first mapping's.  NR_SHMEM_PMDMAPPED / NR_FILE_PMDMAPPED are left
    uncounted."""
    n = folio.nr_pages
    if folio.order == HPAGE_PMD_ORDER:
        folio.pmd_mapped = True
        folio.mapcount = 1
        count_vm_event(k, "thp_file_mapped")
    else:
        folio.nr_pages_mapped = n
        folio.mapcount = n
        folio.refcount += n - 1


def file_fault(k, name: str, memcg, nid: int, order: int, written: int, kind: str):
    """mm/shmem.c: shmem_fault / mm/filemap.c: filemap_fault, then finish_fault, for a write
    to a fresh range of a shared mapping.  The thp_alloc site fails the large allocation (the
    fault falls back to small pages, as shmem_get_folio_gfp does).  Returns the folio or
    None."""
    yield "shmem_fault" if kind == "shmem" else "filemap_fault"
    ok = yield from may_fail("thp_alloc")
    if not ok:
        return None
    folio = filemap_alloc_folio(k, name, nid, order, kind)
    if (yield from filemap_add_folio(k, folio, memcg)):
        huge_memory._free_new(k, folio)
        return None
    folio.written = written
    map_file_folio(k, folio)
    return folio
