"""Benchmark: states / transitions / executions / steps run / seconds for full explorations
(no stop at the first violation) with each reduction on and off.

    /tmp/venv/bin/python benchmarks/check_reductions.py [PRESET]

Columns: sleep = state caching + sleep sets (the default); graph = state caching only
(--no-reduction); tree = no state caching (--no-state-cache), only where it finishes within
20 s.  Numbers only, no assertions."""

import os
import sys

from bug_presets import scenario_files

from lrulab.check.engine import Bounds
from lrulab.check.report import check_file


def run(f, ov, **kw):
    _, res, _ = check_file(f, ov, Bounds(timeout=20), stop_at_first=False, **kw)
    return res


def main() -> None:
    preset = sys.argv[1] if len(sys.argv) > 1 else None
    ov = {"variant": preset} if preset else {}
    files = scenario_files()
    print(f"preset: {preset or 'each file'}s own")
    print(f"{'scenario':28} {'mode':6} {'verdict':10} {'states':>7} {'transit.':>9} "
          f"{'execs':>7} {'steps run':>10} {'seconds':>8}")
    for f in files:
        name = os.path.basename(f)[:-5]
        for mode, kw in (("sleep", {}), ("graph", {"reduction": False}),
                         ("tree", {"cache": False, "reduction": False})):
            r = run(f, ov, **kw)
            print(f"{name:28} {mode:6} {r.verdict:10} {r.states:>7} {r.transitions:>9} "
                  f"{r.executions:>7} {r.steps_run:>10} {r.seconds:>8.2f}")


if __name__ == "__main__":
    main()
