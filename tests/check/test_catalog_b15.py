"""Bug 15 (f8f931bba0f9) and 5.4's charge-moving queue hunk in the catalog: found by
exploration at the points where they lived, clean after their fix, and bisected to the
fixing commit (a commit record of kernel/history.py)."""

from pathlib import Path

import pytest

from lrulab.bisect import bisect_file
from lrulab.check.engine import Bounds
from lrulab.check.report import check_file
from lrulab.kernel import history
from lrulab.scenario import ScenarioError, load_scenario

BUGS = Path(__file__).resolve().parents[2] / "scenarios" / "bugs"

# file -> (property, points where the bug lived, points after its fix, points without the op)
CASES = {
    "b15-swapout-unqueue-v1": (
        "list_integrity", ["5.4", "5.9", "debian-6.1.192", "6.10", "6.11"],
        ["6.12", "debian-6.12.117", "6.13", "7.1", "series-v5", "7.3-rc"], []),
    "b15-charge-move-queue-no-bit": (
        "no_orphan", ["5.4"], ["5.6", "debian-6.1.192", "6.11", "6.12"],
        ["6.13", "7.2"]),
}
FIXED_BY = {"b15-swapout-unqueue-v1": ("f8f931bba0f9", "swapout_unqueue_first", "6.12-rc1",
                                       "6.12-rc7"),
            "b15-charge-move-queue-no-bit": ("fac0516b5534", "move_account_skips_queue",
                                             "5.4", "5.6")}


def _verdict(name: str, point: str):
    _, res, rendered = check_file(str(BUGS / f"{name}.yaml"), {"variant": point},
                                  Bounds(timeout=60))
    return res.verdict, [r["property"] for r in rendered]


@pytest.mark.parametrize("name", sorted(CASES))
def test_found_where_the_bug_lived_and_clean_after_its_fix(name):
    prop, buggy, fixed, absent = CASES[name]
    for p in buggy:
        verdict, props = _verdict(name, p)
        assert verdict == "violation" and prop in props, (p, verdict, props)
    for p in fixed:
        assert _verdict(name, p)[0] == "ok", p
    for p in absent:
        with pytest.raises(ScenarioError, match="no charge moving"):
            load_scenario(BUGS / f"{name}.yaml", {"variant": p})


@pytest.mark.parametrize("name", sorted(CASES))
def test_expect_names_history_records(name):
    sc = load_scenario(BUGS / f"{name}.yaml")
    commit, flag, _, _ = FIXED_BY[name]
    assert sc.expect["violation"] == CASES[name][0]
    assert history.find_commit(sc.expect["fixed"]).commit == commit
    assert history.find_commit(sc.expect["introduced"]).commit == "87eaceb3faa5"
    assert any(c.flag == flag and c.commit == commit for c in history.COMMITS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bisect_names_the_fixing_commit(name):
    commit, flag, good, bad = FIXED_BY[name]
    out = bisect_file(str(BUGS / f"{name}.yaml"), good, bad, {}, Bounds(timeout=60))
    assert out["found"] and out["step"] == [good, bad]
    assert out["commit"]["commit"] == commit and out["commit"]["flag"] == flag
    assert out["commit"]["verdict"] == "ok" and out["trace"] is not None


def test_bisect_from_the_oldest_point_finds_the_swapout_fix():
    out = bisect_file(str(BUGS / "b15-swapout-unqueue-v1.yaml"), None, None, {},
                      Bounds(timeout=60))
    assert out["good"] == "5.4" and out["good_verdict"] == "violation"
    assert out["commit"]["commit"] == "f8f931bba0f9"
