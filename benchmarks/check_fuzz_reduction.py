"""Benchmark / differential run: random small scenarios (tests/check/randscen.py), full
explorations with and without sleep sets; prints states, transitions each way, seconds, and
whether the final states agree.

    /tmp/venv/bin/python benchmarks/check_fuzz_reduction.py [FIRST_SEED] [COUNT]

Numbers only (a disagreement is printed as DIFF)."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests", "check"))

from randscen import random_scenario  # noqa: E402

from lrulab.check.engine import Bounds, explore  # noqa: E402
from lrulab.scenario import parse_scenario  # noqa: E402
from lrulab.world import KernelWorld  # noqa: E402


def main() -> None:
    first = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    tot_p = tot_r = 0
    for seed in range(first, first + count):
        sc = parse_scenario(random_scenario(seed), f"random-{seed}")
        b = Bounds(timeout=30, max_states=20000)
        t0 = time.perf_counter()
        plain = explore(KernelWorld(sc), b, stop_at_first=False)
        t1 = time.perf_counter()
        red = explore(KernelWorld(sc), b, stop_at_first=False, sleep=True)
        t2 = time.perf_counter()
        if plain.bound_hit or red.bound_hit:
            print(f"{seed:4} bound hit ({plain.bound_hit or red.bound_hit})")
            continue
        same = plain.finals == red.finals and plain.verdict == red.verdict
        tot_p += plain.transitions
        tot_r += red.transitions
        print(f"{seed:4} {'same' if same else 'DIFF'} {plain.verdict:10} states {plain.states:6} "
              f"transitions {plain.transitions:6} -> {red.transitions:6}  "
              f"{t1 - t0:6.2f}s -> {t2 - t1:6.2f}s")
    if tot_p:
        print(f"transitions overall: {tot_p} -> {tot_r} ({100 * tot_r / tot_p:.0f}%)")


if __name__ == "__main__":
    main()
