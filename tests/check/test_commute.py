"""The commuting search (explore(commute=True), used by the sweep and by `lrulab check`
when sleep sets are off) against plain search: the same state graph, so the same verdict,
states, transitions, final states, bounds and shortest traces -- only fewer steps run."""

import pytest

from lrulab.check.engine import Bounds, explore
from lrulab.scenario import parse_scenario
from lrulab.sweep.gen import scenario_text
from lrulab.world import KernelWorld

from .randscen import random_scenario


def _world(sc) -> KernelWorld:
    w = KernelWorld(sc)
    w.property_order = list(sc.check)
    return w


def _same(sc, bounds, stop_at_first=True):
    plain = explore(_world(sc), bounds, stop_at_first=stop_at_first)
    fast = explore(_world(sc), bounds, stop_at_first=stop_at_first, commute=True)
    assert "timeout" not in plain.bound_hit + fast.bound_hit, "the test's timeout is too short"
    assert fast.verdict == plain.verdict
    assert fast.states == plain.states
    assert fast.transitions == plain.transitions
    assert fast.executions == plain.executions
    assert fast.finals == plain.finals
    assert fast.bound_hit == plain.bound_hit
    assert fast.accepted == plain.accepted
    assert [(v.property, v.message, v.path, v.preemptions) for v in fast.violations] == \
        [(v.property, v.message, v.path, v.preemptions) for v in plain.violations]
    assert fast.steps_run <= plain.steps_run
    return plain, fast


# sweep scenarios (every property, termination included, so sleep sets are off) on the
# sweep's presets; max_states binds, so both searches must stop at the same state
SWEEP = [(seed, p) for seed in (0, 3, 5, 7, 11, 17, 23, 101, 104, 105)
         for p in ("linux-6.1", "debian-6.12.117", "v7.2-fixes")]


@pytest.mark.parametrize("seed,preset", SWEEP)
def test_commuting_search_is_plain_search_on_sweep_scenarios(seed, preset):
    sc = parse_scenario(scenario_text(seed, preset), f"sweep-{seed}.yaml")
    _same(sc, Bounds(max_states=400, timeout=600))


@pytest.mark.parametrize("seed", [1, 4, 7, 11, 13, 19, 25, 27])
def test_commuting_search_is_plain_search_exhaustively(seed):
    """Full explorations (every violated property traced), not stopped at the first."""
    sc = parse_scenario(random_scenario(seed), f"random-{seed}")
    _same(sc, Bounds(max_states=1500, timeout=600), stop_at_first=False)


def test_commuting_search_runs_fewer_steps():
    sc = parse_scenario(scenario_text(101, "linux-6.1"), "sweep-101.yaml")
    plain, fast = _same(sc, Bounds(max_states=400, timeout=600))
    assert fast.steps_run < 0.5 * plain.steps_run


def test_no_inference_when_violations_depend_on_the_other_threads():
    """no_data_race's messages name the steps enabled beside the one taken: the world says
    its edges cannot be inferred, and the commuting search is plain search, step for step."""
    sc = parse_scenario(scenario_text(5, "linux-6.1") + "check: [no_data_race, no_warn]\n",
                        "sweep-5.yaml")
    assert not KernelWorld(sc).infer_ok()
    plain, fast = _same(sc, Bounds(max_states=150, timeout=600))
    assert fast.steps_run == plain.steps_run


class _Clock:
    """time.monotonic for the engine that advances one second per reading: a timeout then
    falls after the same expansion in both searches (they read the clock at the same
    points: the start, each level, each expansion)."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += 1.0
        return self.now


@pytest.mark.parametrize("timeout", [5, 12, 30, 75])
def test_a_timeout_within_a_level_drops_it_as_plain_search_does(monkeypatch, timeout):
    """The commuting search takes a level's nodes in as it expands them; when time runs out
    in the middle it undoes the level, so its result is plain search's: same states, counts,
    and (for a violation found in an earlier level) the same cheapest trace."""
    import lrulab.check.engine as engine
    sc = parse_scenario(scenario_text(3, "debian-6.12.117"), "sweep-3.yaml")
    out = []
    for commute in (False, True):
        monkeypatch.setattr(engine, "time", _Clock())
        r = explore(_world(sc), Bounds(timeout=timeout), stop_at_first=False,
                    commute=commute)
        out.append((r.verdict, r.states, r.transitions, r.executions, r.steps_run > 0,
                    r.finals, r.bound_hit, [(v.property, v.path) for v in r.violations]))
    assert out[0] == out[1]
    assert "timeout" in out[0][6]
