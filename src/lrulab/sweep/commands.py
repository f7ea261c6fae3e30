"""``lrulab sweep``: check N generated scenarios on each preset and triage what they find.

Exit codes: 0 every violation triaged as a known kernel bug, 1 an untriaged violation, a
model_error or a known false alarm of the model (an audit item), 2 bad input."""

from __future__ import annotations

import json
import sys
import time

import click

from ..check.engine import Bounds
from ..cli import BadInput, json_opt
from . import triage
from .gen import scenario_text
from .run import default_presets, sweep


def report_lines(s) -> list[str]:
    """The human report: per preset counts, violations by property, then each distinct
    violation (triage verdict, property, where) with its shortest trace."""
    out = []
    w = max(len(p) for p in s.presets)
    out.append(f"{'preset'.ljust(w)}  scenarios  states     ok  violation  incomplete  rejected"
               "  seconds")
    for p in s.presets:
        c = s.per_preset[p]
        out.append(f"{p.ljust(w)}  {c['scenarios']:9}  {c['states']:6}  {c['ok']:5}  "
                   f"{c['violation']:9}  {c['incomplete']:10}  {c['rejected']:8}  "
                   f"{c['seconds']:7.1f}")
    out.append("")
    out.append("violations by property (scenarios):")
    props = sorted({q for c in s.per_preset.values() for q in c["by_property"]})
    for q in props:
        cells = "  ".join(f"{p} {s.per_preset[p]['by_property'].get(q, 0)}" for p in s.presets)
        out.append(f"  {q:<20} {cells}")
    if not props:
        out.append("  none")
    groups = [("untriaged", s.untriaged()), ("known false alarms of the model (audit)",
              s.by_kind("audit")), ("known kernel bugs", s.by_kind("kernel-bug"))]
    out.append("")
    out.append("distinct violations: " + ", ".join(f"{len(g)} {n.split(' (')[0]}"
                                                    for n, g in groups))
    for name, group in groups:
        for d in sorted(group, key=lambda d: (d.property, d.where)):
            steps, pre, seed, preset = d.best
            e = triage.entry(d.verdict)
            label = d.verdict if e is None else f"{e.id} ({e.kind}"\
                + (f", {e.catalog}" if e.catalog else "") + ")"
            out.append("")
            out.append("=" * 78)
            out.append(f"[{name}] {label}: {d.property} in {d.where}")
            out.append(f"  {d.count} scenario(s) on {', '.join(sorted(d.presets))}; shortest: "
                       f"seed {seed} on {preset} (lrulab sweep --show {seed} --preset {preset})")
            if name == "untriaged" or not e or e.kind != "kernel-bug":
                out.append("")
                out += ["  " + line for line in d.trace]
    if s.rejected:
        out.append("")
        out.append(f"{len(s.rejected)} generated scenario(s) rejected by the parser "
                   "(a generator bug):")
        out += [f"  seed {seed} {p}: {err}" for seed, p, err in s.rejected[:10]]
    return out


def summary_json(s) -> dict:
    return {"presets": s.presets, "seconds": round(s.seconds, 1),
            "per_preset": s.per_preset,
            "rejected": [{"seed": a, "preset": b, "error": c} for a, b, c in s.rejected],
            "distinct": [{"triage": d.verdict, "kind": triage.kind_of(d.verdict),
                          "property": d.property, "where": d.where, "count": d.count,
                          "presets": sorted(d.presets), "seed": d.best[2],
                          "preset": d.best[3], "steps": d.best[0],
                          "preemptions": d.best[1], "message": d.message,
                          "trace": d.trace}
                         for d in s.distinct.values()]}


def failed(s) -> bool:
    """Anything but known kernel bugs: untriaged, model_error, audit false alarms, rejects."""
    return bool(s.rejected) or any(d.property == "model_error" or
                                   triage.kind_of(d.verdict) != "kernel-bug"
                                   for d in s.distinct.values())


@click.command("sweep")
@click.option("-n", "--count", default=200, show_default=True,
              help="scenarios per preset (seeds FIRST .. FIRST+N-1)")
@click.option("--first", default=0, show_default=True, help="first seed")
@click.option("--preset", "presets", multiple=True,
              help="preset to sweep (repeatable; default: the Debian points and the newest)")
@click.option("--max-states", default=3000, show_default=True, help="per check")
@click.option("--timeout", default=10.0, show_default=True, help="per check, seconds")
@click.option("--jobs", default=1, show_default=True, help="worker processes")
@click.option("--show", type=int, metavar="SEED",
              help="print the scenario of SEED (for --preset, default the first) and stop")
@json_opt
def sweep_cmd(count, first, presets, max_states, timeout, jobs, show, as_json):
    """The false-alarm sweep: generate well-formed random scenarios, check each on every
    preset within bounds, and triage every distinct violation (docs/checker.md)."""
    from ..kernel.config import PRESETS
    for p in presets:
        if p not in PRESETS:
            raise BadInput(f"--preset {p}: unknown; choose from: {', '.join(PRESETS)}")
    presets = list(presets) or default_presets()
    if show is not None:
        click.echo(scenario_text(show, presets[0]), nl=False)
        return
    if count < 1 or jobs < 1 or max_states < 1 or not 0 < timeout < float("inf"):
        raise BadInput("--count, --jobs and --max-states must be 1 or more, --timeout positive")
    prog = None
    if sys.stderr.isatty() and not as_json:
        t0 = time.monotonic()

        def prog(done, total):
            click.echo(f"\r  {done}/{total} checks  {time.monotonic() - t0:.0f}s", err=True,
                       nl=False)
    s = sweep(presets, count, first, Bounds(max_states=max_states, timeout=timeout), jobs,
              prog)
    if prog:
        click.echo("\r" + " " * 40 + "\r", err=True, nl=False)
    if as_json:
        click.echo(json.dumps(summary_json(s), indent=1))
    else:
        for line in report_lines(s):
            click.echo(line)
        click.echo(f"\n{sum(c['scenarios'] for c in s.per_preset.values())} checks in "
                   f"{s.seconds:.0f}s")
    sys.exit(1 if failed(s) else 0)
