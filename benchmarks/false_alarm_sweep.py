"""The full false-alarm sweep: N generated scenarios (default 2,000) on each default preset
(the Debian points and the newest), checked within bounds, every distinct violation triaged.

    python benchmarks/false_alarm_sweep.py [N] [JOBS] [MAX_STATES] [TIMEOUT]

Prints the sweep report (as `lrulab sweep`) and one line for the README's Numbers."""

import sys

from lrulab.check.engine import Bounds
from lrulab.sweep.commands import report_lines
from lrulab.sweep.run import default_presets, sweep


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    max_states = int(sys.argv[3]) if len(sys.argv) > 3 else 1500
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0

    def progress(done, total):
        if done % 100 == 0:
            print(f"  {done}/{total}", file=sys.stderr, flush=True)
    s = sweep(default_presets(), n, 0, Bounds(max_states=max_states, timeout=timeout), jobs,
              progress)
    for line in report_lines(s):
        print(line)
    checks = sum(c["scenarios"] for c in s.per_preset.values())
    states = sum(c["states"] for c in s.per_preset.values())
    inc = sum(c["incomplete"] for c in s.per_preset.values())
    kinds = {k: len(s.by_kind(k)) for k in ("kernel-bug", "audit")}
    print(f"\nNumbers: {checks} checks ({n} scenarios x {len(s.presets)} presets: "
          f"{', '.join(s.presets)}), {states} states, {inc} at the bounds "
          f"(max {max_states} states / {timeout:g} s), {s.seconds:.0f} s with {jobs} jobs; "
          f"distinct violations: {kinds['kernel-bug']} known kernel bugs, {kinds['audit']} "
          f"known false alarms (audit), {len(s.untriaged())} untriaged")


if __name__ == "__main__":
    main()
