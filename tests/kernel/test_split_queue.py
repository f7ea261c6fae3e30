"""The open-coded deferred_split queue (6.1, V0, V1): kernel-6.1.md §1, kernel-semantics.md §5."""

from lrulab.kernel import memcontrol as mc
from lrulab.kernel import memory, rmap, vmscan
from lrulab.kernel.list import list_empty, list_entries
from lrulab.kernel.shrinker import shrinker_bit_test


def fault(h, name, memcg="A", nid=0):
    return h.run(memory.handle_mm_fault(h.k, name, h.memcg(memcg), nid, 9, 512))


def test_61_full_unmap_of_pte_mapped_thp_counts_deferred(kh):
    """6.1 page_remove_rmap: a PTE-mapped THP unmapped whole is queued (and counted), then
    unqueued by the destructor (§1.3, VM E1)."""
    h = kh("linux-6.1", memcgs=("A",))
    f = fault(h, "f")
    h.run(rmap.zap_partial(h.k, f))
    assert h.k.vmstat["thp_deferred_split_page"] == 1
    g = fault(h, "g")
    h.run(rmap.zap_partial(h.k, g))  # splits the PMD: PTE-mapped
    h.run(rmap.zap_all(h.k, g))
    assert h.k.vmstat["thp_deferred_split_page"] == 2 and g.freed
    assert h.memcg("A").deferred_split_queue.split_queue_len == 1


def test_61_fault_does_not_queue(kh):
    """6.1: nothing queues at fault time."""
    h = kh("linux-6.1", memcgs=("A",))
    f = fault(h, "f")
    assert list_empty(f._deferred_list)


def test_memcg_queue_mixes_nodes_and_count_ignores_nid(kh):
    """deferred_split_count: sc->memcg's queue regardless of sc->nid (B13)."""
    h = kh("v1", memcgs=("A",), nodes=2)
    for name, nid in (("n0", 0), ("n1", 1)):
        h.run(rmap.zap_partial(h.k, fault(h, name, nid=nid)))
    h.run(vmscan.shrink_node(h.k, 0, None, 0))
    assert h.k.vmstat["thp_split_page"] == 2
    assert any(r != f for r, f, _, _ in h.k.split_log)


def test_v0_offline_queue_is_stranded(kh):
    """V0: no reparenting; the offline memcg's queue is never shrunk again."""
    h = kh("v0", memcgs=("P", "P/C"))
    f = fault(h, "f", "P/C")
    h.run(rmap.zap_partial(h.k, f))
    c = h.memcg("P/C")
    h.run(mc.cgroup_rmdir(h.k, c))
    h.run(vmscan.shrink_node(h.k, 0, None, 0))
    assert list_entries(c.deferred_split_queue.split_queue)[0].container is f
    assert not f.split


def test_v1_reparent_sets_parent_bit_on_every_node(kh):
    """V1 reparent_deferred_split_queue: splice to the parent's tail, bits on all nodes."""
    h = kh("v1", memcgs=("P", "P/C"), nodes=2)
    p = h.memcg("P")
    h.run(rmap.zap_partial(h.k, fault(h, "f", "P/C")))
    h.run(mc.cgroup_rmdir(h.k, h.memcg("P/C")))
    assert p.deferred_split_queue.split_queue_len == 1
    sid = h.k.deferred_split_shrinker.id
    assert shrinker_bit_test(p, 0, sid) and shrinker_bit_test(p, 1, sid)


def test_61_scan_retries_failed_splits_from_tail(kh):
    """6.1 deferred_split_scan: a pinned THP fails (thp_split_page_failed) and goes back."""
    from lrulab.kernel.folio import folio_get
    h = kh("linux-6.1", memcgs=("A",))
    f = fault(h, "f")
    h.run(rmap.zap_partial(h.k, f))
    h.run(folio_get(h.k, f))
    for _ in range(2):
        h.run(vmscan.shrink_node(h.k, 0, h.memcg("A"), 0))
    assert h.k.vmstat["thp_split_page_failed"] == 2
    assert h.memcg("A").deferred_split_queue.split_queue_len == 1
