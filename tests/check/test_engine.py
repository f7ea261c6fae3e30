"""The generic explorer, on a toy world that knows nothing about the kernel."""

from lrulab.check.engine import Bounds, explore


def test_lost_update_found_with_shortest_fewest_preemption_trace(toy):
    r = explore(toy())
    assert r.verdict == "violation"
    (v,) = r.violations
    assert v.property == "sum"
    # read, read, write, write: 4 steps is the shortest lost update; one preemption
    assert v.steps == 4
    assert v.preemptions == 1
    assert v.path == ((0, None), (1, None), (1, None), (0, None))


def test_atomic_increments_ok(toy):
    r = explore(toy(nthreads=3, atomic=True, incs=2))
    assert r.verdict == "ok"
    assert r.violations == []
    # states: all (pc0, pc1, pc2) in 0..2, x determined by them
    assert r.states == 27


def test_lock_protects(toy):
    assert explore(toy(lock=True)).verdict == "ok"


def test_bounds_make_incomplete_never_ok(toy):
    w = toy(nthreads=2, atomic=True, incs=3)
    assert explore(w).verdict == "ok"
    assert explore(w, Bounds(max_steps=3)).verdict == "incomplete"
    assert explore(w, Bounds(max_states=5)).verdict == "incomplete"
    r = explore(w, Bounds(max_preemptions=0))
    assert r.verdict == "incomplete" and "max_preemptions" in r.bound_hit


def test_violation_beats_bounds(toy):
    r = explore(toy(), Bounds(max_steps=4))
    assert r.verdict == "violation"


def test_preemption_bound_zero_misses_race(toy):
    # with no preemptions each thread runs to completion: the race cannot show
    r = explore(toy(), Bounds(max_preemptions=0))
    assert r.verdict == "incomplete"


def test_no_state_cache_same_verdict_and_finals(toy):
    for w in (toy(), toy(nthreads=3, atomic=True), toy(lock=True), toy(incs=2)):
        a = explore(w, stop_at_first=False)
        b = explore(w, cache=False, stop_at_first=False)
        assert a.verdict == b.verdict
        assert a.finals == b.finals
        assert b.transitions > a.transitions or w.atomic is False or b.transitions == a.transitions


def test_deterministic(toy):
    a = explore(toy(incs=2))
    b = explore(toy(incs=2))
    assert [(v.property, v.path) for v in a.violations] == \
        [(v.property, v.path) for v in b.violations]


class BackEdge:
    """Thread 0 toggles a flag twice; thread 1 spins while the flag is set, reporting each
    time (a step property), and finishes when it is clear.  Its violating step is a self-loop:
    the edge leads to a state already found at a shallower depth."""

    threads = ["T0", "T1"]

    def initial(self):
        return {"flag": 0, "pc": [0, 0], "hit": 0}

    def replay(self, path):
        h = self.initial()
        for m in path:
            self.apply(h, m)
        return h

    def moves(self, h):
        out = []
        if h["pc"][0] < 2:
            out.append((0, None))
        if h["pc"][1] < 1:
            out.append((1, None))
        return out

    def apply(self, h, m):
        if m[0] == 0:
            h["pc"][0] += 1
            h["flag"] ^= 1
            return []
        if h["flag"]:
            return [("p", "spun while the flag was set")]
        h["pc"][1] += 1
        return []

    def fingerprint(self, h):
        return (h["flag"], tuple(h["pc"]))

    def end_violations(self, h):
        return []


def test_violation_on_an_edge_into_a_known_state_is_reported():
    r = explore(BackEdge())
    assert r.verdict == "violation"
    assert r.violations[0].path == ((0, None), (1, None))


def test_violation_before_any_step_is_a_zero_step_trace(toy):
    w = toy()
    w.initial_violations = lambda: [("setup", "broken before the threads ran")]
    r = explore(w)
    assert r.verdict == "violation"
    assert r.violations[0].steps == 0 and r.violations[0].path == ()


class Spinner:
    """Thread 0 finishes in one step; thread 1 waits for a flag nobody sets, re-reading it
    forever (its state repeats): a livelock when ``stuck``, else thread 0 sets the flag."""

    threads = ["T0", "T1"]
    property_order = ["termination"]

    def __init__(self, stuck=True):
        self.stuck = stuck

    def initial(self):
        return {"flag": 0, "pc": [0, 0]}

    def replay(self, path):
        h = self.initial()
        for m in path:
            self.apply(h, m)
        return h

    def moves(self, h):
        return [(i, None) for i in (0, 1) if h["pc"][i] < 1]

    def apply(self, h, m):
        if m[0] == 0:
            h["pc"][0] = 1
            h["flag"] = 0 if self.stuck else 1
        elif h["flag"]:
            h["pc"][1] = 1
        return []

    def fingerprint(self, h):
        return (h["flag"], tuple(h["pc"]))

    def end_violations(self, h):
        return []


def test_termination_reports_a_livelock_with_the_cycle():
    r = explore(Spinner(stuck=True))
    assert r.verdict == "violation"
    (v,) = r.violations
    assert v.property == "termination" and "repeat forever" in v.message
    # from the start no final state is reachable; the trace lets T0 finish, then T1's
    # step 2 returns to the state after step 1
    assert v.path == ((0, None), (1, None))
    assert "steps 2..2 return to the state after step 1" in v.message


def test_termination_holds_when_the_spin_can_end():
    assert explore(Spinner(stuck=False)).verdict == "ok"


class TwoProps:
    """Thread 0 violates 'a' on its first step, thread 1 violates 'b' on its second."""

    threads = ["T0", "T1"]
    property_order = ["a", "b"]

    def initial(self):
        return [0, 0]

    def replay(self, path):
        h = self.initial()
        for m in path:
            self.apply(h, m)
        return h

    def moves(self, h):
        return [(i, None) for i in (0, 1) if h[i] < 2]

    def apply(self, h, m):
        h[m[0]] += 1
        if m[0] == 0 and h[0] == 1:
            return [("a", "first")]
        if m[0] == 1 and h[1] == 2:
            return [("b", "second")]
        return []

    def fingerprint(self, h):
        return tuple(h)

    def end_violations(self, h):
        from lrulab.check.engine import Accepted
        return [Accepted("c", "by design")]


def test_every_violation_gets_its_own_shortest_schedule():
    r = explore(TwoProps(), stop_at_first=False)
    assert [(v.property, v.path) for v in r.violations] == [
        ("a", ((0, None),)), ("b", ((1, None), (1, None)))]
    assert r.accepted == [("c", "by design")]


def test_first_stops_at_the_first_level():
    r = explore(TwoProps(), stop_at_first=True)
    assert [v.property for v in r.violations] == ["a"]


def test_an_expired_alarm_stops_every_search(toy):
    """The --timeout alarm's flag (engine.expire) stops a search that has no deadline of its
    own, at its next state: incomplete, bound 'timeout', never ok."""
    from lrulab.check import engine
    w = toy(nthreads=2, atomic=True, incs=3)
    try:
        engine.expire()
        for kw in ({}, {"cache": False}):
            r = explore(w, **kw)
            assert r.verdict == "incomplete" and r.bound_hit == ["timeout"]
    finally:
        engine.reset_expired()
    assert explore(w).verdict == "ok"
