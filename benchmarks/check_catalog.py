"""Benchmark: time to verdict for every catalog file in every preset, each bug's shortest trace
time in the preset named by issue 3, and the whole `lrulab bugs` matrix (serial and --jobs 2).

    /tmp/venv/bin/python benchmarks/check_catalog.py

Numbers only, no assertions."""

import glob
import os
import subprocess
import sys
import time

from bug_presets import FIRST

from lrulab.check.engine import Bounds
from lrulab.check.report import check_file
from lrulab.kernel.config import PRESETS
from lrulab.scenario import ScenarioError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    files = sorted(glob.glob(os.path.join(ROOT, "scenarios", "bugs", "*.yaml")))
    print("time to verdict (s), default reductions, one process:")
    print(f"{'':28}" + "".join(f"{p:>11}" for p in PRESETS))
    first = {}  # the first preset where the file's bug shows (FIRST where it names one)
    for f in files:
        name = os.path.basename(f)[:-5]
        row = []
        for p in PRESETS:
            t0 = time.perf_counter()
            try:
                _, res, _ = check_file(f, {"variant": p}, Bounds())
            except ScenarioError:  # not a scenario of this kernel (s9 before 6.9)
                row.append("n/a")
                continue
            row.append(f"{time.perf_counter() - t0:7.2f} {res.verdict[0]}")
            if res.verdict == "violation":
                first.setdefault(name, FIRST.get(name, p))
        print(f"{name:28}" + "".join(f"{c:>11}" for c in row))
    print("\nshortest trace of each bug (check + render), in its first buggy preset:")
    for name, preset in first.items():
        f = os.path.join(ROOT, "scenarios", "bugs", f"{name}.yaml")
        t0 = time.perf_counter()
        _, res, r = check_file(f, {"variant": preset}, Bounds())
        dt = time.perf_counter() - t0
        print(f"  {name:28} {preset:15} {dt:6.2f} s  {r[0]['steps']:3} steps "
              f"{r[0]['preemptions']} preemptions  {res.states} states")
    lrulab = [sys.executable, "-m", "lrulab"]  # whichever python runs this, its lrulab
    for jobs in ("1", "2"):
        t0 = time.perf_counter()
        subprocess.run([*lrulab, "bugs", "--jobs", jobs], cwd=ROOT, stdout=subprocess.DEVNULL,
                       check=False)
        print(f"\nlrulab bugs --jobs {jobs}: {time.perf_counter() - t0:.1f} s wall "
              f"({len(files)} files x {len(PRESETS)} presets)")


if __name__ == "__main__":
    main()
