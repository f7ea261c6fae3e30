"""Benchmark: memory of a big host -- 10,000 memcgs x 4 nodes x 1,000,000 THPs.

    /tmp/venv/bin/python benchmarks/sim_memory.py [PRESET] [MEMCGS] [FOLIOS]

Boots the preset on 4 nodes, creates MEMCGS memcgs under one slice (one process each,
interleaved over the nodes), faults FOLIOS PMD THPs through the simulator's fast path and
partially unmaps every other one (so half of them sit on a deferred-split queue as partially
mapped), then prints peak RSS, queue lengths and the rate.  No assertions: numbers only."""

import resource
import sys
import time

from lrulab.sim.engine import Simulator
from lrulab.sim.workload import parse_workload


def main() -> None:
    preset = sys.argv[1] if len(sys.argv) > 1 else "v7.2"
    memcgs = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    folios = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
    text = f"""
name: big-host
host: {{nodes: 4, node_pages: {1 << 40}}}
memcgs:
  - path: t
  - {{path: "t/c{{i}}", count: {memcgs}}}
processes:
  - {{memcg: "t/c{{i}}", count: 1, policy: interleave, orders: {{9: 1}}}}
"""
    t0 = time.perf_counter()
    s = Simulator(parse_workload(text, "big-host.yaml"), preset)
    t1 = time.perf_counter()
    procs = s.groups[0].procs
    n = len(procs)
    for i in range(folios):
        p = procs[i % n]
        s._fault(p, False)
        if i & 1:
            s._partial_unmap(p)
    t2 = time.perf_counter()
    per_node, _, _ = s.queues()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    live = sum(len(p.folios) for p in procs)
    print(f"{preset}: {memcgs:,} memcgs x 4 nodes, {live:,} live THPs "
          f"({s.c['partial_unmaps']:,} partially unmapped), queued per node {per_node}")
    print(f"  boot + mkdir {t1 - t0:.1f} s, faults + unmaps {t2 - t1:.1f} s "
          f"({s.c['kernel_ops'] / (t2 - t1):,.0f} kernel entry points/s, "
          f"{s.drv.steps / (t2 - t1):,.0f} model steps/s)")
    print(f"  peak RSS {rss:,.0f} MiB ({rss / 1024:.2f} GiB)")


if __name__ == "__main__":
    main()
