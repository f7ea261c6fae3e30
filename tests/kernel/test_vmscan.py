"""mm/vmscan.c: which memcgs and nodes each reclaim driver visits."""

import pytest

from lrulab.kernel import memory, rmap, vmscan
from lrulab.kernel.folio import folio_get


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


@pytest.mark.parametrize("variant,sweeps", [("linux-6.1", 17), ("v0", 34), ("v7.2", 34)])
def test_memory_reclaim_retries_sweeps(kh, variant, sweeps):
    """memory_reclaim: nothing counts as reclaimed, so 1 + 16 retries of 13 priorities, each
    swept twice from 6.11 (reclaim_full_walk_retry)."""
    h = kh(variant, memcgs=("A",), nodes=2)
    assert h.run(vmscan.memory_reclaim(h.k, h.memcg("A"))) == -11
    assert h.k.reclaim_passes == sweeps * 13 * 2


def _pinned_and_splittable(h):
    f1 = _queued(h, "f1", "A")
    h.run(folio_get(h.k, f1))
    return f1, _queued(h, "f2", "A")


@pytest.mark.parametrize("variant,failed,scanned", [("linux-6.1", 18, 36), ("v0", 35, 70),
                                                    ("debian-6.12.117", 35, 70)])
def test_reclaim_full_walk_retry_measured_split_failures(kh, variant, failed, scanned):
    """memory.reclaim of a memcg with one pinned and one splittable queued THP
    (scenarios/conformance/04): measured 18 / 36 on Debian 6.1 and 35 / 70 on Debian 6.12.117
    (thp_split_page_failed / slabs_scanned, audit B1)."""
    h = kh(variant, memcgs=("A",), sysfs=None if variant == "linux-6.1"
           else {"shrink_underused": False})
    f1, f2 = _pinned_and_splittable(h)
    h.run(vmscan.memory_reclaim(h.k, h.memcg("A")))
    assert f2.split and not f1.split
    assert (h.k.vmstat["thp_split_page_failed"], h.k.vmstat["slabs_scanned"]) == (failed, scanned)


@pytest.mark.parametrize("variant", ["linux-6.1", "v0", "v7.2"])
def test_balance_pgdat_stops_at_priority_one(kh, variant):
    """kswapd (balance_pgdat) never scans at priority 0 (9aa41348a8d1): one queued THP with no
    deferred work is never split by kswapd; direct reclaim reaches priority 0 and splits it."""
    h = kh(variant, memcgs=("A",))
    f = _queued(h, "f", "A")
    h.run(vmscan.balance_pgdat(h.k, 0))
    assert not f.split and h.k.reclaim_passes == 12
    h.run(vmscan.do_try_to_free_pages(h.k, [0], None))
    assert f.split


def test_drop_slab_priority_zero_splits_all(kh):
    h = kh("linux-6.1", memcgs=("A",))
    fs = [_queued(h, f"f{i}", "A") for i in range(3)]
    h.run(vmscan.drop_slab(h.k))
    assert all(f.split for f in fs) and h.k.vmstat["slabs_scanned"] == 6
