"""Tables, explanations, the Markdown report, plots and raw metrics of a simulation.

Everything written to --out is a function of the workload, the presets and the seed only (no
wall-clock times, no host names), so the same seed gives byte-identical files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..kernel.config import kernel_flags
from .engine import COUNTERS, Metrics
from .workload import Workload

# (key, label, source, format); source 'c' = counts, 'd' = derived
ROWS = [
    ("reclaim_passes", "reclaim passes (shrink_node)", "c", "d"),
    ("kswapd_runs", "  kswapd runs", "c", "d"),
    ("memcg_reclaims", "  memcg reclaims", "c", "d"),
    ("splits", "THPs split by the shrinker", "c", "d"),
    ("freed_pages", "pages freed by deferred split", "c", "d"),
    ("freed_per_pass", "  pages freed per reclaim pass", "d", ".2f"),
    ("freed_local_node", "  on the node under pressure", "c", "d"),
    ("freed_remote_node", "  on other nodes (cross-node)", "c", "d"),
    ("cross_node_freed_pct", "  cross-node share %", "d", ".1f"),
    ("freed_in_memcg", "  in the memcg under pressure", "c", "d"),
    ("freed_other_memcg", "  in other memcgs (cross-memcg)", "c", "d"),
    ("cross_memcg_freed_pct", "  cross-memcg share %", "d", ".1f"),
    ("lost_reclaims", "lost memcg reclaims (failed; queued PM THPs unsplit)", "c", "d"),
    ("reclaim_node_checks", "  failed memcg reclaim x node with queued PM THPs", "c", "d"),
    ("oom_events", "memcg OOM kills", "c", "d"),
    ("oom_avoidable", "  avoidable by a reachable split", "c", "d"),
    ("shrinker_calls", "THP shrinker invocations", "c", "d"),
    ("shrinker_empty_bitmap", "  bitmap-driven, empty list (stale bit)", "c", "d"),
    ("empty_bitmap_calls_pct", "  stale-bit share of bitmap-driven %", "d", ".1f"),
    ("items_scanned", "items scanned", "c", "d"),
    ("scanned_per_page_freed", "  items scanned per page freed", "d", ".4f"),
    ("locks_per_pass", "lock acquisitions per reclaim pass", "d", ".2f"),
    ("max_queued", "queued THPs, max over time", "d", "d"),
    ("final_queued", "queued THPs at the end", "d", "d"),
    ("max_stranded", "THPs stranded on offline memcgs, max", "d", "d"),
    ("final_stranded", "THPs stranded on offline memcgs, end", "d", "d"),
    ("thp_faults", "THPs allocated (fault + collapse)", "c", "d"),
    ("fallbacks", "THP allocation fallbacks", "c", "d"),
    ("kernel_warnings", "kernel diagnostics (WARN, list, ...)", "c", "d"),
    ("kernel_ops", "kernel entry points run", "c", "d"),
]


def value(m: Metrics, key: str, src: str):
    return m.counts[key] if src == "c" else m.derived()[key]


def fmt(v, f: str) -> str:
    return f"{v:,}" if f == "d" else format(v, f)


def table_rows(results: list[Metrics]):
    for key, label, src, f in ROWS:
        yield label, [fmt(value(m, key, src), f) for m in results]


def print_table(results: list[Metrics], w: Workload, seed: int, duration: float,
                console=None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    if console is None:
        import sys
        console = Console() if sys.stdout.isatty() else Console(width=200)
    t = Table(title=escape(f"{w.name}: seed {seed}, {duration:g} s simulated"))
    t.add_column("metric")
    for m in results:
        t.add_column(m.preset, justify="right")
    for label, vals in table_rows(results):
        t.add_row(label, *vals)
    console.print(t)
    for line in crash_lines(results):
        console.print(line, markup=False)


def crash_lines(results: list[Metrics]) -> list[str]:
    return [f"{m.preset}: kernel oops at t={m.crash['t']:g} s, the run stopped there: "
            f"{m.crash['message']}" for m in results if m.crash]


# -- explanations ---------------------------------------------------------------------------

def _flag(preset: str, name: str) -> bool:
    return kernel_flags(preset)[name]


def _by(results, key, src="c"):
    return {m.preset: value(m, key, src) for m in results}


def _list(d: dict, f="d") -> str:
    return ", ".join(f"`{p}` {fmt(v, f)}" for p, v in d.items())


def explain(results: list[Metrics], w: Workload) -> list[str]:
    """Paragraphs naming the mechanism behind each difference between presets."""
    out = []
    nokmem = "cgroup.memory=nokmem" in w.boot
    presets = [m.preset for m in results]

    cross = _by(results, "freed_remote_node")
    if any(cross.values()):
        bad = [p for p in presets if cross[p]]
        good = [p for p in presets if not cross[p]]
        oc = [p for p in bad if not _flag(p, "thp_list_lru")]
        text = (f"**Cross-node splits** (pages freed on a node other than the one reclaimed): "
                f"{_list(cross)}. ")
        if oc:
            text += (f"In {', '.join(f'`{p}`' for p in oc)} the deferred-split queue is the "
                     "open-coded `struct deferred_split` of the memcg, one list for all nodes: "
                     "`deferred_split_count()` returns the memcg's `split_queue_len` ignoring "
                     "`sc->nid`, and `deferred_split_scan()` walks that whole queue, so a "
                     "`shrink_node()` of the node under pressure splits THPs that live on "
                     "other nodes and frees nothing where it is needed. ")
        if good and any(_flag(p, "thp_list_lru") for p in good):
            lru = ", ".join(f"`{p}`" for p in good if _flag(p, "thp_list_lru"))
            text += (f"With the list_lru queue ({lru}) "
                     "`list_lru_shrink_count()` and `list_lru_shrink_walk()` take the "
                     "(`sc->nid`, `sc->memcg`) sublist, so every split is on the reclaimed node.")
        out.append(text)

    xm = _by(results, "freed_other_memcg")
    if any(xm.values()):
        text = ("**Cross-memcg splits** (pages freed outside the memcg being reclaimed): "
                f"{_list(xm)}. ")
        ll = [p for p in presets if xm[p] and _flag(p, "thp_list_lru")]
        if ll and nokmem:
            text += ("Under `cgroup.memory=nokmem`, `__list_lru_init()` makes "
                     "`deferred_split_lru` non-memcg-aware (`list_lru_init_nokmem_unaware`), so "
                     "every memcg's THPs share the node list; a reclaim of one memcg that does "
                     "reach the shrinker splits other memcgs' THPs.")
        else:
            text += ("These are splits of THPs charged outside the subtree of the memcg whose "
                     "`shrink_slab()` call found them (a queue shared between memcgs).")
        out.append(text)

    lost = _by(results, "lost_reclaims")
    if any(lost.values()) or nokmem:
        text = (f"**Lost memcg reclaim** (a memcg reclaim that ran all priorities without "
                f"making room, and on a node where the memcg had queued partially-mapped THPs "
                f"split none of them): {_list(lost)}; avoidable "
                f"memcg OOM kills: {_list(_by(results, 'oom_avoidable'))}. ")
        s = [p for p in presets if lost[p] and _flag(p, "thp_list_lru")
             and _flag(p, "shrinker_nonslab")]
        if s and nokmem:
            text += (f"In {', '.join(f'`{p}`' for p in s)} under nokmem the THP shrinker is "
                     "still memcg-aware (`SHRINKER_NONSLAB`), but the list_lru is not: "
                     "`__list_lru_add()` sets the shrinker bit only when the shared node list "
                     "goes from 0 to 1 item, and on the memcg of that one folio "
                     "(`set_shrinker_bit()`); every other memcg's bit stays clear, so "
                     "`shrink_slab_memcg()` never calls `deferred_split_scan()` for it. ")
        s72 = [p for p in presets if lost[p] and not _flag(p, "shrinker_nonslab")]
        if s72 and nokmem:
            text += (f"In {', '.join(f'`{p}`' for p in s72)} the shrinker lost "
                     "`SHRINKER_NONSLAB`, so under nokmem `shrinker_memcg_alloc()` refuses it "
                     "a memcg id and it is not memcg-aware at all: memcg reclaim never runs it "
                     "and deferred split is left to global reclaim (the behaviour the "
                     "`memcg_reclaim_reach` property accepts for 7.2). On a host whose nodes "
                     "are not short of memory kswapd never runs, so a memcg at its limit OOMs "
                     "while its queued THPs hold splittable memory (the avoidable OOM kills "
                     "above). ")
        ok = [p for p in presets if not lost[p] and not _flag(p, "thp_list_lru")]
        if ok:
            text += (f"In {', '.join(f'`{p}`' for p in ok)} each memcg has its own open-coded "
                     "queue and `deferred_split_folio()` sets the memcg's bit on every "
                     "insertion, so memcg reclaim always reaches its THPs.")
        out.append(text)

    strand = _by(results, "max_stranded", "d")
    if any(strand.values()) or w.churn:
        text = f"**THPs stranded on offline memcgs** (max over time): {_list(strand)}. "
        v0 = [p for p in presets if strand[p] and not _flag(p, "thp_list_lru")
              and not _flag(p, "reparent_split_queue")]
        if v0:
            text += (f"{', '.join(f'`{p}`' for p in v0)} {'has' if len(v0) == 1 else 'have'} "
                     "no `reparent_deferred_split_queue()`: at `mem_cgroup_css_offline()` the "
                     "dying memcg keeps its queue, and `shrink_slab_memcg()` returns at once "
                     "for an offline memcg (`mem_cgroup_online()`), so no reclaim reaches "
                     "those THPs until their processes unmap them. ")
        fixed = [p for p in presets if not strand[p]]
        if fixed:
            text += (f"In {', '.join(f'`{p}`' for p in fixed)} the queue moves to the parent "
                     "at offline (`reparent_deferred_split_queue()` for the open-coded queue, "
                     "`memcg_reparent_list_lrus()` for list_lru) with the parent's bit set.")
        out.append(text)

    stale = _by(results, "empty_bitmap_calls_pct", "d")
    if any(stale.values()):
        text = (f"**Stale shrinker bits** (bitmap-driven THP shrinker calls that found an empty "
                f"list, % of bitmap-driven calls): {_list(stale, '.1f')}. ")
        e = [p for p in presets if _flag(p, "count_shrink_empty")]
        if e:
            text += (f"In {', '.join(f'`{p}`' for p in e)} `deferred_split_count()` returns "
                     "`SHRINK_EMPTY` for an empty list and `shrink_slab_memcg()` clears the "
                     "bit; before, it returns 0 and the bit set by `set_shrinker_bit()` stays "
                     "until the memcg dies, so every later reclaim calls the shrinker again. ")
        oc = [p for p in presets if not _flag(p, "thp_list_lru")]
        if oc and len(oc) < len(presets):
            text += (f"The open-coded queue ({', '.join(f'`{p}`' for p in oc)}) finds empty "
                     "lists less often than the list_lru designs without `count_shrink_empty` "
                     "because its count is the memcg's whole queue, all nodes together: a bit "
                     "for a node with nothing of its own still finds work there (the same "
                     "imprecision that makes cross-node splits).")
        out.append(text)

    mr = _by(results, "memcg_reclaims")
    if min(mr.values()) and max(mr.values()) > 1.1 * min(mr.values()):
        text = (f"**memcg reclaims** (faults that found their memcg at the limit): {_list(mr)}; "
                f"passes: {_list(_by(results, 'memcg_passes'))}. ")
        if any(_flag(p, "thp_list_lru") for p in presets) and w.nodes > 1 and any(
                not _flag(p, "thp_list_lru") for p in presets):
            text += ("For a memcg limit the node does not matter: a pass of the open-coded "
                     "scan splits the memcg's THPs on every node at once, a list_lru pass only "
                     "those on the pass's node, and reclaim stops as soon as the charge fits, "
                     "leaving the other node's THPs queued for the next time the memcg hits "
                     "its limit.")
        out.append(text)

    spp = _by(results, "scanned_per_page_freed", "d")
    if len(set(round(v, 4) for v in spp.values())) > 1:
        text = f"**Scan cost** (items scanned per page freed): {_list(spp, '.4f')}. "
        q = [p for p in presets if _flag(p, "queue_at_fault")]
        if q and len(q) < len(presets):
            text += ("From 6.12 (`queue_at_fault`) `__do_huge_pmd_anonymous_page()` queues every "
                     "PMD THP as maybe-underused, so `deferred_split_scan()` also walks fully "
                     "mapped THPs that `thp_underused()` rejects; 6.1 queues only on a partial "
                     "unmap (`deferred_split_huge_page()`). ")
        text += ("The list_lru walk (`list_lru_shrink_walk()`) and the open-coded walk scan "
                 "the same folios; differences come from which list a (node, memcg) call sees.")
        out.append(text)

    lpp = _by(results, "locks_per_pass", "d")
    if len(set(round(v, 2) for v in lpp.values())) > 1:
        out.append(f"**Locking** (spinlock acquisitions per reclaim pass): {_list(lpp, '.2f')}. "
                   "The open-coded scan takes the memcg's `split_queue_lock` to isolate and "
                   "again to splice or requeue (`split_queue_folio_batch` takes it per batch of "
                   "31); the list_lru scan locks the one (node, memcg) sublist in "
                   "`list_lru_shrink_walk()` and, per split, in "
                   "`__folio_freeze_and_split_unmapped()`; a call that finds no work takes none.")
    if not out:
        out.append("The presets behave alike on this workload: no metric differs.")
    return out


# -- files ----------------------------------------------------------------------------------

def metrics_json(results: list[Metrics], w: Workload, seed: int, duration: float) -> str:
    doc = {"workload": w.name, "file": Path(w.path).name, "seed": seed, "duration": duration,
           "presets": [m.as_dict() for m in results]}
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def metrics_csv(results: list[Metrics]) -> str:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    dkeys = list(results[0].derived()) if results else []
    wr.writerow(["preset", *COUNTERS, *dkeys])
    for m in results:
        d = m.derived()
        wr.writerow([m.preset, *(m.counts[c] for c in COUNTERS),
                     *(round(d[k], 6) if isinstance(d[k], float) else d[k] for k in dkeys)])
    return buf.getvalue()


def samples_csv(results: list[Metrics], nodes: int) -> str:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    keys = ["t", "queued", "stranded", "freed_pages", "freed_remote_node", "freed_other_memcg",
            "lost_reclaims", "oom_events", "oom_avoidable", "dying_memcgs"]
    wr.writerow(["preset", *keys, *(f"queued_node{n}" for n in range(nodes)),
                 *(f"free_node{n}" for n in range(nodes))])
    for m in results:
        for s in m.samples:
            wr.writerow([m.preset, *(s[k] for k in keys), *s["queued_per_node"],
                         *s["free_per_node"]])
    return buf.getvalue()


def lw_of(i: int, n: int) -> float:
    """Line widths shrink with the preset's index, so presets that coincide stay visible."""
    return 1.0 + 3.0 * (n - 1 - i) / max(n - 1, 1)


def _save(plt, fig, axes, xlabel: str, path: Path, meta: dict) -> str:
    """Label, lay out and write a two-panel figure; returns its file name."""
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90, metadata=meta)
    plt.close(fig)
    return path.name


def plots(results: list[Metrics], w: Workload, out: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    meta = {"Software": None}
    names = []
    hours = w.duration >= 7200

    def tx(s):
        return s["t"] / 3600 if hours else s["t"]
    xlabel = "time (h)" if hours else "time (s)"

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    styles = ["-", "--", ":", "-."]
    for i, m in enumerate(results):
        color = f"C{i % 10}"
        lw = lw_of(i, len(results))
        xs = [tx(s) for s in m.samples]
        if w.nodes <= len(styles) and w.nodes > 1:
            for nid in range(w.nodes):
                axes[0].plot(xs, [s["queued_per_node"][nid] for s in m.samples], color=color,
                             linestyle=styles[nid], lw=lw, label=f"{m.preset} node {nid}")
        else:
            axes[0].plot(xs, [s["queued"] for s in m.samples], color=color, lw=lw,
                         label=m.preset)
        axes[1].plot(xs, [s["stranded"] for s in m.samples], color=color, lw=lw,
                     label=m.preset)
    axes[0].set_title("queued THPs" + (" per node" if 1 < w.nodes <= len(styles) else ""))
    axes[1].set_title("THPs stranded on offline memcgs")
    names.append(_save(plt, fig, axes, xlabel, out / "queue.png", meta))

    fig, ax = plt.subplots(figsize=(11, 4))
    x = range(len(results))
    width = 0.2
    cols = [("freed_local_node", "pressured node"), ("freed_remote_node", "other nodes"),
            ("freed_in_memcg", "pressured memcg"), ("freed_other_memcg", "other memcgs")]
    for i, (key, label) in enumerate(cols):
        ax.bar([xi + (i - 1.5) * width for xi in x], [m.counts[key] for m in results], width,
               label=label)
    ax.set_xticks(list(x))
    ax.set_xticklabels([m.preset for m in results])
    ax.set_ylabel("pages freed by deferred split")
    ax.set_title("freed memory by node and memcg")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "freed.png", dpi=90, metadata=meta)
    plt.close(fig)
    names.append("freed.png")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for i, m in enumerate(results):
        lw = lw_of(i, len(results))
        axes[0].plot([tx(s) for s in m.samples], [s["lost_reclaims"] for s in m.samples],
                     lw=lw, label=m.preset)
        axes[1].plot([tx(s) for s in m.samples], [s["oom_avoidable"] for s in m.samples],
                     lw=lw, label=m.preset)
    axes[0].set_title("lost memcg reclaims (cumulative)")
    axes[1].set_title("avoidable memcg OOM kills (cumulative)")
    names.append(_save(plt, fig, axes, xlabel, out / "lost.png", meta))
    return names


def markdown(results: list[Metrics], w: Workload, seed: int, duration: float,
             pngs: list[str]) -> str:
    lines = [f"# Simulation: {w.name}", ""]
    if w.description:
        lines += [w.description.strip(), ""]
    lines += [f"Workload `{Path(w.path).name}`, seed {seed}, {duration:g} s simulated, "
              f"{w.nodes} node(s) of {w.node_pages:,} pages"
              + (f", boot `{' '.join(w.boot)}`" if w.boot else "") + ".", "",
              "## Metrics", "",
              "| metric | " + " | ".join(m.preset for m in results) + " |",
              "|---|" + "---:|" * len(results)]
    for label, vals in table_rows(results):
        text = ("&nbsp;&nbsp;" if label.startswith("  ") else "") + label.strip()
        lines.append(f"| {text} | " + " | ".join(vals) + " |")
    crashes = crash_lines(results)
    if crashes:
        lines += [""] + [f"- **{c}**" for c in crashes]
    diags = [f"- `{m.preset}`: " + ", ".join(f"{k} x{n} (first: {m.first_events[k]})"
                                             for k, n in sorted(m.events_by_kind.items()))
             for m in results if m.events_by_kind]
    if diags:
        lines += ["", "Kernel diagnostics raised by the model during the run:", ""] + diags
    lines += ["", "## Why the presets differ", ""]
    for para in explain(results, w):
        lines += [para, ""]
    lines += ["## Plots", ""]
    for p in pngs:
        lines += [f"![{p[:-4]}]({p})", ""]
    lines += ["## Queues at the end (queued THPs per memcg and node)", ""]
    for m in results:
        rows = sorted(m.final_queues.items(), key=lambda kv: (-sum(kv[1]), kv[0]))[:10]
        lines.append(f"- `{m.preset}`: " + ("; ".join(f"{p} {v}" for p, v in rows) or "empty")
                     + (" (top 10)" if len(m.final_queues) > 10 else ""))
    lines += ["", "Raw data: `metrics.json`, `metrics.csv`, `samples.csv`. Definitions: "
              "docs/simulator.md.", ""]
    return "\n".join(lines)


def write_out(results: list[Metrics], w: Workload, seed: int, duration: float, out: Path,
              with_plots: bool = True) -> list[str]:
    files = {"metrics.json": metrics_json(results, w, seed, duration),
             "metrics.csv": metrics_csv(results),
             "samples.csv": samples_csv(results, w.nodes)}
    for name, text in files.items():
        (out / name).write_text(text)
    pngs = plots(results, w, out) if with_plots else []
    (out / "report.md").write_text(markdown(results, w, seed, duration, pngs))
    return ["report.md", *files, *pngs]
