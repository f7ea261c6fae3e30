"""Benchmark: states / transitions / final states / seconds for full explorations (no stop at
the first violation) of the plain state graph (--no-reduction) with and without symmetry
reduction (--symmetry), one line per scenario.

    /tmp/venv/bin/python benchmarks/check_symmetry.py [PRESET]

Scenarios: every catalog file and every test scenario; `syms` is the number of non-trivial
symmetries found (0: --symmetry changes nothing, the counts must be equal).  Numbers only,
no assertions."""

import os
import sys

from bug_presets import scenario_files

from lrulab.check.engine import Bounds
from lrulab.check.report import check_file


def run(f, ov, **kw):
    w, res, _ = check_file(f, ov, Bounds(timeout=60), stop_at_first=False, reduction=False,
                           **kw)
    return w, res


def main() -> None:
    preset = sys.argv[1] if len(sys.argv) > 1 else None
    ov = {"variant": preset} if preset else {}
    files = scenario_files()
    print(f"preset: {preset or 'each file'}s own")
    print(f"{'scenario':24} {'syms':>4} {'verdict':10} {'states':>7} {'sym':>7} "
          f"{'transit.':>8} {'sym':>8} {'finals':>6} {'sym':>5} {'seconds':>7} {'sym':>6}")
    for f in files:
        name = os.path.basename(f)[:-5]
        w, a = run(f, ov)
        _, b = run(f, ov, symmetry=True)
        verdict = a.verdict if a.verdict == b.verdict else f"{a.verdict}/{b.verdict}"
        print(f"{name:24} {len(w.symmetries):>4} {verdict:10} {a.states:>7} {b.states:>7} "
              f"{a.transitions:>8} {b.transitions:>8} {len(a.finals):>6} {len(b.finals):>5} "
              f"{a.seconds:>7.2f} {b.seconds:>6.2f}")


if __name__ == "__main__":
    main()
