"""Benchmark: Hypothesis stateful testing versus the checker, time to the first counterexample
per bug.

A RuleBasedStateMachine drives the same world the checker drives (lrulab.world.KernelWorld):
its one rule picks an enabled move (thread, allocation answer) at random and runs that atomic
step, asserting the step properties; teardown finishes the run (lowest enabled thread first)
and asserts the end properties.  Only the generate phase runs (no shrinking, no example
database), up to a time budget per bug.

    /tmp/venv/bin/python benchmarks/check_hypothesis.py [BUDGET_SECONDS]

Numbers only, no assertions."""

import glob
import os
import sys
import time

from bug_presets import FIRST, FIXED
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from lrulab.check.engine import Bounds
from lrulab.check.report import check_file
from lrulab.scenario import load_scenario
from lrulab.world import KernelWorld

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Found(AssertionError):
    pass


def machine(world):
    class Interleave(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.h = world.initial()

        @rule(data=st.data())
        def step(self, data):
            moves = world.moves(self.h)
            if not moves:
                return
            m = data.draw(st.sampled_from(moves))
            viol = world.apply(self.h, m)
            if viol:
                raise Found(viol[0])

        def teardown(self):
            while True:
                moves = world.moves(self.h)
                if not moves:
                    break
                viol = world.apply(self.h, moves[0])
                if viol:
                    raise Found(viol[0])
            ends = world.end_violations(self.h)
            if ends:
                raise Found(ends[0])
    return Interleave


def hypothesis_time(path, preset, budget):
    w = KernelWorld(load_scenario(path, {"variant": preset}))
    M = machine(w)
    t0 = time.perf_counter()
    examples = 0
    while time.perf_counter() - t0 < budget:
        try:
            run_state_machine_as_test(M, settings=settings(
                max_examples=50, stateful_step_count=60, deadline=None, database=None,
                phases=[Phase.generate], suppress_health_check=list(HealthCheck),
                derandomize=False))
            examples += 50
        except Found as e:
            return time.perf_counter() - t0, str(e.args[0][0])
    return None, f"none in {examples} examples"




def main() -> None:
    budget = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    fixed_budget = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    files = sorted(glob.glob(os.path.join(ROOT, "scenarios", "bugs", "*.yaml")))
    print(f"time to first counterexample (s); Hypothesis budget {budget:g} s per bug")
    print(f"{'bug':28} {'preset':10} {'checker':>8} {'hypothesis':>11} {'ratio':>7}  found")
    tot_c = tot_h = 0.0
    for f in files:
        name = os.path.basename(f)[:-5]
        p = FIRST[name]
        t0 = time.perf_counter()
        check_file(f, {"variant": p}, Bounds())
        tc = time.perf_counter() - t0
        th, what = hypothesis_time(f, p, budget)
        ths = f"{th:11.2f}" if th is not None else f"{'>' + format(budget, 'g'):>11}"
        ratio = f"{(th if th is not None else budget) / max(tc, 1e-3):7.1f}"
        tot_c += tc
        tot_h += th if th is not None else budget
        print(f"{name:28} {p:10} {tc:8.2f} {ths} {ratio}  {what}")
    print(f"total: checker {tot_c:.2f} s, Hypothesis {tot_h:.2f} s, ratio {tot_h / tot_c:.1f}")
    print(f"\nfixed presets: who can say ok? (Hypothesis budget {fixed_budget:g} s)")
    print(f"{'bug':28} {'preset':10} {'checker':>18}  hypothesis")
    for f in files:
        name = os.path.basename(f)[:-5]
        p = FIXED[name]
        t0 = time.perf_counter()
        _, res, _ = check_file(f, {"variant": p}, Bounds())
        tc = time.perf_counter() - t0
        v = res.verdict
        th, what = hypothesis_time(f, p, fixed_budget)
        hyp = f"found {what}" if th is not None else f"no verdict ({what})"
        print(f"{name:28} {p:10} {str(v) + f' {tc:.2f} s':>18}  {hyp}")


if __name__ == "__main__":
    main()
