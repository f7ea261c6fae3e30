"""Folding violations into distinct ones and triaging them (src/lrulab/sweep/run.py,
triage.py)."""

from lrulab.check.engine import Bounds
from lrulab.scenario import parse_scenario
from lrulab.sweep import triage
from lrulab.sweep.run import check_seed, default_presets, normalise, summarise, where_of

SC = parse_scenario("""kernel: {variant: v0}
memcgs: [A, A/C]
setup:
  - fault: {memcg: A/C, node: 0, as: f12}
threads:
  - [ {rmdir: A/C} ]
""", "s.yaml")


def test_where_a_step_property_fired_is_the_innermost_kernel_function():
    msg = "warn: f1 refcount underflow [zap_partial > folio_remove_rmap_ptes > folio_put_refs]"
    assert where_of(SC, "no_warn", msg, []) == "folio_put_refs"
    trace = [{"functions": ["shrink_node", "deferred_split_scan"]}]
    assert where_of(SC, "node_locality", "reclaim for node 0 split a folio on node 1",
                    trace) == "deferred_split_scan"


def test_a_quiescent_violation_is_keyed_by_its_message_without_names():
    msg = "f12 is queued for A/C on node 1, but A/C's bit for thp-deferred_split (id 0) is clear"
    w = where_of(SC, "bit_coverage", msg, [])
    assert w == "end: F is queued for M on node N, but M's bit for thp-deferred_split (id N) " \
                "is clear"
    assert normalise(SC, "A: x") == normalise(SC, "A/C: x") == "M: x"


def test_default_presets_are_the_debian_points_and_the_newest():
    ps = default_presets()
    assert ps[0] == "linux-6.1" and len(ps) == 3
    assert ps[-1] == list(__import__("lrulab.kernel.config").kernel.config.PRESETS)[-1]


def test_triage_follows_flags_and_boot_options_not_preset_names():
    e = triage.Entry("X", "kernel-bug", "no_warn", "set_shrinker_bit",
                     flags={"shrinker_nonslab": False}, boot=("cgroup.memory=nokmem",))
    assert triage.matches(e, {"shrinker_nonslab": False}, ("cgroup.memory=nokmem",),
                          "no_warn", "set_shrinker_bit")
    assert not triage.matches(e, {"shrinker_nonslab": True}, ("cgroup.memory=nokmem",),
                              "no_warn", "set_shrinker_bit")
    assert not triage.matches(e, {"shrinker_nonslab": False}, (), "no_warn", "set_shrinker_bit")
    assert not triage.matches(e, {"shrinker_nonslab": False}, ("cgroup.memory=nokmem",),
                              "no_oops", "set_shrinker_bit")
    neg = triage.Entry("Y", "audit", "no_warn", ".*", boot=("!cgroup_disable=memory",))
    assert not triage.matches(neg, {}, ("cgroup_disable=memory",), "no_warn", "f")


def test_triage_by_message_keeps_a_use_after_free_apart_from_the_known_oob_read():
    """S1's KASAN report in set_shrinker_bit is the out-of-bounds read of info->unit[]; a
    use-after-free of a memcg in the same function and configuration stays untriaged."""
    flags = {"thp_list_lru": True, "shrinker_nonslab": False}
    boot = ("cgroup.memory=nokmem",)
    oob = ("use_after_free: KASAN: slab-out-of-bounds in set_shrinker_bit: read of "
           "info->unit[0] of a shrinker_info with map_nr_max 0 [__list_lru_add > "
           "set_shrinker_bit]")
    uaf = "use_after_free: set_shrinker_bit of <memcg A/C> after its RCU grace period"
    assert triage.classify(flags, boot, "no_use_after_free", "set_shrinker_bit", oob) == "S1"
    assert triage.classify(flags, boot, "no_use_after_free", "set_shrinker_bit", uaf) \
        == triage.UNTRIAGED


def test_every_kernel_bug_entry_names_an_existing_catalog_file():
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    for e in triage.TABLE:
        assert e.kind in ("kernel-bug", "audit"), e
        if e.kind == "kernel-bug":
            assert e.property != "model_error"
            assert (root / e.catalog).is_file(), e


def test_distinct_violations_keep_the_shortest_trace():
    a = check_seed((0, "v7.2-fixes", Bounds(max_states=2000, timeout=30)))
    assert a.verdict in ("ok", "violation", "incomplete")
    fake = [a.__class__(s, "p", "violation", violations=[
        {"property": "no_warn", "where": "f", "message": "m", "steps": n, "preemptions": 0,
         "trace": [str(n)]}]) for s, n in ((1, 9), (2, 4), (3, 7))]
    s = summarise(fake, ["p"])
    (d,) = s.distinct.values()
    assert d.count == 3 and d.best == (4, 0, 2, "p") and d.trace == ["4"]
    assert s.per_preset["p"]["by_property"] == {"no_warn": 3}


def test_bug_15_catalog_violations_are_triaged_as_b15():
    """Every violation the b15 catalog file gives on 6.1 (every property checked) is the
    triage table's B15 entry, as the sweep would see it; from 6.12 there is none."""
    from pathlib import Path

    from lrulab.check.engine import Bounds, explore
    from lrulab.check.report import render_violation
    from lrulab.kernel.config import PRESETS
    from lrulab.scenario import load_scenario
    from lrulab.world import KernelWorld
    path = Path(__file__).resolve().parents[2] / "scenarios/bugs/b15-swapout-unqueue-v1.yaml"
    for preset, want in (("linux-6.1", {"B15"}), ("v0", set())):
        sc = load_scenario(path, {"variant": preset, "check": ["list_integrity",
                                                               "split_queue_len", "counters"]})
        w = KernelWorld(sc)
        res = explore(w, Bounds(timeout=60), sleep=True)
        got = set()
        for v in res.violations:
            where = where_of(sc, v.property, v.message, render_violation(w, v)["trace"])
            got.add(triage.classify(PRESETS[preset][1], (), v.property, where, v.message))
        assert got == want, (preset, got)
