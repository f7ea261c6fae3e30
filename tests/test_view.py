"""view.py: the state snapshot the runner, traces and JSON show."""

from lrulab.kernel import memory, rmap
from lrulab.view import snapshot


def test_snapshot_keys_each_node_queue_of_a_memcg_disabled_kernel_by_node(kh):
    """Open-coded designs under cgroup_disable=memory queue on NODE_DATA(nid)'s queue: each
    node's queue has its own key (the last node's no longer hides the first's)."""
    h = kh("v0", boot_opts=["cgroup_disable=memory"], nodes=2,
           sysfs={"shrink_underused": False})
    for name, nid in (("f0", 0), ("f1", 1)):
        f = h.run(memory.handle_mm_fault(h.k, name, None, nid, 9, 512))
        h.run(rmap.zap_partial(h.k, f))
    s = snapshot(h.k)
    assert s["queue node node0"] == ["f0"] and s["queue node node1"] == ["f1"]
