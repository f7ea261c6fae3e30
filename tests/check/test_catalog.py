"""The bug catalog as history, for every file of scenarios/bugs/ (files added later included):
each states where its bug came in and where it was fixed; exploration finds it at the points
where it lived and not after its fix; `lrulab bisect` over the fix names the fixing commit
(over the introduction, for a bug never fixed); `lrulab bugs` agrees at every point."""

import json
import os
import shutil
from dataclasses import fields
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrulab import bughistory as bhist
from lrulab.bisect import bisect_file
from lrulab.check.engine import Bounds
from lrulab.check.report import check_file
from lrulab.cli import main
from lrulab.kernel import history
from lrulab.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
BUGS = ROOT / "scenarios" / "bugs"
FILES = sorted(BUGS.glob("*.yaml"))
IDS = [f.stem for f in FILES]


def _history(path):
    sc = load_scenario(path)
    return sc, bhist.of(sc.expect)


def _valid(path):
    def valid(point):
        try:
            load_scenario(path, {"variant": point})
        except ScenarioError:
            return False
        return True
    return valid


def _violated(path, point, prop) -> bool:
    _, res, rendered = check_file(str(path), {"variant": point, "check": [prop]},
                                  Bounds(timeout=120), stop_at_first=True)
    assert res.verdict != "incomplete", (path.name, point)
    return any(r["property"] == prop for r in rendered)


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_every_bug_states_its_history(path):
    sc, bh = _history(path)
    assert bh is not None, f"{path.name}: expect: needs introduced: and fixed: (docs/scenarios.md)"
    assert bh.prop in sc.check
    assert any(bhist.present(bh, p) for p in bhist.checked_points()), \
        f"{path.name}: the bug lives at no point the model covers"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_found_where_it_lived_and_clean_after_its_fix(path):
    """At the first and the last point (in history's order) where the bug lives, exploration
    finds the violation; at the first point that has the fix, it does not."""
    _, bh = _history(path)
    valid = _valid(path)
    lives = [p for p in bhist.checked_points() if bhist.present(bh, p) and valid(p)]
    assert lives, f"{path.name}: a scenario at no point where its bug lives"
    for p in dict.fromkeys([lives[0], lives[-1]]):
        assert _violated(path, p, bh.prop), f"{path.name}: not found at {p}"
    if bh.fixed is not None:
        fixed = [p for p in bhist.checked_points() if valid(p) and bhist.has(bh.fixed, p)
                 and bhist.has(bh.introduced, p)]
        assert fixed, f"{path.name}: its fix is at no point the model covers"
        assert not _violated(path, fixed[0], bh.prop), f"{path.name}: still found at {fixed[0]}"


@pytest.mark.parametrize("path", FILES, ids=IDS)
def test_bisect_names_the_fixing_commit(path):
    """bisect from a point with the bug to the first point with its fix names the fix (for a
    bug never fixed: from a point before it to the first with it, naming the introduction)."""
    _, bh = _history(path)
    ends = bhist.bisect_ends(bh, _valid(path))
    if ends is None:
        pytest.skip("no pair of points the model covers (and the file is a scenario at) "
                    "around the commit: e.g. introduced before the model's first point "
                    f"({history.MODEL_FROM}) and never fixed")
    good, bad, want = ends
    out = bisect_file(str(path), good, bad, {"check": [bh.prop]}, Bounds(timeout=120))
    assert out["found"] and out["commit"] is not None, out
    assert out["good_verdict"] == ("violation" if bh.fixed else "ok")
    c = out["commit"]
    named = history.Commit(**{f.name: c[f.name] for f in fields(history.Commit)})
    assert bhist.same_commit(named, want), (named, want)
    assert want.flag in c["hunks"]  # the commit's records that were applied together
    if out["good_verdict"] == "violation":
        assert out["trace"]["property"] == bh.prop


def _bugs(*args):
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return CliRunner().invoke(main, ["bugs", *map(str, args)])
    finally:
        os.chdir(cwd)


def test_bugs_agrees_at_every_point_of_the_catalog():
    """`lrulab bugs`: every file, every point the model covers, no deviation."""
    res = _bugs("--json", "--jobs", "2")
    assert res.exit_code == 0, res.output[-3000:]
    d = json.loads(res.stdout)
    assert d["points"] == bhist.checked_points()
    assert {Path(b["file"]).stem for b in d["bugs"]} == set(IDS)
    for b in d["bugs"]:
        assert b["judged"] and b["agrees"] and not b["deviations"], b["file"]
        for p, cell in b["cells"].items():
            if cell["verdict"] != "n/a":
                assert (b["property"] in cell["violated"]) == cell["expected"], (b["file"], p)
        assert b["first"]["property"] == b["property"]
        assert len(b["first"]["trace"]) == b["first"]["steps"]


B5 = BUGS / "b5-isolate-uaf.yaml"


def test_bugs_history_line_and_matrix():
    res = _bugs(B5, "--kernel", "7.1,series-v4", "--kernel", "series-v5", "--matrix")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].split() == ["7.1", "series-v4", "series-v5"]
    assert lines[1].split() == ["b5-isolate-uaf", ".", "X", "."]
    line = next(x for x in lines[3:] if x.startswith("b5-isolate-uaf"))
    assert line.split() == [
        "b5-isolate-uaf", "no_use_after_free", "agrees", "at", "3", "points", "introduced",
        "series-v1", "fafaeceb89a5", "(thp_list_lru);", "fixed", "series-v5", "fafaeceb89a5",
        "(isolate_flags_before_isolate)"]
    assert "b5-isolate-uaf  [series-v4]" in res.output and "deferred_split_isolate" in res.output


def test_a_point_that_deviates_from_the_history_exits_1(tmp_path):
    """The file claims v4's guard fixed B5: at series-v4 the checker still finds it."""
    bad = tmp_path / "b5-wrong-fix.yaml"
    bad.write_text(B5.read_text().replace("fixed: isolate_flags_before_isolate",
                                          "fixed: alloc_deferred_memcg_disabled_guard"))
    res = _bugs(bad, "--kernel", "series-v3,series-v4,series-v5", "--matrix")
    assert res.exit_code == 1, res.output
    assert f"{bad}: at series-v4: expected no violation of no_use_after_free (the bug is not " \
           "there), found one" in res.output
    assert "DEVIATES at series-v4" in res.output
    row = next(x for x in res.output.splitlines() if x.startswith("b5-wrong-fix"))
    assert row.split()[1:] == ["X", "X!", "."]
    k = _bugs(bad, "--kernel", "series-v3,series-v4", "--format", "ktap")
    assert k.exit_code == 1
    assert "    ok 1 series-v3 # XFAIL violation of no_use_after_free" in k.output
    assert "    not ok 2 series-v4 # expected no violation" in k.output
    assert "not ok 1 b5-wrong-fix" in k.output.splitlines()


def test_bugs_ktap_json_and_selection():
    k = _bugs(B5, "--kernel", "series-v4,series-v5", "--format", "ktap")
    assert k.exit_code == 0
    assert k.output.splitlines()[:2] == ["KTAP version 1", "1..1"]
    assert "    ok 2 series-v5" in k.output and "ok 1 b5-isolate-uaf" in k.output
    # --ignore the bug's property: nothing to judge, nothing violated
    r = _bugs(B5, "--kernel", "series-v4", "--ignore", "no_use_after_free", "--json")
    b = json.loads(r.stdout)["bugs"][0]
    assert r.exit_code == 0 and not b["judged"] and b["cells"]["series-v4"]["verdict"] == "ok"
    r = _bugs(B5, "--kernel", "series-v4", "--check", "no_use_after_free,counters", "--first",
              "--json")
    d = json.loads(r.stdout)
    cell = d["bugs"][0]["cells"]["series-v4"]
    assert cell["verdict"] == "violation" and cell["violated"] == ["no_use_after_free"]
    assert d["bugs"][0]["fixed"]["point"] == "series-v5"
    assert d["bugs"][0]["introduced"]["commit"] == "fafaeceb89a5"


def test_a_point_where_the_file_is_no_scenario_is_skipped(tmp_path):
    """An mTHP order exists from 6.8: before it the file is not a scenario ('-', SKIP)."""
    f = tmp_path / "mthp.yaml"
    shutil.copy(B5, f)
    f.write_text(f.read_text().replace("as: a1}", "as: a1, order: 4}"))
    res = _bugs(f, "--kernel", "6.7,series-v4", "--matrix")
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[1].split() == ["mthp", "-", "X"]
    assert "agrees at 1 point " in res.output


def test_bugs_incomplete_checks_are_not_deviations():
    """A check cut short by its bound has no verdict on the bug: SKIP, exit 3, not 1."""
    res = _bugs(B5, "--kernel", "series-v4,series-v5", "--timeout", "0.000001", "--json")
    assert res.exit_code == 3, res.output
    b = json.loads(res.stdout)["bugs"][0]
    assert not b["deviations"] and {c["verdict"] for c in b["cells"].values()} == {"incomplete"}
