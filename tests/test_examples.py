"""The example scenarios give the outcomes the model issue states."""

import pytest

from lrulab.runner import run_scenario
from lrulab.scenario import load_scenario

EX = "scenarios/examples/"


def run(name, variant):
    return run_scenario(load_scenario(EX + name, {"variant": variant}), trace=False)


def b_splits(r):
    return sum(1 for rn, fn, m, fm in r.kernel.split_log if fm is not None and fm.path == "B")


@pytest.mark.parametrize("variant,b_split,reach_ok", [
    ("series-v5", 0, False), ("linux-6.1", 2, True), ("v1", 2, True), ("v7.2", 0, True)])
def test_nokmem_b_reclaim(variant, b_split, reach_ok):
    """series-v5: B's reclaim splits none of B's THPs; 6.1 and v1 all; v7.2: not memcg-aware,
    memcg reclaim splits nothing and memcg_reclaim_reach accepts it (global reclaim reaches)."""
    r = run("nokmem-a-first-b-later.yaml", variant)
    assert b_splits(r) == b_split
    assert (not r.properties["memcg_reclaim_reach"]) == reach_ok


def test_nokmem_v72_only_global_reclaim_splits():
    sc = load_scenario(EX + "nokmem-a-first-b-later.yaml", {"variant": "v7.2"})
    sc.threads = [[*sc.threads[0]]]
    from lrulab.scenario import Op
    sc.threads[0].append(Op("reclaim", {"memcg": "root", "node": "all"}, 0))
    r = run_scenario(sc, trace=False)
    assert b_splits(r) == 2


@pytest.mark.parametrize("variant,stranded", [("v0", True), ("v1", False), ("linux-6.1", True),
                                              ("v7.2", False)])
def test_rmdir_with_queued_thps(variant, stranded):
    r = run("rmdir-with-queued-thps.yaml", variant)
    assert bool(r.properties["reparent_complete"]) == stranded
    assert r.vmstat["thp_split_page"] == (0 if stranded else 2)


@pytest.mark.parametrize("variant,cross", [("v1", 2), ("v7.2", 0)])
def test_two_node_reclaim(variant, cross):
    r = run("two-node-reclaim.yaml", variant)
    assert len(r.properties["node_locality"]) == cross
    assert r.vmstat["thp_split_page"] == (3 if cross else 1)


def _check(name, *args):
    import json

    from click.testing import CliRunner

    from lrulab.cli import main
    r = CliRunner().invoke(main, ["check", EX + name, "--json", *args])
    return r.exit_code, json.loads(r.stdout)


def test_question_a_v72_nokmem_memcg_reclaim_never_splits_b():
    code, d = _check("q-a-nokmem-memcg-reclaim-b.yaml")
    assert code == 0 and d["verdict"] == "ok" and d["expect"]["outcome"].startswith("as exp")
    assert d["accepted"] and all(a["property"] == "memcg_reclaim_reach" for a in d["accepted"])
    code, d = _check("q-a-nokmem-memcg-reclaim-b.yaml", "--variant", "v1")
    assert code == 1 and {v["property"] for v in d["violations"]} == {"assertion"}


@pytest.mark.parametrize("variant,lost", [("linux-6.1", True), ("v0", True),
                                          ("series-v4", True), ("series-v5", False),
                                          ("v7.2", False)])
def test_question_b_migrate_while_rmdir(variant, lost):
    code, d = _check("q-b-migrate-while-rmdir.yaml", "--variant", variant,
                     "--check", "assertion")
    assert (d["verdict"] == "violation") == lost
    if lost:
        assert "reachable: global reclaim on every node would not reach c1" in \
            d["violations"][0]["message"]


def test_question_c_node0_reclaim_spares_node1():
    code, d = _check("q-c-node0-reclaim-spares-node1.yaml")
    assert code == 0 and d["verdict"] == "ok"
