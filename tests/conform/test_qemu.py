"""Run the conformance suite on the real kernels (Debian 6.1 and 6.12.117) under QEMU (TCG),
comparing counters and, after every op, the kernel state read with drgn.

These boot Debian's kernels (fetched and cached by `lrulab conform --setup`). They are marked
`qemu` and run in CI, which installs qemu-system-x86, gcc, drgn and the kernels' vmlinux."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from lrulab.conform.command import GuestCache, run

from .guests import run_json

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "conformance"

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def guests():
    """Kernel runs shared by this module: a test comparing another model with a scenario the
    suite already ran on the same kernel reuses the suite's guest instead of booting again."""
    return GuestCache()


@pytest.fixture(scope="module")
def suite(guests):
    """The whole suite on both kernels, counters and state; work directories kept (the --keep
    test looks at one) and removed at the end."""
    result = run_json(SCENARIOS, keep=True, guests=guests)
    if os.environ.get("LRULAB_CONFORM_JSON"):     # the README's figures come from this file
        Path(os.environ["LRULAB_CONFORM_JSON"]).write_text(json.dumps(result[1], indent=1))
    yield result
    for sc in result[1]["scenarios"]:
        if sc.get("workdir"):
            shutil.rmtree(sc["workdir"], ignore_errors=True)


def by_name(data, stem, kernel="debian-6.1"):
    (sc,) = [s for s in data["scenarios"] if stem in s["path"] and s["kernel_name"] == kernel]
    if sc["status"] == "guest-failed":       # the run went on; this comparison has no verdict
        pytest.fail(f"{stem} on {kernel}: the guest failed: {sc['reason']}")
    return sc


def counter_disagreements(sc):
    return [(o["index"], c, v["kernel"], v["model"]) for o in sc.get("ops", [])
            for c, v in o["counters"].items() if not v["agree"]]


def state_disagreements(sc):
    first = sc.get("state_first_differs_at")
    return [] if first is None else [(first, k, v["kernel"], v["model"])
                                     for k, v in sc["ops"][first]["state"].items()]


def kernel_delta(sc, index, counter):
    return sc["ops"][index]["counters"][counter]["kernel"]


def test_every_conformance_scenario_agrees_with_linux_61(suite):
    """Counters at every op and the kernel state after every op, key for key."""
    _, data = suite
    ran = [s for s in data["scenarios"]
           if s["kernel_name"] == "debian-6.1" and s["status"] != "skipped"]
    assert len(ran) == len(list(SCENARIOS.glob("*.yaml"))) - 2     # all but 05, 14 (mTHP)
    for s in ran:
        assert s["kernel"].startswith("6.1.") and s["variant"] == "linux-6.1"
        assert s["state_compared"], s.get("state_not_compared")
        assert (s["path"], counter_disagreements(s), state_disagreements(s)) == (s["path"], [], [])
        assert sum(o["state_keys"] for o in s["ops"]) > 0


def test_mthp_scenarios_are_skipped_on_61_with_the_reason(suite):
    for stem in ("05-mthp", "14-mthp"):
        sc = by_name(suite[1], stem)
        assert sc["status"] == "skipped" and "no mTHP" in sc["reason"]


def test_every_scenario_runs_on_612_with_its_own_point_of_history(suite):
    ran = [s for s in suite[1]["scenarios"] if s["kernel_name"] == "debian-6.12.117"]
    assert len(ran) == len(list(SCENARIOS.glob("*.yaml")))
    for s in ran:
        assert s["status"] != "skipped" and s["kernel"].startswith("6.12.117")
        assert s["variant"] == "debian-6.12.117" and s["state_compared"]


@pytest.mark.parametrize("stem", sorted(p.name for p in SCENARIOS.glob("*.yaml")))
def test_612_scenario_agrees_with_its_point_of_history(suite, stem):
    """Debian 6.12.117 against preset debian-6.12.117: counters at every op and the kernel
    state after every op, key for key."""
    sc = by_name(suite[1], stem, "debian-6.12.117")
    assert sc["variant"] == "debian-6.12.117" and sc["state_compared"]
    assert (counter_disagreements(sc), state_disagreements(sc)) == ([], [])
    assert sum(o["state_keys"] for o in sc["ops"]) > 0


def test_kernel_reclaim_of_b_splits_only_bs_thps(suite):
    for stem in ("01-reclaim-b-spares-a.yaml", "01-reclaim-b-spares-a-nokmem"):
        sc = by_name(suite[1], stem)
        ops = sc["ops"]
        assert ops[10]["text"].startswith("reclaim B") and ops[10]["err"] == "EAGAIN"
        assert kernel_delta(sc, 10, "thp_split_page") == 3
        assert kernel_delta(sc, 11, "thp_split_page") == 2    # A's two were still queued


def test_kernel_strands_the_offline_childs_queue(suite):
    sc = by_name(suite[1], "03-offline")
    assert kernel_delta(sc, 7, "thp_split_page") == 1      # P's reclaim: only P/D's THP
    assert kernel_delta(sc, 8, "thp_split_page") == 0      # drop_caches: none of P/C's
    row = sc["ops"][8]["counters"]["slabs_scanned"]
    assert row["compared"] is False and "other shrinker" in row["not_compared"]


def test_kernel_extra_reference_blocks_the_split(suite):
    sc = by_name(suite[1], "04-extra-ref")
    assert kernel_delta(sc, 5, "thp_split_page") == 1
    assert kernel_delta(sc, 5, "thp_split_page_failed") > 0
    assert kernel_delta(sc, 7, "thp_split_page") == 1      # after put


def test_full_unmap_leaves_the_queue_without_split(suite):
    sc = by_name(suite[1], "02-full-unmap")
    assert kernel_delta(sc, 3, "thp_split_page") == 0
    assert kernel_delta(sc, 8, "thp_split_page") == 1


def test_a_model_that_reparents_the_queue_disagrees_at_the_rmdir(suite, guests):
    """A wrong model: reparent_split_queue flipped on. Counters first differ at P's reclaim
    (op 7: it also splits P/C's THPs); the kernel state already differs after the rmdir (op 6):
    P/C's queue moved to P in the model, not in the kernel.  (The suite's 6.1 guest of this
    scenario is reused: the kernel side does not depend on the model.)"""
    lines: list[str] = []
    status = run((str(SCENARIOS / "03-offline-child-stranded.yaml"),), kernels=("debian-6.1",),
                 patch=("reparent_split_queue=true",), guests=guests,
                 echo=lambda s="", err=False: lines.append(s))
    out = "\n".join(lines)
    assert status == 1 and "DISAGREE" in out and "state differs from op 6 on" in out
    diff = [ln for ln in out.splitlines() if "<< DIFFERS" in ln]
    assert any("thp_split_page " in ln for ln in diff), out
    assert any("deferred_split P/C: kernel [c1, c2], model (absent)" in ln for ln in diff), out
    assert any("deferred_split P: kernel (absent), model [c1, c2]" in ln for ln in diff), out


def test_a_newer_preset_disagrees_where_the_design_changed(suite, guests):
    """v1 reparents a dying memcg's queue to its parent: P's reclaim splits P/C's THPs too."""
    status, data = run_json(SCENARIOS / "03-offline-child-stranded.yaml", variant="v1",
                            kernels=("debian-6.1",), guests=guests)
    assert status == 1 and not data["agree"]
    sc = data["scenarios"][0]
    assert sc["variant"] == "v1" and sc["disagreements"] > 0
    row = sc["ops"][7]["counters"]["thp_split_page"]
    assert row["kernel"] == 1 and row["model"] != 1 and not row["agree"]


def test_keep_leaves_initramfs_script_and_logs(suite):
    """--keep leaves what is needed to rerun or inspect the guest (the suite runs with it)."""
    work = Path(by_name(suite[1], "02-full-unmap")["workdir"])
    names = {p.name for p in work.iterdir()}
    assert {"initramfs.cpio.gz", "script", "console.log", "probe.log", "qemu.cmd"} <= names
    assert "@@LRULAB DONE" in (work / "probe.log").read_text()
    assert "-accel tcg" in (work / "qemu.cmd").read_text()


def test_a_kernel_that_does_not_boot_is_a_one_line_error(tmp_path, capsys):
    from lrulab.conform import main

    bogus = tmp_path / "vmlinuz"
    bogus.write_bytes(b"not a kernel" * 100)
    status = main(["--kernel-image", str(bogus),
                   str(SCENARIOS / "02-full-unmap-leaves-queue.yaml")])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "lrulab conform: " in err


def test_setup_reports_what_it_found(capsys):
    from lrulab.conform import main

    assert main(["--setup"]) == 0
    out = capsys.readouterr().out
    assert "qemu-system-x86_64" in out and "probe" in out
    assert "release 6.1.0-" in out and "release 6.12.117+deb12-amd64" in out
    assert out.count("/vmlinux;") == 2


def test_kernel_split_and_collapse_counters(suite):
    sc = by_name(suite[1], "08-split-and-collapse")
    for counter in ("thp_split_pmd", "thp_deferred_split_page", "thp_split_page"):
        assert kernel_delta(sc, 1, counter) == 1           # split of a PMD-mapped THP
    assert kernel_delta(sc, 4, "thp_split_page") == 1      # split of a queued THP ...
    assert kernel_delta(sc, 4, "thp_deferred_split_page") == 0
    assert kernel_delta(sc, 5, "thp_collapse_alloc") == 1  # MADV_COLLAPSE, counted once
    assert kernel_delta(sc, 9, "thp_split_page") == 2


def test_khugepaged_never_ran_during_any_op(suite):
    """The probe lets khugepaged finish its wake-up scan before op 0; after that it sleeps."""
    moved = [(s["path"], o["index"]) for s in suite[1]["scenarios"] for o in s.get("ops", [])
             if o["info"].get("khugepaged:full_scans")
             or o["info"].get("khugepaged:pages_collapsed")]
    assert moved == []


def test_kernel_migration_counters(suite):
    sc = by_name(suite[1], "09-migrate")
    assert kernel_delta(sc, 1, "thp_migration_success") == 1
    assert kernel_delta(sc, 1, "nr_anon_transparent_hugepages") == 0
    assert kernel_delta(sc, 1, "pgmigrate_success") == 512
    assert kernel_delta(sc, 4, "thp_deferred_split_page") == 0   # was already queued
    assert kernel_delta(sc, 5, "thp_split_page") == 0            # destination not requeued


def test_a_guest_that_does_not_finish_keeps_its_console_log(capsys):
    from lrulab.conform import main

    status = main(["--kernel", "debian-6.1", "--timeout", "3",
                   str(SCENARIOS / "02-full-unmap-leaves-queue.yaml")])
    err = capsys.readouterr().err
    assert status == 2 and "did not" in err and "[logs kept in " in err
    work = Path(err.split("[logs kept in ")[1].split("]")[0])
    try:
        assert (work / "console.log").exists() and (work / "script").exists()
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def test_kernel_underused_split_at_the_boundary(suite):
    """6.12 splits the THP with 256 zero subpages (> max_ptes_none 255), not the one with 255;
    6.1 queues neither at fault and splits nothing."""
    sc = by_name(suite[1], "10-underused", "debian-6.12.117")
    assert kernel_delta(sc, 2, "thp_underused_split_page") == 1
    assert kernel_delta(sc, 2, "thp_split_page") == 1
    assert kernel_delta(by_name(suite[1], "10-underused"), 2, "thp_split_page") == 0


def test_kernel_keeps_a_pinned_unmapped_thp_queued(suite):
    sc = by_name(suite[1], "13-pinned")
    after_unmap = sc["ops"][3]["kernel_state"]
    assert after_unmap["folio f1"] == "live" and after_unmap["folio f1 mapped"] == "none"
    assert after_unmap["deferred_split A"] == ["f1"]
    assert sc["ops"][5]["kernel_state"]["folio f1"] == "freed"
    assert "deferred_split A" not in sc["ops"][5]["kernel_state"]
    assert kernel_delta(sc, 4, "thp_split_page") == 0
    assert kernel_delta(sc, 4, "thp_split_page_failed") > 0
    assert kernel_delta(sc, 6, "thp_split_page") == 0          # freed by the put, not split


def kernel_state(sc, index, prefix):
    return {k: v for k, v in sc["ops"][index]["kernel_state"].items() if k.startswith(prefix)}


@pytest.mark.parametrize("kernel", ["debian-6.1", "debian-6.12.117"])
def test_kernel_puts_negative_dentries_on_the_memcg_and_node_sublists(suite, kernel):
    """16: each lookup's dentry is on its memcg's sublist of the private sysfs's s_dentry_lru,
    on the node of the CPU that looked it up, with the memcg's bit for that superblock's
    shrinker set; B's reclaim frees its three on node 0 (slabs_scanned 4), not the one alone."""
    sc = by_name(suite[1], "16-dcache", kernel)
    assert kernel_state(sc, 7, "list_lru dcache") == {
        "list_lru dcache A node0": 2, "list_lru dcache A node1": 1,
        "list_lru dcache B node0": 3, "list_lru dcache B node1": 1,
        "list_lru dcache root node1": 1}
    assert kernel_state(sc, 7, "shrinker_bit dcache B") == {
        "shrinker_bit dcache B node0": 1, "shrinker_bit dcache B node1": 1}
    assert kernel_delta(sc, 8, "slabs_scanned") == 4
    assert kernel_state(sc, 8, "list_lru dcache B") == {"list_lru dcache B node1": 1}


def test_kernel_under_nokmem_puts_dentries_on_root_sublists(suite):
    sc = by_name(suite[1], "17-dcache-nokmem")
    assert kernel_state(sc, 3, "list_lru dcache") == {"list_lru dcache root node0": 3,
                                                     "list_lru dcache root node1": 1}
    assert set(kernel_state(sc, 3, "shrinker_bit dcache A").values()) == {0}


def test_kernel_reparents_a_removed_childs_dentries(suite):
    sc = by_name(suite[1], "19-dcache-rmdir")
    assert kernel_state(sc, 7, "list_lru dcache P") == {"list_lru dcache P node0": 3,
                                                       "list_lru dcache P node1": 1}
    assert kernel_state(sc, 8, "list_lru dcache P") == {"list_lru dcache P node1": 1}
    st = sc["ops"][7]["kernel_state"]      # P/C a zombie (its THP is charged), with P's id
    assert st["memcg P/C"] == "offline" and st["memcg P/C kmemcg_id"] == st["memcg P kmemcg_id"]


@pytest.mark.parametrize("kernel", ["debian-6.1", "debian-6.12.117"])
def test_node_local_reclaim_is_compared_by_its_outcome(suite, kernel):
    """20: the hog op compares thp_split_page (4: every queued THP but the pinned one, node 0's
    too, as one queue per memcg serves all nodes) and the state after it; the per-pass counts
    are shown as not compared, with the reason, in the output."""
    sc = by_name(suite[1], "20-node-reclaim", kernel)
    op = sc["ops"][17]
    assert "outcome" in op["outcome_only"] and op["err"] == "0"
    assert op["counters"]["thp_split_page"] == {"kernel": 4, "model": 4, "compared": True,
                                                "agree": True}
    failed = op["counters"]["thp_split_page_failed"]
    assert failed["compared"] is False and failed["not_compared"] == "outcome-only op"
    st = op["kernel_state"]
    assert [st[f"folio {n}"] for n in ("a0", "a1", "b0", "r1", "b1")] == [
        "split", "split", "split", "split", "live"]
    assert kernel_state(sc, 17, "list_lru dcache A") == {"list_lru dcache A node0": 2}
