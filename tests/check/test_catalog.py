"""The bug catalog: `lrulab bugs` produces the expected matrix, and each bug's patch flag flips
its verdict (the violations come from exploration, not from the file)."""

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrulab.check.engine import Bounds
from lrulab.check.report import check_file
from lrulab.cli import main
from lrulab.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
BUGS = ROOT / "scenarios" / "bugs"

V, OK = "violation", "ok"
# file -> {preset: verdict} (the cells issue 3 lists)
EXPECTED = {
    # A1: the erase-first window of 6.13 ... 7.1 (v1 keeps THPs on its open-coded queue, whose
    # walk-up hands the list over to the parent's lock: A9, not a list race)
    "a1-reparent-erase-first": {"linux-6.1": OK, "v0": OK, "debian-6.12.117": OK,
                                "linux-6.13": V, "v1": V, "series-v3": V, "series-v4": V,
                                "series-v5": V, "v7.2": OK, "v7.2-fixes": OK},
    "a1-thp-free-erase-first": {"v0": OK, "linux-6.13": OK, "v1": OK, "series-v3": V,
                                "series-v4": V, "series-v5": V, "v7.2": OK, "v7.2-fixes": OK},
    "b1-thp-rmdir-race": {"series-v3": V, "series-v4": V, "series-v5": OK, "v7.2": OK},
    "b1-dcache-rmdir-race": {"series-v3": V, "series-v4": V, "series-v5": OK, "v7.2": OK},
    "b2-nokmem-shared-list": {"series-v5": V, "v1": OK, "v7.2": OK},
    "b4-memcg-disabled-collapse": {"series-v3": V, "series-v4": OK, "series-v5": OK,
                                   "v7.2": OK, "v7.2-fixes": OK},
    "b5-isolate-uaf": {"series-v4": V, "series-v5": OK, "v7.2": OK, "v7.2-fixes": OK},
    "b6-collapse-alloc-fail": {"series-v4": V, "series-v5": OK, "v7.2": OK, "v7.2-fixes": OK},
    "b7-stale-bits": {"v1": V, "series-v5": V, "v7.2": OK},
    "b13-node-locality": {"linux-6.1": V, "v0": V, "v1": V, "series-v3": OK, "series-v4": OK,
                          "series-v5": OK, "v7.2": OK, "v7.2-fixes": OK},
    # A9: V1's unqueue during rmdir (no fix: the list_lru series removed the code)
    "v1-unqueue-rmdir-len": {"linux-6.1": OK, "v0": OK, "debian-6.12.117": OK,
                             "linux-6.13": OK, "v1": V, "series-v3": OK, "series-v4": OK,
                             "series-v5": OK, "v7.2": OK, "v7.2-fixes": OK},
    "v72-nokmem-stale-shrinker-id": {"linux-6.1": OK, "v0": OK, "series-v5": OK, "v7.2": V,
                                     "v7.2-fixes": V},
    "offline-memcg-queue-stranded": {"linux-6.1": V, "v0": V, "v1": OK, "series-v3": OK,
                                     "v7.2": OK, "v7.2-fixes": OK},
    # S3: 6.1 migrates a partially mapped THP whole and never queues the destination; 6.10+
    # split it first (migrate_split_deferred), 8a8ca142a488 requeues (migrate_requeue_dst)
    "s3-migrate-dst-unqueued": {"linux-6.1": V, "v0": OK, "debian-6.12.117": OK,
                                "linux-6.13": OK, "v1": OK, "v7.2": OK, "v7.2-fixes": OK},
    # S4: a partial munmap of a THP under migration is never accounted (no fix known)
    "s4-munmap-during-migration": {"linux-6.1": V, "v0": V, "debian-6.12.117": V,
                                   "linux-6.13": V, "v1": V, "series-v5": V, "v7.2": V,
                                   "v7.2-fixes": V},
    # #14: only 6.10-rc7 (be9581ea8c05 without f708f6970cc9) has it: no preset does
    # (tests/test_ops_split_kind.py bisects it)
    "h14-hugetlb-deferred-list": {"linux-6.1": OK, "v0": OK, "debian-6.12.117": OK,
                                  "linux-6.13": OK, "v1": OK, "v7.2": OK, "v7.2-fixes": OK},
    # 6.9 .. 6.10-rc4 only; linux-6.1 has no split to a non-zero order: not applicable
    "s9-anon-split-to-order-warn": {"linux-6.1": "n/a", "v0": OK, "debian-6.12.117": OK,
                                    "linux-6.13": OK, "v1": OK, "v7.2": OK},
    # 307bececcd12 (6.7) .. Qi Zheng's 2026 fix (the mm tree: v7.2-fixes)
    "r1-shrinker-info-teardown-race": {"linux-6.1": OK, "v0": V, "debian-6.12.117": V,
                                       "linux-6.13": V, "v1": V, "series-v5": V, "v7.2": V,
                                       "v7.2-fixes": OK},
}
PROPERTY = {"a1-reparent-erase-first": "list_integrity",
            "a1-thp-free-erase-first": "list_integrity",
            "b1-thp-rmdir-race": "bit_coverage", "b1-dcache-rmdir-race": "bit_coverage",
            "b2-nokmem-shared-list": "memcg_reclaim_reach",
            "b4-memcg-disabled-collapse": "no_oops", "b5-isolate-uaf": "no_use_after_free",
            "b6-collapse-alloc-fail": "honest_results", "b7-stale-bits": "stale_bits",
            "b13-node-locality": "node_locality",
            "v1-unqueue-rmdir-len": "split_queue_len",
            "v72-nokmem-stale-shrinker-id": "no_warn",
            "offline-memcg-queue-stranded": "reparent_complete",
            "s3-migrate-dst-unqueued": "no_orphan",
            "s4-munmap-during-migration": "no_orphan",
            "h14-hugetlb-deferred-list": "list_integrity",
            "s9-anon-split-to-order-warn": "no_warn",
            "r1-shrinker-info-teardown-race": "no_use_after_free"}
# file -> (preset with the bug, flag, value that fixes it)
FLIP = {
    "a1-reparent-erase-first": ("series-v5", "list_lru_drain_before_erase", True),
    "a1-thp-free-erase-first": ("series-v5", "list_lru_drain_before_erase", True),
    "b1-thp-rmdir-race": ("series-v4", "list_lru_bit_on_effective_memcg", True),
    "b1-dcache-rmdir-race": ("series-v4", "list_lru_bit_on_effective_memcg", True),
    "b2-nokmem-shared-list": ("series-v5", "shrinker_nonslab", False),
    "b4-memcg-disabled-collapse": ("series-v3", "alloc_deferred_memcg_disabled_guard", True),
    "b5-isolate-uaf": ("series-v4", "isolate_flags_before_isolate", True),
    "b6-collapse-alloc-fail": ("series-v4", "collapse_alloc_fail_result", True),
    "b7-stale-bits": ("series-v5", "count_shrink_empty", True),
    "b13-node-locality": ("v1", "thp_list_lru", True),
    "offline-memcg-queue-stranded": ("linux-6.1", "reparent_split_queue", True),
    "s3-migrate-dst-unqueued": ("linux-6.1", "migrate_requeue_dst", True),
    "r1-shrinker-info-teardown-race": ("v7.2", "shrinker_info_free_unlocked", False),
}
# ... and the reverse: the fixed preset with the fix taken out has the bug again
UNFIX = {
    "a1-reparent-erase-first": "v7.2", "a1-thp-free-erase-first": "v7.2",
    "b1-thp-rmdir-race": "series-v5", "b1-dcache-rmdir-race": "series-v5",
    "b4-memcg-disabled-collapse": "series-v4", "b5-isolate-uaf": "series-v5",
    "b6-collapse-alloc-fail": "series-v5", "b7-stale-bits": "v7.2",
}


@pytest.fixture(scope="module")
def matrix():
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        res = CliRunner().invoke(main, ["bugs", "--json", "--jobs", "2"])
    finally:
        os.chdir(cwd)
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


def test_catalog_files_are_all_in_the_matrix(matrix):
    names = {Path(b["file"]).stem for b in matrix["bugs"]}
    assert names == set(EXPECTED)
    assert set(matrix["presets"]) >= {"linux-6.1", "v0", "linux-6.12", "debian-6.12.117",
                                      "linux-6.13", "v1", "series-v3", "series-v4",
                                      "series-v5", "v7.2"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_matrix_cells(matrix, name):
    bug = next(b for b in matrix["bugs"] if Path(b["file"]).stem == name)
    for preset, want in EXPECTED[name].items():
        cell = bug["cells"][preset]
        assert cell["verdict"] == want, (preset, cell)
        if want == V:
            assert cell["steps"] > 0
    first = bug["first"]
    if V not in EXPECTED[name].values():  # the bug lives only between presets (h14: -rc7)
        assert first is None
        return
    assert first is not None and first["property"] == PROPERTY[name]
    assert len(first["trace"]) == first["steps"]


@pytest.mark.parametrize("name", sorted(PROPERTY))
def test_each_bug_states_its_property(name):
    sc = load_scenario(BUGS / f"{name}.yaml")
    assert PROPERTY[name] in sc.check
    assert sc.expect["violation"] == PROPERTY[name]


@pytest.mark.parametrize("name", sorted(FLIP))
def test_patch_flag_flips_the_verdict(name):
    preset, flag, fixed = FLIP[name]
    path = str(BUGS / f"{name}.yaml")
    _, bad, rendered = check_file(path, {"variant": preset}, Bounds(timeout=60))
    assert bad.verdict == V and rendered[0]["property"] == PROPERTY[name]
    _, good, _ = check_file(path, {"variant": preset, "patches": {flag: fixed}},
                            Bounds(timeout=60))
    assert good.verdict == OK


@pytest.mark.parametrize("name", sorted(UNFIX))
def test_taking_the_fix_out_brings_the_bug_back(name):
    _, flag, fixed = FLIP[name]
    path = str(BUGS / f"{name}.yaml")
    _, res, rendered = check_file(path, {"variant": UNFIX[name], "patches": {flag: not fixed}},
                                  Bounds(timeout=60))
    assert res.verdict == V and rendered[0]["property"] == PROPERTY[name]


def test_bugs_text_matrix():
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        res = CliRunner().invoke(main, ["bugs", "--jobs", "2", "--preset", "series-v4",
                                        "--preset", "series-v5"])
    finally:
        os.chdir(cwd)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split() == ["series-v4", "series-v5"]
    row = next(line for line in lines if line.startswith("b5-isolate-uaf"))
    assert row.split()[1:] == ["violation", f"({row.split('(')[1].split()[0]}", "steps)", "ok"]
    assert "b5-isolate-uaf  [series-v4]" in res.output
