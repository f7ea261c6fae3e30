"""Benchmark: a simulated day of a built-in workload, one preset per run, on one core.

    /tmp/venv/bin/python benchmarks/sim_day.py [WORKLOAD] [PRESETS] [SECONDS]

Prints wall time, kernel entry points per second and atomic model steps per second (every
yield of a kernel generator is one step: a lock acquire, a lockless read, a refcount or flag
operation -- what the checker interleaves).  No assertions: numbers only."""

import resource
import sys
import time

from lrulab.sim.engine import simulate
from lrulab.sim.workload import load_workload, resolve


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else "container-host"
    presets = (sys.argv[2] if len(sys.argv) > 2 else "v1,v7.2").split(",")
    w = load_workload(resolve(name))
    duration = float(sys.argv[3]) if len(sys.argv) > 3 else w.duration
    print(f"{name}: {duration:g} s simulated, {w.nodes} nodes")
    for p in presets:
        t0 = time.perf_counter()
        m = simulate(w, p, duration=duration)
        dt = time.perf_counter() - t0
        c = m.counts
        print(f"  {p:<10} {dt:7.1f} s wall  events {c['events']:>9,}  "
              f"kernel entry points {c['kernel_ops']:>9,} ({c['kernel_ops'] / dt:>8,.0f}/s)  "
              f"model steps {c['model_steps']:>11,} ({c['model_steps'] / dt:>9,.0f}/s)  "
              f"reclaim passes {c['reclaim_passes']:,}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {rss:.0f} MiB")


if __name__ == "__main__":
    main()
