"""Each step between adjacent presets changes behaviour, shown by a scenario run."""

from lrulab.runner import run_scenario
from lrulab.scenario import parse_scenario


def run(text, variant, **ov):
    return run_scenario(parse_scenario(text, "t.yaml", {"variant": variant, **ov}), trace=False)


FAULT_UNMAP = """
kernel: {variant: v0}
memcgs: [A]
setup:
  - fault: {memcg: A, as: f}
  - fault: {memcg: A, as: g}
  - partial_unmap: g
  - unmap: g
"""


def test_61_to_v0_queue_at_fault_and_precise_partial_map():
    """6.1 queues only on unmap; v0 also queues at fault (maybe underused, not counted)."""
    r61, r0 = run(FAULT_UNMAP, "linux-6.1"), run(FAULT_UNMAP, "v0")
    assert r61.memcgs["A"]["queued_thps"] == 0 and r0.memcgs["A"]["queued_thps"] == 1
    assert r61.vmstat["thp_deferred_split_page"] == r0.vmstat["thp_deferred_split_page"] == 1


RMDIR = """
kernel: {variant: v0}
memcgs: [P, P/C]
setup:
  - fault: {memcg: P/C, as: f}
  - partial_unmap: f
  - rmdir: P/C
  - reclaim: {memcg: P, node: 0, priority: 0}
check: [reparent_complete]
"""


def test_v0_to_v1_queue_reparenting():
    assert run(RMDIR, "v0").properties["reparent_complete"]
    assert run(RMDIR, "v1").vmstat["thp_split_page"] == 1


TWO_NODES = """
kernel: {variant: v1, nodes: 2}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 0, as: e}
  - partial_unmap: e
  - fault: {memcg: A, node: 1, as: f}
  - partial_unmap: f
  - reclaim: {memcg: A, node: 0, priority: 0}
check: [node_locality]
"""


def test_v1_to_v3_per_node_sublists():
    assert run(TWO_NODES, "v1").properties["node_locality"]
    assert run(TWO_NODES, "series-v3").vmstat["thp_split_page"] == 1


DISABLED = """
kernel: {variant: series-v3, boot: [cgroup_disable=memory]}
memcgs: [A]
setup:
  - fault: {memcg: A, as: f}
check: [no_oops]
"""


def test_v3_to_v4_memcg_disabled_guard():
    assert run(DISABLED, "series-v3").properties["no_oops"]
    assert not run(DISABLED, "series-v4").properties["no_oops"]


COLLAPSE = """
kernel: {variant: series-v4}
memcgs: [A]
setup:
  - collapse: {memcg: A, as: c, fail: [list_lru_memcg]}
check: [honest_results]
"""

LATE_ADD = """
kernel: {variant: series-v4, sysfs: {shrink_underused: false}}
memcgs: [P, P/C]
setup:
  - fault: {memcg: P/C, as: f}
  - rmdir: P/C
  - partial_unmap: f
check: [bit_coverage]
"""


def test_v4_to_v5_result_code_and_bit_on_effective_memcg():
    assert run(COLLAPSE, "series-v4").properties["honest_results"]
    assert not run(COLLAPSE, "series-v5").properties["honest_results"]
    assert run(LATE_ADD, "series-v4").properties["bit_coverage"]
    assert not run(LATE_ADD, "series-v5").properties["bit_coverage"]


DRAIN = """
kernel: {variant: series-v5}
memcgs: [A]
setup:
  - fault: {memcg: A, as: f}
  - partial_unmap: f
  - unmap: f
check: [stale_bits]
"""


def test_v5_to_72_shrink_empty_clears_bits():
    assert run(DRAIN, "series-v5").properties["stale_bits"]
    assert not run(DRAIN, "v7.2").properties["stale_bits"]


def test_72_to_fixes_lru_not_memcg_aware_when_memcg_disabled():
    text = DISABLED.replace("series-v3", "v7.2")
    assert run(text, "v7.2").kernel.deferred_split_lru.memcg_aware
    assert not run(text, "v7.2-fixes").kernel.deferred_split_lru.memcg_aware


def test_patch_override_follows_flag():
    """--patch flips exactly the flag: v4 + list_lru_bit_on_effective_memcg behaves like v5."""
    r = run(LATE_ADD, "series-v4", patches={"list_lru_bit_on_effective_memcg": True})
    assert not r.properties["bit_coverage"]
