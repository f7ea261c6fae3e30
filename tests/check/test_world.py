"""The kernel adapter: moves, steps, fingerprints, footprints."""

import random
from pathlib import Path

from lrulab.check.engine import indep
from lrulab.scenario import load_scenario
from lrulab.world import KernelWorld

ROOT = Path(__file__).resolve().parents[2]
BUGS = ROOT / "scenarios" / "bugs"
HERE = Path(__file__).resolve().parent / "scenarios"


def world(name, **ov):
    path = BUGS / f"{name}.yaml" if (BUGS / f"{name}.yaml").exists() else HERE / f"{name}.yaml"
    return KernelWorld(load_scenario(path, ov))


def test_fingerprint_does_not_depend_on_how_the_state_was_reached():
    """Fingerprinting along the way (the live state kept between levels) and replaying from
    scratch give the same fingerprint (regression: frame locals order)."""
    w = world("three-memcgs")
    rnd = random.Random(7)
    for _ in range(60):
        h = w.initial()
        path = []
        for _ in range(rnd.randint(1, 40)):
            ms = w.moves(h)
            if not ms:
                break
            w.fingerprint(h)
            m = rnd.choice(ms)
            w.apply(h, m)
            path.append(m)
        assert w.fingerprint(h) == w.fingerprint(w.replay(path))


def test_different_states_differ_and_order_of_independent_steps_does_not():
    w = world("three-memcgs")
    h = w.initial()
    a = w.replay([(0, None), (1, None)])
    b = w.replay([(1, None), (0, None)])
    assert w.fingerprint(a) == w.fingerprint(b)
    assert w.fingerprint(h) != w.fingerprint(a)


def test_fingerprint_encodes_maps_looked_up_by_key_in_key_order():
    """The per-order mTHP stats are a fixed array in the kernel: which stat a schedule bumped
    first is not state (regression: split / split_failed in either order), their values are;
    with and without symmetry."""
    for sym in (False, True):
        w = world("sym-siblings")
        w.set_symmetry(sym)
        a, b = w.initial(), w.initial()
        a.k.mthp_stat = {(9, "split"): 1, (9, "split_failed"): 1}
        b.k.mthp_stat = {(9, "split_failed"): 1, (9, "split"): 1}
        assert w.fingerprint(a) == w.fingerprint(b)
        b.k.mthp_stat[(9, "split")] = 2
        assert w.fingerprint(a) != w.fingerprint(b)


def test_starting_an_op_is_a_step_of_its_own():
    w = world("b5-isolate-uaf", variant="series-v4")
    h = w.initial()
    assert w.moves(h) == [(0, None), (1, None)]
    assert w.action(h, 0, None) == "start"
    w.apply(h, (0, None))
    assert w.action(h, 0, None) != "start"
    assert w.op_text(h, 0).startswith("reclaim:")


def test_allocation_choices_both_ways_when_injected():
    w = world("b6-collapse-alloc-fail", variant="series-v4")
    h = w.initial()
    seen = set()
    for _ in range(20):
        ms = w.moves(h)
        if not ms:
            break
        if len(ms) == 2:
            seen.add(tuple(ms))
        w.apply(h, ms[0])
    assert ((0, True), (0, False)) in seen


def test_oops_kills_the_thread_and_is_a_step_violation():
    w = world("b4-memcg-disabled-collapse", variant="series-v3")
    h = w.initial()
    viol = []
    while w.moves(h):
        viol += w.apply(h, w.moves(h)[0])
    assert h.done == [True]
    assert h.results[0][-1] == "oops"
    assert [p for p, _ in viol] == ["no_oops"]


def test_footprints_make_unrelated_steps_independent():
    w = world("three-memcgs")
    w.enable_footprints()
    h = w.initial()
    w.apply(h, (0, None))
    w.apply(h, (1, None))
    # both threads are about to take their own mmap_lock
    _, fa = w.apply_fp(w.replay([(0, None), (1, None)]), (0, None))
    _, fb = w.apply_fp(w.replay([(0, None), (1, None)]), (1, None))
    assert indep(fa, fb)


def test_footprints_see_a_shared_lock():
    w = world("b5-isolate-uaf", variant="series-v4")
    w.enable_footprints()
    # run T1 (unmap) until it wants the mmap lock, then compare with itself: same thread
    h = w.initial()
    _, f1 = w.apply_fp(h, (1, None))
    _, f2 = w.apply_fp(h, (1, None))
    assert f1[1] or f2[1]  # something written
    # a step and itself always conflict when it writes
    assert not indep(f2, f2) or not f2[1]


def test_a_crash_of_the_model_is_reported_with_its_schedule(monkeypatch):
    """An exception in model code (not an Oops) becomes a 'model_error' violation with the
    shortest schedule that reaches it, whatever the scenario checks."""
    from lrulab.check.engine import Bounds
    from lrulab.check.report import check_file
    from lrulab.kernel import rmap

    def broken(k, *args):
        raise KeyError("injected")
        yield  # a generator like the real one
    monkeypatch.setattr(rmap, "zap_partial", broken, raising=True)
    _, res, rendered = check_file(str(HERE / "three-memcgs.yaml"), {}, Bounds(timeout=30),
                                  reduction=False)
    assert res.verdict == "violation"
    assert rendered[0]["property"] == "model_error"
    assert "KeyError" in rendered[0]["message"]
