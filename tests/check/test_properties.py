"""Each property: a scenario where it holds and one where it fails, found by exploration."""

from pathlib import Path

import pytest

from lrulab.check.engine import Bounds
from lrulab.check.report import check_file

ROOT = Path(__file__).resolve().parents[2]
BUGS = ROOT / "scenarios" / "bugs"
HERE = Path(__file__).resolve().parent / "scenarios"

EX = ROOT / "scenarios" / "examples"

# property -> (file, overrides where it fails, overrides where it holds)
CASES = {
    "bit_coverage": (BUGS / "b1-thp-rmdir-race.yaml", {"variant": "series-v4"},
                     {"variant": "series-v5"}),
    "memcg_reclaim_reach": (BUGS / "b2-nokmem-shared-list.yaml", {"variant": "series-v5"},
                            {"variant": "v7.2"}),
    "no_oops": (BUGS / "b4-memcg-disabled-collapse.yaml", {"variant": "series-v3"},
                {"variant": "series-v4"}),
    "no_use_after_free": (BUGS / "b5-isolate-uaf.yaml", {"variant": "series-v4"},
                          {"variant": "series-v5"}),
    "honest_results": (BUGS / "b6-collapse-alloc-fail.yaml", {"variant": "series-v4"},
                       {"variant": "series-v5"}),
    "stale_bits": (BUGS / "b7-stale-bits.yaml", {"variant": "v1"}, {"variant": "v7.2"}),
    "node_locality": (BUGS / "b13-node-locality.yaml", {"variant": "v0"},
                      {"variant": "series-v3"}),
    "reparent_complete": (EX / "rmdir-with-queued-thps.yaml", {"variant": "v0"},
                          {"variant": "v1"}),
    "no_warn": (BUGS / "v72-nokmem-stale-shrinker-id.yaml", {"variant": "v7.2"},
                {"variant": "series-v5"}),
}


def _check(path, ov):
    return check_file(str(path), ov, Bounds(timeout=60))


@pytest.mark.parametrize("prop", sorted(CASES))
def test_property_fails_and_holds(prop):
    path, bad, good = CASES[prop]
    w, res, rendered = _check(path, bad)
    assert res.verdict == "violation"
    assert prop in {r["property"] for r in rendered}
    if good is not None:
        w, res, _ = _check(path, good)
        assert res.verdict == "ok"


def test_quiet_scenario_holds_everything():
    w, res, _ = _check(HERE / "get-put-sequential.yaml", {})
    assert res.verdict == "ok"
    assert {"no_warn", "list_integrity", "counters", "no_oops"} <= set(w.sc.check)


def test_list_integrity_fails_with_an_unlocked_list_op(monkeypatch):
    """A model bug injected in the test: deferred_split_isolate's list_lru_isolate runs
    without the sublist lock (the walk drops it first)."""
    from lrulab.kernel import list_lru as ll

    for name in ("list_lru_isolate", "list_lru_isolate_move"):
        orig = getattr(ll, name)

        def unlocked(k, l, *args, _orig=orig):
            owner = l.lock.owner
            l.lock.owner = None
            try:
                _orig(k, l, *args)
            finally:
                l.lock.owner = owner
        monkeypatch.setattr(ll, name, unlocked)
    w, res, rendered = _check(HERE / "get-put-sequential.yaml", {})
    assert res.verdict == "violation"
    assert rendered[0]["property"] == "list_integrity"


def test_counters_fail_when_isolate_forgets_the_count(monkeypatch):
    """A model bug injected in the test: list_lru_isolate does not lower nr_items."""
    from lrulab.kernel import list_lru as ll
    from lrulab.kernel.list import list_del_init, list_move

    monkeypatch.setattr(ll, "list_lru_isolate", lambda k, l, item: list_del_init(k, item))
    monkeypatch.setattr(ll, "list_lru_isolate_move",
                        lambda k, l, item, head: list_move(k, item, head))
    w, res, rendered = _check(HERE / "get-put-sequential.yaml", {})
    assert res.verdict == "violation"
    assert rendered[0]["property"] == "counters"


NEW_CASES = {
    "memcg_locality": (HERE / "locality-nokmem-b-first.yaml", {"variant": "series-v5"},
                       {"variant": "v7.2"}),
    "no_orphan": (HERE / "migrate-partial.yaml", {"variant": "linux-6.1"},
                  {"variant": "series-v5"}),
    "assertion": (EX / "q-b-migrate-while-rmdir.yaml", {"variant": "linux-6.1"},
                  {"variant": "v7.2"}),
}


@pytest.mark.parametrize("prop", sorted(NEW_CASES))
def test_new_property_fails_and_holds(prop):
    path, bad, good = NEW_CASES[prop]
    w, res, rendered = _check(path, bad)
    assert prop in {r["property"] for r in rendered}
    w, res, rendered = _check(path, good)
    assert prop not in {r["property"] for r in rendered} and res.verdict != "incomplete"


def test_no_leak_holds_when_everything_is_freed_and_fails_on_a_lost_css_put(monkeypatch):
    """no_leak holds on a THP unmapped while its memcg is removed; a model bug injected in
    the test (the uncharge forgets its css_put) leaves the removed memcg unreleased."""
    path = HERE / "migrate-partial.yaml"
    ov = {"variant": "v7.2", "check": ["no_leak"]}
    w, res, _ = _check(path, ov)
    assert res.verdict == "ok"
    from lrulab.kernel import memcontrol as mc
    orig = mc.css_put
    monkeypatch.setattr(mc, "css_put", lambda k, m: None if m.online else orig(k, m))
    w, res, rendered = _check(path, ov)
    assert [r["property"] for r in rendered] == ["no_leak"]
    assert "css_refcnt" in rendered[0]["message"]


def _endless_scan(k, s, sc):
    """A livelocking deferred-split scan for the test: it retries forever without changing
    anything (state repeats)."""
    while True:
        yield "deferred_split_scan"


def test_termination_reports_a_livelocking_scan(monkeypatch):
    from lrulab.kernel import huge_memory
    path = BUGS / "b7-stale-bits.yaml"
    ov = {"variant": "v7.2", "check": ["termination"]}
    w, res, _ = _check(path, ov)
    assert res.verdict == "ok"
    monkeypatch.setattr(huge_memory, "deferred_split_scan", _endless_scan)
    w, res, rendered = _check(path, ov)
    assert res.verdict == "violation"
    (r,) = rendered
    assert r["property"] == "termination" and "livelock" in r["message"]
    # the repeating step: do_shrink_slab's scan (the test's function is not a kernel module's,
    # so the stack ends at its caller; the step's label names it)
    assert r["trace"][-1]["functions"][-1] == "do_shrink_slab"
    assert r["trace"][-1]["detail"].startswith("deferred_split_scan")


def _check_text(tmp_path, text, ov=None):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return _check(path, ov or {})


QUEUED_AT_END = """kernel: {variant: v7.2}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 0, as: a1}
threads:
  - [ {partial_unmap: a1} ]
check: [stale_bits]
"""


def test_stale_bits_waits_for_the_lazy_clear(tmp_path):
    """A THP still queued at the end is split by the property's first reclaim pass; its bit is
    cleared only by the next call that finds SHRINK_EMPTY (shrink_slab_memcg), so it is not
    stale on 7.2 -- and stays stale where count returns 0 instead (B7, v1)."""
    w, res, _ = _check_text(tmp_path, QUEUED_AT_END)
    assert res.verdict == "ok"
    w, res, rendered = _check_text(tmp_path, QUEUED_AT_END, {"variant": "v1"})
    assert res.verdict == "violation" and rendered[0]["property"] == "stale_bits"


def test_bit_coverage_needs_no_bit_for_uncharged_slab_objects(tmp_path):
    """Under nokmem slab objects are not charged: list_lru_add_obj passes a NULL memcg, no bit
    is set, and memcg reclaim skips the (non-NONSLAB) shrinker anyway -- no bit is owed."""
    text = """kernel:
  variant: v0
  boot: [cgroup.memory=nokmem]
  lrus: {dcache: {memcg_aware: true, shrinker: [numa_aware, memcg_aware]}}
memcgs: [A, B]
setup:
  - lru_add: {lru: dcache, memcg: B, node: 0, item: d1}
threads:
  - [ {reclaim: {memcg: A, node: 0, priority: 0}} ]
check: [bit_coverage]
"""
    w, res, _ = _check_text(tmp_path, text)
    assert res.verdict == "ok"
    # charged (kmem on): B's bit is owed and set at the first add
    w, res, _ = _check_text(tmp_path, text.replace("  boot: [cgroup.memory=nokmem]\n", ""))
    assert res.verdict == "ok"


def test_no_leak_counts_each_childs_pin_on_its_parent(tmp_path):
    """A parent holds its base reference plus one per child not yet released
    (init_and_link_css); a failed rmdir (-EBUSY) leaks nothing either."""
    text = """kernel: {variant: linux-6.1}
memcgs: [A, A/C]
setup:
  - fault: {memcg: A/C, node: 0, as: f1}
  - rmdir: A
threads:
  - [ {unmap: f1} ]
check: [no_leak]
"""
    w, res, _ = _check_text(tmp_path, text)
    assert res.verdict == "ok"
    w, res, _ = _check_text(tmp_path, text.replace("rmdir: A\n", "rmdir: A/C\n"))
    assert res.verdict == "ok"


def test_memcg_locality_accepts_a_folio_reparented_after_its_isolation(tmp_path):
    """A memcg reclaim's scan of A/C isolates A/C's THP; A/C is removed and (7.1+)
    lru_reparent_memcg charges the THP to A before the scan splits it. That is still the
    folio the scan took as A/C's (the sweep's seed 383 on v7.2-fixes); a scan of an online
    memcg splitting an ancestor's folio would still be a violation."""
    text = """kernel:
  variant: v7.2-fixes
  nodes: 2
memcgs: [A, A/C]
setup:
  - fault: {memcg: A/C, node: 0, as: f1}
  - partial_unmap: f1
threads:
  - [ {reclaim: {memcg: A, node: 0, priority: 0}} ]
  - [ {rmdir: A/C} ]
check: [memcg_locality]
"""
    w, res, _ = _check_text(tmp_path, text)
    assert res.verdict == "ok" and not res.bound_hit and res.states > 20


def test_memcg_locality_sees_an_isolation_that_splits_nothing():
    """Series-v5 under nokmem, B queued first: memcg reclaim of B takes A's fully mapped THP
    off the shared node list and puts it back unsplit.  No split (the split check alone said
    ok), but an isolation of another memcg's folio; 7.2 does not run the (not memcg-aware)
    shrinker in memcg reclaim."""
    path = HERE / "locality-nokmem-isolate-only.yaml"
    w, res, rendered = _check(path, {})
    assert [r["property"] for r in rendered] == ["memcg_locality"]
    assert rendered[0]["message"] == "reclaim for memcg B isolated a1, charged to A"
    w, res, rendered = _check(path, {"variant": "v7.2"})
    assert res.verdict == "ok" and not rendered


WALKUP = HERE / "locality-dying-walkup.yaml"


@pytest.mark.parametrize("variant,charged", [("6.19", "P/D"), ("7.0", "P/D"), ("v1", "P")])
def test_memcg_locality_accepts_the_v1_walk_up_of_a_dying_memcg(variant, charged):
    """V1's open-coded queue (split_queue_walkup, 6.19 .. 7.1): from kill_css until
    css_offline clears CSS_ONLINE, shrink_slab_memcg still runs the THP shrinker for a dying
    P/C, and split_queue_lock_irqsave(sc->nid, P/C) walks up to P's queue (Qi Zheng's "mm: thp:
    reparent the split queue during memcg offline"; on its v5 Harry Yoo: 'we may end up
    shrinking the parent memcg twice', accepted as rare).  The scan for P/C then splits d1
    (reparented from removed P/D): kernel design, not a bug.  Before this rule 6.19 and 7.0
    reported a violation and 7.1 accepted it silently (as a folio reparented after its
    isolation); now each says what it accepted, and --strict makes it a violation."""
    w, res, rendered = _check(WALKUP, {"variant": variant})
    assert res.verdict == "ok" and not rendered
    assert res.accepted == [
        ("memcg_locality", f"reclaim for dying memcg P/C isolated d1, charged to {charged}, "
         "from P's queue (split_queue_lock walked up from the dying memcg: V1 by design)"),
        ("memcg_locality", f"reclaim for dying memcg P/C split a folio charged to {charged} "
         "(taken from an ancestor's queue split_queue_lock walked up to: V1 by design)")]
    w, res, rendered = _check(WALKUP, {"variant": variant, "strict": True})
    assert res.verdict == "violation"
    assert [r["property"] for r in rendered] == ["memcg_locality"]
    assert rendered[0]["message"].endswith("V1 by design) [--strict]")


@pytest.mark.parametrize("variant", ["series-v1", "series-v2", "series-v3", "series-v4",
                                     "series-v5", "v7.2", "v7.2-fixes"])
def test_memcg_locality_holds_for_a_list_lru_scan_of_a_dying_memcg(variant):
    """The suspected false alarm on series-v1 cannot happen: the list_lru designs walk a dying
    memcg's own sublist, or nothing once it is reparented (__list_lru_walk_one:
    lock_list_lru_of_memcg with skip_empty returns NULL for a dead sublist, no walk-up), so
    memory reclaim of the dying P/C never reaches d1 on P's sublist: no violation, and
    nothing accepted, even under --strict."""
    for strict in (False, True):
        w, res, rendered = _check(WALKUP, {"variant": variant, "strict": strict})
        assert res.verdict == "ok" and not rendered and res.accepted == []
        assert not res.bound_hit and res.states > 100


def test_memcg_locality_walk_up_covers_only_the_walked_ancestors_subtree(kh):
    """The walk-up acceptance is bounded by the queue walked: a folio of a memcg outside
    that ancestor's subtree, recorded as taken from it, is still a violation."""
    from lrulab.kernel import memory
    from lrulab.kernel.huge_memory import note_scan
    from lrulab.kernel.shrinker import ShrinkControl
    from lrulab.properties import memcg_locality, memcg_locality_accepted
    h = kh("7.0", memcgs=("P", "P/C", "P/D", "Q"))
    k = h.k
    d = h.run(memory.handle_mm_fault(k, "d1", h.memcg("P/D"), 0, 9, 512))
    q = h.run(memory.handle_mm_fault(k, "q1", h.memcg("Q"), 0, 9, 512))
    sc = ShrinkControl(0, h.memcg("P/C"), 128)
    note_scan(k, sc, d, d.memcg, "isolated", h.memcg("P"))
    assert memcg_locality(k) == [] and len(memcg_locality_accepted(k)) == 1
    note_scan(k, sc, q, q.memcg, "isolated", h.memcg("P"))
    assert memcg_locality(k) == ["reclaim for memcg P/C isolated q1, charged to Q"]
    assert len(memcg_locality_accepted(k)) == 1


def _step_until(k, gen, done):
    """Run a kernel generator on k.current until ``done()`` holds between two steps."""
    while not done():
        next(gen)


@pytest.mark.parametrize("variant,boot", [("series-v5", ["cgroup.memory=nokmem"]),
                                          ("v1", []), ("linux-6.1", []), ("v0", [])])
def test_memcg_locality_records_the_free_a_scan_makes(kh, variant, boot):
    """A THP fully unmapped while a memcg reclaim's scan holds it: the scan's folio_put drops
    the last reference and frees it.  The isolation and the free are both recorded with the
    reclaim's memcg, on each scan shape (list_lru walk, V1 batch, 6.1 and V0 private list);
    charged to the reclaimed memcg, memcg_locality holds."""
    from lrulab.kernel import memory, rmap, vmscan
    from lrulab.properties import memcg_locality
    h = kh(variant, boot_opts=boot, memcgs=("A",))
    k = h.k
    f = h.run(memory.handle_mm_fault(k, "a1", h.memcg("A"), 0, 9, 512))
    h.run(rmap.zap_partial(k, f))
    scan = vmscan.shrink_node(k, 0, h.memcg("A"), 0)
    _step_until(k, scan, lambda: any(e[2] is f for e in k.isolate_log) and not k.current.held)
    h.run(rmap.zap_all(k, f))
    assert not f.freed
    h.run(scan)
    assert f.freed
    what = [(m.path, fm.path, w) for _, m, g, fm, w, _ in k.isolate_log if g is f]
    assert what == [("A", "A", "isolated"), ("A", "A", "freed")]
    assert memcg_locality(k) == []


def test_memcg_locality_fails_on_a_foreign_free(kh):
    """The same free when the folio is another memcg's (series-v5, nokmem, B's reclaim
    walking the shared node list): reported as a free as well as an isolation."""
    from lrulab.kernel import memory, rmap, vmscan
    from lrulab.properties import memcg_locality
    h = kh("series-v5", boot_opts=["cgroup.memory=nokmem"], memcgs=("A", "B"))
    k = h.k
    b = h.run(memory.handle_mm_fault(k, "b1", h.memcg("B"), 0, 9, 512))
    h.run(rmap.zap_partial(k, b))
    f = h.run(memory.handle_mm_fault(k, "a1", h.memcg("A"), 0, 9, 512))
    h.run(rmap.zap_partial(k, f))
    scan = vmscan.shrink_node(k, 0, h.memcg("B"), 0)
    _step_until(k, scan, lambda: any(e[2] is f for e in k.isolate_log) and not k.current.held)
    h.run(rmap.zap_all(k, f))
    h.run(scan)
    assert f.freed
    # the scan also split it (still flagged partially mapped when it got there)
    assert memcg_locality(k) == ["reclaim for memcg B split a folio charged to A",
                                 "reclaim for memcg B isolated a1, charged to A",
                                 "reclaim for memcg B freed a1, charged to A"]


@pytest.mark.parametrize("variant", ["linux-6.1", "debian-6.12.117", "v7.2"])
def test_split_unmap_is_one_step_for_a_racing_munmap(variant):
    """unmap_folio turns the mappings into migration entries under the page-table lock that a
    racing munmap's zap takes too: the zap finds migration entries, never a PMD whose counter
    the split already dropped (sweep seed 1527: nr_anon_transparent_hugepages 0 with a
    PMD-mapped THP, a false alarm the model had until the queueing was made the step)."""
    w, res, _ = _check(HERE / "split-unmap-vs-munmap.yaml", {"variant": variant})
    assert res.verdict == "ok", variant
