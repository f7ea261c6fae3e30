"""mm/rmap.c: where unmapping queues a THP."""

from lrulab.kernel import memory, rmap
from lrulab.kernel.list import list_empty


def test_pmd_unmap_of_whole_thp_does_not_queue(kh):
    """folio_remove_rmap_pmd: a PMD-mapped THP unmapped whole is not queued, just freed."""
    h = kh("v7.2", memcgs=("A",), sysfs={"shrink_underused": False})
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
    h.run(rmap.zap_all(h.k, f))
    assert f.freed and h.k.vmstat["thp_deferred_split_page"] == 0


def test_partial_unmap_splits_pmd_then_queues(kh):
    """__folio_remove_rmap: some pages still mapped after a PTE unmap -> partially mapped."""
    h = kh("v7.2", memcgs=("A",), sysfs={"shrink_underused": False})
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
    nr = h.run(rmap.zap_partial(h.k, f))
    assert nr == 256 and f.refcount == f.mapcount == 256 and not list_empty(f._deferred_list)
    assert h.k.vmstat["thp_split_pmd"] == 1
