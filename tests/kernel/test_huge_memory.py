"""mm/huge_memory.c: deferred split on list_lru (kernel-semantics.md §4) and the split path."""

import pytest

from lrulab.kernel import huge_memory as hm
from lrulab.kernel import memory, rmap, vmscan
from lrulab.kernel.folio import PG_partially_mapped, folio_get, folio_put
from lrulab.kernel.list import list_empty, list_entries


def fault(h, name, memcg="A", nid=0, written=512, order=9):
    return h.run(memory.handle_mm_fault(h.k, name, h.memcg(memcg), nid, order, written))


def test_partial_unmap_flags_and_counts_once(kh):
    """deferred_split_folio(partially_mapped): flag + thp_deferred_split_page the first time."""
    h = kh("v7.2", memcgs=("A",))
    f = fault(h, "f")
    h.run(rmap.zap_partial(h.k, f))
    h.run(rmap.zap_partial(h.k, f))
    assert f.flags & PG_partially_mapped
    assert h.k.vmstat["thp_deferred_split_page"] == 1
    assert h.k.mthp_stat[(9, "nr_anon_partially_mapped")] == 1


@pytest.mark.parametrize("underused,queued", [(True, True), (False, False)])
def test_fault_queues_maybe_underused_only_with_sysfs_knob(kh, underused, queued):
    """PMD fault: deferred_split_folio(false) only if shrink_underused."""
    h = kh("v7.2", memcgs=("A",), sysfs={"shrink_underused": underused})
    f = fault(h, "f")
    assert (not list_empty(f._deferred_list)) == queued


def test_scan_drops_fully_mapped_not_underused(kh):
    """deferred_split_scan: a fully mapped THP that is not underused leaves the queue."""
    h = kh("v7.2", memcgs=("A",))
    f = fault(h, "f")
    h.run(vmscan.shrink_node(h.k, 0, h.memcg("A"), 0))
    assert list_empty(f._deferred_list) and not f.split


def test_scan_splits_underused(kh):
    """thp_underused: more than max_ptes_none zero pages -> split, thp_underused_split_page."""
    h = kh("v7.2", memcgs=("A",), sysfs={"khugepaged_max_ptes_none": 100})
    f = fault(h, "f", written=10)
    h.run(vmscan.shrink_node(h.k, 0, h.memcg("A"), 0))
    assert f.split and h.k.vmstat["thp_underused_split_page"] == 1
    assert h.memcg("A").nr_pages == 10  # zero-filled subpages went to the shared zeropage


def test_split_frees_unmapped_subpages_and_uncharges(kh):
    """split: still-mapped subpages stay, the others are freed and uncharged."""
    h = kh("v7.2", memcgs=("A",))
    f = fault(h, "f")
    h.run(rmap.zap_partial(h.k, f))
    h.run(vmscan.shrink_node(h.k, 0, h.memcg("A"), 0))
    assert f.split and h.memcg("A").nr_pages == 256 and h.k.nodes[0].nr_used_pages == 256
    assert h.k.vmstat["thp_split_page"] == 1 and h.k.mthp_stat[(9, "nr_anon_partially_mapped")] == 0


def test_pinned_folio_fails_split_and_is_requeued(kh):
    """can_split_folio fails with an extra pin: thp_split_page_failed, back on the queue."""
    h = kh("v7.2", memcgs=("A",))
    f = fault(h, "f")
    h.run(rmap.zap_partial(h.k, f))
    h.run(folio_get(h.k, f))
    h.run(vmscan.shrink_node(h.k, 0, h.memcg("A"), 0))
    assert h.k.vmstat["thp_split_page_failed"] == 1 and not list_empty(f._deferred_list)


def test_free_unqueues_before_uncharge(kh):
    """__folio_put: the unqueue runs while the folio is still charged, then uncharge, free."""
    h = kh("v7.2", memcgs=("A",))
    f = fault(h, "f")
    h.run(rmap.zap_partial(h.k, f))
    h.run(rmap.zap_all(h.k, f))
    assert f.freed and list_empty(f._deferred_list)
    assert h.memcg("A").nr_pages == 0
    assert not list_entries(h.k.deferred_split_lru.xa[h.memcg("A").kmemcg_id].node[0].list)


def test_alloc_deferred_guard_under_memcg_disabled(kh):
    """folio_memcg_alloc_deferred: v3 walks a NULL memcg (Oops, B4); v4 returns 0."""
    h3 = kh("series-v3", boot_opts=["cgroup_disable=memory"])
    with pytest.raises(AttributeError):
        h3.run(memory.handle_mm_fault(h3.k, "f", None, 0, 9, 512))
    h4 = kh("series-v4", boot_opts=["cgroup_disable=memory"])
    f = h4.run(memory.handle_mm_fault(h4.k, "f", None, 0, 9, 512))
    assert f is not None and f.memcg is None


def test_count_returns_shrink_empty_only_in_72(kh):
    """deferred_split_count: SHRINK_EMPTY for an empty sublist in 7.2, 0 before (B7)."""
    from lrulab.kernel.shrinker import SHRINK_EMPTY, ShrinkControl
    for variant, want in (("series-v5", 0), ("v7.2", SHRINK_EMPTY)):
        h = kh(variant, memcgs=("A",))
        s = h.k.deferred_split_shrinker
        assert h.run(hm.deferred_split_count(h.k, s, ShrinkControl(0, h.memcg("A")))) == want


def test_collapse_result_when_sublist_allocation_fails(kh):
    """collapse_huge_page: v4 reports SCAN_SUCCEED with no THP (B6), v5 the failure."""
    from lrulab.kernel import khugepaged
    for variant, want in (("series-v4", "SCAN_SUCCEED"),
                          ("series-v5", "SCAN_ALLOC_HUGE_PAGE_FAIL")):
        h = kh(variant, memcgs=("A",))
        res, folio = h.run(khugepaged.collapse_huge_page(h.k, "c", h.memcg("A"), 0, 512),
                           decide=lambda s: s != "list_lru_memcg")
        assert (res, folio) == (want, None)


@pytest.mark.parametrize("variant,kept", [("linux-6.1", 256), ("v0", 100), ("v7.2", 100)])
def test_split_remap_zeropage_on_every_anon_split(kh, variant, kept):
    """6.12+ (b1f202060afe): a successful anon split maps the zero-filled subpages to the
    shared zeropage and frees them, for a partially mapped THP too (audit B3); 6.1 keeps every
    mapped subpage.  Model subpages: the first `written` hold data, unmaps take the top."""
    h = kh(variant, memcgs=("A",))
    f = fault(h, "f", written=100)
    h.run(rmap.zap_partial(h.k, f))  # 256 stay mapped, 100 of them hold data
    h.run(vmscan.shrink_node(h.k, 0, h.memcg("A"), 0))
    assert f.split and f.nr_pages == kept
    assert h.memcg("A").nr_pages == kept and h.k.nodes[0].nr_used_pages == kept


def test_split_counts_pmd_events_and_per_order_stats(kh):
    """6.12: thp_split_page(_failed) for HPAGE_PMD_ORDER only; every order counts the
    per-order split / split_failed stats (audit B4: an order-4 split on 6.12 left
    thp_split_page at 0 and hugepages-64kB/stats/split at 1)."""
    h = kh("v0", memcgs=("A",))
    m = fault(h, "m", order=4, written=16)
    assert h.k.mthp_stat[(4, "nr_anon")] == 1
    h.run(rmap.zap_partial(h.k, m))
    h.run(folio_get(h.k, m))
    h.run(hm.split_folio(h.k, m))
    assert h.k.vmstat["thp_split_page_failed"] == 0 and h.k.mthp_stat[(4, "split_failed")] == 1
    h.run(folio_put(h.k, m))
    h.run(hm.split_folio(h.k, m))
    assert m.split and h.k.vmstat["thp_split_page"] == 0
    assert h.k.mthp_stat[(4, "split")] == 1 and h.k.mthp_stat[(4, "nr_anon")] == 0
    assert h.k.mthp_stat[(4, "nr_anon_partially_mapped")] == 0
    f = fault(h, "f")
    h.run(rmap.zap_partial(h.k, f))
    h.run(hm.split_folio(h.k, f))
    assert h.k.vmstat["thp_split_page"] == 1 and h.k.mthp_stat[(9, "split")] == 1


def test_no_per_order_stats_on_61(kh):
    """6.1 has no hugepages-<size>kB/stats: nothing is counted there."""
    h = kh("linux-6.1", memcgs=("A",))
    f = fault(h, "f")
    h.run(rmap.zap_partial(h.k, f))
    h.run(hm.split_folio(h.k, f))
    assert h.k.vmstat["thp_split_page"] == 1 and h.k.mthp_stat == {}


def test_shrink_underused_knob_and_its_alias(kh):
    """The knob is transparent_hugepage/shrink_underused (audit B7); the kernel variable's
    name split_underused_thp is accepted as an alias."""
    for knob in ("shrink_underused", "split_underused_thp"):
        h = kh("v7.2", memcgs=("A",), sysfs={knob: False})
        f = fault(h, "f")
        assert h.k.cfg.sysfs["shrink_underused"] is False and list_empty(f._deferred_list)


@pytest.mark.parametrize("variant,split", [("v0", True), ("linux-6.13", True), ("v1", False),
                                           ("v7.2", False)])
def test_scan_skips_an_mlocked_underused_thp_from_618(kh, variant, split):
    """deferred_split_scan: an mlocked fully mapped THP is tested for underuse and split until
    Lance Yang's "mm: skip mlocked THPs that are underused early in deferred_split_scan()"
    (6.18; v1 and later here), which skips it."""
    h = kh(variant, memcgs=("A",), sysfs={"khugepaged_max_ptes_none": 100})
    f = fault(h, "f", written=10)
    f.flags |= hm.PG_mlocked
    h.run(vmscan.shrink_node(h.k, 0, h.memcg("A"), 0))
    assert f.split == split


@pytest.mark.parametrize("variant", ["v0", "debian-6.12.117", "v7.2"])
def test_split_unmap_queues_a_fully_pte_mapped_folio_as_partially_mapped(kh, variant):
    """unmap_folio -> try_to_migrate_one replaces one PTE at a time (folio_remove_rmap_pte ->
    __folio_remove_rmap: partially_mapped = nr && _nr_pages_mapped), so a fully mapped mTHP
    split through debugfs is queued and counted split_deferred +1 on its way to the split
    (6.12.117 under QEMU, conformance 14: hugepages-16kB/stats/split_deferred +1); the split
    then dequeues it and nr_anon_partially_mapped is back at 0."""
    h = kh(variant, memcgs=("A",))
    m = fault(h, "m", order=2, written=4)
    assert h.k.mthp_stat.get((2, "split_deferred"), 0) == 0
    assert h.run(hm.split_folio(h.k, m)) == 0
    assert m.split and h.k.mthp_stat[(2, "split_deferred")] == 1
    assert h.k.mthp_stat[(2, "split")] == 1 and h.k.mthp_stat[(2, "nr_anon_partially_mapped")] == 0
    assert list_empty(m._deferred_list) and h.k.vmstat["thp_deferred_split_page"] == 0


def test_split_unmap_does_not_requeue_a_partially_mapped_folio(kh):
    """The same unmap of a folio already flagged partially mapped counts nothing new (6.12
    tests folio_test_partially_mapped before deferred_split_folio)."""
    h = kh("debian-6.12.117", memcgs=("A",))
    m = fault(h, "m", order=4, written=16)
    h.run(rmap.zap_partial(h.k, m))
    assert h.k.mthp_stat[(4, "split_deferred")] == 1
    assert h.run(hm.split_folio(h.k, m)) == 0
    assert h.k.mthp_stat[(4, "split_deferred")] == 1 and h.k.mthp_stat[(4, "split")] == 1
