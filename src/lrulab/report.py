"""Formatting a sequential run for the terminal and for --json."""

from __future__ import annotations

import click

from .runner import RunResult

THP_COUNTERS = ("thp_fault_alloc", "thp_fault_fallback", "thp_fault_fallback_charge",
                "thp_collapse_alloc", "thp_collapse_alloc_failed", "thp_deferred_split_page",
                "thp_split_page", "thp_split_page_failed", "thp_split_pmd",
                "thp_underused_split_page", "thp_migration_success", "thp_migration_fail",
                "thp_migration_split", "slabs_scanned", "nr_anon_transparent_hugepages")


def run_json(r: RunResult) -> dict:
    return {
        "scenario": r.scenario.path, "name": r.scenario.name, "variant": r.variant,
        "patches": r.patches, "boot": r.boot,
        "ops": [{"thread": o.thread, "op": o.op.text() if o.op else None,
                 "line": o.op.line if o.op else None, "result": o.result,
                 "functions": o.functions, "vmstat_delta": o.vmstat_delta, "state": o.state,
                 "events": o.events,
                 "asserts": [{"line": a.line, "holds": not m, "messages": m}
                             for a, m in o.asserts]} for o in r.ops],
        "accepted": r.accepted,
        "vmstat": r.vmstat, "memcgs": r.memcgs, "events": r.events,
        "properties": {n: {"holds": not m, "messages": m} for n, m in r.properties.items()},
        "verdict": "ok" if r.ok else "violation",
    }


def print_run(r: RunResult) -> None:
    echo = click.echo
    sc = r.scenario
    flips = "".join(f" {k}={'on' if v else 'off'}" for k, v in r.patches.items())
    echo(f"{sc.name}  [{r.variant}{flips}{' ' + ' '.join(r.boot) if r.boot else ''}]")
    prev: dict = {}
    for o in r.ops:
        if o.op is None:  # asserts at the join, before any 'after:' op
            echo(f"\n{o.thread:>5}  (all threads finished)")
        else:
            echo(f"\n{o.thread:>5}  {o.op.text()}   (line {o.op.line})  -> {o.result}")
        if o.functions:
            echo(f"       via {' > '.join(o.functions)}")
        for key, val in o.vmstat_delta.items():
            echo(f"       {key} {val:+d}")
        for e in o.events:
            echo(f"       ! {e}")
        for a, msgs in o.asserts:
            echo(f"       assert (line {a.line}): {'FAIL' if msgs else 'pass'}")
            for m in msgs:
                echo(f"          {m.split(': ', 1)[1]}")
        changed = [f"{k}: {v}" for k, v in o.state.items() if prev.get(k) != v]
        changed += [f"{k}: -" for k in prev if k not in o.state]
        for line in changed:
            echo(f"       | {line}")
        prev = o.state
    if r.kernel is not None:
        from .view import tree_lines
        echo("\nState (memcg tree: deferred-split list lengths per node, shrinker bits):")
        for line in tree_lines(r.kernel):
            echo(f"  {line}")
    echo("\nCounters (/proc/vmstat):")
    for name in THP_COUNTERS:
        echo(f"  {name:<32} {r.vmstat.get(name, 0)}")
    per_order = [name for name in r.vmstat if name.startswith("hugepages-")]
    if per_order:
        echo("\nPer-order stats (/sys/kernel/mm/transparent_hugepage/):")
        for name in per_order:
            echo(f"  {name:<44} {r.vmstat[name]}")
    echo("\nMemcgs:")
    for name, c in r.memcgs.items():
        echo(f"  {name:<10} pages {c['pages']:<6} thp_fault_alloc {c['thp_fault_alloc']:<3} "
             f"thp_collapse_alloc {c['thp_collapse_alloc']:<3} queued {c['queued_thps']}")
    echo("\nProperties:")
    for name, msgs in r.properties.items():
        echo(f"  {'ok  ' if not msgs else 'FAIL'}  {name}")
        for m in msgs:
            echo(f"          {m}")
    for name, msgs in r.accepted.items():
        for m in msgs:
            echo(f"  accepted by design: {name}: {m} (--strict makes it a violation)")
    acc = ", accepted: " + ", ".join(r.accepted) if r.accepted and r.ok else ""
    echo(f"\nverdict: {'ok' if r.ok else 'violation'}{acc}")
