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


def test_pmd_fault_charge_failure_counts_the_mthp_fallback_stats(kh):
    """__do_huge_pmd_anonymous_page (6.12+): a charge failure also counts the PMD order's
    anon_fault_fallback and anon_fault_fallback_charge; 6.1 has no per-order stats."""
    h = kh("v0", memcgs=("A",))
    h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512),
          decide=lambda s: s != "charge")
    assert h.k.mthp_stat[(9, "anon_fault_fallback")] == 1
    assert h.k.mthp_stat[(9, "anon_fault_fallback_charge")] == 1
    h61 = kh("linux-6.1", memcgs=("A",))
    h61.run(memory.handle_mm_fault(h61.k, "f", h61.memcg("A"), 0, 9, 512),
            decide=lambda s: s != "charge")
    assert h61.k.mthp_stat == {} and h61.k.vmstat["thp_fault_fallback_charge"] == 1


def test_mthp_charge_failure_counts_fallback_and_fallback_charge(kh):
    """alloc_anon_folio: a charge failure counts anon_fault_fallback_charge and, at the
    'next' label, anon_fault_fallback; an allocation failure only anon_fault_fallback."""
    h = kh("v0", memcgs=("A",))
    h.run(memory.handle_mm_fault(h.k, "m", h.memcg("A"), 0, 4, 16),
          decide=lambda s: s != "charge")
    assert h.k.mthp_stat == {(4, "anon_fault_fallback_charge"): 1, (4, "anon_fault_fallback"): 1}
    h.run(memory.handle_mm_fault(h.k, "n", h.memcg("A"), 0, 4, 16),
          decide=lambda s: s != "thp_alloc")
    assert h.k.mthp_stat[(4, "anon_fault_fallback")] == 2
    assert h.k.mthp_stat[(4, "anon_fault_fallback_charge")] == 1
