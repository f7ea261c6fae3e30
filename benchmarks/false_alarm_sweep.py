"""The full false-alarm sweep: N generated scenarios (default 2,000) on each default preset
(the Debian points and the newest), checked within bounds, every distinct violation triaged.

    python benchmarks/false_alarm_sweep.py [N] [JOBS] [MAX_STATES] [TIMEOUT] [OUTCOMES]
    python benchmarks/false_alarm_sweep.py --report OUTCOMES

OUTCOMES (optional) is a pickle of every check's outcome, written every 100 seeds and at the
end; ``--report`` prints the report again from it, triaged by the current table (after a new
entry, without checking again).

Seeds are checked in order, each on every preset before the next seed, so a run stopped early
(SIGTERM, SIGINT) still covers the same seeds on every preset: it prints the report of the
seeds it finished on all presets and says how far it got.  Every 100 seeds a progress line
(seeds, checks, states, distinct violations by kind, minutes) goes to stderr.

Bounds: MAX_STATES (default 1,500) is the one that binds, so every run explores the same
states however loaded the machine is; TIMEOUT (default 60 s per check) is only a backstop
(a 1,500-state check takes about 1.3 s of CPU).

Prints the sweep report (as `lrulab sweep`) and one line for the README's Numbers."""

import multiprocessing as mp
import pickle
import signal
import sys
import time

from lrulab.check.engine import Bounds
from lrulab.sweep.commands import report_lines
from lrulab.sweep.run import check_seed, default_presets, summarise


def numbers(s, seeds: int, n: int, jobs: int, bounds: Bounds, outcomes=()) -> str:
    checks = sum(c["scenarios"] for c in s.per_preset.values())
    states = sum(c["states"] for c in s.per_preset.values())
    inc = sum(c["incomplete"] for c in s.per_preset.values())
    cpu = sum(getattr(o, "cpu", 0.0) for o in outcomes)
    kinds = {k: len(s.by_kind(k)) for k in ("kernel-bug", "audit")}
    part = "" if seeds == n else f" -- STOPPED EARLY: {seeds} of {n} seeds"
    return (f"Numbers: {checks} checks ({seeds} scenarios x {len(s.presets)} presets: "
            f"{', '.join(s.presets)}){part}, {states} states, {inc} at the bounds "
            f"(max {bounds.max_states} states / {bounds.timeout:g} s), {s.seconds:.0f} s with "
            f"{jobs} jobs ({cpu:.0f} s of CPU in the checks"
            f"{f', {states / cpu:.0f} states/s' if cpu else ''}); distinct violations: "
            f"{kinds['kernel-bug']} known kernel bugs, "
            f"{kinds['audit']} known false alarms (audit), {len(s.untriaged())} untriaged")


def _stop(signum, frame):
    raise KeyboardInterrupt


def report(outcomes, presets, n, jobs, bounds, seconds) -> None:
    seeds = len(outcomes) // len(presets)
    s = summarise(outcomes[:seeds * len(presets)], presets)
    s.seconds = seconds
    for line in report_lines(s):
        print(line)
    print("\n" + numbers(s, seeds, n, jobs, bounds, outcomes[:seeds * len(presets)]),
          flush=True)


def save(path, outcomes, presets, n, jobs, bounds, seconds) -> None:
    if path:
        with open(path, "wb") as f:
            pickle.dump((outcomes, presets, n, jobs, bounds, seconds), f)


def main() -> None:
    if sys.argv[1:2] == ["--report"]:
        with open(sys.argv[2], "rb") as f:
            report(*pickle.load(f))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    bounds = Bounds(max_states=int(sys.argv[3]) if len(sys.argv) > 3 else 1500,
                    timeout=float(sys.argv[4]) if len(sys.argv) > 4 else 60.0)
    path = sys.argv[5] if len(sys.argv) > 5 else None
    presets = default_presets()
    todo = [(seed, p, bounds) for seed in range(n) for p in presets]
    outcomes = []
    t0 = time.monotonic()
    signal.signal(signal.SIGTERM, _stop)
    pool = mp.get_context("fork").Pool(jobs)
    try:
        for o in pool.imap(check_seed, todo, chunksize=1):
            outcomes.append(o)
            if len(outcomes) % (100 * len(presets)) == 0:
                s = summarise(outcomes, presets)
                s.seconds = time.monotonic() - t0
                print(f"  {len(outcomes) // len(presets)} seeds: "
                      + numbers(s, len(outcomes) // len(presets), n, jobs, bounds,
                                outcomes)[9:],
                      file=sys.stderr, flush=True)
                save(path, outcomes, presets, n, jobs, bounds, s.seconds)
        pool.close()
    except KeyboardInterrupt:
        pool.terminate()
    pool.join()
    save(path, outcomes, presets, n, jobs, bounds, time.monotonic() - t0)
    report(outcomes, presets, n, jobs, bounds, time.monotonic() - t0)


if __name__ == "__main__":
    main()
