"""The THP shrinker's calls (`lrulab conform --calls`), without QEMU: the guest's trace lines
parsed into calls, the model's calls recorded at do_shrink_slab, the comparison and its report.
(On a real 6.12 guest: test_calls_qemu.py.)"""

from __future__ import annotations

from pathlib import Path

from lrulab.conform import calls
from lrulab.conform.command import run_model
from lrulab.conform.qemu import parse_line

ROOT = Path(__file__).resolve().parents[2]
EMPTY = (1 << 64) - 2

# lines as the 6.12.117 guest printed them (scenario 13, op 4 and op 6)
TRACE = [
    "init-1 [000] ...1.  12.930647: dscount: (deferred_split_count+0x4/0x40) nid=0 cg=28",
    "init-1 [000] ...1.  12.931362: dscount_ret: (do_shrink_slab+0x3a/0x350 <- "
    "deferred_split_count) ret=1",
    "init-1 [000] ...1.  12.947155: dsscan: (deferred_split_scan+0x4/0x500) nid=0 cg=28 nr=2",
    "init-1 [000] .N.1.  12.948320: dsscan_ret: (do_shrink_slab+0x13f/0x350 <- "
    "deferred_split_scan) ret=0",
    "init-1 [000] ...1.  15.091341: dscount: (deferred_split_count+0x4/0x40) nid=1 "
    "cg=(fault)",
    "init-1 [000] ...1.  15.091342: dscount_ret: (do_shrink_slab+0x3a/0x350 <- "
    "deferred_split_count) ret=18446744073709551614",
]


def test_trace_lines_become_calls_with_memcg_paths():
    got = calls.kernel_calls(TRACE, {28: "A", 1: "root"})
    assert got == [("count", 0, "A", None, 1), ("scan", 0, "A", 2, 0),
                   ("count", 1, "-", None, EMPTY)]


def test_a_return_whose_entry_was_cleared_is_skipped_and_unknown_ids_show():
    got = calls.kernel_calls(TRACE[1:4], {})
    assert got == [("scan", 0, "cgid:28", 2, 0)]


def test_the_probe_lines_are_parsed():
    ops, folios, cgids = {}, {}, {}
    parse_line("@@LRULAB CGID P/C 31", "?", ops, folios, cgids)
    parse_line("@@LRULAB TRACE 4 " + TRACE[0], "?", ops, folios, cgids)
    assert cgids == {31: "P/C"} and ops[4].trace == [TRACE[0]]


def test_the_events_go_after_setup_before_the_first_op():
    script = "K /x 1\nG A\nN 1\nQ\nO 0 fault A 0 f1\nO 1 unmap f1\n"
    lines = calls.add_to_script(script).splitlines()
    assert lines[:4] == ["K /x 1", "G A", "N 1", "Q"]
    assert lines[4:10] == calls.SCRIPT and lines[10] == "O 0 fault A 0 f1"
    assert calls.supported("6.12") and not calls.supported("6.1")


def test_the_model_records_each_count_and_scan_per_op():
    path = ROOT / "scenarios" / "conformance" / "13-pinned-unmapped-then-put.yaml"
    m = run_model(path, "debian-6.12.117", {})
    assert m.calls[0] == []                           # a fault calls no shrinker
    reclaim = m.calls[4]
    assert reclaim and {c[2] for c in reclaim} == {"A"} and {c[1] for c in reclaim} == {0}
    scans = [c for c in reclaim if c[0] == "scan"]
    assert scans and all(c[3] > 0 for c in scans) and all(c[4] == 0 for c in scans)
    fixed = run_model(path, "debian-6.12.117", {"count_shrink_empty": True})
    assert fixed.calls[6][0] == ("count", 0, "A", None, EMPTY)
    d = calls.compare(m.calls[6], fixed.calls[6])
    assert d.position == 0 and d.kernel[4] == 0 and d.model[4] == EMPTY
    assert calls.show(d.model) == "deferred_split_count(nid=0 memcg=A) = SHRINK_EMPTY"
    assert calls.compare(reclaim, list(reclaim)) is None


def test_a_null_memcg_read_as_cgroup_id_0_is_no_memcg():
    """cgroup_disable=memory: sc->memcg is NULL and the fetch reads 0 (Debian 6.12.117,
    scenario 07); a cgroup's kernfs id is never 0."""
    line = "init-1 [000] ...1.  9.1: dscount: (deferred_split_count+0x4/0x40) nid=0 cg=0"
    ret = ("init-1 [000] ...1.  9.2: dscount_ret: (do_shrink_slab+0x3a/0x350 <- "
           "deferred_split_count) ret=1")
    assert calls.kernel_calls([line, ret], {}) == [("count", 0, "-", None, 1)]


def test_drop_caches_compares_the_models_calls_with_the_kernels_first_ones():
    """drop_slab_node repeats its pass while other shrinkers free more than 10 objects: extra
    kernel calls after the model's last are not a difference there, and only there."""
    first = [("count", 0, "root", None, 1), ("scan", 0, "root", 1, 1)]
    again = [("count", 0, "root", None, 0)]
    assert calls.compare(first + again, first, first_pass=True) is None
    assert calls.compare(first + again, first).position == 2
    d = calls.compare(again + first, first, first_pass=True)
    assert d.position == 0 and d.kernel_calls == 3
    assert calls.compare(first, first + again, first_pass=True).model == again[0]
