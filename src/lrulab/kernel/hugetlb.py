"""mm/hugetlb.c: anonymous hugetlb folios (MAP_PRIVATE | MAP_HUGETLB), as far as the
deferred-split queue meets them.

A hugetlb folio is never queued for deferred split: its page[2] holds hugetlb fields
(_hugetlb_subpool, _hugetlb_cgroup, ...) where a THP keeps ``_deferred_list``, so that list
head is never initialised.  The model gives it NULL links (a pool page's zeroed fields).  From
f6a8dd98a2ce (6.10-rc1) alloc_buddy_hugetlb_folio left the folio PG_large_rmappable, and from
be9581ea8c05 (6.10-rc7) migration unqueues a large rmappable source: through those NULL links
(bug #14, fixed by f708f6970cc9 in 6.10).  Not charged to a memcg (memory_hugetlb_accounting
is off by default), no THP counters.
"""

from __future__ import annotations

from .folio import HPAGE_PMD_ORDER, Folio, PG_hugetlb, PG_large_rmappable, free_folio
from .sched import may_fail


def alloc_buddy_hugetlb_folio(k, name: str, nid: int) -> Folio:
    """mm/hugetlb.c: alloc_buddy_hugetlb_folio -- a fresh pool page from the buddy allocator.
    __folio_alloc (f6a8dd98a2ce) marks it large_rmappable; f708f6970cc9 clears that again."""
    folio = Folio(name, HPAGE_PMD_ORDER, nid)
    folio.flags |= PG_hugetlb
    # page[2] is _hugetlb_subpool / _hugetlb_cgroup: _deferred_list is no list head
    folio._deferred_list.next = folio._deferred_list.prev = None
    folio._deferred_list.name = f"{name}._deferred_list (hugetlb page[2]: never initialised)"
    if k.cfg.patch.hugetlb_large_rmappable:
        # f6a8dd98a2ce "hugetlb: convert alloc_buddy_hugetlb_folio to use a folio"; off again
        # with f708f6970cc9 "mm/hugetlb: fix kernel NULL pointer dereference when migrating
        # hugetlb folio" (folio_clear_large_rmappable)
        folio.flags |= PG_large_rmappable
    k.nodes[nid].nr_used_pages += folio.nr_pages
    return folio


def alloc_hugetlb_folio(k, name: str, nid: int, site: str = "thp_alloc"):
    """mm/hugetlb.c: alloc_hugetlb_folio -- a page of the pool (the model's pool grows on
    demand: alloc_buddy_hugetlb_folio, as nr_hugepages or overcommit fills it); allocation
    site ``site`` may fail (VM_FAULT_SIGBUS at fault, -ENOMEM at migration)."""
    ok = yield from may_fail(site)
    if not ok:
        return None
    return alloc_buddy_hugetlb_folio(k, name, nid)


def hugetlb_fault(k, name: str, nid: int):
    """mm/hugetlb.c: hugetlb_fault -> hugetlb_no_page for a write to a fresh private range:
    a pool folio mapped by one huge PMD (hugetlb_add_new_anon_rmap); no THP counters, no
    memcg charge, never queued.  Returns the folio or None (SIGBUS)."""
    yield "hugetlb_fault"
    folio = yield from alloc_hugetlb_folio(k, name, nid)
    if folio is None:
        return None
    folio.pmd_mapped = True
    folio.mapcount = 1
    folio.refcount = 1
    return folio


def hugetlb_unmap(k, folio: Folio):
    """mm/hugetlb.c: __unmap_hugepage_range -- hugetlb_remove_rmap, then the mapping's
    reference goes (the last one frees the folio back to the pool)."""
    from .folio import folio_put
    folio.pmd_mapped = False
    folio.mapcount -= 1
    yield from folio_put(k, folio)


def free_huge_folio(k, folio: Folio) -> None:
    """mm/hugetlb.c: free_huge_folio -- back to the pool; the model returns the page."""
    free_folio(k, folio)
