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
    last uncharge releases and frees it."""
    h = kh("v7.2", memcgs=("A",))
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
