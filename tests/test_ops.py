"""Scenario ops as kernel calls (src/lrulab/ops.py)."""

from lrulab.check.engine import Bounds, explore
from lrulab.runner import run_scenario
from lrulab.scenario import parse_scenario
from lrulab.world import KernelWorld

SETUP = """kernel: {variant: v0}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 0, as: f1}
"""
CHECK = "check: [no_warn, no_use_after_free, counters]\n"


def _explore(threads: str):
    sc = parse_scenario(SETUP + "threads:\n" + threads + CHECK, "ops.yaml")
    return explore(KernelWorld(sc), Bounds(timeout=60), sleep=True)


def test_get_pins_only_a_folio_that_is_still_mapped():
    """GUP walks the page tables under mmap_lock: racing the last munmap it either pins the
    folio before the unmap or finds nothing; it never takes a reference on a folio whose
    refcount already reached 0 (no folio_get WARN, no use-after-free)."""
    res = _explore("  - [ {unmap: f1} ]\n  - [ {get: f1}, {put: f1} ]\n")
    assert res.verdict == "ok" and not res.bound_hit
    assert res.states > 10  # the race was explored, not a single order


def test_put_drops_only_a_pin_the_program_took():
    """get after the unmap finds nothing; the put after it and a put with no get at all drop
    no reference (the last reference is not dropped twice)."""
    sc = parse_scenario(SETUP + "threads:\n  - [ {unmap: f1}, {get: f1}, {put: f1}, "
                        "{put: f1} ]\n" + CHECK, "ops.yaml")
    r = run_scenario(sc, trace=False)
    assert [rec.result for rec in r.ops][1:] == ["unmapped", "gone", "not pinned",
                                                 "not pinned"]
    assert r.ok


def test_a_pin_keeps_the_folio_until_its_put():
    sc = parse_scenario(SETUP + "threads:\n  - [ {get: f1}, {unmap: f1}, {put: f1} ]\n" + CHECK,
                        "ops.yaml")
    r = run_scenario(sc, trace=False)
    assert [rec.result for rec in r.ops][1:] == ["pinned", "unmapped", "freed"]
    assert r.ok
    assert _explore("  - [ {get: f1}, {put: f1} ]\n  - [ {unmap: f1} ]\n").verdict == "ok"


def test_migrate_finds_its_folio_under_mmap_lock():
    """move_pages takes the folio's reference where it finds it mapped, under mmap_read_lock:
    a migrate racing the last munmap never touches the freed folio."""
    sc = parse_scenario("""kernel: {variant: v0, nodes: 2}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 0, as: f1}
threads:
  - [ {unmap: f1} ]
  - [ {migrate: {folio: f1, node: 1}} ]
check: [no_use_after_free, no_oops]
""", "ops.yaml")
    res = explore(KernelWorld(sc), Bounds(timeout=60), sleep=True)
    assert res.verdict == "ok" and res.states > 10


def test_split_runs_under_mmap_lock_and_finds_only_a_mapped_folio():
    """debugfs split_huge_pages splits under mmap_read_lock: a munmap of the range waits for
    it, and a split after the munmap finds nothing."""
    res = _explore("  - [ {unmap: f1} ]\n  - [ {split: f1} ]\n")
    assert res.verdict == "ok" and res.states > 5
    sc = parse_scenario(SETUP + "threads:\n  - [ {unmap: f1}, {split: f1} ]\n" + CHECK,
                        "ops.yaml")
    assert [rec.result for rec in run_scenario(sc, trace=False).ops][1:] == ["unmapped", "gone"]


def test_get_racing_migration_never_grabs_the_freed_source():
    """GUP's page-table walk and try_grab_folio are one step under the page table lock: racing
    a migration it pins the source before the unmap, finds the migration entry (nothing), or
    pins the destination -- never the freed source."""
    sc = parse_scenario("""kernel: {variant: linux-6.1, nodes: 2}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 1, as: f2}
threads:
  - [ {migrate: {folio: f2, node: 0}} ]
  - [ {get: f2}, {put: f2} ]
check: [no_use_after_free, no_warn]
""", "ops.yaml")
    res = explore(KernelWorld(sc), Bounds(timeout=60), sleep=True)
    assert res.verdict == "ok" and res.states > 10


def test_fault_racing_rmdir_charges_the_memcg_the_task_is_in_when_it_charges():
    """A fault (collapse, lru_add) whose task an rmdir moves to root charges root from then
    on: the kernel looks the memcg up from the mm at charge time (get_mem_cgroup_from_mm), so
    no interleaving charges a released memcg (the sweep's seed 334: no_use_after_free in
    set_shrinker_bit, 6.1 and 6.12)."""
    for preset in ("linux-6.1", "debian-6.12.117"):
        for op, then in (("fault: {memcg: A/C, node: 0, order: 9, as: f1}", "partial_unmap: f1"),
                         ("collapse: {memcg: A/C, node: 0, as: f1}", "partial_unmap: f1"),
                         ("lru_add: {lru: dcache, item: d1, memcg: A/C, node: 0}",
                          "lru_del: {lru: dcache, item: d1}")):
            sc = parse_scenario(f"""kernel:
  variant: {preset}
  lrus: {{dcache: {{memcg_aware: true, shrinker: [numa_aware, memcg_aware]}}}}
memcgs: [A, A/C]
threads:
  - [ {{{op}}}, {{{then}}} ]
  - [ {{rmdir: A/C}} ]
check: [no_warn, no_oops, no_use_after_free, list_integrity, no_leak]
""", "ops.yaml")
            res = explore(KernelWorld(sc), Bounds(timeout=60), sleep=True)
            assert res.verdict == "ok" and not res.bound_hit, (preset, op, res.verdict)
            assert res.states > 20  # the race was explored


def test_get_finds_only_migration_entries_while_a_migration_has_unmapped_the_folio():
    """Once try_to_migrate replaced the folio's mappings with migration entries, follow_page
    finds no present page: GUP waits, it takes no pin (the sweep's seed 287: a pin taken there
    made the migration fail)."""
    from lrulab.kernel.sched import run_sync
    from lrulab.ops import build_kernel, run_op

    sc = parse_scenario("""kernel: {variant: debian-6.12.117, nodes: 2}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 1, as: f2}
threads:
  - [ {migrate: {folio: f2, node: 0}} ]
  - [ {get: f2} ]
""", "ops.yaml")
    k = build_kernel(sc)
    k.current = k.task("T0")
    for op in sc.setup:
        run_sync(k, run_op(k, op))
    f2 = k.folios["f2"]
    mig = run_op(k, sc.threads[0][0])
    want = None
    while not f2.migration:  # the migration's steps up to its unmap
        want = mig.send(True if want.__class__.__name__ == "Choice" else None)
    refs = f2.refcount
    k.current = k.task("T1")
    assert run_sync(k, run_op(k, sc.threads[1][0])) == "gone"
    assert f2.refcount == refs and "f2" not in k.pins


def test_split_takes_its_reference_where_it_finds_the_folio():
    """split_huge_pages_pid takes its reference in follow_page(FOLL_GET), under mmap_lock: a
    migration (which runs without mmap_lock) racing it never frees the folio between the lookup
    and the reference (the sweep's seed 1021: folio_try_get of a freed folio)."""
    sc = parse_scenario("""kernel: {variant: linux-6.1, nodes: 2}
memcgs: [B]
setup:
  - fault: {memcg: B, node: 0, as: f1}
threads:
  - [ {split: f1} ]
  - [ {migrate: {folio: f1, node: 1}} ]
check: [no_use_after_free, no_warn, no_oops, counters]
""", "ops.yaml")
    res = explore(KernelWorld(sc), Bounds(timeout=60), sleep=True)
    assert res.verdict == "ok" and not res.bound_hit and res.states > 10
