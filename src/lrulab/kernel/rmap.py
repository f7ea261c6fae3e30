"""mm/rmap.c (and the PMD split in mm/huge_memory.c): mapping and unmapping anonymous folios,
and where unmapping queues a THP for deferred split."""

from __future__ import annotations

from . import huge_memory, hugetlb
from .folio import Folio, PG_anon, PG_hugetlb, PG_partially_mapped, folio_put_refs
from .sched import kasan_check
from .vmstat import count_vm_event, mod_mthp_stat, mod_node_page_state


def folio_add_new_anon_rmap(k, folio: Folio, pmd: bool) -> None:
    """mm/rmap.c: folio_add_new_anon_rmap (6.1: page_add_new_anon_rmap) -- the new folio is
    mapped by one PMD, or by a PTE per page; the allocation reference becomes the mapping's.
    A large folio counts in its order's nr_anon stat (6.12)."""
    if folio.order > 0:
        mod_mthp_stat(k, folio.order, "nr_anon", 1)
    if pmd:
        folio.pmd_mapped = True
        folio.mapcount = 1
        folio.refcount = 1
        mod_node_page_state(k, "nr_anon_transparent_hugepages", 1)
    else:
        n = 1 << folio.order
        folio.nr_pages_mapped = n
        folio.mapcount = n
        folio.refcount = n


def __split_huge_pmd(k, folio: Folio) -> None:
    """mm/huge_memory.c: __split_huge_pmd_locked -- the PMD becomes a PTE per page."""
    n = 1 << folio.order
    folio.pmd_mapped = False
    folio.nr_pages_mapped = n
    folio.mapcount += n - 1
    folio.refcount += n - 1
    count_vm_event(k, "thp_split_pmd")
    mod_node_page_state(k, "nr_anon_transparent_hugepages", -1)


def folio_remove_rmap_ptes(k, folio: Folio, nr: int):
    """mm/rmap.c: folio_remove_rmap_ptes -> __folio_remove_rmap, then the zap drops the pages'
    references.  6.12+ (partially_mapped_flag) queues only if some pages stay mapped; 6.1
    (page_remove_rmap) queues whenever a subpage of a large folio loses its last mapping."""
    kasan_check(k, folio, "folio_remove_rmap_ptes")
    folio.nr_pages_mapped -= nr
    folio.mapcount -= nr
    # only an anonymous folio is queued, in every release in scope (6.1 page_remove_rmap:
    # !PageAnon returns through page_remove_file_rmap; 6.12+ __folio_remove_rmap:
    # folio_test_anon before deferred_split_folio): shmem and page-cache folios never are
    if folio.order > 1 and nr > 0 and folio.flags & PG_anon:
        if k.cfg.patch.partially_mapped_flag:
            partially = folio.nr_pages_mapped > 0 or folio.pmd_mapped
            if partially and not folio.flags & PG_partially_mapped:
                yield from huge_memory.deferred_split_folio(k, folio, True)
        else:
            yield from huge_memory.deferred_split_huge_page(k, folio)
    yield from folio_put_refs(k, folio, nr)


def folio_remove_rmap_pmd(k, folio: Folio):
    """mm/rmap.c: folio_remove_rmap_pmd (6.1: page_remove_rmap compound) -- a PMD-mapped THP
    unmapped whole is not queued."""
    kasan_check(k, folio, "folio_remove_rmap_pmd")
    folio.pmd_mapped = False
    folio.mapcount -= 1
    if folio.flags & PG_anon:  # a file PMD counts NR_{SHMEM,FILE}_PMDMAPPED (not modelled)
        mod_node_page_state(k, "nr_anon_transparent_hugepages", -1)
    yield from folio_put_refs(k, folio, 1)


def zap_migration_entries(k, folio: Folio, nr: int) -> None:
    """mm/memory.c: zap_nonpresent_ptes for migration entries (a split or a migration holds
    the folio unmapped): they hold no reference, so nothing is dropped; nr of them go."""
    if folio.pmd_mapped:  # TTU_SPLIT_HUGE_PMD made PTE migration entries of the PMD
        folio.pmd_mapped = False
        folio.nr_pages_mapped = 1 << folio.order
    folio.nr_pages_mapped -= nr


def zap_partial(k, folio: Folio):
    """mm/memory.c: zap_pte_range over part of a THP (munmap of a sub-range): a PMD mapping is
    split first, then half of the still-mapped pages are unmapped.  Returns pages unmapped."""
    yield "zap_pmd_range"
    if folio.migration:
        nr = ((1 << folio.order) if folio.pmd_mapped else folio.nr_pages_mapped) // 2
        zap_migration_entries(k, folio, nr)
        return nr
    if folio.pmd_mapped and not folio.flags & PG_anon:
        # __split_huge_pmd_locked of a file VMA (!vma_is_anonymous): the PMD is zapped, not
        # remapped by PTEs; the range faults back in later.  Nothing stays mapped to unmap.
        count_vm_event(k, "thp_split_pmd")
        yield from folio_remove_rmap_pmd(k, folio)
        return 0
    if folio.pmd_mapped:
        __split_huge_pmd(k, folio)
    nr = folio.nr_pages_mapped // 2
    if nr:
        yield from folio_remove_rmap_ptes(k, folio, nr)
    return nr


def zap_all(k, folio: Folio):
    """mm/memory.c: unmap_page_range over the whole folio (munmap / exit)."""
    yield "unmap_page_range"
    if folio.flags & PG_hugetlb and not folio.migration:
        if folio.pmd_mapped:  # (a migration that finished meanwhile left nothing mapped)
            yield from hugetlb.hugetlb_unmap(k, folio)  # unmap_hugepage_range
    elif folio.migration:
        zap_migration_entries(k, folio, (1 << folio.order) if folio.pmd_mapped
                              else folio.nr_pages_mapped)
    elif folio.pmd_mapped:
        yield from folio_remove_rmap_pmd(k, folio)
    elif folio.nr_pages_mapped:
        yield from folio_remove_rmap_ptes(k, folio, folio.nr_pages_mapped)
