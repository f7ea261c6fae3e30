"""Symmetry reduction (interchangeable memcgs) against plain search.

On symmetric scenarios: the same verdict and trace, the same set of reachable final states
(each mapped to its canonical, symmetry-reduced fingerprint), strictly fewer states.  On a
scenario whose symmetry is broken: no symmetry found, nothing merged.  Every catalog file in
every preset: the same verdicts and traces with and without it.
"""

from pathlib import Path

import pytest

from lrulab.check.engine import Bounds, explore
from lrulab.check.report import check_file, world_for
from lrulab.kernel.config import PRESETS
from lrulab.scenario import ScenarioError, load_scenario
from lrulab.world import KernelWorld, find_symmetries

ROOT = Path(__file__).resolve().parents[2]
BUGS = sorted((ROOT / "scenarios" / "bugs").glob("*.yaml"))
HERE = Path(__file__).resolve().parent / "scenarios"
SYMMETRIC = [HERE / "sym-siblings.yaml", HERE / "sym-cousins.yaml",
             ROOT / "scenarios" / "bugs" / "b2-nokmem-shared-list.yaml"]
BROKEN = HERE / "sym-broken.yaml"


class CanonFinals:
    """A world for a plain search that also records the symmetry-reduced fingerprint of
    every final state it meets."""

    def __init__(self, w):
        self.w = w
        self.canon = KernelWorld(w.sc)
        self.canon.set_symmetry(True)
        self.finals = set()
        self.threads = w.threads
        self.property_order = list(w.sc.check)

    def __getattr__(self, name):
        return getattr(self.w, name)

    def end_violations(self, h):
        self.finals.add(self.canon.fingerprint(h))
        return self.w.end_violations(h)


def _full(path, **kw):
    _, res, rendered = check_file(str(path), {}, Bounds(timeout=300), stop_at_first=False,
                                  **kw)
    return res, [(r["property"], r["schedule"]) for r in rendered]


def test_symmetries_found():
    sib = find_symmetries(load_scenario(str(HERE / "sym-siblings.yaml")))
    assert sib == [({"A": "B", "B": "A"}, {"a1": "b1", "b1": "a1"}, (1, 0, 2))]
    cous = find_symmetries(load_scenario(str(HERE / "sym-cousins.yaml")))
    assert [g[0] for g in cous] == [{"P": "Q", "P/X": "Q/Y", "Q": "P", "Q/Y": "P/X"}]
    assert find_symmetries(load_scenario(str(BROKEN))) == []
    # setup in A and B (a sequence: creation order) breaks the swap
    assert find_symmetries(load_scenario(str(HERE / "three-memcgs.yaml"))) == []


@pytest.mark.parametrize("path", SYMMETRIC, ids=lambda p: p.stem)
def test_symmetry_agrees_with_plain_search(path):
    w = world_for(str(path), {})
    wrap = CanonFinals(w)
    plain = explore(wrap, Bounds(timeout=300), stop_at_first=False)
    sym, st = _full(path, symmetry=True)
    _, pt = _full(path, reduction=False)
    assert sym.verdict == plain.verdict
    assert sym.finals == wrap.finals  # the same final states, up to symmetry
    assert sym.states < plain.states
    assert st == pt  # the same cheapest trace, and a real schedule


def test_broken_symmetry_merges_nothing():
    plain, pt = _full(BROKEN, reduction=False)
    sym, st = _full(BROKEN, reduction=False, symmetry=True)
    assert sym.verdict == plain.verdict
    assert sym.states == plain.states and sym.finals == plain.finals
    assert st == pt


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("path", BUGS, ids=lambda p: p.stem)
def test_catalog_verdicts_agree(path, preset):
    ov = {"variant": preset}
    try:
        load_scenario(path, ov)
    except ScenarioError:
        pytest.skip(f"not a scenario at {preset} (charge_move after 6.12, a split to order N "
                    "before 6.9)")
    _, plain, pr = check_file(str(path), ov, Bounds(timeout=120))
    _, sym, sr = check_file(str(path), ov, Bounds(timeout=120), symmetry=True)
    assert sym.verdict == plain.verdict
    assert [(r["property"], r["schedule"]) for r in sr] == \
        [(r["property"], r["schedule"]) for r in pr]


def test_trace_out_replays_with_symmetry(tmp_path):
    from click.testing import CliRunner

    from lrulab.cli import main
    out = tmp_path / "t.json"
    # v1: deferred_split_count never returns SHRINK_EMPTY, so A's bit stays stale (B7)
    r = CliRunner().invoke(main, ["check", str(HERE / "sym-siblings.yaml"), "--symmetry",
                                  "--variant", "v1", "--trace-out", str(out)])
    assert r.exit_code == 1, r.output
    r2 = CliRunner().invoke(main, ["replay", str(out)])
    assert r2.exit_code == 0, r2.output


@pytest.mark.parametrize("seed", [13, 14, 16, 18, 19, 22, 25, 27, 28, 31, 33, 35])
def test_symmetry_agrees_on_random_symmetric_scenarios(seed):
    """Random mirrored scenarios (every property checked): full explorations with and
    without symmetry give the same verdict and final states up to symmetry."""
    from lrulab.scenario import parse_scenario

    from .randscen import random_symmetric_scenario
    sc = parse_scenario(random_symmetric_scenario(seed), f"sym-random-{seed}")
    assert find_symmetries(sc)
    b = Bounds(timeout=60, max_states=1500)
    wrap = CanonFinals(KernelWorld(sc))
    plain = explore(wrap, b, stop_at_first=False)
    sym = explore(KernelWorld(sc), b, stop_at_first=False, symmetry=True)
    if plain.bound_hit or sym.bound_hit:
        pytest.skip("grew beyond the test's bound")
    assert sym.verdict == plain.verdict
    assert sym.finals == wrap.finals
    assert sym.states <= plain.states
    assert [(v.property, v.path) for v in sym.violations] == \
        [(v.property, v.path) for v in plain.violations]


def test_symmetry_keeps_the_walk_order_of_a_pending_reclaim():
    """sym-siblings: T2's reclaim of root walks A before B (creation order), so T0 starting on
    A and its mirror, T1 starting on B, have futures that are not mirror images while that
    reclaim is still to come: not merged.  Once it has finished they are."""
    w = world_for(str(HERE / "sym-siblings.yaml"), {})
    assert w.set_symmetry(True)
    assert w.fingerprint(w.replay([(0, None)])) != w.fingerprint(w.replay([(1, None)]))
    h = w.initial()
    reclaim = []
    while not h.done[2]:
        w.apply(h, (2, None))
        reclaim.append((2, None))
    a, b = w.replay(reclaim + [(0, None)]), w.replay(reclaim + [(1, None)])
    assert w.fingerprint(a) == w.fingerprint(b)
    w.set_symmetry(False)
    assert w.fingerprint(a) != w.fingerprint(b)
