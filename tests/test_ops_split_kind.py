"""split to order N and fault kinds (hugetlb): the ops behave as the kernel at each point, and
bad input is one line naming file:line."""

import subprocess
import sys
from pathlib import Path

import pytest

from lrulab.check.engine import Bounds, explore
from lrulab.runner import run_scenario
from lrulab.scenario import ScenarioError, parse_scenario
from lrulab.world import KernelWorld

ROOT = Path(__file__).resolve().parents[1]
H14 = str(ROOT / "scenarios" / "bugs" / "h14-hugetlb-deferred-list.yaml")
S9 = str(ROOT / "scenarios" / "bugs" / "s9-anon-split-to-order-warn.yaml")


def _run(text: str):
    return run_scenario(parse_scenario(text, "t.yaml"), trace=False)


def _results(r) -> list:
    return [rec.result for rec in r.ops]


SPLIT = """kernel: {{variant: '{v}'}}
memcgs: [A]
setup:
  - fault: {{memcg: A, node: 0, as: f1}}
  - partial_unmap: f1
  - split: {{folio: f1, order: 4}}
  - assert: {{not_queued: f1, not_split: [f1], vmstat: {{thp_split_page: 1,
              "hugepages-64kB/stats/nr_anon": 16}}}}
  - partial_unmap: f1
  - assert: {{queued: {{folio: f1, memcg: A}}}}
  - partial_unmap: f1+16
  - assert: {{queued: {{folio: f1+16, memcg: A}}}}
  - unmap: f1+16
  - assert: {{not_queued: f1+16}}
  - reclaim: {{memcg: A, node: 0, priority: 0}}
  - assert: {{split: [f1], not_split: [f1+32]}}
check: [assertion, list_integrity, counters, split_queue_len, no_orphan]
"""


@pytest.mark.parametrize("v", ["6.10-rc5", "6.10", "6.12", "6.13", "7.1", "7.2"])
def test_split_to_order_makes_folios_of_that_order(v):
    """A partially mapped THP split to order 4 (c010d47f107f): the mapped half becomes 16
    order-4 folios, off the queue; the head, re-initialised (list_del_init), and any other part
    are queued again by a partial unmap, freed without list corruption, split by reclaim."""
    r = _run(SPLIT.format(v=v))
    assert r.ok, [str(e) for e in r.violations] if hasattr(r, "violations") else r
    assert _results(r)[2] == "split"
    k = r.kernel
    parts = [n for n in k.folios if n.startswith("f1+")]
    assert len(parts) == 15 and k.folios["f1+32"].order == 4
    assert k.memcgs["A"].nr_pages == 256 - 8 - 16  # f1's unmapped half freed; f1+16 freed


def test_split_to_order_races_unmap_and_reclaim_without_violation():
    sc = parse_scenario("""kernel: {variant: v0}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 0, as: f1}
  - partial_unmap: f1
threads:
  - [ {split: {folio: f1, order: 3}}, {partial_unmap: f1} ]
  - [ {unmap: f1} ]
  - [ {reclaim: {memcg: A, node: 0, priority: 0}} ]
check: [no_warn, no_oops, no_use_after_free, list_integrity, counters, split_queue_len,
        no_orphan]
""", "race.yaml")
    res = explore(KernelWorld(sc), Bounds(timeout=120), sleep=True)
    assert res.verdict == "ok" and not res.bound_hit and res.states > 100


def test_split_skips_a_folio_not_above_the_order():
    r = _run("""kernel: {variant: v0}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 0, as: f1, order: 4}
threads:
  - [ {split: {folio: f1, order: 2}} ]
  - [ {split: {folio: f1, order: 2}} ]
""")
    assert _results(r)[1:] == ["split", "not above order 2"]


BAD = [
    ("kernel: {variant: linux-6.1}\nmemcgs: [A]\nsetup:\n  - fault: {memcg: A, as: f1}\n"
     "  - split: {folio: f1, order: 4}\n", 5, "c010d47f107f"),
    ("kernel: {variant: v0}\nmemcgs: [A]\nsetup:\n  - fault: {memcg: A, as: f1}\n"
     "  - split: {folio: f1, order: 1}\n", 5, "order 1"),
    ("kernel: {variant: v0}\nmemcgs: [A]\nsetup:\n  - fault: {memcg: A, as: f1, order: 4}\n"
     "  - split: {folio: f1, order: 4}\n", 5, "not below"),
    ("kernel: {variant: v0}\nmemcgs: [A]\nsetup:\n  - fault: {memcg: A, as: f1}\n"
     "  - split: {folio: f1, order: 9}\n", 5, "order 9"),
    ("kernel: {variant: v0}\nmemcgs: [A]\nsetup:\n  - fault: {memcg: A, as: h, kind: hugetlb}\n"
     "  - split: h\n", 5, "hugetlb"),
    ("kernel: {variant: v0}\nmemcgs: [A]\nsetup:\n  - fault: {memcg: A, as: h, kind: hugetlb}\n"
     "  - partial_unmap: h\n", 5, "hugetlb"),
    ("kernel: {variant: v0}\nmemcgs: [A]\nsetup:\n"
     "  - fault: {memcg: A, as: h, kind: hugetlb, order: 4}\n", 4, "order 9"),
    ("kernel: {variant: v0}\nmemcgs: [A]\nsetup:\n  - fault: {memcg: A, as: s, kind: dax}\n",
     4, "kind 'dax'"),
]


@pytest.mark.parametrize("text,line,why", BAD)
def test_bad_split_and_kind_input_names_file_and_line(text, line, why):
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text, "bad.yaml")
    msg = str(e.value)
    assert msg.startswith(f"bad.yaml:{line}: ") and why in msg and "\n" not in msg


def test_bad_split_order_on_the_command_line_exits_2(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(BAD[0][0])
    r = subprocess.run([sys.executable, "-m", "lrulab", "run", str(f)], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert f"{f}:5:" in r.stderr and "Traceback" not in r.stderr


HUGETLB = """kernel: {{variant: '{v}', nodes: 2}}
memcgs: [A]
setup:
  - fault: {{memcg: A, node: 0, as: h1, kind: hugetlb}}
  - assert: {{not_queued: h1, vmstat: {{thp_fault_alloc: 0, nr_anon_transparent_hugepages: 0,
              "hugepages-2048kB/stats/nr_anon": 0}}}}
  - migrate: {{folio: h1, node: 1}}
  - assert: {{vmstat: {{pgmigrate_success: 512, thp_migration_success: 0}}}}
  - unmap: h1
check: [assertion, list_integrity, counters, no_use_after_free, no_oops]
"""


@pytest.mark.parametrize("v,bug", [("6.9", False), ("6.10-rc1", False), ("6.10-rc7", True),
                                   ("6.10", False), ("6.12", False), ("7.2", False)])
def test_hugetlb_folio_is_never_queued_and_migration_unqueues_it_only_in_6_10_rc7(v, bug):
    """A hugetlb folio has no _deferred_list; 6.10-rc1 made it large_rmappable (f6a8dd98a2ce),
    6.10-rc7 unqueues a large rmappable migration source (be9581ea8c05): list corruption until
    f708f6970cc9 (6.10) clears the flag."""
    r = _run(HUGETLB.format(v=v))
    kinds = {e.kind for e in r.kernel.events}
    assert ("list" in kinds) == bug, r.kernel.events
    assert _results(r) == ["hugetlb folio", "moved to node 1", "unmapped"]
    assert r.kernel.folios["h1"].freed and r.kernel.folios["h1"].nid == 1


def test_a_pinned_hugetlb_folio_does_not_migrate():
    r = _run("""kernel: {variant: '6.10-rc7', nodes: 2}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 0, as: h1, kind: hugetlb}
  - get: h1
  - migrate: {folio: h1, node: 1}
  - put: h1
  - unmap: h1
""")
    assert _results(r) == ["hugetlb folio", "pinned", "failed", "unpinned", "unmapped"]
    assert not r.kernel.events and r.kernel.folios["h1"].freed


def test_bisect_names_the_hugetlb_fix_and_the_commit_that_exposed_it():
    def bisect(*args):
        return subprocess.run([sys.executable, "-m", "lrulab", "bisect", H14, *args],
                              capture_output=True, text=True, check=False)
    r = bisect("--good", "6.10-rc7", "--bad", "6.10")
    assert r.returncode == 0, r.stderr
    assert "first bad commit: f708f6970cc9 mm/hugetlb: fix kernel NULL pointer dereference " \
           "when migrating hugetlb folio (6.10)" in r.stdout
    r = bisect("--good", "6.9", "--bad", "6.10-rc7")
    assert r.returncode == 0, r.stderr
    assert "first bad commit: be9581ea8c05 mm: fix crashes from deferred split racing folio " \
           "migration (6.10-rc7)" in r.stdout


@pytest.mark.parametrize("v,warned", [("6.9", True), ("6.10-rc1", True), ("6.10-rc5", False),
                                      ("6.12", False)])
def test_anon_split_to_order_warns_and_fails_until_6a50c9b512f7(v, warned):
    r = _run(f"""kernel: {{variant: '{v}'}}
memcgs: [A]
setup:
  - fault: {{memcg: A, node: 0, as: f1}}
  - split: {{folio: f1, order: 4}}
""")
    assert _results(r)[1] == ("failed (-22)" if warned else "split")
    assert [e.message for e in r.kernel.events] == \
        (["Cannot split file folio to non-0 order"] if warned else [])
    assert r.kernel.folios["f1"].order == (9 if warned else 4)


def test_bisect_names_the_anon_split_fix_and_skips_points_without_the_op():
    r = subprocess.run([sys.executable, "-m", "lrulab", "bisect", S9], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[1].split() == ["6.9", "violation"]  # 5.4 .. 6.8 cannot split to order 4
    assert "first bad commit: 6a50c9b512f7 mm: huge_memory: fix misused " \
           "mapping_large_folio_support() for anon folios (6.10-rc5)" in r.stdout


@pytest.mark.parametrize("v", ["6.10", "7.2"])
def test_hugetlb_unmap_racing_its_migration_touches_no_freed_folio(v):
    """munmap of a hugetlb range while move_pages migrates it: the zap finds the migration
    entry, the new folio, or nothing; it never puts the freed source (the model's first cut
    did: found by the checker)."""
    sc = parse_scenario(f"""kernel: {{variant: '{v}', nodes: 2}}
memcgs: [A]
setup:
  - fault: {{memcg: A, node: 0, as: h1, kind: hugetlb}}
threads:
  - [ {{migrate: {{folio: h1, node: 1}}}} ]
  - [ {{unmap: h1}} ]
check: [no_use_after_free, no_warn, no_oops, counters, list_integrity]
""", "race.yaml")
    res = explore(KernelWorld(sc), Bounds(timeout=120), sleep=True)
    assert res.verdict == "ok" and not res.bound_hit and res.states > 20


# -- shmem and page-cache large folios: charged, mapped, never queued -------------------------

SHARED = """kernel: {{variant: '{v}'}}
memcgs: [A]
setup:
  - fault: {{memcg: A, node: 0, as: f1, kind: {kind}, order: {order}}}
  - partial_unmap: f1
  - assert: {{not_queued: f1, vmstat: {{thp_deferred_split_page: 0,
              nr_anon_transparent_hugepages: 0}}}}
  - reclaim: {{memcg: A, node: 0, priority: 0}}
  - assert: {{not_split: [f1], vmstat: {{thp_split_page: 0}}}}
  - unmap: f1
check: [assertion, list_integrity, counters, split_queue_len, no_orphan, no_leak, no_warn,
        no_oops, no_use_after_free]
"""


@pytest.mark.parametrize("v", ["5.4", "linux-6.1", "6.8", "6.12", "7.2", "series-v5"])
@pytest.mark.parametrize("kind,alloc", [("shmem", 1), ("file", 0)])
def test_shared_pmd_thp_is_never_queued_and_stays_cached_after_unmap(v, kind, alloc):
    """A PMD-mapped shmem/page-cache THP: charged to A, THP_FILE_MAPPED (shmem also
    THP_FILE_ALLOC); a partial munmap zaps the whole PMD (file VMA: no PTE remap), nothing is
    queued, reclaim's shrinker never splits it, and after the last unmap the page cache's
    references keep it allocated and charged."""
    r = _run(SHARED.format(v=v, kind=kind, order=9))
    assert r.ok, r
    assert _results(r)[:2] == ["shmem THP" if kind == "shmem" else "page-cache large folio",
                               "unmapped 0 pages"]
    k = r.kernel
    f = k.folios["f1"]
    assert k.vmstat["thp_file_alloc"] == alloc and k.vmstat["thp_file_mapped"] == 1
    assert k.vmstat["thp_split_pmd"] == 1 and k.vmstat["thp_fault_alloc"] == 0
    assert not f.freed and not f.pmd_mapped and f.refcount == 512 and f.memcg.path == "A"
    assert k.memcgs["A"].nr_pages == 512


@pytest.mark.parametrize("v", ["6.8", "6.11", "6.12", "7.1", "series-v3", "7.2"])
def test_partially_mapped_page_cache_folio_is_not_queued_where_anon_is(v):
    """Order-4 folios mapped by PTEs, half unmapped: the anon one is queued (and split by
    reclaim), the page-cache one is not and stays partially mapped -- and no_orphan does not
    call it an orphan: the kernel never queues a !folio_test_anon folio."""
    r = _run(f"""kernel: {{variant: '{v}'}}
memcgs: [A]
setup:
  - fault: {{memcg: A, node: 0, as: a1, order: 4}}
  - fault: {{memcg: A, node: 0, as: p1, kind: file, order: 4}}
  - partial_unmap: a1
  - partial_unmap: p1
  - assert: {{queued: {{folio: a1, memcg: A}}, not_queued: p1,
              vmstat: {{"hugepages-64kB/stats/nr_anon": 1}}}}
  - reclaim: {{memcg: A, node: 0, priority: 0}}
  - assert: {{split: [a1], not_split: [p1]}}
check: [assertion, list_integrity, counters, split_queue_len, no_orphan, no_warn]
""")
    assert r.ok, r
    p1 = r.kernel.folios["p1"]
    assert p1.nr_pages_mapped == 8 and p1.refcount == 16 + 8 and not p1.freed


def test_queued_assert_fails_for_a_partially_mapped_shmem_thp():
    """The user's `queued` expectation on a shmem THP is a violation, not a crash."""
    r = _run("""kernel: {variant: '6.12'}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 0, as: s1, kind: shmem}
  - partial_unmap: s1
  - assert: {queued: {folio: s1, memcg: A}}
check: [assertion]
""")
    assert not r.ok


def test_no_orphan_still_flags_an_anonymous_folio_left_unqueued():
    """The property's anon gate does not blind it: an anon folio partially mapped and not
    queued (made so by hand, past the rmap path) is still an orphan; a page-cache one is not."""
    from lrulab.properties import no_orphan
    r = _run("""kernel: {variant: '6.12'}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 0, as: a1, order: 4}
  - fault: {memcg: A, node: 0, as: p1, kind: file, order: 4}
""")
    k = r.kernel
    for name in ("a1", "p1"):
        k.folios[name].nr_pages_mapped = 8  # partially mapped, never passed the rmap path
    out = no_orphan(k)
    assert any("a1" in m for m in out) and not any("p1" in m for m in out), out


@pytest.mark.parametrize("v", ["6.12", "7.2"])
def test_shared_folio_unmap_racing_reclaim_and_pin(v):
    sc = parse_scenario(f"""kernel: {{variant: '{v}'}}
memcgs: [A]
setup:
  - fault: {{memcg: A, node: 0, as: p1, kind: file, order: 4}}
  - fault: {{memcg: A, node: 0, as: s1, kind: shmem}}
threads:
  - [ {{partial_unmap: p1}}, {{unmap: p1}} ]
  - [ {{get: p1}}, {{partial_unmap: s1}}, {{put: p1}} ]
  - [ {{reclaim: {{memcg: A, node: 0, priority: 0}}}} ]
check: [no_warn, no_oops, no_use_after_free, list_integrity, counters, split_queue_len,
        no_orphan]
""", "race.yaml")
    res = explore(KernelWorld(sc), Bounds(timeout=120), sleep=True)
    assert res.verdict == "ok" and not res.bound_hit and res.states > 20


SHARED_BAD = [
    ("kernel: {variant: v0}\nmemcgs: [A]\nsetup:\n  - fault: {memcg: A, as: s, kind: shmem}\n"
     "  - split: s\n", 5, "shmem folio"),
    ("kernel: {variant: v0, nodes: 2}\nmemcgs: [A]\nsetup:\n"
     "  - fault: {memcg: A, as: s, kind: file}\n  - migrate: {folio: s, node: 1}\n", 5,
     "file folio"),
    ("kernel: {variant: v0}\nmemcgs: [A]\nsetup:\n  - fault: {memcg: A, as: s, kind: file}\n"
     "  - swapout: s\n", 5, "reclaim of a page-cache folio"),
    ("kernel: {variant: v0}\nmemcgs: [A]\nsetup:\n"
     "  - fault: {memcg: A, as: s, kind: shmem, order: 4}\n", 4, "shmem mTHP"),
    ("kernel: {variant: linux-6.1}\nmemcgs: [A]\nsetup:\n"
     "  - fault: {memcg: A, as: s, kind: file, order: 4}\n", 4, "needs mTHP"),
]


@pytest.mark.parametrize("text,line,why", SHARED_BAD)
def test_bad_shared_folio_input_names_file_and_line(text, line, why):
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text, "bad.yaml")
    msg = str(e.value)
    assert msg.startswith(f"bad.yaml:{line}: ") and why in msg and "\n" not in msg, msg


def test_conform_refuses_shared_kinds_with_a_reason():
    from lrulab.conform.translate import NotApplicable, plan
    for kind in ("shmem", "file"):
        sc = parse_scenario(f"kernel: {{variant: linux-6.12}}\nmemcgs: [A]\nsetup:\n"
                            f"  - fault: {{memcg: A, as: s, kind: {kind}}}\n", "c.yaml")
        with pytest.raises(NotApplicable, match=f"fault kind {kind}"):
            plan(sc)


# -- order-1 folios: only in the page cache, from 8897277acfef (6.9) ---------------------------

ORDER1 = """kernel: {{variant: '{v}'}}
memcgs: [A]
setup:
  - fault: {{memcg: A, node: 0, as: p1, kind: file, order: 1}}
  - partial_unmap: p1
  - assert: {{not_queued: p1, vmstat: {{thp_deferred_split_page: 0}}}}
  - reclaim: {{memcg: A, node: 0, priority: 0}}
  - assert: {{not_split: [p1]}}
  - unmap: p1
check: [assertion, list_integrity, counters, split_queue_len, no_orphan, no_warn, no_oops,
        no_use_after_free]
"""


@pytest.mark.parametrize("v", ["6.9", "6.10", "6.12", "6.13", "7.1", "series-v5", "7.2",
                               "7.3-rc", "debian-6.12.117"])
def test_order1_page_cache_folio_is_mapped_and_never_queued(v):
    """An order-1 page-cache folio (two pages, PTE-mapped) half unmapped stays off every queue
    (not anon; deferred_split_folio returns for order <= 1), and stays cached after unmap."""
    r = _run(ORDER1.format(v=v))
    assert r.ok, r
    assert _results(r)[:2] == ["page-cache large folio", "unmapped 1 pages"]
    f = r.kernel.folios["p1"]
    assert f.order == 1 and not f.freed and f.refcount == 2 and f.memcg.path == "A"
    assert r.kernel.memcgs["A"].nr_pages == 2


@pytest.mark.parametrize("v", ["5.4", "linux-6.1", "6.8"])
def test_order1_page_cache_folio_is_bad_input_before_6_9(v):
    with pytest.raises(ScenarioError) as e:
        parse_scenario(ORDER1.format(v=v), "o1.yaml")
    msg = str(e.value)
    assert msg.startswith("o1.yaml:4: ") and "8897277acfef" in msg and "\n" not in msg


@pytest.mark.parametrize("kind", ["anon", "shmem"])  # hugetlb: "order 9" (BAD)
@pytest.mark.parametrize("v", ["6.8", "6.12", "7.2"])
def test_no_point_has_an_order1_folio_of_another_kind(kind, v):
    text = ORDER1.format(v=v).replace("kind: file", f"kind: {kind}")
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text, "o1.yaml")
    msg = str(e.value)
    assert msg.startswith("o1.yaml:4: ") and f"no {kind} folio of order 1" in msg, msg


def test_order1_bad_input_on_the_command_line_exits_2(tmp_path):
    f = tmp_path / "o1.yaml"
    f.write_text(ORDER1.format(v="6.12").replace("kind: file", "kind: anon"))
    r = subprocess.run([sys.executable, "-m", "lrulab", "run", str(f)], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert f"{f}:4:" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("v", ["linux-6.1", "6.12", "series-v5", "7.3-rc"])
def test_cached_shared_folios_survive_rmdir_of_their_memcg_under_reclaim(v):
    """shmem/file folios of A, unmapped and still cached while A is removed and global
    reclaim runs: every property but stale_bits (which a queued anon THP of B violates here
    on its own) holds in every interleaving."""
    sc = parse_scenario(f"""kernel: {{variant: '{v}', nodes: 2}}
memcgs: [A, B]
setup:
  - fault: {{memcg: A, node: 0, as: s1, kind: shmem}}
  - fault: {{memcg: A, node: 1, as: p1, kind: file}}
  - fault: {{memcg: B, node: 0, as: a1}}
  - partial_unmap: a1
threads:
  - [ {{partial_unmap: s1}}, {{unmap: s1}} ]
  - [ {{unmap: p1}}, {{rmdir: A}} ]
  - [ {{reclaim: {{memcg: root, node: all}}}} ]
""", "rmdir.yaml", overrides={"ignore": ["stale_bits"]})
    res = explore(KernelWorld(sc), Bounds(timeout=120), sleep=True)
    assert res.verdict == "ok" and not res.bound_hit and res.states > 500
