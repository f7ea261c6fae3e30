"""mm/memory.c: the anonymous fault paths that create large folios."""

from __future__ import annotations

from . import filemap, huge_memory, hugetlb
from . import memcontrol as mc
from .folio import HPAGE_PMD_ORDER
from .rmap import folio_add_new_anon_rmap
from .sched import may_fail
from .vmstat import count_mthp_stat


def alloc_anon_folio(k, name: str, memcg, nid: int, order: int):
    """mm/memory.c: alloc_anon_folio (6.8+, flattened by series 8/9) -- allocate and charge an
    mTHP; for order > 1 also folio_memcg_alloc_deferred (series), whose failure falls back to
    order 0 without an mTHP fallback stat.  Returns the folio or None (fallback)."""
    ok = yield from may_fail("thp_alloc")
    if not ok:
        count_mthp_stat(k, order, "anon_fault_fallback")
        return None
    folio = huge_memory.new_folio(k, name, order, nid)
    if (yield from mc.mem_cgroup_charge(k, folio, memcg)):
        huge_memory._free_new(k, folio)
        count_mthp_stat(k, order, "anon_fault_fallback_charge")
        count_mthp_stat(k, order, "anon_fault_fallback")  # the 'next:' label counts it too
        return None
    if order > 1 and (yield from huge_memory.folio_memcg_alloc_deferred(k, folio)):
        mc.mem_cgroup_uncharge(k, folio)
        huge_memory._free_new(k, folio)
        return None
    return folio


def do_anonymous_page(k, name: str, memcg, nid: int, order: int, written: int):
    """mm/memory.c: do_anonymous_page -- an mTHP mapped by PTEs; not queued at fault (only PMD
    THPs are queued as maybe-underused)."""
    yield "do_anonymous_page"
    folio = yield from alloc_anon_folio(k, name, memcg, nid, order)
    if folio is None:
        return None
    folio.written = written
    count_mthp_stat(k, order, "anon_fault_alloc")
    folio_add_new_anon_rmap(k, folio, pmd=False)
    return folio


def handle_mm_fault(k, name: str, memcg, nid: int, order: int, written: int,
                    kind: str = "anon"):
    """mm/memory.c: handle_mm_fault for a write to a fresh range: a hugetlb VMA goes to
    hugetlb_fault; a shared one (shmem or file) through do_fault to its vm_ops->fault
    (filemap.file_fault); an anonymous one (__handle_mm_fault) at PMD order to
    do_huge_pmd_anonymous_page, at smaller orders to do_anonymous_page."""
    if kind == "hugetlb":
        return hugetlb.hugetlb_fault(k, name, nid)
    if kind in ("shmem", "file"):
        return filemap.file_fault(k, name, memcg, nid, order, written, kind)
    if order == HPAGE_PMD_ORDER:
        return huge_memory.do_huge_pmd_anonymous_page(k, name, memcg, nid, written)
    return do_anonymous_page(k, name, memcg, nid, order, written)
