from pathlib import Path

from lrulab.kstate import diff
from lrulab.kstate.model import model_state
from lrulab.ops import build_kernel
from lrulab.runner import execute
from lrulab.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def states(path, **overrides):
    sc = load_scenario(ROOT / path, overrides or None)
    k = build_kernel(sc)
    k.current = k.task("setup")
    out = []
    for op in list(sc.setup) + [o for t in sc.threads for o in t]:
        execute(k, op)
        out.append(model_state(k))
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
