"""mm/khugepaged.c: collapse_huge_page and its result codes."""

from lrulab.kernel import khugepaged
from lrulab.kernel.list import list_empty


def test_collapse_maps_and_queues_maybe_underused(kh):
    h = kh("v7.2", memcgs=("A",))
    res, f = h.run(khugepaged.collapse_huge_page(h.k, "c", h.memcg("A"), 0, 512))
    assert res == "SCAN_SUCCEED" and f.pmd_mapped and not list_empty(f._deferred_list)
    assert h.k.vmstat["thp_collapse_alloc"] == 1 and h.memcg("A").stat["thp_collapse_alloc"] == 1


def test_collapse_allocation_failure(kh):
    h = kh("v7.2", memcgs=("A",))
    res, f = h.run(khugepaged.collapse_huge_page(h.k, "c", h.memcg("A"), 0, 512),
                   decide=lambda s: s != "thp_alloc")
    assert (res, f) == ("SCAN_ALLOC_HUGE_PAGE_FAIL", None)
    assert h.k.vmstat["thp_collapse_alloc_failed"] == 1
