"""Benchmark: the simulator's fast path versus checker-style step-by-step execution of the
same workload (same generators, one yield at a time, with enabledness checks and a trace).

    /tmp/venv/bin/python benchmarks/sim_stepwise.py [WORKLOAD] [PRESET] [SECONDS]

Prints both times, the speed-up, and whether the final states are identical."""

import sys
import time

from lrulab.sim.engine import Simulator
from lrulab.sim.workload import load_workload, resolve


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "container-host"
    preset = sys.argv[2] if len(sys.argv) > 2 else "v7.2"
    duration = float(sys.argv[3]) if len(sys.argv) > 3 else 1800.0
    w = load_workload(resolve(name))
    out = {}
    for mode in ("fast", "stepwise"):
        s = Simulator(w, preset, duration=duration, stepwise=mode == "stepwise")
        t0 = time.perf_counter()
        s.simulate()
        dt = time.perf_counter() - t0
        out[mode] = (dt, s)
        print(f"{name} {preset} {duration:g} s, {mode:<8}: {dt:6.2f} s wall, "
              f"{s.drv.steps:,} model steps ({s.drv.steps / dt:,.0f}/s)")
    same = out["fast"][1].state() == out["stepwise"][1].state()
    print(f"speed-up {out['stepwise'][0] / out['fast'][0]:.2f}x, identical final state: {same}")


if __name__ == "__main__":
    main()
