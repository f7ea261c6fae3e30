"""Sequential model throughput: kernel operations per second for a mixed workload (faults,
partial unmaps, frees, reclaims) over 64 memcgs x 2 nodes, for each preset.

    python benchmarks/model_throughput.py [--ops N] [--presets a,b]

An operation is one scenario-level kernel call (a fault, a partial unmap, a free, a memcg
reclaim pass on one node) run to completion through the same generators the checker steps."""

from __future__ import annotations

import argparse
import random
import time

from lrulab.kernel import memcontrol as mc
from lrulab.kernel import memory, rmap, vmscan
from lrulab.kernel.config import PRESETS, make_config
from lrulab.kernel.kernel import boot
from lrulab.kernel.sched import run_sync


def workload(variant: str, nops: int, seed: int = 1) -> tuple[int, float, dict]:
    k = boot(make_config(variant, nodes=2))
    k.current = k.task("bench")
    for s in range(4):
        run_sync(k, mc.cgroup_mkdir(k, f"s{s}"))
        for c in range(16):
            run_sync(k, mc.cgroup_mkdir(k, f"s{s}/c{c}"))
    memcgs = [m for p, m in k.memcgs.items() if "/" in p]
    rng = random.Random(seed)
    # the random draws are made up front: the timed loop measures the model, not the RNG
    draws = [(rng.random(), rng.random(), rng.random()) for _ in range(nops)]
    nm = len(memcgs)
    live: list = []
    t0 = time.perf_counter()
    for n, (r, u, v) in enumerate(draws):
        if r < 0.35 or not live:
            f = run_sync(k, memory.handle_mm_fault(k, f"f{n}", memcgs[int(u * nm)],
                                                   int(v * 2), 9, 512))
            if f is not None:
                live.append(f)
        elif r < 0.65:
            f = live[int(u * len(live))]
            if f.nr_pages_mapped != 1 and not f.freed:
                run_sync(k, rmap.zap_partial(k, f))
        elif r < 0.95:
            f = live.pop(int(u * len(live)))
            if not f.freed:
                run_sync(k, rmap.zap_all(k, f))
        else:
            run_sync(k, vmscan.shrink_node(k, int(v * 2), memcgs[int(u * nm)], 0))
            k.split_log.clear()
            k.scan_log.clear()
    n = nops
    dt = time.perf_counter() - t0
    return n, dt, k.vmstat


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=200_000)
    ap.add_argument("--presets", default=",".join(PRESETS))
    args = ap.parse_args()
    print(f"{'preset':<11} {'ops':>8} {'seconds':>8} {'ops/s':>9}  splits")
    for p in args.presets.split(","):
        n, dt, vm = workload(p, args.ops)
        print(f"{p:<11} {n:>8} {dt:>8.2f} {n / dt:>9,.0f}  {vm['thp_split_page']}")


if __name__ == "__main__":
    main()
