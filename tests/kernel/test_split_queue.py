"""The open-coded deferred_split queue (6.1, V0, V1): kernel-6.1.md §1, kernel-semantics.md §5."""

from lrulab import properties
from lrulab.kernel import memcontrol as mc
from lrulab.kernel import memory, rmap, vmscan
from lrulab.kernel.list import list_del_init, list_empty, list_entries
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


def _queued_dying_child(kh):
    """v1, a partially mapped THP of P/C queued on P/C's queue, P/C killed (css_is_dying) but
    not offline yet: the window between kill_css and reparent_deferred_split_queue."""
    h = kh("v1", memcgs=("P", "P/C"), sysfs={"shrink_underused": False})
    f = fault(h, "f", "P/C")
    h.run(rmap.zap_partial(h.k, f))
    h.memcg("P/C").dying = True  # kill_css
    return h, f


def test_v1_walked_up_unqueue_holds_the_handed_over_lock(kh):
    """A9: in V1's window every accessor of the dying P/C's queue walks up and holds P's lock,
    so a free's list_del_init of a folio on P/C's list under P's lock is no list race."""
    h, f = _queued_dying_child(kh)
    h.run(rmap.zap_all(h.k, f))
    assert f.freed
    assert [e for e in h.k.events if e.kind == "list"] == []


def test_v1_unqueue_in_the_rmdir_window_decrements_the_parents_split_queue_len(kh):
    """A9 (Chris Mason's review, Message-ID 20260113220046.2274684-1-clm@meta.com): the
    walked-up unqueue decrements P's split_queue_len (an empty P's wraps to ULONG_MAX) for a
    folio counted in P/C's; the model reports it as a counter event."""
    h, f = _queued_dying_child(kh)
    h.run(rmap.zap_all(h.k, f))
    p, c = h.memcg("P").deferred_split_queue, h.memcg("P/C").deferred_split_queue
    assert p.split_queue_len & ((1 << 64) - 1) == (1 << 64) - 1 and c.split_queue_len == 1
    [e] = [e for e in h.k.events if e.kind == "counter"]
    assert "split_queue_len-- on P.deferred_split_queue" in e.message
    assert "which is on P/C.deferred_split_queue" in e.message


def test_v1_reparent_repairs_the_split_queue_lens_at_offline(kh):
    """A9: reparent_deferred_split_queue adds P/C's (one too high) length to P's, so the
    lengths agree with the lists again at quiescence (counters cannot see the race)."""
    h, f = _queued_dying_child(kh)
    h.run(rmap.zap_all(h.k, f))
    h.memcg("P/C").dying = False
    h.run(mc.cgroup_rmdir(h.k, h.memcg("P/C")))
    assert h.memcg("P").deferred_split_queue.split_queue_len == 0
    assert properties.counters(h.k) == []


def test_v1_handover_reports_a_walked_up_access_while_the_child_lock_is_held(kh):
    """A9: the hand-over covers only accessors serialised through the walk-up.  A task that
    still held P/C's own lock (taken before kill_css) while another unqueues under P's lock
    would be a real list race: reported.  (split_queue_lock takes P/C's lock before it walks
    up, so the kernel's paths cannot get there; the check stays for any that could.)"""
    h, f = _queued_dying_child(kh)
    other = h.k.task("scan")
    h.memcg("P/C").deferred_split_queue.split_queue_lock.owner = other
    q = h.memcg("P").deferred_split_queue
    q.split_queue_lock.owner = h.k.current
    list_del_init(h.k, f._deferred_list)
    [e] = [e for e in h.k.events if e.kind == "list"]
    assert "while scan still holds P/C.deferred_split_queue.split_queue_lock" in e.message


def test_v1_reparent_takes_the_parents_lock_before_touching_the_list(kh):
    """A9: reparent_deferred_split_queue holds P/C's lock and then P's (spin_lock_nested):
    a walked-up unqueue holding P's lock meanwhile does not race it."""
    h, f = _queued_dying_child(kh)
    c = h.memcg("P/C").deferred_split_queue
    c.split_queue_lock.owner = h.k.task("offline")
    c.reparent_nested = True
    h.memcg("P").deferred_split_queue.split_queue_lock.owner = h.k.current
    list_del_init(h.k, f._deferred_list)
    assert [e for e in h.k.events if e.kind == "list"] == []


def test_without_walkup_a_list_op_under_another_queues_lock_is_reported(kh):
    """The hand-over is V1's alone: on v0 (no split_queue_walkup) the dying memcg's queue is
    protected by its own lock only."""
    h = kh("v0", memcgs=("P", "P/C"), sysfs={"shrink_underused": False})
    f = fault(h, "f", "P/C")
    h.run(rmap.zap_partial(h.k, f))
    h.memcg("P/C").dying = True
    h.memcg("P").deferred_split_queue.split_queue_lock.owner = h.k.current
    list_del_init(h.k, f._deferred_list)
    [e] = [e for e in h.k.events if e.kind == "list"]
    assert "without holding P/C.deferred_split_queue.split_queue_lock" in e.message


def test_612_unqueue_warns_on_a_live_or_uncharged_folio(kh):
    """6.12 __folio_unqueue_deferred_split (f8f931bba0f9): WARN_ON_ONCE when the refcount is
    not 0 and when the folio is uncharged with memcg enabled; 6.1's free_transhuge_page has
    neither."""
    from lrulab.kernel import split_queue
    for variant, warns in (("v0", 2), ("v1", 2), ("linux-6.1", 0)):
        h = kh(variant, memcgs=("A",))
        f = fault(h, "f")
        h.run(rmap.zap_partial(h.k, f))
        f.memcg.lru_folios.remove(f)
        f.memcg = None  # uncharged, and still referenced
        h.run(split_queue.__folio_unqueue_deferred_split(h.k, f))
        msgs = [e.message for e in h.k.events if e.kind == "warn"]
        assert len(msgs) == warns, (variant, msgs)
        if warns:
            assert msgs == ["__folio_unqueue_deferred_split: refcount != 0",
                            "__folio_unqueue_deferred_split: uncharged folio"]


def _scan_until_unlocked_unlink(h, memcg="A"):
    """Step V0's deferred_split_scan on one CPU up to the loads of its unlocked list_del_init
    (the step boundary another CPU can run in); returns the generator, paused there."""
    from lrulab.kernel import split_queue
    from lrulab.kernel.shrinker import ShrinkControl
    sc = ShrinkControl(0, h.memcg(memcg))
    sc.nr_to_scan = 128
    gen = split_queue.deferred_split_scan(h.k, h.k.deferred_split_shrinker, sc)
    want = None
    while want != "deferred_split_scan":
        want = gen.send(None)
    return gen


def _pinned_kept_then_used(h, middle_split=False):
    """Queue order f2 (fully mapped, used), [f3 partially mapped], f1 (partially mapped,
    pinned): the scan's private list is the reverse, f1 first."""
    from lrulab.kernel.folio import folio_get
    f2 = fault(h, "f2")
    if middle_split:
        h.run(rmap.zap_partial(h.k, fault(h, "f3")))
    f1 = fault(h, "f1")
    h.run(rmap.zap_partial(h.k, f1))
    h.run(folio_get(h.k, f1))
    return f1, f2


def test_612rc1_scan_puts_the_kept_folio_before_its_unlocked_unlink(kh):
    """dafff3f4c850 (6.12-rc1, scan_keeps_safe_folio off): f1's split fails and the scan puts
    it at once, so when it unlinks f2 without a lock, f1 next to it holds only the mapping's
    and the pin's references: a racing free can unqueue it meanwhile."""
    h = kh("6.12-rc1", memcgs=("A",))
    f1, f2 = _pinned_kept_then_used(h)
    _scan_until_unlocked_unlink(h)
    assert f2._deferred_list.prev is f1._deferred_list
    assert f1.refcount == f1.mapcount + 1  # the pin; the scan's reference is gone


def test_612rc7_scan_holds_the_kept_folio_across_the_unlocked_unlink(kh):
    """e66f3185fa04 (scan_keeps_safe_folio): f1 stays referenced (prev) until after the
    splice."""
    h = kh("6.12-rc7", memcgs=("A",))
    f1, f2 = _pinned_kept_then_used(h)
    _scan_until_unlocked_unlink(h)
    assert f2._deferred_list.prev is f1._deferred_list
    assert f1.refcount == f1.mapcount + 2  # the pin and the scan's


def test_612rc7_a_split_folio_becomes_the_safe_one_and_the_kept_folio_is_put(kh):
    """e66f3185fa04 as merged: the split f3 (off the list) is swapped in as prev, so f1, still
    on the list next to f2, lost the scan's reference; Hugh Dickins' hotfix a3477c9e02cc
    (scan_safe_folio_after_split, 6.12) keeps f1."""
    for point, held in (("6.12-rc7", 1), ("6.12", 2)):
        h = kh(point, memcgs=("A",))
        f1, f2 = _pinned_kept_then_used(h, middle_split=True)
        _scan_until_unlocked_unlink(h)
        assert h.k.vmstat["thp_split_page"] == 1
        assert f2._deferred_list.prev is f1._deferred_list
        assert f1.refcount == f1.mapcount + held, point


def test_unlocked_unlink_racing_a_neighbours_locked_unqueue_is_list_corruption(kh):
    """The race both fixes close: between the scan's loads and stores for f2, f1's last put
    unqueues f1 under the queue lock (6.12-rc1)."""
    from lrulab.kernel.folio import folio_put
    h = kh("6.12-rc1", memcgs=("A",))
    f1, f2 = _pinned_kept_then_used(h)
    gen = _scan_until_unlocked_unlink(h)
    h.run(rmap.zap_all(h.k, f1))
    h.run(folio_put(h.k, f1))
    assert f1.freed
    h.run(gen)
    msgs = [e.message for e in h.k.events if e.kind == "list"]
    assert any("f2._deferred_list unlinked locklessly" in m and "f1._deferred_list" in m
               for m in msgs), msgs
