"""The whole history matrix: every catalog file x every point of history the model covers,
judged against the history each file states (`lrulab bugs --json`), with its time.

    PYTHONPATH=src python benchmarks/history_matrix.py [--jobs N]

Prints the number of files, points, cells, distinct checks (points with equal flags share
one), deviations, the wall time and the CPU time of the checks, and the load average (the
machine is shared: compare the CPU time, not only the wall time).
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    args = ap.parse_args()
    load0 = os.getloadavg()
    t0 = time.monotonic()
    cpu0 = os.times()
    r = subprocess.run([sys.executable, "-m", "lrulab", "bugs", "--json", "--jobs",
                        str(args.jobs)], cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.monotonic() - t0
    cpu1 = os.times()
    if r.returncode not in (0, 1):
        print(r.stderr, file=sys.stderr)
        return 2
    d = json.loads(r.stdout)
    cells = sum(1 for b in d["bugs"] for c in b["cells"].values() if c["verdict"] != "n/a")
    devs = sum(len(b["deviations"]) for b in d["bugs"])
    cpu = (cpu1.children_user + cpu1.children_system) - (cpu0.children_user
                                                         + cpu0.children_system)
    print(f"files {len(d['bugs'])}, points {len(d['points'])}, cells {cells}, "
          f"distinct checks {d['checks']}, deviations {devs}")
    print(f"wall {wall:.1f} s (checks {d['seconds']:.1f} s), CPU {cpu:.1f} s, jobs {args.jobs}")
    print("load average before/after: " + " ".join(f"{x:.2f}" for x in load0) + " / "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0 if devs == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
