"""mm/memcontrol.c: kmemcg_id, the css life cycle, release."""

from lrulab.kernel import memcontrol as mc
from lrulab.kernel import memory, rmap


def test_kmemcg_id_none_for_root_and_nokmem(kh):
    """memcg_online_kmem: root and nokmem memcgs keep kmemcg_id -1."""
    h = kh("v7.2", memcgs=("A",))
    assert h.k.root_mem_cgroup.kmemcg_id == -1 and h.memcg("A").kmemcg_id > 0
    hn = kh("v7.2", boot_opts=["cgroup.memory=nokmem"], memcgs=("A",))
    assert hn.memcg("A").kmemcg_id == -1 and not hn.k.memcg_kmem_online


def test_rmdir_dying_then_offline_then_released_with_last_uncharge(kh):
    """rmdir: dying, offline after a grace period; charged folios keep it (zombie) until the
    last uncharge releases and frees it (before 7.1's folio reparenting)."""
    h = kh("linux-6.13", memcgs=("A",))
    a = h.memcg("A")
    f = h.run(memory.handle_mm_fault(h.k, "f", a, 0, 9, 512))
    h.run(mc.cgroup_rmdir(h.k, a))
    assert a.dying and not a.online and not a.freed
    assert a in mc.mem_cgroup_iter(h.k, None)  # zombies are still visited
    h.run(rmap.zap_all(h.k, f))
    assert a.rcu_free is not None and a not in mc.mem_cgroup_iter(h.k, None)


def test_memcg_disabled_leaves_folios_uncharged(kh):
    """cgroup_disable=memory: mem_cgroup_charge is a no-op, folios have no memcg."""
    h = kh("v1", boot_opts=["cgroup_disable=memory"], memcgs=("A",))
    f = h.run(memory.handle_mm_fault(h.k, "f", None, 0, 9, 512))
    assert f.memcg is None and mc.mem_cgroup_iter(h.k, None) == []


def test_lru_folio_reparent_offline_moves_folios_to_parent(kh):
    """7.1 (f1cf8d2f36dc): css_offline reparents the LRU folios: folio_memcg() is the parent,
    the charge moves with them and nothing pins the dead memcg, which is released at rmdir."""
    h = kh("v1", memcgs=("P", "P/C"))
    p, c = h.memcg("P"), h.memcg("P/C")
    f = h.run(memory.handle_mm_fault(h.k, "f", c, 0, 9, 512))
    h.run(mc.cgroup_rmdir(h.k, c))
    assert f.memcg is p and p.nr_pages == 512 and f in p.lru_folios
    assert c.rcu_free is not None and c not in mc.mem_cgroup_iter(h.k, None)
    h.run(rmap.zap_all(h.k, f))
    assert p.nr_pages == 0 and p.lru_folios == []


def test_lru_folio_reparent_comes_after_list_lru_reparenting(kh):
    """The folio pointer switch is the last reparenting step of css_offline (after the list_lru
    and split-queue moves): the step names of rmdir show the order."""
    from lrulab.kernel.sched import Task
    h = kh("series-v5", memcgs=("P", "P/C"))
    h.run(memory.handle_mm_fault(h.k, "f", h.memcg("P/C"), 0, 9, 512))
    steps = []
    gen = mc.cgroup_rmdir(h.k, h.memcg("P/C"))
    h.k.current = Task(99, "rmdir")
    for step in gen:
        if isinstance(step, str):
            steps.append(step)
    assert steps.index("xas_store") < steps.index("lru_reparent_memcg")


def _step_until(gen, cond):
    """Run a kernel generator (sequentially, on the harness's task) until cond() holds."""
    while not cond():
        gen.send(None)
    return gen


def test_rmdir_with_online_child_fails_ebusy_and_changes_nothing(kh):
    """cgroup_destroy_locked: -EBUSY while an online child exists (audit A5)."""
    h = kh("v1", memcgs=("P", "P/C"))
    p = h.memcg("P")
    assert h.run(mc.cgroup_rmdir(h.k, p)) == -mc.EBUSY
    assert p.online and not p.dying and p.css_refcnt == 2 and not h.k.events


def test_rmdir_with_attached_task_fails_ebusy(kh):
    """cgroup_destroy_locked: -EBUSY while the cgroup is populated."""
    h = kh("v7.2", memcgs=("A",))
    a = h.memcg("A")
    assert mc.cgroup_attach_task(h.k, a) == 0
    assert h.run(mc.cgroup_rmdir(h.k, a)) == -mc.EBUSY and not a.dying
    mc.cgroup_detach_task(h.k, a, a.procs_gen)
    assert h.run(mc.cgroup_rmdir(h.k, a)) == 0 and a.dying


def test_parent_goes_offline_after_its_children(kh):
    """css_killed_work_fn / online_cnt: a removed child no longer blocks the parent's rmdir,
    but the parent's css_offline waits for the child's, which then offlines the parent."""
    h = kh("v1", memcgs=("P", "P/C"))
    p, c = h.memcg("P"), h.memcg("P/C")
    rm_c = _step_until(mc.cgroup_rmdir(h.k, c), lambda: c.dying)
    assert h.run(mc.cgroup_rmdir(h.k, p)) == 0
    assert p.dying and p.online and c.online  # P waits for C
    h.run(rm_c)
    assert not c.online and not p.online and not h.k.events


def test_zombie_child_pins_its_parent(kh):
    """init_and_link_css: a child holds a reference on its parent until it is freed.  Before
    7.1's folio reparenting a charged folio keeps the removed child a zombie."""
    h = kh("linux-6.13", memcgs=("P", "P/C"))
    p, c = h.memcg("P"), h.memcg("P/C")
    f = h.run(memory.handle_mm_fault(h.k, "f", c, 0, 9, 512))
    h.run(mc.cgroup_rmdir(h.k, c))
    h.run(mc.cgroup_rmdir(h.k, p))
    assert not p.online and p.rcu_free is None and c.rcu_free is None  # zombies
    h.run(rmap.zap_all(h.k, f))
    assert c.rcu_free is not None and p.rcu_free is not None and not h.k.events


def test_lru_folio_reparent_leaves_no_zombie_but_a_pinned_child_pins_its_parent(kh):
    """7.1+ (f1cf8d2f36dc): each offline moves the charged folio up (C -> P -> root), so both
    are released at rmdir; a css reference (mem_cgroup_iter's) still keeps the removed child,
    and the child its parent (init_and_link_css), until it is dropped."""
    h = kh("v7.2", memcgs=("P", "P/C"))
    p, c = h.memcg("P"), h.memcg("P/C")
    f = h.run(memory.handle_mm_fault(h.k, "f", c, 0, 9, 512))
    h.run(mc.cgroup_rmdir(h.k, c))
    h.run(mc.cgroup_rmdir(h.k, p))
    assert f.memcg is h.k.root_mem_cgroup
    assert c.rcu_free is not None and p.rcu_free is not None and not h.k.events
    h = kh("v7.2", memcgs=("P", "P/C"))
    p, c = h.memcg("P"), h.memcg("P/C")
    it = mc.mem_cgroup_iter_pinned(h.k, None)
    assert [next(it) for _ in range(3)] == [h.k.root_mem_cgroup, p, c]
    h.run(mc.cgroup_rmdir(h.k, c))
    h.run(mc.cgroup_rmdir(h.k, p))
    assert not p.online and p.rcu_free is None and c.rcu_free is None  # C pinned, P by C
    assert list(it) == []
    assert c.rcu_free is not None and p.rcu_free is not None and not h.k.events


def test_mkdir_under_removed_parent_fails_enoent_or_enodev(kh):
    """cgroup_mkdir: the lookup of a removed parent fails (-ENOENT); a parent removed after
    the lookup is found dead by cgroup_kn_lock_live (-ENODEV)."""
    h = kh("v7.2", memcgs=("P",))
    p = h.memcg("P")
    mk = mc.cgroup_mkdir(h.k, "P/C")
    mk.send(None)  # the lookup found P; mkdir waits for cgroup_mutex
    h.run(mc.cgroup_rmdir(h.k, p))
    assert h.run(mk) == -mc.ENODEV
    assert h.run(mc.cgroup_mkdir(h.k, "P/D")) == -mc.ENOENT
    assert "P/C" not in h.k.memcgs and not h.k.events


def test_no_task_in_a_cgroup_with_children(kh):
    """cgroup v2 no internal process rule: a cgroup with memory in its subtree_control takes
    no task (-EBUSY), and its subtree_control cannot be enabled while it has one; the root
    cgroup is exempt; a removed cgroup takes none (-ENOENT)."""
    h = kh("v7.2", memcgs=("P",))
    p = h.memcg("P")
    assert mc.cgroup_attach_task(h.k, p) == 0
    assert h.run(mc.cgroup_mkdir(h.k, "P/C")) == -mc.EBUSY
    mc.cgroup_detach_task(h.k, p, p.procs_gen)
    assert h.run(mc.cgroup_mkdir(h.k, "P/C")) == 0
    assert mc.cgroup_attach_task(h.k, p) == -mc.EBUSY
    assert mc.cgroup_attach_task(h.k, h.k.root_mem_cgroup) == 0
    c = h.memcg("P/C")
    h.run(mc.cgroup_rmdir(h.k, c))
    assert mc.cgroup_attach_task(h.k, c) == -mc.ENOENT


def test_mem_cgroup_iter_pins_the_memcg_it_hands_out(kh):
    """mem_cgroup_iter: css_tryget on the memcg handed out, css_put at the next call, so a
    memcg released meanwhile stays allocated until reclaim moves on (audit A7).  Before 7.1's
    folio reparenting the charged folio keeps the removed A until it is unmapped."""
    h = kh("linux-6.13", memcgs=("A",))
    a = h.memcg("A")
    f = h.run(memory.handle_mm_fault(h.k, "f", a, 0, 9, 512))
    h.run(mc.cgroup_rmdir(h.k, a))
    it = mc.mem_cgroup_iter_pinned(h.k, None)
    assert next(it) is h.k.root_mem_cgroup and next(it) is a
    h.run(rmap.zap_all(h.k, f))  # the last charge goes
    assert a.rcu_free is None  # still pinned by the iterator
    assert list(it) == [] and a.rcu_free is not None


def test_mem_cgroup_iter_pin_outlives_rmdir_with_lru_folio_reparent(kh):
    """7.1+: rmdir moves A's folio to root and would release A at once; the iterator's
    css_tryget keeps A allocated until the next mem_cgroup_iter call drops it (audit A7)."""
    h = kh("v7.2", memcgs=("A",))
    a = h.memcg("A")
    f = h.run(memory.handle_mm_fault(h.k, "f", a, 0, 9, 512))
    it = mc.mem_cgroup_iter_pinned(h.k, None)
    assert next(it) is h.k.root_mem_cgroup and next(it) is a
    h.run(mc.cgroup_rmdir(h.k, a))
    assert f.memcg is h.k.root_mem_cgroup and not a.online
    assert a.rcu_free is None  # still pinned by the iterator
    assert list(it) == [] and a.rcu_free is not None and not h.k.events


def test_charge_goes_to_the_memcg_the_task_is_in_when_it_charges(kh):
    """get_mem_cgroup_from_mm: the charge looks the memcg up from the task at charge time. A
    task the rmdir moved to root charges root; the removed memcg is released, not charged
    (the sweep's no_use_after_free in set_shrinker_bit, seed 334)."""
    for preset in ("linux-6.1", "debian-6.12.117"):
        h = kh(preset, memcgs=("A",))
        a = h.memcg("A")
        assert mc.cgroup_attach_task(h.k, a) == 0
        owner = mc.TaskCgroup(a, a.procs_gen)
        f = h.run(memory.handle_mm_fault(h.k, "f", owner, 0, 9, 512))
        assert f.memcg is a  # still in A: A is charged
        mc.cgroup_migrate_tasks(h.k, a)  # rmdir's first step: the task goes to root
        assert h.run(mc.cgroup_rmdir(h.k, a)) == 0
        g = h.run(memory.handle_mm_fault(h.k, "g", owner, 0, 9, 512))
        assert g.memcg is h.k.root_mem_cgroup
        assert mc.mem_cgroup_from_task(h.k, owner) is h.k.root_mem_cgroup
        h.run(rmap.zap_all(h.k, f))  # A's last charge: A is released
        assert a.rcu_free is not None and not h.k.events


def test_charge_lookup_drops_its_reference(kh):
    """__mem_cgroup_charge: the lookup's css reference is dropped after charge_memcg, on
    success (the folio keeps its own) and on a failed charge (nothing kept)."""
    h = kh("linux-6.1", memcgs=("A",))
    a = h.memcg("A")
    base = a.css_refcnt
    f = h.run(memory.handle_mm_fault(h.k, "f", a, 0, 9, 512))
    assert f.memcg is a and a.css_refcnt == base + 1
    assert h.run(memory.handle_mm_fault(h.k, "g", a, 0, 9, 512),
                 decide=lambda s: s != "charge") is None
    assert a.css_refcnt == base + 1


def test_a_new_memcg_takes_the_lowest_id_freed_at_an_offline(kh):
    """mem_cgroup_idr: idr_alloc gives the lowest free id; css_offline removes the id (no swap
    entries hold it), so a memcg made after an rmdir takes the id -- and the kmemcg_id -- of
    the removed one while that one is still a zombie (charged folio)."""
    h = kh("linux-6.13", memcgs=("A", "B"))
    a, b = h.memcg("A"), h.memcg("B")
    assert a.id < b.id and a.kmemcg_id == a.id
    f = h.run(memory.handle_mm_fault(h.k, "f", a, 0, 9, 512))
    h.run(mc.cgroup_rmdir(h.k, a))
    assert not a.online and not a.freed and f.memcg is a  # a zombie
    h.run(mc.cgroup_mkdir(h.k, "C"))
    c = h.memcg("C")
    assert c.id == a.id and c.kmemcg_id == a.id and c is not a
    h.run(mc.cgroup_mkdir(h.k, "D"))
    assert h.memcg("D").id == max(a.id, b.id) + 1  # B's id is still in use


def test_memcg_kmem_off_build_has_no_kmem_accounting(kh):
    """CONFIG_MEMCG_KMEM=n (kernel.config.memcg_kmem: false): memcg_online_kmem is a stub (no
    kmemcg_id, the static key stays off), list_lru has no memcg part, slab objects are not
    charged: an object of A goes on the node list and memcg reclaim of A skips the slab
    shrinker (not NONSLAB)."""
    from lrulab.kernel import list_lru as ll
    from lrulab.kernel import lru_user
    from lrulab.kernel import shrinker as sh
    from lrulab.kernel.config import make_config
    from lrulab.kernel.kernel import boot
    lrus = {"dcache": {"memcg_aware": True, "shrinker": ["memcg_aware", "numa_aware"]}}
    for kconfig, kmem in (({}, True), ({"memcg_kmem": False}, False)):
        k = boot(make_config("linux-6.1", kconfig=kconfig), lrus)
        k.current = k.task("test")
        h = kh("linux-6.1")
        h.k = k
        h.run(mc.cgroup_mkdir(k, "A"))
        a = k.memcgs["A"]
        assert (a.kmemcg_id > 0) is kmem and k.memcg_kmem_online is kmem
        user = k.lrus["dcache"]
        assert ll.list_lru_memcg_aware(user.lru) is kmem
        h.run(ll.memcg_list_lru_alloc(k, a, user.lru))  # as kmem_cache_alloc_lru does
        obj = lru_user.LruObject("d1", 0, a)
        h.run(lru_user.list_lru_add_obj(k, user, obj))
        on_node_list = obj.lru.owner is user.lru.node[0].lru.list
        assert on_node_list is not kmem
        assert bool(sh.shrinker_bits(a, 0)) is kmem
