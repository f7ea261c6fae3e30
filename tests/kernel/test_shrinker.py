"""mm/shrinker.c (6.1: mm/vmscan.c), as kernel-semantics.md §3 and kernel-6.1.md §2."""

import pytest

from lrulab.kernel import memcontrol as mc
from lrulab.kernel import shrinker as sh


def _fake(h, q, flags=sh.SHRINKER_NUMA_AWARE | sh.SHRINKER_MEMCG_AWARE):
    s = h.run(sh.shrinker_alloc(h.k, flags, "fake"))
    s.private_data = [q]

    def count(k, s, sc):
        yield
        return s.private_data[0]

    def scan(k, s, sc):
        yield
        n = min(sc.nr_to_scan, s.private_data[0])
        s.private_data[0] -= n
        return n

    s.count_objects, s.scan_objects = count, scan
    h.run(sh.shrinker_register(h.k, s))
    return s


@pytest.mark.parametrize("q,scanned,left", [(1, 2, 0), (2, 2, 0), (3, 6, 2), (4, 5, 1),
                                            (5, 5, 1), (8, 11, 3), (20, 28, 8)])
def test_do_shrink_slab_sweep_matches_61_table(kh, q, scanned, left):
    """do_shrink_slab over one priority sweep 12 -> 0 from nr_deferred 0: slabs_scanned and the
    nr_deferred left, as measured on 6.1.192 (kernel-6.1.md §2.5)."""
    h = kh("linux-6.1", memcgs=("A",))
    a = h.memcg("A")
    s = _fake(h, q)
    for prio in range(12, -1, -1):
        h.run(sh.do_shrink_slab(h.k, sh.ShrinkControl(0, a), s, prio))
    assert s.private_data[0] == 0
    assert h.k.vmstat["slabs_scanned"] == scanned
    assert a.shrinker_info[0].nr_deferred[s.id] == left


def test_memcg_aware_shrinker_falls_back_with_memcg_disabled(kh):
    """shrinker_alloc: MEMCG_AWARE cleared when memcg is disabled; the id stays 0."""
    h = kh("v7.2", boot_opts=["cgroup_disable=memory"])
    s = h.k.deferred_split_shrinker
    assert not s.flags & sh.SHRINKER_MEMCG_AWARE and s.id == 0 and s.nr_deferred == [0]


def test_nonslab_shrinker_stays_memcg_aware_under_nokmem_but_slab_one_does_not(kh):
    """shrinker_memcg_alloc: -ENOSYS for slab shrinkers under nokmem (Koutny 2026)."""
    h5 = kh("series-v5", boot_opts=["cgroup.memory=nokmem"])
    h72 = kh("v7.2", boot_opts=["cgroup.memory=nokmem"])
    assert h5.k.deferred_split_shrinker.flags & sh.SHRINKER_MEMCG_AWARE
    assert not h72.k.deferred_split_shrinker.flags & sh.SHRINKER_MEMCG_AWARE


def test_set_shrinker_bit_ignores_root_and_warns_past_map(kh):
    """set_shrinker_bit: no-op for root; past map_nr_max the 6.7+ unit read is out of bounds
    (KASAN, 307bececcd12), then WARN_ON_ONCE (42c9db397048) and no bit."""
    h = kh("v7.2", memcgs=("A",))
    sh.set_shrinker_bit(h.k, h.k.root_mem_cgroup, 0, 0)
    assert h.k.root_mem_cgroup.shrinker_info[0].map == 0
    sh.set_shrinker_bit(h.k, h.memcg("A"), 0, 64)
    assert [e.kind for e in h.k.events] == ["use_after_free", "warn"]
    assert "slab-out-of-bounds in set_shrinker_bit" in h.k.events[0].message
    assert h.memcg("A").shrinker_info[0].map == 0


def test_set_shrinker_bit_reads_the_unit_before_the_map_nr_max_warn_on_72_nokmem(kh):
    """7.2 under nokmem: map_nr_max is 0 and the fallen-back THP shrinker keeps id 0, so the
    first queued THP's set_shrinker_bit reads info->unit[0] past the empty unit array (KASAN
    slab-out-of-bounds) and then WARNs (id 0 >= map_nr_max 0), as the kernel does."""
    h = kh("v7.2", boot_opts=["cgroup.memory=nokmem"], memcgs=("A",))
    a = h.memcg("A")
    assert a.shrinker_info[0].map_nr_max == 0
    sh.set_shrinker_bit(h.k, a, 0, 0)
    kinds = [e.kind for e in h.k.events]
    assert kinds == ["use_after_free", "warn"]
    assert "info->unit[0] of a shrinker_info with map_nr_max 0" in h.k.events[0].message
    assert "id 0 >= map_nr_max 0" in h.k.events[1].message


def test_set_shrinker_bit_past_map_before_the_unit_array_only_warns(kh):
    """6.4 ... 6.6 (set_shrinker_bit_warn without shrinker_info_unit): the WARN comes before
    any access; 6.1 has neither."""
    h = kh("v0", patches={"shrinker_info_unit": False}, memcgs=("A",))
    sh.set_shrinker_bit(h.k, h.memcg("A"), 0, 64)
    assert [e.kind for e in h.k.events] == ["warn"]
    h61 = kh("linux-6.1", memcgs=("A",))
    sh.set_shrinker_bit(h61.k, h61.memcg("A"), 0, 3)
    assert h61.k.events == [] and sh.shrinker_bit_test(h61.memcg("A"), 0, 3)


def test_shrink_slab_memcg_skips_offline_memcgs(kh):
    """shrink_slab_memcg: an offline memcg is never shrunk."""
    h = kh("v7.2", memcgs=("A",))
    a = h.memcg("A")
    s = _fake(h, 3)
    sh.set_shrinker_bit(h.k, a, 0, s.id)
    a.online = False
    assert h.run(sh.shrink_slab_memcg(h.k, 0, a, 0)) == 0
    assert s.private_data == [3]


def test_shrink_empty_clears_bit_and_recheck_resets_it(kh):
    """shrink_slab_memcg: SHRINK_EMPTY clears the bit; the second call re-sets it if objects
    appeared meanwhile; a plain 0 leaves it set."""
    h = kh("v7.2", memcgs=("A",))
    a = h.memcg("A")
    s = _fake(h, 0)
    calls = []

    def count(k, s, sc):
        yield
        calls.append(1)
        return sh.SHRINK_EMPTY if len(calls) == 1 else 0
    s.count_objects = count
    sh.set_shrinker_bit(h.k, a, 0, s.id)
    h.run(sh.shrink_slab_memcg(h.k, 0, a, 0))
    assert sh.shrinker_bit_test(a, 0, s.id)  # re-check said "not empty" (0)
    calls.clear()

    def always_empty(k, s, sc):
        yield
        return sh.SHRINK_EMPTY
    s.count_objects = always_empty
    h.run(sh.shrink_slab_memcg(h.k, 0, a, 0))
    assert not sh.shrinker_bit_test(a, 0, s.id)


@pytest.mark.parametrize("variant,cleared", [("linux-6.1", False), ("v0", True)])
def test_nokmem_skip_of_slab_shrinker(kh, variant, cleared):
    """shrink_slab_memcg under nokmem: slab shrinkers are skipped; 6.7+ also clears the bit."""
    h = kh(variant, boot_opts=["cgroup.memory=nokmem"], memcgs=("A",))
    s = _fake(h, 5, sh.SHRINKER_MEMCG_AWARE)
    if not s.flags & sh.SHRINKER_MEMCG_AWARE:
        pytest.skip("the preset refuses slab shrinkers under nokmem")
    a = h.memcg("A")
    sh.set_shrinker_bit(h.k, a, 0, s.id)
    h.run(sh.shrink_slab_memcg(h.k, 0, a, 0))
    assert s.private_data == [5]
    assert sh.shrinker_bit_test(a, 0, s.id) != cleared


def test_expand_61_sets_all_old_bits(kh):
    """expand_shrinker_info: 6.1 sets every old bit to 1; later kernels keep them."""
    for variant, expect_all in (("linux-6.1", True), ("v7.2", False)):
        h = kh(variant, memcgs=("A",))
        for _ in range(70):
            _fake(h, 0)
        assert (h.memcg("A").shrinker_info[0].map == (1 << 64) - 1) == expect_all


def test_root_pass_runs_every_shrinker(kh):
    """shrink_slab for root: every registered shrinker, memcg-aware ones included."""
    h = kh("v7.2", memcgs=("A",))
    s = _fake(h, 4)
    h.run(sh.shrink_slab(h.k, 0, h.k.root_mem_cgroup, 0))
    assert s.private_data == [0]


def test_mkdir_fails_when_shrinker_info_allocation_fails(kh):
    """mem_cgroup_css_online: alloc_shrinker_info failure makes mkdir fail with -ENOMEM."""
    h = kh("v7.2")
    ret = h.run(mc.cgroup_mkdir(h.k, "X"), decide=lambda site: site != "shrinker_info")
    assert ret == -12 and "X" not in h.k.memcgs


def test_61_shrink_slab_memcg_clears_a_bit_only_when_idr_find_returns_null(kh):
    """6.1 shrink_slab_memcg: a registered-but-not-yet (or unregistering) shrinker keeps its
    bit; only an id idr_find does not know is cleared.  6.7+ clears both
    (shrinker_try_get fails)."""
    for variant, kept in (("linux-6.1", True), ("v0", False)):
        h = kh(variant, memcgs=("A",))
        a = h.memcg("A")
        s = _fake(h, 3)
        s.flags &= ~sh.SHRINKER_REGISTERED
        sh.set_shrinker_bit(h.k, a, 0, s.id)
        h.run(sh.shrink_slab_memcg(h.k, 0, a, 0))
        assert sh.shrinker_bit_test(a, 0, s.id) == kept, variant
        del h.k.shrinker_idr[s.id]
        h.run(sh.shrink_slab_memcg(h.k, 0, a, 0))
        assert not sh.shrinker_bit_test(a, 0, s.id)


def test_61_shrink_slab_memcg_stops_when_shrinker_rwsem_is_contended(kh):
    """6.1 shrink_slab_memcg: after each shrinker, rwsem_is_contended(&shrinker_rwsem) ends
    the pass (freed at least 1); 6.7+ has no rwsem on this path."""
    for variant, second_runs in (("linux-6.1", False), ("v0", True)):
        h = kh(variant, memcgs=("A",))
        a = h.memcg("A")
        s1, s2 = _fake(h, 0), _fake(h, 0)
        ran = []

        def count(k, s, sc, ran=ran):
            yield
            ran.append(s)
            if len(ran) == 1:
                k.shrinker_rwsem_writer = k.task("mkdir")  # a writer comes along
            return 0
        s1.count_objects = s2.count_objects = count
        sh.set_shrinker_bit(h.k, a, 0, s1.id)
        sh.set_shrinker_bit(h.k, a, 0, s2.id)
        freed = h.run(sh.shrink_slab_memcg(h.k, 0, a, 0))
        assert (len(ran) == 2) == second_runs, variant
        if not second_runs:
            assert freed == 1


@pytest.mark.parametrize("q,scanned", [(1, 0), (2, 2), (3, 4), (4, 4)])
def test_seeks_zero_shrinker_sweep_matches_kernfs_superblock_on_61(kh, q, scanned):
    """A shrinker with seeks 0 (kernfs_fill_super, fs/kernfs/mount.c: "sysfs dentries and inodes
    don't require IO to create") asks for freeable / 2 at every priority, so the deferred work
    piles up to 2 * freeable and one object alone is never scanned: slabs_scanned of one
    memory.reclaim over a private sysfs's negative dentries on Debian 6.1.192 (1 -> 0, 2 -> 2,
    3 -> 4, 4 -> 4; conformance 16-dcache-memcg-reclaim)."""
    h = kh("linux-6.1", memcgs=("A",))
    a = h.memcg("A")
    s = _fake(h, q)
    s.seeks, s.batch = 0, 1024
    for prio in range(12, -1, -1):
        h.run(sh.do_shrink_slab(h.k, sh.ShrinkControl(0, a), s, prio))
    assert h.k.vmstat["slabs_scanned"] == scanned
    assert s.private_data[0] == (q if scanned == 0 else 0)
