"""The swapout and charge_move ops at each point of history where they behave differently
(ops.py, kernel/vmscan.py shrink_folio_list, kernel/memcontrol_v1.py)."""

import pytest

from lrulab.check.engine import Bounds, explore
from lrulab.kernel.sched import run_sync
from lrulab.ops import build_kernel, run_op
from lrulab.runner import run_scenario
from lrulab.scenario import parse_scenario
from lrulab.world import KernelWorld


def _sc(kernel: str, ops: str, memcgs: str = "[A, B]", threads: str = ""):
    text = f"kernel: {{{kernel}}}\nmemcgs: {memcgs}\nsetup:\n{ops}"
    if threads:
        text += "threads:\n" + threads
    return parse_scenario(text + "check: [no_warn, no_oops, no_use_after_free, list_integrity, "
                          "counters, split_queue_len]\n", "swap.yaml")


def _run(kernel: str, ops: str):
    """(op results after the first fault, the kernel, the run's violations)"""
    sc = _sc(kernel, ops)
    k = build_kernel(sc)
    k.current = k.task("T0")
    res = [run_sync(k, run_op(k, op)) for op in sc.setup]
    r = run_scenario(sc, trace=False)
    assert [rec.result for rec in r.ops] == res  # the runner does what the ops do
    return res[1:], k, {p: v for p, v in r.properties.items() if v}


FAULT = "  - fault: {memcg: A, as: f1}\n"


@pytest.mark.parametrize("cgroup", ["v1", "v2"])
@pytest.mark.parametrize("kernel", ["linux-6.1", "6.11", "v0", "v7.2"])
def test_swapout_of_a_pmd_mapped_thp_frees_it_and_its_charge(kernel, cgroup):
    """Not queued (6.1 .. 6.11) or queued at fault and not partially mapped (6.12 on): reclaim
    swaps the THP out whole; it leaves every queue under the right lock and its memcg's
    charge goes (v1: mem_cgroup_swapout; v2: at the free)."""
    res, k, bad = _run(f"variant: '{kernel}', cgroup: {cgroup}", FAULT + "  - swapout: f1\n")
    assert res == ["swapped out"] and not bad, bad
    f1 = k.folios["f1"]
    assert f1.freed and k.memcgs["A"].nr_pages == 0
    assert k.memcgs["A"].deferred_split_queue.split_queue_len == 0
    assert k.vmstat["nr_anon_transparent_hugepages"] == 0


@pytest.mark.parametrize("kernel,first", [("linux-6.1", "split"), ("6.10", "split"),
                                          ("v0", "split"), ("v7.2", "split")])
def test_swapout_splits_a_partially_mapped_thp_first(kernel, first):
    """shrink_folio_list splits a PTE-mapped THP (4.13 .. 6.9: no PMD map; 6.10: queued,
    5ed890ce5147; 6.12: queued and partially mapped, 8422acdc97ed) before swapping."""
    res, k, bad = _run(f"variant: '{kernel}', cgroup: v1",
                       FAULT + "  - partial_unmap: f1\n  - swapout: f1\n")
    assert res[1].startswith("split first") and not bad
    assert k.folios["f1"].split


@pytest.mark.parametrize("kernel,result", [("6.8", "split first"), ("6.10", "swapped out")])
def test_an_mthp_is_split_before_6_10_and_swapped_whole_from_6_10(kernel, result):
    """5ed890ce5147 "mm: vmscan: avoid split during shrink_folio_list()": an mTHP (never
    PMD-mapped) was always split before add_to_swap; from 6.10 only when queued."""
    res, k, bad = _run(f"variant: '{kernel}'", "  - fault: {memcg: A, order: 4, as: f1}\n"
                       "  - swapout: f1\n")
    assert res[0].startswith(result) and not bad


def test_swapout_with_an_extra_pin_keeps_the_folio():
    res, k, bad = _run("variant: v0, cgroup: v1", FAULT + "  - get: f1\n  - swapout: f1\n"
                       "  - put: f1\n")
    assert res == ["pinned", "busy (extra references)", "unpinned"] and not bad
    assert not k.folios["f1"].freed and not k.folios["f1"].isolated


def test_swapout_of_a_queued_thp_before_f8f931bba0f9_unqueues_under_the_node_lock():
    """6.12-rc: dafff3f4c850 queues every PMD THP at fault; cgroup v1's mem_cgroup_swapout
    cleared memcg_data of the queued THP and the free path took the node queue's lock
    (bug 15).  With f8f931bba0f9 (swapout_unqueue_first) it is unqueued first."""
    ops = FAULT + "  - swapout: f1\n"
    _, _, bad = _run("variant: v0, cgroup: v1, patches: {swapout_unqueue_first: false}", ops)
    assert set(bad) >= {"list_integrity", "split_queue_len", "counters"}
    assert not _run("variant: v0, cgroup: v1", ops)[2]
    # on v2 memcg_data stays until the free: the same commit changes nothing there
    assert not _run("variant: v0, patches: {swapout_unqueue_first: false}", ops)[2]


@pytest.mark.parametrize("kernel", ["5.4", "linux-6.1", "6.11"])
def test_charge_move_moves_a_pmd_mapped_thp(kernel):
    res, k, bad = _run(f"variant: '{kernel}', cgroup: v1",
                       FAULT + "  - charge_move: {folio: f1, to: B}\n")
    assert res == ["moved"] and not bad, bad
    f1 = k.folios["f1"]
    assert f1.memcg is k.memcgs["B"] and k.memcgs["A"].nr_pages == 0
    assert k.memcgs["B"].nr_pages == 512 and not f1.isolated
    # 5.4 (87eaceb3faa5): the moved THP goes on B's queue; from 5.6 (fac0516b5534) on none
    queued = k.memcgs["B"].deferred_split_queue.split_queue_len
    assert queued == (1 if kernel == "5.4" else 0)


def test_charge_move_skips_a_pte_mapped_thp_and_moves_a_split_one():
    res, k, bad = _run("variant: linux-6.1, cgroup: v1",
                       FAULT + "  - partial_unmap: f1\n  - charge_move: {folio: f1, to: B}\n"
                       "  - split: f1\n  - charge_move: {folio: f1, to: B}\n")
    assert res[1].startswith("not moved (a PTE-mapped large folio") and res[2] == "split"
    assert res[3] == "moved" and k.folios["f1"].memcg is k.memcgs["B"] and not bad
    assert _run("variant: linux-6.1, cgroup: v1", FAULT + "  - charge_move: {folio: f1, "
                "to: A}\n")[0] == ["nothing to move"]


def test_charge_move_of_a_queued_thp_from_6_12_splits_it_first():
    """f8f931bba0f9 (move_charge_split_first): a queued PMD-mapped THP (queued at fault, 6.12)
    is split, then its pages move; if the split fails (a pin) it is skipped."""
    res, k, bad = _run("variant: v0, cgroup: v1", FAULT + "  - charge_move: {folio: f1, "
                       "to: B}\n  - unmap: f1\n")
    assert res == ["moved", "unmapped"] and not bad
    res, k, bad = _run("variant: v0, cgroup: v1", FAULT + "  - get: f1\n  - charge_move: "
                       "{folio: f1, to: B}\n")
    assert res == ["pinned", "not moved (queued, split failed)"] and not bad
    assert k.folios["f1"].memcg is k.memcgs["A"] and not k.folios["f1"].split


def test_charge_move_of_a_queued_thp_before_f8f931bba0f9_corrupts_the_queues():
    """6.12-rc without the fix: move_account changes memcg_data of the THP on A's queue; its
    free then locks B's queue and decrements B's length (bug 15, charge-moving half)."""
    _, _, bad = _run("variant: v0, cgroup: v1, patches: {move_charge_split_first: false}",
                     FAULT + "  - charge_move: {folio: f1, to: B}\n  - unmap: f1\n")
    assert set(bad) >= {"list_integrity", "split_queue_len"}


def test_charge_move_into_a_removed_cgroup_is_enoent():
    sc = _sc("variant: linux-6.1, cgroup: v1", FAULT, threads="  - [ {rmdir: B} ]\n"
             "  - [ {charge_move: {folio: f1, to: B}} ]\n")
    r = run_scenario(sc, trace=False)
    assert [rec.result for rec in r.ops][1:] == ["ok", "-ENOENT (cgroup.procs of B)"]


@pytest.mark.parametrize("kernel", ["linux-6.1", "6.11", "v0", "v7.2"])
@pytest.mark.parametrize("other", ["{unmap: f1}", "{reclaim: {memcg: A, priority: 0}}",
                                   "{migrate: {folio: f1, node: 0}}", "{get: f1}, {put: f1}",
                                   "{partial_unmap: f1}", "{split: f1}"])
def test_swapout_races_are_clean_where_the_kernel_is(kernel, other):
    """swapout racing a munmap (whole or partial), a deferred-split scan, a migration, a pin
    or a debugfs split (which holds mmap_lock while it waits for the folio lock reclaim
    holds: no deadlock, reclaim's rmap walk takes no mmap_lock): no use after free, no list
    or counter damage, at points without bug 15 (v2 before 6.12, v1 from 6.12)."""
    cgroup = "v2" if kernel in ("linux-6.1", "6.11") else "v1"
    sc = _sc(f"variant: '{kernel}', cgroup: {cgroup}", FAULT + "  - partial_unmap: f1\n"
             if other.startswith("{reclaim") else FAULT,
             threads=f"  - [ {{swapout: f1}} ]\n  - [ {other} ]\n")
    res = explore(KernelWorld(sc), Bounds(timeout=60), sleep=True)
    assert res.verdict == "ok" and not res.bound_hit, (res.verdict, res.violations[:1])
    assert res.states > 10


@pytest.mark.parametrize("other", ["{partial_unmap: f1}", "{swapout: f1}",
                                   "{reclaim: {memcg: A, priority: 0}}", "{unmap: f1}"])
@pytest.mark.parametrize("kernel", ["linux-6.1", "v0"])
def test_charge_move_races_are_clean(kernel, other):
    sc = _sc(f"variant: '{kernel}', cgroup: v1", FAULT,
             threads=f"  - [ {{charge_move: {{folio: f1, to: B}}}} ]\n  - [ {other} ]\n")
    res = explore(KernelWorld(sc), Bounds(timeout=60), sleep=True)
    assert res.verdict == "ok" and not res.bound_hit, (res.verdict, res)
