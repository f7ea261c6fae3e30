"""The long fuzz run: >= 10,000 generated inputs through run, check, conform (up to boot),
replay and simulate, command lines of bugs, bisect, sweep --show, variants --diff and the
property and kernel options, plus the output probes; prints the figures the README quotes (inputs,
command runs, tracebacks, hangs, lost files, time).  Deterministic (derandomized Hypothesis).

    PYTHONPATH=src python benchmarks/fuzz_inputs.py [--scale 1.0]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tests"))

import fuzzing as fz  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

# inputs per generator at scale 1 (10,000 in all)
PLAN = {"scenario grammar": 2400, "assert grammar": 1400, "workload grammar": 1100,
        "trace grammar": 1900, "mutated repository files": 2200, "command lines": 1000}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0)
    scale = ap.parse_args().scale
    h = fz.Harness()
    t0 = time.monotonic()

    def run(strategy, body, n):
        @settings(max_examples=max(1, int(n * scale)), derandomize=True, deadline=None,
                  database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def go(x):
            body(x)
        go()

    def mutated(kx):
        kind, data = kx
        (h.scenario if kind == "scenario" else h.workload)(data)

    for name, n in PLAN.items():
        t1, before = time.monotonic(), h.stats.inputs
        if name == "scenario grammar":
            run(fz.yaml_text(fz.scenario_doc()), h.scenario, n)
        elif name == "assert grammar":
            run(fz.yaml_text(fz.assert_scenario_doc()), h.scenario, n)
        elif name == "command lines":
            run(fz.command_line(), h.command, n)
        elif name == "workload grammar":
            run(fz.yaml_text(fz.workload_doc()), h.workload, n)
        elif name == "trace grammar":
            run(fz.trace_text(h.base_trace), h.trace, n)
        else:
            run(fz.mutated_file(), mutated, n)
        s = h.stats  # running totals: a run cut short still has its figures
        print(f"{name:<26} {s.inputs - before:>6,} inputs  {time.monotonic() - t1:7.1f} s"
              f"  | so far: {s.inputs:,} inputs, {s.runs:,} runs, exits "
              f"{dict(sorted(s.exits.items()))}, tracebacks {len(s.tracebacks)}, hangs "
              f"{len(s.hangs)}, bad messages {len(s.bad_messages)}", flush=True)
    probes = fz.output_probes(h)
    s = h.stats
    s.seconds = time.monotonic() - t0
    print(f"\ninputs {s.inputs:,} + {len(probes)} output probes; command runs {s.runs:,}; "
          f"exit statuses {dict(sorted(s.exits.items()))}")
    print(f"tracebacks {len(s.tracebacks)}, hangs {len(s.hangs)}, bad messages "
          f"{len(s.bad_messages)}, lost files {len(s.lost_files)} "
          f"(probes keeping every user file: {sum(k for _, k in probes)}/{len(probes)}); "
          f"{s.seconds:.0f} s")
    for kind, items in (("traceback", s.tracebacks), ("hang", s.hangs),
                        ("message", s.bad_messages), ("lost", s.lost_files)):
        for args, what in items[:5]:
            print(f"--- {kind}: {args}\n{what}")
    return 1 if s.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
