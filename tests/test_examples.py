"""The example scenarios give the outcomes the model issue states."""

import pytest

from lrulab.asserts import memcg_state
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


@pytest.mark.parametrize("variant,lost,c_state", [
    # 6.1 migrates the queued THP whole and does not queue the partially mapped destination
    # again: split by no one, reached by no reclaim (as on the real 6.1 kernel, conformance
    # 09-migrate); C stays a zombie, charged with c1's pages
    ("linux-6.1", True, "offline"),
    # 6.10+ (7262f208ca68; 6.12 tests PG_partially_mapped): migrate_pages_batch splits a
    # queued partially mapped THP instead of migrating it: nothing is left to lose.  Before
    # folio reparenting (7.1) the split pages keep C a zombie
    ("v0", False, "offline"), ("linux-6.13", False, "offline"),
    # the same split; folio reparenting (lru_folio_reparent) moves C's folios to P at
    # offline, so C is released at rmdir
    ("series-v4", False, "released"), ("series-v5", False, "released"),
    ("v7.2", False, "released")])
def test_question_b_migrate_while_rmdir(variant, lost, c_state):
    """The file's asserts hold in every interleaving exactly where the kernel keeps c1 (split
    or reachable) and C removed; its --check assertion keeps the V1 lock race (A9, a
    list_integrity report on v1/series-*) out of the answer."""
    code, d = _check("q-b-migrate-while-rmdir.yaml", "--variant", variant,
                     "--check", "assertion")
    assert (d["verdict"] == "violation") == lost
    if lost:
        (v,) = d["violations"]
        assert "split: c1 is not split" in v["message"]
        assert "reachable: global reclaim on every node would not reach c1" in v["message"]
    r = run("q-b-migrate-while-rmdir.yaml", variant)
    assert memcg_state(r.kernel, "P/C") == c_state
    assert r.kernel.folios["c1"].split != lost


def test_question_c_node0_reclaim_spares_node1():
    code, d = _check("q-c-node0-reclaim-spares-node1.yaml")
    assert code == 0 and d["verdict"] == "ok"


def test_question_c_v1_mixes_nodes_and_breaks_the_assert_at_the_reclaim():
    """Where the answer is yes: V1's open-coded queue mixes the nodes (B13), and the file's
    assert after the node-0 reclaim fails at its line."""
    code, d = _check("q-c-node0-reclaim-spares-node1.yaml", "--variant", "v1", "--first",
                     "--check", "assertion")
    assert code == 1 and d["verdict"] == "violation"
    (v,) = d["violations"]
    assert v["property"] == "assertion"
    assert v["message"].endswith("q-c-node0-reclaim-spares-node1.yaml:15: not_split: n1 was split")
