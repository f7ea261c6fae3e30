"""mm/khugepaged.c: collapse_huge_page, the result codes it reports."""

from __future__ import annotations

from . import huge_memory
from . import memcontrol as mc
from .folio import HPAGE_PMD_ORDER
from .huge_memory import SCAN_ALLOC_HUGE_PAGE_FAIL, SCAN_CGROUP_CHARGE_FAIL, SCAN_SUCCEED
from .sched import may_fail
from .vmstat import count_vm_event


def alloc_charge_folio(k, name: str, memcg, nid: int):
    """mm/khugepaged.c: alloc_charge_folio -- (result, folio)."""
    ok = yield from may_fail("thp_alloc")
    if not ok:
        count_vm_event(k, "thp_collapse_alloc_failed")
        return SCAN_ALLOC_HUGE_PAGE_FAIL, None
    folio = huge_memory.new_folio(k, name, HPAGE_PMD_ORDER, nid)
    count_vm_event(k, "thp_collapse_alloc")
    if (yield from mc.mem_cgroup_charge(k, folio, memcg)):
        huge_memory._free_new(k, folio)
        return SCAN_CGROUP_CHARGE_FAIL, None
    return SCAN_SUCCEED, folio


def collapse_huge_page(k, name: str, memcg, nid: int, written: int):
    """mm/khugepaged.c: collapse_huge_page -- allocate and charge, then (series)
    folio_memcg_alloc_deferred; on its failure v5 sets SCAN_ALLOC_HUGE_PAGE_FAIL
    (collapse_alloc_fail_result) while v4 left SCAN_SUCCEED (B6).  On success the new THP is
    mapped by a PMD and (6.12+) queued as maybe-underused.  Returns (result, folio or None)."""
    yield "collapse_huge_page"
    result, folio = yield from alloc_charge_folio(k, name, memcg, nid)
    if result != SCAN_SUCCEED:
        return result, None
    if (yield from huge_memory.folio_memcg_alloc_deferred(k, folio)):
        if k.cfg.patch.collapse_alloc_fail_result:
            result = SCAN_ALLOC_HUGE_PAGE_FAIL
        mc.mem_cgroup_uncharge(k, folio)
        huge_memory._free_new(k, folio)
        return result, None  # out_nolock
    folio.written = written
    if folio.memcg is not None:
        folio.memcg.stat["thp_collapse_alloc"] += 1
    yield from huge_memory.map_anon_folio_pmd(k, folio, memcg)
    return SCAN_SUCCEED, folio
