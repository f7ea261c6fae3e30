"""Structure-aware fuzzing of lrulab's inputs: Hypothesis strategies over the scenario,
workload and trace grammars (valid shapes with hostile values and YAML/JSON hazards), byte-level
mutation of the repository's own files, and a harness that runs the commands in-process and
classifies each outcome against the contract: no uncaught exception, no run over its time
limit, and exit 2 with one stderr line naming ``file:line`` of the file the user gave.

Used by tests/test_fuzz.py (fixed budget) and benchmarks/fuzz_inputs.py (>= 10,000 inputs)."""

from __future__ import annotations

import json
import re
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import strategies as st

from lrulab.asserts import MEMCG_STATES, PREDICATES, THP_SHRINKER, counter_names
from lrulab.cli import main
from lrulab.kernel import history
from lrulab.kernel.config import BOOT_OPTIONS, FLAGS, PRESETS, SYSFS_ALIASES, SYSFS_DEFAULTS
from lrulab.kernel.sched import ALLOC_SITES
from lrulab.scenario import OPS, PROPERTIES

ROOT = Path(__file__).resolve().parents[1]
SEED_FILES = sorted([*ROOT.glob("scenarios/*/*.yaml"), *ROOT.glob("tests/check/scenarios/*.yaml"),
                     *ROOT.glob("workloads/*.yaml")])

# -- hostile values and text ----------------------------------------------------------------

JUNK = [None, True, False, 0, 1, -1, 2, 9, 9.0, 2.5, 1 << 70, -(1 << 40), float("nan"),
        float("inf"), float("-inf"), "", "A", "A/B", "/B", "A/", "A//B", "root", "root/A",
        "a\nb", "a b", ".", "..", "[/x]", "[bold]x", "pg{i}-{j}", "{", "}", "{i}", "all",
        "abc", "v7.2", "x" * 300, [], ["v7.2"], ["A"], [1, 2], {}, {"a": 1}, {"k": [None]}]
PATHS = ["A", "B", "A/C", "A/C/D"]
BAD_PATHS = ["/B", "A/", "A//B", "root/A", "root", "a\nb", "a b", "..", "", 7, ["A"], "x" * 70]
NAMES = ["f1", "f2", "a1", "i1"]
BAD_NAMES = ["", "f 1", "f\n1", ["f1"], 3, None]
YAML_HAZARDS = [
    "x: &a [*a]",
    "<<: {name: merged}",
    "name: !foo bar",
    "nodes: !!int two",
    "inject_alloc_failures: !!bool x",
    "name: !!timestamp 2001-12-14",
    "name: !!binary aGVsbG8=",
    "name: !!python/object/apply:os.system [true]",
    "name: !!set {a, b}",
    "seed: " + "1" * 5000,
    "nodes: " + "9" * 4400,
    "name: .nan",
    "duration: .inf",
    "kernel: {variant: v7.2}\nkernel: {variant: linux-6.1}",
    "a: " + "[" * 300 + "]" * 300,
    "a: " + "{b: " * 120 + "1" + "}" * 120,
    "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
              + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]),
    "name: \x00",
    "name: \x1b[31m",
    "\t- x",
    "%YAML 1.1\n---\nname: x",
    "--- a\n--- b",
    "? [a, b]\n: c",
    "name: 2024-01-01",
]
JSON_HAZARDS = ["[" * 5000 + "]" * 5000, "1" * 5000, "1e999", "NaN", "Infinity", "-Infinity",
                "\ud800", "{\"a\": " * 3000 + "1" + "}" * 3000]


def junk():
    return st.sampled_from(JUNK)


def maybe(strategy, p_junk: float = 0.04):
    """Mostly ``strategy``, with probability about ``p_junk`` a hostile value of any type."""
    cut = round(p_junk * 1000)
    # Hypothesis draws small integers first: the hostile side is the top of the range
    return st.integers(0, 999).flatmap(lambda n: junk() if n >= 1000 - cut else strategy)


def pick(good: list, bad: list, p_bad: float = 0.05):
    """A value from ``good``, with probability about ``p_bad`` one from ``bad``."""
    cut = round(p_bad * 1000)
    return st.integers(0, 999).flatmap(
        lambda n: st.sampled_from(bad) if n >= 1000 - cut and bad else st.sampled_from(good))


@st.composite
def op_entry(draw, memcgs, names):
    kind = draw(pick(list(OPS), ["bogus"], 0.01))
    spec = OPS.get(kind, {"x": (True, "name")})
    body = {}
    for key, (req, typ) in spec.items():
        if not req and draw(st.booleans()):
            continue
        if typ in ("memcg",):
            val = draw(pick(memcgs + ["root"], ["Z", "A/", ["A"]]))
        elif typ == "path":
            val = draw(pick(PATHS + ["E", "A/E"], BAD_PATHS))
        elif typ in ("node", "nodeall"):
            val = draw(pick([0, 0, 1, "all"], [2, -1, 0.0, True]))
        elif typ == "order":
            val = draw(pick([9, 4, 2], [9.0, 10, 1, "9"]))
        elif typ == "priority":
            val = draw(pick([0, 12, 6], [13, -1, 1.5]))
        elif typ == "int":
            val = draw(pick([0, 1, 256, 512], [513, 1024, 10 ** 6, -1, 3.0]))
        elif typ in ("name", "folio", "item"):
            val = draw(pick(names, BAD_NAMES))
        elif typ == "by":
            val = draw(pick(["kswapd", "direct"], ["Kswapd", "", ["direct"], 1, None]))
        elif typ == "lru":
            val = draw(pick(["L"], ["M", ["L"]]))
        else:  # sites
            val = draw(pick([ALLOC_SITES[0], list(ALLOC_SITES)[:2]], [["nope"], 5]))
        body[key] = draw(maybe(st.just(val), 0.01))
    if kind in ("mkdir", "rmdir", "unmap", "partial_unmap", "get", "put", "split") and \
            draw(st.booleans()):
        return {kind: next(iter(body.values()), "A")}
    return {kind: body} if draw(st.integers(0, 50)) < 50 else {kind: body, "extra": 1}


# kernel names: presets, points of history (some before the model's scope), hostile spellings
KERNELS = list(PRESETS) + history.points()
BAD_KERNELS = ["", "nope", "6.1.0", "v2.6.0", " v7.2", "7.2\n", "series-v9", "[x]", 6.1, 7,
               ["v7.2"], {"point": "7.1"}, None]
SYSFS_KNOBS = list(SYSFS_DEFAULTS) + list(SYSFS_ALIASES)
COUNTERS = sorted(counter_names()) + ["hugepages-2048kB/stats/split",
                                      "hugepages-64kB/stats/nr_anon", "hugepages-16kB/stats/split"]
BAD_COUNTERS = ["hugepages-8kB/stats/split", "hugepages-3kB/stats/split",
                "hugepages-" + "9" * 40 + "kB/stats/split", "hugepages-2048kB/stats/x",
                "nope", "", 1, None, True]
DELTAS = [0, 1, -1, 2, 512]
BAD_DELTAS = [1.5, float("nan"), float("inf"), True, None, "1", 1 << 70, -(1 << 70), [1]]


def _pred_value(draw, pred, memcgs, names, depth):
    """A value for assert predicate ``pred``: the documented shape, hostile in places."""
    folio = pick(names, BAD_NAMES + [[["f1"]], {"f1": 1}, 1.5], 0.02)
    memcg = pick(memcgs + ["root"], ["Z", "A/", ["A"], {"A": 1}, 3, None], 0.02)
    node = pick([0, 0, 0, 1], [2, -1, True, 0.0, "0", float("nan"), None], 0.02)
    if pred in ("split", "not_split", "not_queued"):
        return draw(st.one_of(folio, st.lists(folio, min_size=1, max_size=3)))
    if pred == "queued":
        if draw(st.booleans()):
            return draw(folio)
        d = {"folio": draw(folio)}
        if draw(st.booleans()):
            d["memcg"] = draw(memcg)
        if draw(st.booleans()):
            d["node"] = draw(node)
        return d
    if pred == "bit":
        d = {"memcg": draw(memcg), "node": draw(node),
             "set": draw(pick([True, False], [0, 1, "yes", None], 0.02))}
        if draw(st.booleans()):
            d["shrinker"] = draw(pick([THP_SHRINKER, "L-shrinker"], ["x", ["x"], 5], 0.03))
        return d
    if pred == "vmstat":
        return draw(st.dictionaries(pick(COUNTERS, BAD_COUNTERS, 0.03),
                                    pick(DELTAS, BAD_DELTAS, 0.03), min_size=1, max_size=2))
    if pred in ("reachable", "unreachable"):
        by = {"memcg": draw(memcg)}
        if draw(st.booleans()):
            by["node"] = draw(pick([0, "all"], [2, -1, "ALL", None], 0.03))
        return {"folio": draw(folio), "by": draw(maybe(st.just(by), 0.02))}
    if pred == "state":
        return {"memcg": draw(memcg),
                "is": draw(pick(list(MEMCG_STATES), ["dead", "", ["online"], 1], 0.03))}
    # any_of: alternatives, nested once at most
    if depth >= 1 or draw(st.integers(0, 29)) == 29:
        return draw(st.sampled_from([[], [{}], [{"split": "f1"}], "x", [[1], [2]]]))
    return [draw(assert_body(memcgs, names, depth + 1)) for _ in range(draw(st.integers(2, 3)))]


@st.composite
def assert_body(draw, memcgs, names, depth=0) -> dict:
    """The body of an ``assert:`` entry: one to three predicates."""
    preds = draw(st.lists(pick(list(PREDICATES), ["bogus", "Split", None], 0.01),
                          min_size=1, max_size=2, unique_by=str))
    return {p: _pred_value(draw, p, memcgs, names, depth) for p in preds}


@st.composite
def op_list(draw, memcgs, names, min_size=0, max_size=3):
    """Ops with ``assert:`` entries among them (after an op; sometimes first, which is bad
    input outside 'after:')."""
    out = []
    for op in draw(st.lists(op_entry(memcgs, names), min_size=min_size, max_size=max_size)):
        if out and draw(st.integers(0, 3)) == 0 or not out and draw(st.integers(0, 20)) == 20:
            out.append({"assert": draw(maybe(assert_body(memcgs, names), 0.03))})
        out.append(op)
    if draw(st.integers(0, 2)) == 0:
        out.append({"assert": draw(maybe(assert_body(memcgs, names), 0.03))})
    return out


@st.composite
def scenario_doc(draw) -> dict:
    """A scenario in the documented grammar, with hostile values in some places."""
    memcgs = draw(st.lists(pick(["A", "B", "A/C"], BAD_PATHS, 0.02), max_size=3,
                           unique_by=str))
    good = [m for m in memcgs if isinstance(m, str)] or ["A"]
    names = NAMES
    key = draw(st.sampled_from(["variant", "variant", "point"]))
    kernel = {key: draw(maybe(pick(KERNELS if key == "point" else list(PRESETS), BAD_KERNELS,
                                   0.05)))}
    if draw(st.integers(0, 30)) == 30:  # both: bad input
        kernel["point"] = draw(st.sampled_from(KERNELS))
    if draw(st.booleans()):
        kernel["patches"] = draw(maybe(st.dictionaries(
            st.sampled_from(list(FLAGS) + ["nope"]), maybe(st.booleans()), max_size=3)))
    if draw(st.booleans()):
        kernel["boot"] = draw(maybe(st.lists(st.sampled_from(list(BOOT_OPTIONS) + ["x"]),
                                             max_size=2)))
    if draw(st.booleans()):
        kernel["nodes"] = draw(maybe(st.integers(1, 3)))
    if draw(st.booleans()):
        kernel["sysfs"] = draw(maybe(st.dictionaries(
            st.sampled_from(SYSFS_KNOBS + ["nope"]),
            pick([True, False, 0, 511], [512, -1, "abc", 1.5, None]), max_size=2)))
    if draw(st.booleans()):
        kernel["lrus"] = draw(maybe(st.dictionaries(
            st.sampled_from(["L", "M", "a b"]),
            maybe(st.fixed_dictionaries({"memcg_aware": maybe(st.booleans()),
                                         "shrinker": maybe(st.lists(st.sampled_from(
                                             ["numa_aware", "memcg_aware", "nonslab", "x"]),
                                             max_size=2))})), max_size=2)))
    if draw(st.integers(0, 5)) == 0:
        kernel["inject_alloc_failures"] = draw(maybe(st.booleans()))
    doc = {"name": draw(pick(["fuzz"], ["[/x]", "a\nb"])), "kernel": kernel,
           "memcgs": draw(maybe(st.just(memcgs), 0.02)),
           "setup": draw(op_list(good, names)),
           "threads": draw(st.lists(op_list(good, names, 1, 2), max_size=3))}
    if draw(st.integers(0, 2)) == 0:
        doc["after"] = draw(maybe(st.one_of(op_list(good, names, 0, 2), st.lists(
            st.fixed_dictionaries({"assert": assert_body(good, names)}), min_size=1,
            max_size=2)), 0.03))
    if draw(st.booleans()):
        doc["check"] = draw(maybe(st.lists(st.sampled_from(list(PROPERTIES) + ["nope"]),
                                           max_size=3)))
    if draw(st.integers(0, 4)) == 0:
        doc["expect"] = draw(maybe(st.fixed_dictionaries(
            {"violation": st.sampled_from(list(PROPERTIES) + ["none", "x"])})))
    if draw(st.integers(0, 50)) == 50:
        doc["bogus"] = 1
    return doc


ASSERT_OPS = [{"partial_unmap": "f1"}, {"unmap": "f1"}, {"unmap": "f2"}, {"get": "f1"},
              {"put": "f1"}, {"split": "f2"}, {"rmdir": "B"}, {"migrate": {"folio": "f1",
                                                                           "node": 1}},
              {"reclaim": {"memcg": "A", "node": 0, "priority": 0}},
              {"reclaim": {"memcg": "root"}}, {"reclaim": {"memcg": "root", "by": "kswapd"}},
              {"reclaim": {"memcg": "root", "by": "direct"}}]


@st.composite
def assert_scenario_doc(draw) -> dict:
    """A well-formed scenario (two memcgs, two THPs, two nodes) whose ``assert:`` entries and
    ``after:`` block carry the hostility: most are valid, so the asserts are evaluated."""
    memcgs, names = ["A", "B"], ["f1", "f2"]
    key = draw(st.sampled_from(["variant", "point"]))
    kernel = {key: draw(pick(list(PRESETS) if key == "variant" else KERNELS, BAD_KERNELS,
                             0.02)), "nodes": 2}
    if draw(st.booleans()):
        knob = draw(st.sampled_from(SYSFS_KNOBS))
        good = [0, 64, 511] if knob == "khugepaged_max_ptes_none" else [True, False]
        kernel["sysfs"] = {knob: draw(pick(good, [512, "x", None], 0.05))}

    def ops(n_max):
        out = []
        for op in draw(st.lists(st.sampled_from(ASSERT_OPS), min_size=1, max_size=n_max)):
            out.append(op)
            if draw(st.integers(0, 2)) != 2:
                out.append({"assert": draw(assert_body(memcgs, names))})
        return out
    doc = {"name": "asserts", "kernel": kernel, "memcgs": memcgs,
           "setup": [{"fault": {"memcg": "A", "node": 0, "as": "f1"}},
                     {"fault": {"memcg": "B", "node": 1, "as": "f2"}},
                     {"partial_unmap": "f2"}, {"assert": draw(assert_body(memcgs, names))}],
           "threads": [ops(2) for _ in range(draw(st.integers(1, 2)))]}
    if draw(st.booleans()):
        doc["after"] = ([{"assert": draw(assert_body(memcgs, names))}]
                        if draw(st.booleans()) else []) + ops(2)
    return doc


def _num(lo, hi, integer=False):
    base = st.integers(int(lo), int(hi)) if integer else st.floats(lo, hi)
    return maybe(base, 0.1)


@st.composite
def process_doc(draw, memcgs, need_memcg=True):
    d = {}
    if need_memcg:
        d["memcg"] = draw(maybe(st.sampled_from(memcgs + ["root", "zz"])))
    for key, strat in (("count", _num(0, 4, True)),
                       ("policy", maybe(st.sampled_from(["bind", "local", "interleave", "x"]))),
                       ("node", _num(0, 2, True)), ("spill", _num(0, 1)),
                       ("written", _num(0, 1))):
        if draw(st.booleans()):
            d[key] = draw(strat)
    d["rates"] = draw(maybe(st.dictionaries(
        st.sampled_from(["fault", "partial_unmap", "unmap", "exit", "collapse", "migrate",
                         "bogus"]),
        st.one_of(st.floats(0, 2), st.sampled_from([float("inf"), float("nan"), -1, 1e9])),
        max_size=4), 0.05))
    if draw(st.booleans()):
        d["orders"] = draw(maybe(st.dictionaries(st.sampled_from([9, 4, 2, 1, 10, "9"]),
                                                 st.floats(0, 1), max_size=2)))
    return d


@st.composite
def workload_doc(draw) -> dict:
    """A workload in the documented grammar, with hostile values in some places."""
    mems = draw(st.lists(st.one_of(
        st.sampled_from(["a", "b", "a/c", "/x", "a//b", "root", "a\nb"]),
        st.fixed_dictionaries({"path": st.sampled_from(["grp{i}", "pg{i}-{j}", "w/{i}", "{",
                                                        "a/b{i}"]),
                               "count": _num(0, 4, True)},
                              optional={"limit": _num(1, 100000, True)})), max_size=4))
    paths = [m if isinstance(m, str) else m["path"] for m in mems] or ["a"]
    host = {}
    for key, strat in (("nodes", _num(1, 3, True)), ("node_pages", _num(1024, 1 << 16, True)),
                       ("watermark_low", _num(0, 0.9)), ("watermark_high", _num(0, 0.95)),
                       ("boot", maybe(st.lists(st.sampled_from(list(BOOT_OPTIONS)),
                                               max_size=1))),
                       ("patches", maybe(st.dictionaries(st.sampled_from(list(FLAGS)),
                                                         st.booleans(), max_size=2))),
                       ("sysfs", maybe(st.dictionaries(st.sampled_from(SYSFS_KNOBS),
                                                       st.sampled_from([True, 0, 511, "abc"]),
                                                       max_size=1)))):
        if draw(st.booleans()):
            host[key] = draw(strat)
    doc = {"name": draw(st.sampled_from(["w", "[/x]", "[bold]x[/bold]", "a\nb"])),
           "duration": draw(_num(1, 600)), "host": draw(maybe(st.just(host), 0.05)),
           "memcgs": mems, "processes": draw(st.lists(process_doc(paths), max_size=3))}
    if draw(st.booleans()):
        doc["seed"] = draw(_num(0, 1000, True))
    if draw(st.booleans()):
        doc["sample_every"] = draw(_num(0.001, 100))
    if draw(st.booleans()):
        doc["churn"] = draw(st.lists(st.fixed_dictionaries(
            {"parent": maybe(st.sampled_from(paths + ["zz"]))},
            optional={"create": _num(0, 1), "lifetime": _num(0.001, 100),
                      "max": _num(1, 10, True), "survivors": _num(0, 1),
                      "processes": st.lists(process_doc(paths, False), max_size=2)}),
            max_size=2))
    return doc


@st.composite
def yaml_text(draw, doc_strategy) -> str:
    """The document dumped as YAML, then sometimes a hazard added or a line replaced."""
    doc = draw(doc_strategy)
    text = yaml.safe_dump(doc, default_flow_style=draw(st.sampled_from([None, True, False])),
                          sort_keys=False, allow_unicode=True, width=200)
    how = draw(st.integers(0, 9))
    if how == 1:
        text += draw(st.sampled_from(YAML_HAZARDS)) + "\n"
    elif how == 2:
        lines = text.splitlines()
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        lines[i:i + 1] = [draw(st.sampled_from(YAML_HAZARDS))]
        text = "\n".join(lines) + "\n"
    elif how == 3:
        text = draw(st.sampled_from(YAML_HAZARDS)) + "\n" + text
    return text


@st.composite
def trace_text(draw, base: dict) -> str:
    """A trace file: ``base`` (a real trace) with fields replaced by hostile values, JSON
    hazards, or the schedule mangled."""
    t = dict(base)
    for key in ("format", "scenario", "variant", "patches", "boot", "property", "schedule",
                "message", "preemptions"):
        r = draw(st.integers(0, 12))
        if r == 0:
            t.pop(key, None)
        elif r == 1:
            t[key] = draw(junk())
    if draw(st.booleans()):
        sched = [list(m) for m in t.get("schedule") or []] \
            if isinstance(t.get("schedule"), list) else []
        for m in sched:
            if isinstance(m, list) and m and draw(st.integers(0, 3)) == 0:
                m[0] = draw(st.sampled_from([0.0, 1.5, True, -1, 99, float("inf"),
                                             float("nan"), "0", None, 1 << 70]))
        if draw(st.integers(0, 4)) == 0:
            sched = draw(st.sampled_from([[], [[0]], [[0, 1, 2]], [0], [[0, "x"]]]))
        t["schedule"] = sched
    text = json.dumps(t, indent=1, allow_nan=True)
    how = draw(st.integers(0, 6))
    if how == 1:
        text = draw(st.sampled_from(JSON_HAZARDS))
    elif how == 2:
        cut = draw(st.integers(0, len(text)))
        text = text[:cut]
    elif how == 3:
        text = text.replace('"steps"', '"steps": ' + draw(st.sampled_from(JSON_HAZARDS))
                            + ', "x"', 1)
    return text


# -- command lines over the newer options and commands ---------------------------------------

PROP_OPTS = ["no_warn", "assertion", "no_warn,counters", " no_use_after_free ", "", ",", "nope",
             "no_warn,,nope", "Assertion"]
GOOD_KERNEL_OPTS = KERNELS[:]
BAD_KERNEL_OPTS = ["", "nope", "4.19", "v2.6.0", ",", "[x]", "7.2\n", "x" * 300, "v7.2,nope"]
SECONDS = ["0.5", "1", "2"]
BAD_SECONDS = ["0", "-1", "nan", "inf", "x", "", "1e-9"]
SEEDS = ["0", "1", "7", "-1", "-0", str(1 << 70), str(-(1 << 64)), "x", "1.5", "", "0x10"]
CHECK_FILES = [p for p in SEED_FILES if p.parent.name in ("bugs", "examples")]


@st.composite
def command_line(draw) -> tuple[list, str | None, tuple]:
    """(args, scenario text or None, option names given): one run of a newer command or
    option with good and hostile values.  'FILE' in args stands for a scenario written from
    the text ('WORKLOAD' for a tiny workload)."""
    def opt(name, good, bad, p_bad=0.2):
        return [name, draw(pick(good, bad, p_bad))]
    cmd = draw(st.sampled_from(["run", "check", "check", "bugs", "bisect", "bisect", "sweep",
                                "variants", "simulate", "conform"]))
    args: list = [cmd]
    if cmd in ("run", "check", "bugs", "bisect", "conform"):
        args.append("FILE")
    if cmd in ("run", "check", "bugs"):
        if draw(st.booleans()):
            args += opt("--check", PROP_OPTS[:4], PROP_OPTS[4:], 0.3)
        if draw(st.integers(0, 3)) == 0:
            args += opt("--ignore", PROP_OPTS[:4], PROP_OPTS[4:], 0.3)
        if draw(st.integers(0, 3)) == 0:
            args.append("--strict")
    if cmd in ("run", "check"):
        if draw(st.booleans()):
            args += opt(draw(st.sampled_from(["--kernel", "--variant", "--preset"])),
                        GOOD_KERNEL_OPTS, BAD_KERNEL_OPTS)
    if cmd == "check":
        args += ["--timeout", "2", "--max-states", "2000"]
        if draw(st.booleans()):
            args.append("--first")
        if draw(st.booleans()):
            args += opt("--format", ["ktap", "text"], ["KTAP", "tap", ""], 0.1)
    if cmd == "run" and draw(st.booleans()):
        args.append("--json")
    if cmd == "bugs":
        n = draw(st.integers(1, 2))
        args += ["--kernel", ",".join(draw(pick(GOOD_KERNEL_OPTS, BAD_KERNEL_OPTS, 0.15))
                                      for _ in range(n))]
        args += opt("--timeout", SECONDS, BAD_SECONDS, 0.2)
        if draw(st.booleans()):
            args += opt("--format", ["ktap"], ["x"], 0.1)
        if draw(st.booleans()):
            args.append("--first")
    if cmd == "bisect":
        line = history.lineage("7.3-rc")
        if draw(st.integers(0, 4)) != 4:  # mostly a short walk
            i = draw(st.integers(0, len(line) - 1))
            j = min(len(line) - 1, i + draw(st.integers(0, 3)))
            args += ["--good", draw(pick([line[i]], BAD_KERNEL_OPTS, 0.15)),
                     "--bad", draw(pick([line[j]], BAD_KERNEL_OPTS, 0.15))]
        args += opt("--timeout", ["0.3", "0.5"], BAD_SECONDS, 0.2)
        if draw(st.booleans()):
            args += opt("--property", PROP_OPTS[:4], PROP_OPTS[4:], 0.3)
        if draw(st.booleans()):
            args.append("--json")
    if cmd == "sweep":
        args += ["--show", draw(st.sampled_from(SEEDS))]
        if draw(st.booleans()):
            args += opt("--preset", list(PRESETS), BAD_KERNEL_OPTS + ["7.1"], 0.3)
    if cmd == "variants":
        r = draw(st.integers(0, 4))
        if r:
            names = GOOD_KERNEL_OPTS + ["6.1", "6.12"]
            args += ["--diff", draw(pick(names, BAD_KERNEL_OPTS, 0.25)),
                     draw(pick(names, BAD_KERNEL_OPTS, 0.25))]
        if draw(st.booleans()):
            args.append("--json")
    if cmd == "simulate":
        args += ["WORKLOAD", "--no-plots", "--max-events", "20000", "--kernel",
                 draw(pick(list(PRESETS) + ["7.1", "series-v2"], BAD_KERNEL_OPTS, 0.3))]
        if draw(st.booleans()):
            args.append("--json")
    if cmd == "conform":  # only names refused before anything boots
        args += ["--kernel", draw(st.sampled_from(BAD_KERNEL_OPTS + ["v7.2", "6.1"]))]
    text = None
    if "FILE" in args:
        if draw(st.booleans()):
            text = draw(st.sampled_from(CHECK_FILES)).read_text()
        else:
            text = draw(yaml_text(scenario_doc()))
    given = tuple(a for a in args if isinstance(a, str) and a.startswith("--"))
    return args, text, given


# -- byte-level mutation -----------------------------------------------------------------------

BYTE_POOL = [b"\x00", b"\xff\xfe", b"\n", b"  ", b"- ", b": ", b"{", b"}", b"[", b"]", b"&a ",
             b"*a", b"<<: ", b"!!int ", b"!foo ", b"~", b"'", b'"', b"#", b"\t", b"1" * 4400,
             b".nan", b".inf", b"{i}", b"/", b"//", b"root/", b"999999999"]


@st.composite
def mutated_file(draw) -> tuple[str, bytes]:
    """(kind, bytes): one of the repository's scenario or workload files, mutated a few
    times at the byte level."""
    path = draw(st.sampled_from(SEED_FILES))
    data = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        n = len(data)
        op = draw(st.integers(0, 5))
        i = draw(st.integers(0, n))
        if op == 0 and n:  # flip a byte
            data[min(i, n - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == 1:  # delete a span
            del data[i:i + draw(st.integers(1, 40))]
        elif op == 2:  # insert a token
            data[i:i] = draw(st.sampled_from(BYTE_POOL))
        elif op == 3:  # duplicate a span
            j = draw(st.integers(i, min(n, i + 200)))
            data[i:i] = data[i:j]
        elif op == 4:  # replace a number by a big or odd one
            m = re.search(rb"\d+", bytes(data[i:]))
            if m:
                s, e = i + m.start(), i + m.end()
                data[s:e] = draw(st.sampled_from([b"0", b"-1", b"1e400", b"65", b"1000000",
                                                  b"9.0", b"0x10"]))
        else:  # truncate
            del data[i:]
    kind = "workload" if path.parent.name == "workloads" else "scenario"
    return kind, bytes(data)


# -- running commands against the contract ------------------------------------------------------

class Hang(BaseException):
    """A command ran over its CPU-time limit (BaseException: nothing in lrulab catches it)."""


@dataclass
class Stats:
    inputs: int = 0
    runs: int = 0
    tracebacks: list = field(default_factory=list)
    hangs: list = field(default_factory=list)
    bad_messages: list = field(default_factory=list)
    lost_files: list = field(default_factory=list)
    exits: dict = field(default_factory=dict)
    seconds: float = 0.0

    def failures(self) -> list:
        return self.tracebacks + self.hangs + self.bad_messages + self.lost_files


MSG = re.compile(r"^lrulab(?: conform)?: (.+?):(\d+): \S")


def _on_prof(signum, frame):
    raise Hang


class Harness:
    """Runs lrulab commands in-process on files in a scratch directory, one at a time, and
    records every breach of the contract in ``stats``."""

    def __init__(self, workdir: str | None = None, limit: float = 30.0):
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="lrulab-fuzz-"))
        self.limit = limit
        self.stats = Stats()
        self.runner = CliRunner()
        self.n = 0
        self.base_trace = self._base_trace()

    def _base_trace(self) -> dict:
        out = self.dir / "base-trace.json"
        scen = ROOT / "scenarios" / "bugs" / "b5-isolate-uaf.yaml"
        self.runner.invoke(main, ["check", str(scen), "--trace-out", str(out)])
        return json.loads(out.read_text())

    def write(self, data: bytes | str, suffix: str) -> str:
        self.n += 1
        path = self.dir / f"in{self.n}{suffix}"
        path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str)
                         else data)
        return str(path)

    def invoke(self, args: list, files: tuple | None, limit: float | None = None,
               options: tuple = ()):
        """Run ``lrulab args``; ``files``: the user files an exit-2 message may name (None:
        an option's value is at fault, and the message names the option)."""
        limit = limit or self.limit
        self.stats.runs += 1
        old = signal.signal(signal.SIGPROF, _on_prof)
        signal.setitimer(signal.ITIMER_PROF, limit)
        t0 = time.monotonic()
        try:
            r = self.runner.invoke(main, args)
        except Hang:
            self.stats.hangs.append((args, f"over {limit:.0f} s of CPU"))
            return None
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, old)
        wall = time.monotonic() - t0
        if wall > limit:
            self.stats.hangs.append((args, f"{wall:.1f} s"))
        self.stats.exits[r.exit_code] = self.stats.exits.get(r.exit_code, 0) + 1
        if r.exception is not None and not isinstance(r.exception, SystemExit):
            import traceback
            tb = "".join(traceback.format_exception(r.exception))
            self.stats.tracebacks.append((args, tb[-1500:]))
            return r
        if r.exit_code == 2 and files is not None:
            self.check_message(args, r.stderr, files, options)
        return r

    def check_message(self, args, stderr: str, files: tuple, options: tuple = ()) -> None:
        """One line naming file:line of a given file, or (an option's value at fault) naming
        one of the options given."""
        lines = stderr.strip("\n").split("\n")
        one = len(lines) == 1 and lines[0].startswith("lrulab")
        m = MSG.match(lines[0]) if one else None
        if m is not None and m.group(1) in files:
            return
        if one and any(o in lines[0] for o in options):
            return
        self.stats.bad_messages.append((args, stderr[-600:]))

    # -- the commands over one input ---------------------------------------------------------

    def scenario(self, text: str | bytes, check_timeout: float = 2.0) -> None:
        self.stats.inputs += 1
        path = self.write(text, ".yaml")
        files = (path,)
        self.invoke(["run", path], files)
        self.invoke(["check", path, "--timeout", str(check_timeout), "--max-states", "3000",
                     "--json"], files, limit=check_timeout + 2)
        self.conform(path)

    def conform(self, path: str) -> None:
        """conform up to the point before booting: load and translate."""
        from lrulab.conform.command import BadInput, _load
        from lrulab.conform.translate import NotApplicable, plan
        self.stats.runs += 1
        try:
            plan(_load(Path(path)))
        except (BadInput, NotApplicable) as e:
            if not re.match(rf"^{re.escape(path)}:\d+: \S", str(e)):
                self.stats.bad_messages.append((["conform", path], str(e)))
        except Exception:
            import traceback
            self.stats.tracebacks.append((["conform", path], traceback.format_exc()[-1500:]))

    def workload(self, text: str | bytes) -> None:
        self.stats.inputs += 1
        path = self.write(text, ".yaml")
        self.invoke(["simulate", path, "--presets", "v7.2", "--max-events", "100000",
                     "--json"], (path,))

    def trace(self, text: str) -> None:
        self.stats.inputs += 1
        path = self.write(text, ".json")
        try:
            scen = json.loads(text).get("scenario")
        except (ValueError, AttributeError, RecursionError):
            scen = None
        files = (path,) + ((scen,) if isinstance(scen, str) else ())
        self.invoke(["replay", path], files)
        r = self.invoke(["replay", path, "--json"], files)
        if r is not None and r.exception is None or isinstance(getattr(r, "exception", None),
                                                              SystemExit):
            try:
                ok = isinstance(json.loads(r.stdout), dict)
            except ValueError:
                ok = False
            if not ok:
                self.stats.bad_messages.append((["replay", path, "--json"],
                                                "stdout is not one JSON object: "
                                                + r.stdout[-200:]))




    def command(self, line: tuple) -> None:
        """One command line from ``command_line``: its files written, then run (bisect and
        bugs, which check many kernels, under a longer limit)."""
        args, text, options = line
        self.stats.inputs += 1
        files: tuple = ()
        out = []
        for a in args:
            if a == "FILE":
                a = self.write(text, ".yaml")
                files += (a,)
            elif a == "WORKLOAD":
                a = self.write(TINY_WORKLOAD.format(name="w"), ".yaml")
                files += (a,)
            out.append(a)
        limit = 60 if args[0] in ("bisect", "bugs") else None
        self.invoke(out, files, limit=limit, options=options)


# -- output probes: nothing the user wrote is lost ---------------------------------------------

TINY_WORKLOAD = """name: "{name}"
duration: 20
host: {{nodes: 1, node_pages: 4096}}
memcgs: [a]
processes:
  - {{memcg: a, count: 2, rates: {{fault: 1, partial_unmap: 0.5, unmap: 0.5}}}}
"""


def output_probes(h: Harness) -> list[tuple[str, bool]]:
    """Run every output option against files a user could lose; returns (probe, kept) for
    each, where kept means every user file is byte-identical afterwards."""
    d = Path(tempfile.mkdtemp(prefix="probe-", dir=h.dir))
    scen = d / "s.yaml"
    scen.write_bytes((ROOT / "scenarios" / "bugs" / "b5-isolate-uaf.yaml").read_bytes())
    (d / "link.yaml").symlink_to(scen)
    (d / "sub").mkdir()
    notes = d / "notes.txt"
    notes.write_text("my notes\n")
    other_json = d / "data.json"
    other_json.write_text('{"mine": 1}\n')
    wl = d / "w.yaml"
    wl.write_text(TINY_WORKLOAD.format(name="[/x] tiny"))
    user_out = d / "results"
    user_out.mkdir()
    (user_out / "report.md").write_text("my report\n")
    (user_out / "metrics.csv").write_text("mine\n")
    wl_dir = d / "wl-in-out"
    wl_dir.mkdir()
    (wl_dir / "report.md").write_text(TINY_WORKLOAD.format(name="inside"))
    mine = [scen, notes, other_json, wl, user_out / "report.md", user_out / "metrics.csv",
            wl_dir / "report.md"]
    sim = ["simulate", "--presets", "v7.2", "--no-plots"]
    probes = [
        ("trace-out = the scenario", ["check", scen, "--trace-out", scen]),
        ("trace-out = the scenario by a symlink", ["check", scen, "--trace-out",
                                                   d / "link.yaml"]),
        ("trace-out = the scenario spelt sub/../s.yaml", ["check", scen, "--trace-out",
                                                          f"{d}/sub/../s.yaml"]),
        ("check the symlink, trace-out = the file", ["check", d / "link.yaml", "--trace-out",
                                                     scen]),
        ("trace-out = the scenario with --force", ["check", scen, "--trace-out", scen,
                                                   "--force"]),
        ("trace-out = a user text file", ["check", scen, "--trace-out", notes]),
        ("trace-out = a user JSON file", ["check", scen, "--trace-out", other_json]),
        ("trace-out = a directory", ["check", scen, "--trace-out", d / "sub"]),
        ("trace-out = a new file", ["check", scen, "--trace-out", d / "t1.json"]),
        ("trace-out = an existing trace", ["check", scen, "--trace-out", d / "t1.json"]),
        ("out = a user's results directory", [*sim, wl, "--out", user_out]),
        ("out = the workload file", [*sim, wl, "--out", wl]),
        ("out = a directory holding the workload as report.md",
         [*sim, wl_dir / "report.md", "--out", wl_dir]),
        ("out = a new directory", [*sim, wl, "--out", d / "new" / "out"]),
        ("out = lrulab's own directory again", [*sim, wl, "--out", d / "new" / "out"]),
        ("out = lrulab's directory with the workload linked as metrics.csv",
         [*sim, d / "new" / "out" / "metrics.csv", "--out", d / "new" / "out"]),
        ("out = a user file's directory", [*sim, wl, "--out", d]),
        ("json + out with a markup name", [*sim, wl, "--json", "--out", d / "j"]),
    ]
    (d / "new").mkdir()
    before = {p: p.read_bytes() for p in mine}
    out = []
    for name, args in probes:
        if "metrics.csv" in name:  # the workload, linked into lrulab's own directory
            (d / "new" / "out" / "metrics.csv").unlink(missing_ok=True)
            (d / "new" / "out" / "metrics.csv").symlink_to(wl)
        h.invoke([str(a) for a in args], None, limit=60)
        kept = all(p.exists() and p.read_bytes() == before[p] for p in mine)
        if not kept:
            h.stats.lost_files.append((name, "a user file changed"))
            for p in mine:  # restore for the next probe
                p.write_bytes(before[p])
        out.append((name, kept))
    return out
