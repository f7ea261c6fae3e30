"""Run the conformance suite on the real Linux 6.1 kernel under QEMU (TCG).

These boot Debian's kernel (fetched and cached on first use) and take about 6 s per scenario.
They are marked `qemu` and run in CI, which installs qemu-system-x86 and gcc."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lrulab.conform.command import run

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios" / "conformance"

pytestmark = pytest.mark.qemu


def run_json(*files, **kw):
    out: list[str] = []
    status = run(tuple(str(f) for f in files), as_json=True,
                 echo=lambda s="", err=False: None if err else out.append(s), **kw)
    return status, json.loads(out[-1])


@pytest.fixture(scope="module")
def suite():
    return run_json(SCENARIOS)


def by_name(data, stem):
    (sc,) = [s for s in data["scenarios"] if stem in s["path"]]
    return sc


def kernel_delta(sc, index, counter):
    return sc["ops"][index]["counters"][counter]["kernel"]


def test_every_conformance_scenario_agrees_with_linux_61(suite):
    status, data = suite
    bad = [(s["path"], o["index"], c, v) for s in data["scenarios"] for o in s.get("ops", [])
           for c, v in o["counters"].items() if not v["agree"]]
    assert bad == [] and status == 0 and data["agree"]
    ran = [s for s in data["scenarios"] if s["status"] != "skipped"]
    assert len(ran) >= 8
    for s in ran:
        assert s["kernel"].startswith("6.1.") and s["variant"] == "linux-6.1"


def test_mthp_scenario_is_skipped_with_the_reason(suite):
    sc = by_name(suite[1], "05-mthp")
    assert sc["status"] == "skipped" and "no mTHP" in sc["reason"]


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


def test_a_model_that_reparents_the_queue_disagrees(capsys):
    """A wrong model: reparent_split_queue flipped on, so P's reclaim also splits P/C's."""
    from lrulab.conform import main

    status = main(["--patch", "reparent_split_queue=true",
                   str(SCENARIOS / "03-offline-child-stranded.yaml")])
    out = capsys.readouterr().out
    assert status == 1
    diff = [ln for ln in out.splitlines() if "<< DIFFERS" in ln]
    assert any("thp_split_page " in ln for ln in diff), out
    assert "DISAGREE" in out


def test_a_newer_preset_disagrees_where_the_design_changed():
    """v1 reparents a dying memcg's queue to its parent: P's reclaim splits P/C's THPs too."""
    status, data = run_json(SCENARIOS / "03-offline-child-stranded.yaml", variant="v1")
    assert status == 1 and not data["agree"]
    sc = data["scenarios"][0]
    assert sc["variant"] == "v1" and sc["disagreements"] > 0
    row = sc["ops"][7]["counters"]["thp_split_page"]
    assert row["kernel"] == 1 and row["model"] != 1 and not row["agree"]


def test_keep_leaves_initramfs_script_and_logs(tmp_path):
    """--keep leaves what is needed to rerun or inspect the guest."""
    status, data = run_json(SCENARIOS / "02-full-unmap-leaves-queue.yaml", keep=True)
    assert status == 0
    work = Path(data["scenarios"][0]["workdir"])
    try:
        names = {p.name for p in work.iterdir()}
        assert {"initramfs.cpio.gz", "script", "console.log", "probe.log", "qemu.cmd"} <= names
        assert "@@LRULAB DONE" in (work / "probe.log").read_text()
        assert "-accel tcg" in (work / "qemu.cmd").read_text()
    finally:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


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
    assert "qemu-system-x86_64" in out and "linux-image-6.1" in out and "probe" in out


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
