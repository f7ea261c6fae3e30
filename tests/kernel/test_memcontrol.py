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
