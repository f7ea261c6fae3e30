"""mm/memory.c: mTHP faults."""

from lrulab.kernel import memory, rmap
from lrulab.kernel.list import list_empty


def test_mthp_fault_is_pte_mapped_and_not_queued_at_fault(kh):
    """do_anonymous_page: an order-4 mTHP is PTE-mapped; only PMD THPs queue at fault."""
    h = kh("v7.2", memcgs=("A",))
    f = h.run(memory.handle_mm_fault(h.k, "m", h.memcg("A"), 0, 4, 16))
    assert f.nr_pages_mapped == 16 and list_empty(f._deferred_list)
    h.run(rmap.zap_partial(h.k, f))
    assert not list_empty(f._deferred_list)
    assert h.k.vmstat["thp_deferred_split_page"] == 0  # PMD-size only
    assert h.k.mthp_stat[(4, "split_deferred")] == 1


def test_mthp_falls_back_when_sublist_allocation_fails(kh):
    """alloc_anon_folio: folio_memcg_alloc_deferred failure -> order-0 fallback."""
    h = kh("v7.2", memcgs=("A",))
    f = h.run(memory.handle_mm_fault(h.k, "m", h.memcg("A"), 0, 4, 16),
              decide=lambda s: s != "list_lru_memcg")
    assert f is None and h.memcg("A").nr_pages == 0 and h.k.nodes[0].nr_used_pages == 0


def test_pmd_fault_charge_failure_counts_fallback_charge(kh):
    h = kh("v7.2", memcgs=("A",))
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512),
              decide=lambda s: s != "charge")
    assert f is None
    assert h.k.vmstat["thp_fault_fallback"] == h.k.vmstat["thp_fault_fallback_charge"] == 1
