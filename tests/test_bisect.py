"""lrulab bisect: the point, then the single commit, where a catalog bug's verdict changes."""

import json
import subprocess
import sys
from pathlib import Path

B5 = str(Path(__file__).resolve().parents[1] / "scenarios" / "bugs" / "b5-isolate-uaf.yaml")


def lrulab(*args):
    return subprocess.run([sys.executable, "-m", "lrulab", *args], capture_output=True,
                          text=True, check=False)


def test_bisect_names_the_commit_that_brings_the_bug_in():
    """B5 needs the list_lru queue: ok up to 7.1, a use-after-free from series v1 on."""
    r = lrulab("bisect", B5)
    assert r.returncode == 0, r.stderr
    assert "first bad commit: fafaeceb89a5 mm: switch deferred split shrinker to list_lru " \
           "(7.2, posted in series-v1)" in r.stdout
    assert "violation of no_use_after_free" in r.stdout and "deferred_split_isolate" in r.stdout


def test_bisect_names_the_series_v5_patch_that_fixes_it():
    r = lrulab("bisect", B5, "--good", "series-v4", "--bad", "series-v5", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["good_verdict"] == "violation" and out["step"] == ["series-v4", "series-v5"]
    assert out["commit"]["flag"] == "isolate_flags_before_isolate"
    assert out["commit"]["verdict"] == "ok" and out["commit"]["posted"] == ["series-v5"]
    assert out["trace"]["property"] == "no_use_after_free"


def test_bisect_walks_points_in_history_order():
    out = json.loads(lrulab("bisect", B5, "--good", "v0", "--bad", "v7.2", "--json").stdout)
    assert [p["point"] for p in out["points"]] == ["6.12", "6.13", "6.18", "6.19", "7.0",
                                                   "7.1", "series-v1"]


def test_bisect_exit_1_when_the_verdict_never_changes():
    r = lrulab("bisect", B5, "--good", "6.12", "--bad", "7.0")
    assert r.returncode == 1 and "the verdict stays ok from 6.12 to 7.0" in r.stdout


def test_bisect_bad_input_and_incomplete():
    r = lrulab("bisect", B5, "--good", "v9")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "unknown kernel 'v9'" in r.stderr
    r = lrulab("bisect", B5, "--property", "nope")
    assert r.returncode == 2 and "unknown property" in r.stderr
    assert lrulab("bisect", B5 + ".missing").returncode == 2
    r = lrulab("bisect", B5, "--timeout", "0.000001")
    assert r.returncode == 3 and "incomplete" in r.stdout


SCAN16 = str(Path(__file__).resolve().parents[1] / "scenarios" / "bugs"
             / "scan-unlocked-del-race.yaml")
SCAN17 = str(Path(__file__).resolve().parents[1] / "scenarios" / "bugs"
             / "scan-safe-folio-after-split.yaml")


def test_bisect_names_e66f3185fa04_as_the_fix_of_the_unlocked_scan_unlink():
    """History bug 16: a violation at 6.12-rc1, fixed by e66f3185fa04 in 6.12-rc7."""
    out = json.loads(lrulab("bisect", SCAN16, "--good", "6.12-rc1", "--bad", "6.12",
                            "--json").stdout)
    assert out["good_verdict"] == "violation" and out["step"] == ["6.12-rc1", "6.12-rc7"]
    assert out["commit"]["commit"] == "e66f3185fa04" and out["commit"]["verdict"] == "ok"
    assert out["trace"]["property"] == "list_integrity"


def test_bisect_names_hughs_hotfix_as_the_fix_of_the_wrong_safe_folio():
    """History bug 17: still a violation at 6.12-rc7 (e66f3185fa04), fixed by a3477c9e02cc."""
    out = json.loads(lrulab("bisect", SCAN17, "--good", "6.12-rc7", "--bad", "6.12",
                            "--json").stdout)
    assert out["good_verdict"] == "violation" and out["step"] == ["6.12-rc7", "6.12"]
    assert out["commit"]["commit"] == "a3477c9e02cc"
    assert out["commit"]["flag"] == "scan_safe_folio_after_split"


UAF11 = str(Path(__file__).resolve().parents[1] / "scenarios" / "bugs"
            / "list-lru-obj-memcg-uaf.yaml")


def test_bisect_list_lru_obj_uaf_in_and_out():
    """History bug 11: 0a97c01cd20b brings it in (6.8), 5161b48712dc takes it out (6.11)."""
    r = lrulab("bisect", UAF11)
    assert r.returncode == 0, r.stderr
    assert "first bad commit: 0a97c01cd20b list_lru: allow explicit memcg and NUMA node " \
           "selection (6.8)" in r.stdout
    out = json.loads(lrulab("bisect", UAF11, "--good", "6.8", "--bad", "6.12", "--json").stdout)
    assert out["good_verdict"] == "violation" and out["step"] == ["6.10", "6.11"]
    assert out["commit"]["commit"] == "5161b48712dc" and out["commit"]["verdict"] == "ok"
    assert out["trace"]["property"] == "no_use_after_free"


MIG12 = str(Path(__file__).resolve().parents[1] / "scenarios" / "bugs"
            / "migrate-memcg-transfer-queue.yaml")


def test_bisect_migration_memcg_transfer_in_and_out():
    """History bug 12: 85ce2c517ade brings it in (6.7-rc1), 9bcef5973e31 fixes it (6.7)."""
    r = lrulab("bisect", MIG12)
    assert r.returncode == 0, r.stderr
    assert "first bad commit: 85ce2c517ade memcontrol: only transfer the memcg data for " \
           "migration (6.7-rc1)" in r.stdout
    out = json.loads(lrulab("bisect", MIG12, "--good", "6.7-rc1", "--bad", "6.12",
                            "--json").stdout)
    assert out["step"] == ["6.7-rc1", "6.7"] and out["commit"]["commit"] == "9bcef5973e31"
