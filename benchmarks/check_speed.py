"""Checker speed on the false-alarm sweep's scenarios: states per second of CPU on a fixed
set of generated scenarios (seeds FIRST .. FIRST+N-1 on each default preset, the same bound
for every check, no timeout so that both searches stop at the same state), plain search
versus the commuting search the sweep uses (`explore(commute=True)`).  Every check must
give the same result both ways (verdict, states, transitions, final states, violations and
their traces); a mismatch is printed and the exit status is 1.

    python benchmarks/check_speed.py [N] [MAX_STATES] [FIRST]

Also prints what the bound does to the sample (how many checks stop at it, how many states
the checks that finish or find a violation need) and an estimate of the full sweep's time
(2,000 seeds x the presets on two cores) from the commuting search's CPU time per check.
CPU time (time.process_time) is measured, not wall time: on this shared machine the wall
time of a check depends on the other jobs; the two searches of a check run back to back."""

import sys
import time

from lrulab.check.engine import Bounds, explore
from lrulab.scenario import parse_scenario
from lrulab.sweep.gen import scenario_text
from lrulab.sweep.run import default_presets
from lrulab.world import KernelWorld


def run(sc, bounds: Bounds, commute: bool):
    w = KernelWorld(sc)
    w.property_order = list(sc.check)
    t = time.process_time()
    res = explore(w, bounds, sleep=True, commute=commute)
    return res, time.process_time() - t


def same(a, b) -> bool:
    def key(r):
        return (r.verdict, r.states, r.transitions, r.executions, r.finals, r.bound_hit,
                r.accepted, [(v.property, v.message, v.path, v.preemptions)
                             for v in r.violations])
    return key(a) == key(b)


def pct(xs: list, q: float) -> int:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else 0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    max_states = int(sys.argv[2]) if len(sys.argv) > 2 else 1500
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    bounds = Bounds(max_states=max_states)
    presets = default_presets()
    tot = {False: [0, 0.0, 0, 0], True: [0, 0.0, 0, 0]}  # states, cpu, transitions, steps
    bad, at_bound, done_states, viol_states = [], 0, [], []
    for seed in range(first, first + n):
        for p in presets:
            sc = parse_scenario(scenario_text(seed, p), f"sweep-{seed}.yaml")
            res = {}
            for commute in (False, True):
                r, cpu = res[commute] = run(sc, bounds, commute)
                t = tot[commute]
                t[0] += r.states
                t[1] += cpu
                t[2] += r.transitions
                t[3] += r.steps_run
            plain = res[False][0]
            if not same(plain, res[True][0]):
                bad.append((seed, p))
                print(f"MISMATCH seed {seed} on {p}", flush=True)
            if plain.bound_hit:
                at_bound += 1
            elif plain.verdict == "violation":
                viol_states.append(plain.states)
            else:
                done_states.append(plain.states)
    checks = n * len(presets)
    print(f"{checks} checks ({n} seeds from {first} x {', '.join(presets)}), max_states "
          f"{max_states}, no timeout")
    for commute, name in ((False, "plain search"), (True, "commuting search")):
        states, cpu, trans, steps = tot[commute]
        print(f"  {name:16}: {states} states, {trans} transitions, {steps} steps run, "
              f"{cpu:.1f} s CPU: {states / cpu:.0f} states/s, {1000 * cpu / states:.2f} ms "
              "per state")
    speedup = tot[False][1] / tot[True][1]
    print(f"  speed-up {speedup:.2f}x; results identical in {checks - len(bad)} of {checks} "
          "checks")
    print(f"bound: {at_bound} of {checks} checks stop at {max_states} states; the "
          f"{len(done_states)} that finish need median {pct(done_states, 0.5)}, 90th "
          f"percentile {pct(done_states, 0.9)}, max {max(done_states, default=0)} states; "
          f"the {len(viol_states)} with a violation find it by {max(viol_states, default=0)}")
    per_check = tot[True][1] / checks
    full = 2000 * len(presets) * per_check / 2 / 60
    print(f"full sweep estimate: {per_check:.2f} s CPU per check -> 2,000 x {len(presets)} "
          f"checks on 2 idle cores: about {full:.0f} min")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
