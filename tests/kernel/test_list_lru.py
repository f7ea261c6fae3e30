"""mm/list_lru.c (6.13+ layout and pre-6.13), as kernel-semantics.md §2 and kernel-6.1.md §3."""

from lrulab.kernel import list_lru as ll
from lrulab.kernel import memcontrol as mc
from lrulab.kernel.list import ListHead, list_entries
from lrulab.kernel.shrinker import shrinker_bit_test

DCACHE = {"dcache": {"memcg_aware": True, "shrinker": ["memcg_aware", "numa_aware"]}}


def _setup(kh, variant="v7.2", **kw):
    h = kh(variant, lrus=DCACHE, memcgs=("P", "P/C"), nodes=2, **kw)
    user = h.k.lrus["dcache"]
    return h, user.lru, user.shrinker


def _add(h, lru, name, memcg, nid=0):
    item = ListHead(name)
    h.run(ll.memcg_list_lru_alloc(h.k, memcg, lru))
    assert h.run(ll.list_lru_add(h.k, lru, item, nid, memcg))
    return item


def test_bit_set_only_on_empty_to_nonempty(kh):
    """__list_lru_add: the bit is set on the 0 -> 1 transition of this sublist only."""
    h, lru, s = _setup(kh)
    c = h.memcg("P/C")
    _add(h, lru, "i1", c)
    c.shrinker_info[0].map = 0  # pretend a reclaim cleared it
    _add(h, lru, "i2", c)
    assert not shrinker_bit_test(c, 0, s.id)


def test_alloc_populates_ancestors_first(kh):
    """__memcg_list_lru_alloc: the farthest ancestor without sublists gets them first."""
    h, lru, _ = _setup(kh)
    h.run(ll.memcg_list_lru_alloc(h.k, h.memcg("P/C"), lru))
    assert set(lru.xa) == {h.memcg("P").kmemcg_id, h.memcg("P/C").kmemcg_id}


def test_dying_memcg_gets_no_sublists(kh):
    """__memcg_list_lru_alloc: nothing is stored for a dying memcg."""
    h, lru, _ = _setup(kh)
    h.memcg("P/C").dying = True
    h.run(ll.memcg_list_lru_alloc(h.k, h.memcg("P/C"), lru))
    assert h.memcg("P/C").kmemcg_id not in lru.xa


def test_linux61_allocates_sublists_for_a_dying_memcg(kh):
    """6.1 memcg_list_lru_alloc has no css_is_dying test (added by 28e98022b31e in 6.13): the
    first object of a dying (killed, not yet offline) memcg gets its sublist, and the add
    lands there instead of dereferencing NULL (audit A3)."""
    h, lru, s = _setup(kh, "linux-6.1")
    c = h.memcg("P/C")
    c.dying = True  # kill_css: rmdir returned, css_offline has not run yet
    item = _add(h, lru, "c1", c)
    assert list_entries(lru.xa[c.kmemcg_id].node[0].list) == [item]
    assert not h.k.events and shrinker_bit_test(c, 0, s.id)


def test_linux61_table_allocation_fails_atomically(kh):
    """6.1 memcg_list_lru_alloc: all missing ancestors are allocated before any is stored, so
    a failed allocation stores nothing (6.13+ stores the parent's sublists first)."""
    for variant, stored in (("linux-6.1", set()), ("v7.2", {"P"})):
        h, lru, _ = _setup(kh, variant)
        calls = []

        def decide(site, calls=calls):
            calls.append(site)
            return len(calls) == 1  # the first allocation succeeds, the next fails

        ret = h.run(ll.memcg_list_lru_alloc(h.k, h.memcg("P/C"), lru), decide=decide)
        assert ret == -12 or variant == "linux-6.1" and ret == 0
        got = {p for p in ("P", "P/C") if h.memcg(p).kmemcg_id in lru.xa}
        if variant == "linux-6.1":
            assert got == {"P", "P/C"} and len(calls) == 1  # one all-or-nothing choice
            h2, lru2, _ = _setup(kh, variant)
            assert h2.run(ll.memcg_list_lru_alloc(h2.k, h2.memcg("P/C"), lru2),
                          decide=lambda site: False) == -12
            assert not lru2.xa
        else:
            assert got == stored


def test_reparent_splices_to_head_marks_dead_and_sets_parent_bit(kh):
    """memcg_reparent_list_lrus: child items go to the head of the parent's sublist, the count
    moves, the child is dead (LONG_MIN), the parent's bit is set only on nodes with items."""
    h, lru, s = _setup(kh)
    p, c = h.memcg("P"), h.memcg("P/C")
    pi = _add(h, lru, "p1", p)
    ci = _add(h, lru, "c1", c)
    mlru = lru.xa[c.kmemcg_id]
    p.shrinker_info[0].map = 0
    h.run(mc.cgroup_rmdir(h.k, c))
    dst = lru.xa[p.kmemcg_id].node[0]
    assert list_entries(dst.list) == [ci, pi]
    assert dst.nr_items == 2
    assert mlru.node[0].nr_items == ll.LONG_MIN
    assert c.kmemcg_id not in lru.xa
    assert shrinker_bit_test(p, 0, s.id) and not shrinker_bit_test(p, 1, s.id)


def test_lock_walks_up_past_dead_sublist_and_returns_effective_memcg(kh):
    """lock_list_lru_of_memcg: a dead or missing sublist makes it walk up to the parent."""
    h, lru, _ = _setup(kh)
    p, c = h.memcg("P"), h.memcg("P/C")
    _add(h, lru, "c1", c)
    h.run(mc.cgroup_rmdir(h.k, c))
    l, eff = h.run(ll.list_lru_lock(h.k, lru, 0, c))
    assert eff is p and l is lru.xa[p.kmemcg_id].node[0]
    ll.list_lru_unlock(h.k, l)


def test_bit_goes_to_effective_memcg_only_with_v5_patch(kh):
    """v5 1/9: after a walk-up the bit goes to the ancestor that got the item (B1)."""
    for variant, on_parent in (("series-v4", False), ("series-v5", True)):
        h, lru, s = _setup(kh, variant)
        p, c = h.memcg("P"), h.memcg("P/C")
        h.run(ll.memcg_list_lru_alloc(h.k, c, lru))
        h.run(mc.cgroup_rmdir(h.k, c))
        h.run(ll.list_lru_add(h.k, lru, ListHead("late"), 0, c))
        assert shrinker_bit_test(p, 0, s.id) == on_parent
        assert shrinker_bit_test(c, 0, s.id) != on_parent


def test_count_of_dead_sublist_is_zero(kh):
    """list_lru_count_one: no walk-up, a dead sublist counts 0."""
    h, lru, _ = _setup(kh)
    c = h.memcg("P/C")
    _add(h, lru, "c1", c)
    mlru = lru.xa[c.kmemcg_id]
    h.run(mc.cgroup_rmdir(h.k, c))
    lru.xa[c.kmemcg_id] = mlru  # look it up as a racing reader would
    assert h.run(ll.list_lru_count_one(h.k, lru, 0, c)) == 0


def test_init_nokmem_makes_lru_not_memcg_aware_and_copies_shrinker_id(kh):
    """__list_lru_init: nokmem clears memcg awareness (not in 6.1); shrinker_id is copied from
    the shrinker whether or not it stayed memcg-aware."""
    h = kh("v7.2", boot_opts=["cgroup.memory=nokmem"], lrus=DCACHE)
    user = h.k.lrus["dcache"]
    assert not user.lru.memcg_aware
    assert user.lru.shrinker_id == user.shrinker.id == 0
    h61 = kh("linux-6.1", boot_opts=["cgroup.memory=nokmem"], lrus=DCACHE)
    assert h61.k.lrus["dcache"].lru.memcg_aware


def test_init_does_not_copy_a_fallen_back_shrinkers_id_after_the_mm_fix(kh):
    """__list_lru_init with "mm/list_lru: don't copy stale shrinker id from non-memcg-aware
    shrinkers" (7.3-rc): a shrinker that fell back to non-memcg-aware leaves shrinker_id -1, so
    the first item of a memcg sets no bit and nothing WARNs (S1); a memcg-aware one still has
    its id copied."""
    h = kh("v7.2-fixes", boot_opts=["cgroup.memory=nokmem"], lrus=DCACHE, memcgs=("A",))
    user = h.k.lrus["dcache"]
    assert user.lru.shrinker_id == -1
    _add(h, user.lru, "a1", h.memcg("A"))
    assert h.k.events == []
    plain = kh("v7.2-fixes", lrus=DCACHE)
    assert plain.k.lrus["dcache"].lru.shrinker_id == plain.k.lrus["dcache"].shrinker.id >= 0


def test_pre613_reparent_rewrites_kmemcg_id(kh):
    """6.1 memcg_reparent_list_lrus: kmemcg_id rewritten to the parent's, src count 0, items
    spliced to the parent's list."""
    h, lru, _ = _setup(kh, "linux-6.1")
    p, c = h.memcg("P"), h.memcg("P/C")
    ci = _add(h, lru, "c1", c)
    h.run(mc.cgroup_rmdir(h.k, c))
    assert c.kmemcg_id == p.kmemcg_id
    assert list_entries(lru.xa[p.kmemcg_id].node[0].list) == [ci]


def test_walk_budget_decremented_before_callback(kh):
    """__list_lru_walk_one: nr_to_walk counts visited items, callback results decide removal."""
    h, lru, _ = _setup(kh)
    c = h.memcg("P/C")
    for i in range(3):
        _add(h, lru, f"i{i}", c)
    seen = []

    def skip(k, item, l, arg):
        seen.append(item.name)
        return ll.LRU_SKIP
        yield

    budget = [2]
    n = h.run(ll.__list_lru_walk_one(h.k, lru, 0, c, skip, None, budget, False))
    assert (n, seen, budget) == (0, ["i0", "i1"], [0])


def test_walk_rotate_moves_to_tail_and_stop_returns_unlocked(kh):
    """__list_lru_walk_one: LRU_ROTATE is list_move_tail (safe for the tail item itself);
    LRU_STOP returns without unlocking, the callback having dropped the lock (audit C)."""
    h, lru, _ = _setup(kh)
    c = h.memcg("P/C")
    a = _add(h, lru, "a", c)

    def rotate(k, item, l, arg):
        return ll.LRU_ROTATE
        yield

    h.run(ll.__list_lru_walk_one(h.k, lru, 0, c, rotate, None, [1], False))
    assert list_entries(lru.xa[c.kmemcg_id].node[0].list) == [a] and not h.k.events

    def stop(k, item, l, arg):
        ll.unlock_list_lru(k, l)
        return ll.LRU_STOP
        yield

    h.run(ll.__list_lru_walk_one(h.k, lru, 0, c, stop, None, [2], False))
    assert not h.k.events


def test_list_lru_del_unlinks_counts_down_and_leaves_the_bit(kh):
    """list_lru_del: under the sublist lock, unlink, nr_items-- on the sublist and the node,
    no shrinker bit change; an item on no list returns false and changes nothing."""
    h, lru, s = _setup(kh)
    c = h.memcg("P/C")
    item = _add(h, lru, "i", c)
    assert h.run(ll.list_lru_del(h.k, lru, item, 0, c))
    assert lru.xa[c.kmemcg_id].node[0].nr_items == 0 and lru.node[0].nr_items == 0
    assert shrinker_bit_test(c, 0, s.id)
    assert not h.run(ll.list_lru_del(h.k, lru, item, 0, c))
    assert lru.node[0].nr_items == 0 and not h.k.events


def test_list_lru_count_one_clamps_a_negative_count_to_zero(kh):
    """list_lru_count_one: a count below 0 (a racing del decremented the wrong sublist before
    the reparent fixed it, pre-6.13) reads as 0."""
    h, lru, _ = _setup(kh, "linux-6.1")
    c = h.memcg("P/C")
    _add(h, lru, "i", c)
    lru.xa[c.kmemcg_id].node[0].nr_items = -1
    assert h.run(ll.list_lru_count_one(h.k, lru, 0, c)) == 0


def test_kmemcg_id_and_lists_under_cgroup_disable_memory(kh):
    """cgroup_disable=memory: no memcg side at all (mem_cgroup_disabled()): kmemcg_id stays -1,
    an add goes to the node list whatever memcg the caller names."""
    h = kh("v7.2", boot_opts=["cgroup_disable=memory"], lrus=DCACHE, memcgs=("P",))
    assert h.memcg("P").kmemcg_id == -1
    lru = h.k.lrus["dcache"].lru
    item = ListHead("i")
    assert h.run(ll.list_lru_add(h.k, lru, item, 0, None))
    assert list_entries(lru.node[0].lru.list) == [item]


def test_add_obj_holds_the_looked_up_memcg_under_rcu_except_in_6_8_to_6_10(kh):
    """0a97c01cd20b (6.8, list_lru_explicit_memcg) looks the object's memcg up before the
    lock with no RCU section; 5161b48712dc (6.11, list_lru_obj_rcu) adds rcu_read_lock.  At
    the lock, right after the lookup, the task is in a read-side section except in 6.8..6.10."""
    from lrulab.kernel import lru_user
    for point, in_rcu in (("6.7", True), ("6.8", False), ("6.10", False), ("6.11", True),
                          ("v7.2", True)):
        h, lru, _ = _setup(kh, point)
        user = h.k.lrus["dcache"]
        obj = lru_user.LruObject("d1", 0, h.memcg("P/C"))
        for step in (lru_user.list_lru_add_obj, lru_user.list_lru_del_obj):
            gen = step(h.k, user, obj)
            assert next(gen) in ("list_lru_add_obj", "list_lru_del_obj")
            gen.send(None)  # the lookup, then the lru lock it waits for
            assert (h.k.current.rcu_depth > 0) is in_rcu, (point, step.__name__)
            gen.close()
            h.k.current.rcu_depth = 0
