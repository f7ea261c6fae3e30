"""mm/vmscan.c: which memcgs and nodes each reclaim driver visits."""

from lrulab.kernel import memory, rmap, vmscan


def _queued(h, name, memcg, nid=0):
    f = h.run(memory.handle_mm_fault(h.k, name, h.memcg(memcg), nid, 9, 512))
    h.run(rmap.zap_partial(h.k, f))
    return f


def test_memcg_reclaim_stays_in_subtree(kh):
    h = kh("v7.2", memcgs=("A", "B"))
    a, b = _queued(h, "a", "A"), _queued(h, "b", "B")
    h.run(vmscan.try_to_free_mem_cgroup_pages(h.k, h.memcg("B"), [0]))
    assert b.split and not a.split


def test_global_reclaim_visits_every_memcg(kh):
    h = kh("v7.2", memcgs=("A", "A/C"))
    f = _queued(h, "f", "A/C")
    h.run(vmscan.shrink_node(h.k, 0, None, 0))
    assert f.split


def test_memory_reclaim_runs_17_sweeps(kh):
    """memory_reclaim: nothing counts as reclaimed, so 1 + 16 retries of 13 priorities."""
    h = kh("v7.2", memcgs=("A",), nodes=2)
    assert h.run(vmscan.memory_reclaim(h.k, h.memcg("A"))) == -11
    assert h.k.reclaim_passes == 17 * 13 * 2


def test_drop_slab_priority_zero_splits_all(kh):
    h = kh("linux-6.1", memcgs=("A",))
    fs = [_queued(h, f"f{i}", "A") for i in range(3)]
    h.run(vmscan.drop_slab(h.k))
    assert all(f.split for f in fs) and h.k.vmstat["slabs_scanned"] == 6
