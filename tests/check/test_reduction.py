"""Every reduction against plain search: same verdicts, same reachable final states.

- sleep sets (default) versus the plain state-graph search (--no-reduction), on every catalog
  file in every preset and on the test scenarios;
- state caching versus the plain tree of all interleavings (--no-state-cache), where the
  tree is small enough.
"""

from pathlib import Path

import pytest

from lrulab.check.engine import Bounds
from lrulab.check.report import check_file
from lrulab.kernel.config import PRESETS

ROOT = Path(__file__).resolve().parents[2]
BUGS = sorted((ROOT / "scenarios" / "bugs").glob("*.yaml"))
HERE = sorted((Path(__file__).resolve().parent / "scenarios").glob("*.yaml"))


def _full(path, ov, **kw):
    _, res, rendered = check_file(str(path), ov, Bounds(timeout=120), stop_at_first=False,
                                  **kw)
    return res, rendered


def _applies(path, preset) -> bool:
    """Whether the file is a scenario of that kernel (s9's split to order 4 is not on 6.1)."""
    from lrulab.scenario import ScenarioError, load_scenario
    try:
        load_scenario(path, {"variant": preset})
    except ScenarioError:
        return False
    return True


CASES = [(p, preset) for p in BUGS for preset in PRESETS if _applies(p, preset)] + \
    [(p, None) for p in HERE]


@pytest.mark.parametrize("path,preset", CASES, ids=lambda x: getattr(x, "stem", x))
def test_sleep_sets_agree_with_plain_search(path, preset):
    ov = {"variant": preset} if preset else {}
    plain, pr = _full(path, ov, reduction=False)
    red, rr = _full(path, ov, reduction=True)
    assert red.verdict == plain.verdict
    assert red.finals == plain.finals
    assert red.states == plain.states  # sleep sets prune transitions, never states
    assert red.transitions <= plain.transitions
    # the trace is the same cheapest one
    assert [(r["property"], r["schedule"]) for r in rr] == \
        [(r["property"], r["schedule"]) for r in pr]


def test_sleep_sets_prune_independent_threads():
    path = Path(__file__).resolve().parent / "scenarios" / "three-memcgs.yaml"
    plain, _ = _full(path, {}, reduction=False)
    red, _ = _full(path, {}, reduction=True)
    assert red.verdict == plain.verdict == "ok"
    assert red.transitions < 0.75 * plain.transitions


SMALL = [ROOT / "scenarios" / "bugs" / "b4-memcg-disabled-collapse.yaml",
         ROOT / "scenarios" / "bugs" / "b6-collapse-alloc-fail.yaml",
         Path(__file__).resolve().parent / "scenarios" / "get-put-race.yaml"]
MEDIUM = [(ROOT / "scenarios" / "bugs" / "b5-isolate-uaf.yaml", "series-v4"),
          (ROOT / "scenarios" / "bugs" / "b5-isolate-uaf.yaml", "series-v5"),
          (Path(__file__).resolve().parent / "scenarios" / "get-put-sequential.yaml", "v7.2")]


@pytest.mark.parametrize("preset", ["series-v3", "series-v4", "v7.2"])
@pytest.mark.parametrize("path", SMALL, ids=lambda p: p.stem)
def test_state_cache_agrees_with_the_tree(path, preset):
    ov = {"variant": preset}
    tree, tr = _full(path, ov, cache=False, reduction=False)
    graph, gr = _full(path, ov, reduction=False)
    assert tree.verdict == graph.verdict
    assert tree.finals == graph.finals
    assert [(r["property"], r["schedule"]) for r in tr] == \
        [(r["property"], r["schedule"]) for r in gr]


@pytest.mark.parametrize("path,preset", MEDIUM, ids=lambda x: getattr(x, "stem", x))
def test_state_cache_agrees_with_the_tree_medium(path, preset):
    """A few thousand interleavings: the tree finds the same final states and trace."""
    test_state_cache_agrees_with_the_tree(path, preset)


@pytest.mark.parametrize("seed", [1, 4, 7, 11, 13, 19, 25, 27, 28, 31, 34, 39])
def test_sleep_sets_agree_on_random_scenarios(seed):
    """Random 2-3 thread scenarios (every property checked): full explorations with and
    without sleep sets reach the same states and final states."""
    from lrulab.check.engine import explore
    from lrulab.scenario import parse_scenario
    from lrulab.world import KernelWorld

    from .randscen import random_scenario
    sc = parse_scenario(random_scenario(seed), f"random-{seed}")
    b = Bounds(timeout=60, max_states=3000)
    plain = explore(KernelWorld(sc), b, stop_at_first=False)
    red = explore(KernelWorld(sc), b, stop_at_first=False, sleep=True)
    if plain.bound_hit or red.bound_hit:
        pytest.skip("grew beyond the test's bound")
    assert red.verdict == plain.verdict
    assert red.finals == plain.finals
    assert red.states == plain.states
