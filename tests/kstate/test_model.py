from pathlib import Path

from lrulab.kstate import diff
from lrulab.kstate.model import model_state
from lrulab.ops import build_kernel
from lrulab.runner import execute
from lrulab.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def states(path, lrus=(), **overrides):
    sc = load_scenario(ROOT / path, overrides or None)
    k = build_kernel(sc)
    k.current = k.task("setup")
    out = []
    for op in list(sc.setup) + [o for t in sc.threads for o in t]:
        execute(k, op)
        out.append(model_state(k, lrus))
    return out


def test_model_state_names_queues_bits_and_folios():
    s = states("scenarios/conformance/03-offline-child-stranded.yaml")
    after_rmdir = s[6]
    assert after_rmdir["memcg P/C"] == "offline"
    assert after_rmdir["deferred_split P/C"] == ["c1", "c2"]
    assert after_rmdir["shrinker_bit thp P/C node0"] == 1
    assert after_rmdir["folio c1 mapped"] == "ptes 256"
    assert s[0]["folio c1 mapped"] == "pmd" and s[0]["folio c1 memcg"] == "P/C"
    assert s[7]["folio d1"] == "split" and "folio d1 order" not in s[7]
    assert s[9]["folio c1"] == "freed" and s[9]["deferred_split P/C"] == ["c2"]


def test_a_flipped_flag_changes_the_state_at_the_rmdir():
    """reparent_split_queue moves P/C's queue to P at offline: the state differs at op 6."""
    good = states("scenarios/conformance/03-offline-child-stranded.yaml")
    bad = states("scenarios/conformance/03-offline-child-stranded.yaml",
                 variant="linux-6.1", patches={"reparent_split_queue": True})
    first = next(i for i, (a, b) in enumerate(zip(good, bad, strict=True)) if diff(a, b))
    assert first == 6
    keys = {key for key, _, _ in diff(good[6], bad[6])}
    assert {"deferred_split P/C", "deferred_split P"} <= keys


def test_diff_lists_keys_only_one_side_has():
    assert diff({"a": 1, "b": [1]}, {"a": 1, "c": 2}) == [("b", [1], None), ("c", None, 2)]
    assert diff({"a": 1}, {"a": 1}) == []


def test_memcg_disabled_node_queues_are_keyed_by_node():
    """Regression: both per-node queues were written under one key "deferred_split node"."""
    s = states("scenarios/conformance/07-memcg-disabled-node-queues.yaml")
    last_queued = max(i for i, st in enumerate(s) if any(k.startswith("deferred_split")
                                                         for k in st))
    keys = {k for k in s[last_queued] if k.startswith("deferred_split")}
    assert keys == {"deferred_split node0", "deferred_split node1"}
    assert not any(k.startswith("memcg ") for k in s[0])


def test_a_removed_childs_dentries_are_reported_on_the_parents_sublists():
    """rmdir P/C: 6.1's memcg_reparent_list_lrus splices P/C's dentries onto P's sublists, sets
    P's bits and gives P/C (a zombie: its THP is still charged) P's kmemcg_id; the shared
    sublist is reported under P, the first memcg in pre-order with that id, as the drgn reader
    does (conformance 19 agrees on both real kernels)."""
    s = states("scenarios/conformance/19-dcache-rmdir-reparent.yaml", lrus=("dcache",))
    before, after = s[6], s[7]
    assert before["list_lru dcache P/C node0"] == 3 and before["shrinker_bit dcache P/C node0"]
    assert after["memcg P/C"] == "offline"
    assert after["memcg P/C kmemcg_id"] == after["memcg P kmemcg_id"]
    assert {k: v for k, v in after.items() if k.startswith("list_lru")} == {
        "list_lru dcache P node0": 3, "list_lru dcache P node1": 1,
        "list_lru dcache Q node0": 2}
    assert after["shrinker_bit dcache P node0"] == after["shrinker_bit dcache P node1"] == 1
