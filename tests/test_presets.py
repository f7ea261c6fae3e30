"""Each step between adjacent presets changes behaviour, shown by a scenario run."""

from pathlib import Path

import pytest

from lrulab.check.engine import Bounds
from lrulab.check.report import check_file
from lrulab.kernel import history
from lrulab.kernel.config import FLAGS, PRESETS
from lrulab.kernel.shrinker import SHRINKER_MEMCG_AWARE
from lrulab.runner import run_scenario
from lrulab.scenario import parse_scenario

BUGS = Path(__file__).resolve().parents[1] / "scenarios" / "bugs"


def run(text, variant, **ov):
    return run_scenario(parse_scenario(text, "t.yaml", {"variant": variant, **ov}), trace=False)


def check(name, variant, **ov):
    """The checker's verdict on a catalog file under a preset."""
    _, res, _ = check_file(str(BUGS / f"{name}.yaml"), {"variant": variant, **ov},
                           Bounds(timeout=60))
    return res.verdict


def test_every_preset_sets_every_flag():
    for name, (_, flags) in PRESETS.items():
        assert set(flags) == set(FLAGS), name


def test_linux_612_is_v0_and_a_real_612():
    """v0 is 6.12 itself (audit A2): the pre-6.13 list_lru layout with the objcgs reparented
    first, 6.12's reclaim retry, zeropage remap and migration split, no folio reparenting."""
    v0 = PRESETS["v0"][1]
    assert PRESETS["linux-6.12"][1] == v0
    assert not v0["list_lru_per_sublist_lock"] and v0["objcg_reparent_first"]
    assert v0["reclaim_full_walk_retry"] and v0["split_remap_zeropage"]
    assert v0["migrate_split_deferred"] and not v0["lru_folio_reparent"]
    deb = PRESETS["debian-6.12.117"][1]
    assert {f for f in FLAGS if deb[f] != v0[f]} == {"migrate_requeue_dst"}


def test_613_list_lru_rework_pairs_lock_layout_with_reparent_order():
    """No preset pairs the 6.13 lock layout with 6.12's objcg-first order (A2)."""
    for name, (_, flags) in PRESETS.items():
        if flags["list_lru_per_sublist_lock"]:
            assert not flags["objcg_reparent_first"], name


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
check: [bit_coverage, memcg_reclaim_reach]
"""


def test_v4_to_v5_result_code_and_bit_on_effective_memcg():
    assert run(COLLAPSE, "series-v4").properties["honest_results"]
    assert not run(COLLAPSE, "series-v5").properties["honest_results"]
    assert check("b1-thp-rmdir-race", "series-v4") == "violation"
    assert check("b1-thp-rmdir-race", "series-v5") == "ok"


@pytest.mark.parametrize("variant", ["series-v3", "series-v4"])
def test_lru_folio_reparent_no_b1_without_a_race(variant):
    """7.1 folio reparenting (A4): after rmdir folio_memcg() is P, so a later partial unmap
    queues on P with P's bit: no B1 report without the race (the racy B1 stays: catalog)."""
    r = run(LATE_ADD, variant)
    assert r.properties["bit_coverage"] == [] and r.properties["memcg_reclaim_reach"] == []
    r = run(LATE_ADD, variant, patches={"lru_folio_reparent": False})
    assert r.properties["bit_coverage"]


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
    assert check("b1-thp-rmdir-race", "series-v4",
                 patches={"list_lru_bit_on_effective_memcg": True}) == "ok"


def test_v0_to_613_erase_first_reparent_window():
    """6.13's list_lru rework erases the xarray slot before draining (A1): a dentry delete
    racing rmdir unlinks from the child's list under the parent's lock; 6.12 cannot."""
    assert check("a1-reparent-erase-first", "v0") == "ok"
    assert check("a1-reparent-erase-first", "linux-6.13") == "violation"


def test_v5_to_72_list_lru_drain_before_erase():
    assert check("a1-reparent-erase-first", "series-v5") == "violation"
    assert check("a1-reparent-erase-first", "v7.2") == "ok"


MIGRATE_UNDERUSED = """
kernel: {variant: v0, nodes: 2}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 0, as: f}
  - migrate: {folio: f, node: 1}
"""


def test_v0_to_debian_612117_destination_requeued():
    """Debian 6.12.117 carries the stable backport of 8a8ca142a488 (B6)."""
    assert run(MIGRATE_UNDERUSED, "v0").memcgs["A"]["queued_thps"] == 0
    assert run(MIGRATE_UNDERUSED, "debian-6.12.117").memcgs["A"]["queued_thps"] == 1


NOKMEM_DCACHE = """
kernel:
  variant: v1
  boot: [cgroup.memory=nokmem]
  lrus:
    dcache: {memcg_aware: true, shrinker: [numa_aware, memcg_aware]}
memcgs: [A]
setup:
  - fault: {memcg: A, as: f}
"""


def test_70_to_71_slab_shrinkers_not_memcg_aware_under_nokmem():
    """7.1 (v1) has Michal Koutny's 'mm: Do not allocate shrinker info with
    cgroup.memory=nokmem' (v2 posted 2026-03-09, derived into 7.1): under nokmem a slab
    shrinker falls back to non-memcg-aware; the THP shrinker (SHRINKER_NONSLAB) stays aware."""
    k70, k71 = run(NOKMEM_DCACHE, "7.0").kernel, run(NOKMEM_DCACHE, "v1").kernel
    aware = SHRINKER_MEMCG_AWARE
    assert k70.lrus["dcache"].shrinker.flags & aware
    assert not k71.lrus["dcache"].shrinker.flags & aware
    assert k71.deferred_split_shrinker.flags & aware


def test_every_point_runs_a_scenario():
    """Every point the model covers is a kernel a scenario can name."""
    for p in history.points():
        if history.in_model(p):
            assert run(FAULT_UNMAP, p).ok is not None, p
