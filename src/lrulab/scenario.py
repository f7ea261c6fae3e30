"""Scenario files: YAML in, a validated Scenario out.  Every error names file:line and the fix.

The format is a contract other tools write to (see docs/scenarios.md)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from . import asserts as asserts_mod
from .kernel import history
from .kernel.config import (
    BOOT_OPTIONS,
    CGROUP_VERSIONS,
    FLAGS,
    PRESETS,
    SYSFS_ALIASES,
    SYSFS_DEFAULTS,
    ConfigError,
    kconfig_error,
    kernel_flags,
    make_config,
    node_ids,
    node_set_error,
    nodes_text,
)
from .kernel.sched import ALLOC_SITES
from .yamlload import LDict, LList, load_yaml, read_user_file

PROPERTIES = ("no_warn", "no_oops", "no_use_after_free", "list_integrity", "counters",
              "split_queue_len",
              "bit_coverage", "memcg_reclaim_reach", "node_locality", "stale_bits",
              "honest_results", "reparent_complete", "memcg_locality", "no_orphan", "no_leak",
              "termination", "no_data_race", asserts_mod.ASSERTION)
# checked only when named (check: or --check): each state costs a replay per other thread
OPT_IN = ("no_data_race",)

# op -> (field -> (required, kind)); kind: path | memcg | node | nodeall | int | name | folio |
# lru | item | sites | priority
OPS: dict[str, dict[str, tuple[bool, str]]] = {
    "mkdir": {"path": (True, "path")},
    "rmdir": {"path": (True, "memcg")},
    "fault": {"memcg": (True, "memcg"), "node": (False, "node"), "order": (False, "order"),
              "as": (True, "name"), "written": (False, "int"), "fail": (False, "sites"),
              "kind": (False, "kind")},
    "collapse": {"memcg": (True, "memcg"), "node": (False, "node"), "as": (True, "name"),
                 "written": (False, "int"), "fail": (False, "sites")},
    "partial_unmap": {"folio": (True, "folio")},
    "unmap": {"folio": (True, "folio")},
    "get": {"folio": (True, "folio")},
    "put": {"folio": (True, "folio")},
    "split": {"folio": (True, "folio"), "order": (False, "split_order")},
    "migrate": {"folio": (True, "folio"), "node": (True, "node"), "fail": (False, "sites")},
    "reclaim": {"memcg": (True, "memcg"), "node": (False, "nodeall"),
                "nr_to_scan": (False, "int"), "priority": (False, "priority"),
                "by": (False, "by")},
    "lru_add": {"lru": (True, "lru"), "memcg": (True, "memcg"), "node": (False, "node"),
                "item": (True, "name"), "fail": (False, "sites")},
    "lru_del": {"lru": (True, "lru"), "item": (True, "item")},
    "swapout": {"folio": (True, "folio")},
    "charge_move": {"folio": (True, "folio"), "to": (True, "memcg")},
    "register": {"lru": (True, "newlru"), "flags": (False, "shrinker_flags"),
                 "memcg_aware": (False, "bool")},
    "unregister": {"lru": (True, "lru")},
}
SCALAR_OPS = {"mkdir": "path", "rmdir": "path", "partial_unmap": "folio", "unmap": "folio",
              "get": "folio", "put": "folio", "split": "folio", "swapout": "folio",
              "unregister": "lru"}
TOP_KEYS = {"name", "kernel", "memcgs", "setup", "threads", "after", "check", "expect",
            "description", "properties_note"}
KERNEL_KEYS = {"variant", "point", "patches", "boot", "nodes", "sysfs", "lrus",
                "inject_alloc_failures", "cgroup", "config", "shrinkers"}
MAX_SHRINKERS = 1000  # other subsystems' memcg-aware shrinkers at boot (kernel.shrinkers)
SHRINKER_FLAGS = ("numa_aware", "memcg_aware", "nonslab")
MAX_NR_TO_SCAN = 1024  # more objects than any scenario makes; each batch is a checker step
MAX_WRITTEN = 1 << 9  # pages of a PMD THP
MAX_NAME = 64  # memcg path components, folio and item names
# fault kinds: the folio's kind decides whether the deferred-split queue takes it (only anon)
FOLIO_KINDS = ("anon", "hugetlb", "shmem", "file")
# what a shmem / page-cache folio cannot do in the model (kernel/filemap.py): the op and why
FILE_FOLIO_OPS = {
    "split": "splitting a page-cache folio (its xarray slots, the cache's references) is not "
             "modelled",
    "migrate": "migrating a page-cache folio (the mapping's migrate_folio) is not modelled",
    "swapout": "reclaim of a page-cache folio (shmem writeout, pageout) is not modelled",
    "charge_move": "moving a page-cache folio's charge (mc_handle_file_pte) is not modelled",
}
SYSFS_RANGES = {"khugepaged_max_ptes_none": (0, 511)}  # HPAGE_PMD_NR - 1 (khugepaged.c)


def name_error(name) -> str | None:
    """Why ``name`` is not a usable memcg, folio or item name, or None.  Names are printed in
    traces, tables and the conformance guest's script: no whitespace, no control characters,
    no slash, not '.' or '..'."""
    if not isinstance(name, str):
        return f"must be a name, not {type(name).__name__} {name!r}"
    if not name or len(name) > MAX_NAME:
        return f"must be 1 to {MAX_NAME} characters"
    if name in (".", "..") or any(c.isspace() or not c.isprintable() or c == "/"
                                  for c in name):
        return "may not hold '/', whitespace or control characters, nor be '.' or '..'"
    return None


def memcg_path_error(path) -> str | None:
    """Why ``path`` is not a memcg path 'A' or 'A/B' below the implicit root, or None."""
    if not isinstance(path, str):
        return f"is {type(path).__name__} {path!r}, not a path like A or A/B"
    if path == "root" or path.split("/")[0] == "root":
        return "starts with root; root is implicit, write A or A/B"
    for comp in path.split("/"):
        why = name_error(comp)
        if why:
            return ("has an empty component (leading, trailing or double '/')" if not comp
                    else f"component {comp!r} {why}")
    return None


def sysfs_error(knob: str, value) -> str | None:
    """Why ``value`` is not a value of sysfs ``knob`` (whose default fixes the type); ``knob``
    may be an old name (SYSFS_ALIASES)."""
    knob = SYSFS_ALIASES.get(knob, knob)
    default = SYSFS_DEFAULTS[knob]
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"takes true or false, not {value!r}"
    lo, hi = SYSFS_RANGES.get(knob, (0, None))
    if not isinstance(value, int) or isinstance(value, bool) or value < lo or \
            (hi is not None and value > hi):
        return f"takes an integer {lo}..{hi}, not {value!r}"
    return None


class ScenarioError(Exception):
    """A bad scenario: str() is one line, 'file:line: what is wrong; how to fix it'."""


@dataclass(frozen=True)
class Op:
    kind: str
    args: dict
    line: int
    file: str = ""
    asserts: tuple = ()  # asserts.Assert entries that follow the op in the file

    def text(self) -> str:
        """The op as written, in flow style: 'fault: {memcg: A, node: 0, as: f1}'."""
        if self.kind in SCALAR_OPS and len(self.args) == 1:
            return f"{self.kind}: {self.args[SCALAR_OPS[self.kind]]}"
        inner = ", ".join(f"{k}: {v}" for k, v in self.args.items())
        return f"{self.kind}: {{{inner}}}"


@dataclass
class KernelSpec:
    variant: str
    patches: dict = field(default_factory=dict)
    boot: list = field(default_factory=list)
    nodes: int | tuple = 1  # a count, or the node ids (holes allowed: (0, 2))
    sysfs: dict = field(default_factory=dict)
    lrus: dict = field(default_factory=dict)
    inject_alloc_failures: bool = False
    cgroup: str = "v2"  # kernel.cgroup: the memory controller's hierarchy, v2 or v1
    lines: dict = field(default_factory=dict)  # kernel key -> line ('kernel': the mapping's)
    kconfig: dict = field(default_factory=dict)  # kernel.config: build options
    shrinkers: int = 0  # other memcg-aware shrinkers registered at boot (ids 1..N)


@dataclass
class Scenario:
    path: str
    name: str
    kernel: KernelSpec
    memcgs: list
    setup: list
    threads: list
    check: list
    expect: dict | None = None
    description: str = ""
    after: list = field(default_factory=list)  # sequential ops once every thread finished
    after_asserts: tuple = ()  # asserts at the join, before any 'after' op
    strict: bool = False  # behaviours a property accepts by design are violations

    def all_ops(self):
        yield from self.setup
        for t in self.threads:
            yield from t

    def all_asserts(self):
        yield from self.after_asserts
        for t in [self.setup, self.after, *self.threads]:
            for op in t:
                yield from op.asserts


# -- YAML with line numbers (the hardened loader in yamlload.py) ---------------------------

def parse_yaml(text: str, path: str):
    """YAML -> LDict / LList / scalars with lines; ScenarioError on bad or refused YAML."""
    doc = load_yaml(text, path, "scenario", ScenarioError)
    if doc is None:
        raise ScenarioError(
            f"{path}:1: empty scenario; it needs at least 'kernel: {{variant: P}}'")
    return doc


# -- validation ---------------------------------------------------------------------------

class _V:
    def __init__(self, path: str):
        self.path = path

    def fail(self, line: int, msg: str):
        raise ScenarioError(f"{self.path}:{line}: {msg}")


def load_scenario(path, overrides: dict | None = None) -> Scenario:
    """Read and validate a scenario file.  overrides: variant / patches / boot from the CLI."""
    text = read_user_file(path, "scenario", ScenarioError)
    return parse_scenario(text, str(path), overrides)


def parse_scenario(text: str, path: str = "<scenario>", overrides: dict | None = None) -> Scenario:
    v = _V(path)
    doc = parse_yaml(text, path)
    if not isinstance(doc, LDict):
        v.fail(getattr(doc, "line", 1), "a scenario is a mapping with 'kernel:', 'memcgs:', "
               "'setup:' and 'threads:'")
    for key in doc:
        if key not in TOP_KEYS:
            v.fail(doc.lines[key], f"unknown key {key!r}; known: {', '.join(sorted(TOP_KEYS))}")
    kernel = _kernel(v, doc, overrides or {})
    memcgs = _memcgs(v, doc, kernel)
    known = {"root"} | set(memcgs)
    state = _Names(v, kernel, known)
    setup = _ops(v, doc.get("setup", LList()), doc.lines.get("setup", doc.line), state, "setup")
    threads = []
    raw_threads = doc.get("threads", LList())
    if not isinstance(raw_threads, list):
        v.fail(doc.lines.get("threads", doc.line), "threads must be a list of op lists")
    for i, t in enumerate(raw_threads):
        line = raw_threads.lines[i] if isinstance(raw_threads, LList) else doc.line
        if isinstance(t, dict):
            t = LList([t])
            t.line, t.lines = line, [line]
        threads.append(_ops(v, t, line, state, f"thread {i}"))
    lead: list = []
    after = _ops(v, doc.get("after", LList()), doc.lines.get("after", doc.line), state, "after",
                 lead)
    ov = overrides or {}
    has_asserts = bool(lead) or any(op.asserts for op in setup + after + sum(threads, []))
    check = _check(v, doc, ov, has_asserts)
    expect = _expect(v, doc)
    name = doc.get("name", Path(path).stem)
    return Scenario(path, str(name), kernel, memcgs, setup, threads, check, expect,
                    str(doc.get("description", "")), after, tuple(lead),
                    bool(ov.get("strict")))


def _kernel(v: _V, doc: LDict, ov: dict) -> KernelSpec:
    kd = doc.get("kernel")
    if not isinstance(kd, LDict):
        v.fail(doc.lines.get("kernel", doc.line), "missing 'kernel:' mapping; add "
               "'kernel: {variant: PRESET}' with a preset from 'lrulab variants'")
    for key in kd:
        if key not in KERNEL_KEYS:
            v.fail(kd.lines[key],
                   f"unknown kernel key {key!r}; known: {', '.join(sorted(KERNEL_KEYS))}")
    if "variant" in kd and "point" in kd:
        v.fail(kd.lines["point"], "give kernel.variant or kernel.point, not both (the same "
               "thing: a kernel from 'lrulab variants')")
    key = "point" if "point" in kd else "variant"
    variant = ov.get("variant") or kd.get(key)
    if variant is None:
        v.fail(kd.line, "missing kernel.variant; add one of: " + ", ".join(PRESETS)
               + " (or any point 'lrulab variants' lists)")
    if isinstance(variant, (int, float)) and not isinstance(variant, bool):
        v.fail(kd.lines.get(key, kd.line), f"kernel.{key} {variant!r} is not a name; quote it "
               f"(YAML reads 6.10 as the number 6.1): {key}: '6.10'")
    if not isinstance(variant, str):
        v.fail(kd.lines.get(key, kd.line), f"unknown {key} {variant!r}; give one name: "
               + ", ".join(PRESETS) + " (or any point 'lrulab variants' lists)")
    try:
        kernel_flags(variant)
    except ConfigError as e:
        v.fail(kd.lines.get(key, kd.line), str(e).replace("unknown kernel", f"unknown {key}"))
    pd = kd.get("patches")
    if pd is not None and not isinstance(pd, LDict):
        v.fail(kd.lines["patches"], "kernel.patches must map FLAG: true|false")
    patches = dict(pd or {})
    for name, val in patches.items():
        line = pd.lines.get(name, kd.line)
        if name not in FLAGS:
            v.fail(line, f"unknown patch flag {name!r}; 'lrulab variants' lists them")
        if not isinstance(val, bool):
            v.fail(line, f"patch flag {name} must be true or false")
    patches.update(ov.get("patches") or {})
    boot = kd.get("boot") or []
    if isinstance(boot, str):
        boot = [boot]
    if not isinstance(boot, list):
        v.fail(kd.lines["boot"], f"kernel.boot must be a list of boot options, not {boot!r}")
    boot = list(boot)
    for opt in boot:
        if not isinstance(opt, str) or opt not in BOOT_OPTIONS:
            v.fail(kd.lines["boot"],
                   f"unknown boot option {opt!r}; known: {', '.join(BOOT_OPTIONS)}")
    for opt in ov.get("boot") or []:
        if opt not in boot:
            boot.append(opt)
    nodes = kd.get("nodes", 1)
    why = node_set_error(nodes)
    if why:
        v.fail(kd.lines.get("nodes", kd.line), why)
    if isinstance(nodes, list):
        nodes = tuple(nodes)
    sd = kd.get("sysfs")
    if sd is not None and not isinstance(sd, LDict):
        v.fail(kd.lines["sysfs"], "kernel.sysfs must map KNOB: VALUE")
    sysfs = dict(sd or {})
    for knob, val in sysfs.items():
        if SYSFS_ALIASES.get(knob, knob) not in SYSFS_DEFAULTS:
            v.fail(sd.lines.get(knob, kd.line),
                   f"unknown sysfs knob {knob!r}; known: {', '.join(SYSFS_DEFAULTS)}")
        why = sysfs_error(SYSFS_ALIASES.get(knob, knob), val)
        if why:
            v.fail(sd.lines.get(knob, kd.line), f"sysfs {knob} {why}")
    lrus = kd.get("lrus") or LDict()
    if not isinstance(lrus, LDict):
        v.fail(kd.lines.get("lrus", kd.line), "lrus must map a name to {memcg_aware, shrinker}")
    for lname, spec in lrus.items():
        line = lrus.lines.get(lname, kd.line)
        if name_error(lname):
            v.fail(line, f"lru name {lname!r} {name_error(lname)}")
        if not isinstance(spec, dict) or set(spec) - {"memcg_aware", "shrinker", "seeks",
                                                      "batch"} or \
                not isinstance(spec.get("memcg_aware", False), bool) or \
                not isinstance(spec.get("shrinker", []) or [], list):
            v.fail(line, f"lru {lname}: give {{memcg_aware: BOOL, shrinker: [numa_aware, "
                   "memcg_aware, nonslab], seeks: N, batch: N}} (seeks and batch optional)")
        for key, low in (("seeks", 0), ("batch", 0)):
            val = spec.get(key)
            if val is not None and (isinstance(val, bool) or not isinstance(val, int)
                                    or val < low):
                v.fail(line, f"lru {lname}: {key} must be an integer >= {low}, not {val!r}")
        for f in spec.get("shrinker", []) or []:
            if not isinstance(f, str) or f not in ("numa_aware", "memcg_aware", "nonslab"):
                v.fail(line, f"lru {lname}: unknown shrinker flag {f!r}; use numa_aware, "
                       "memcg_aware, nonslab")
    inject = kd.get("inject_alloc_failures", False)
    if not isinstance(inject, bool):
        v.fail(kd.lines["inject_alloc_failures"], "inject_alloc_failures must be true or false")
    cgroup = kd.get("cgroup", "v2")
    if cgroup not in CGROUP_VERSIONS:
        v.fail(kd.lines.get("cgroup", kd.line), f"kernel.cgroup {cgroup!r}: give v2 (the "
               "default, the unified hierarchy) or v1 (the legacy memory controller)")
    cd = kd.get("config")
    if cd is not None and not isinstance(cd, LDict):
        v.fail(kd.lines["config"], "kernel.config must map OPTION: true|false, e.g. "
               "{memcg_kmem: false}")
    kconfig = dict(cd or {})
    why = kconfig_error(variant, kconfig)
    if why:
        v.fail(kd.lines.get("config", kd.line), why)
    nshr = kd.get("shrinkers", 0)
    if not isinstance(nshr, int) or isinstance(nshr, bool) or not 0 <= nshr <= MAX_SHRINKERS:
        v.fail(kd.lines.get("shrinkers", kd.line), f"kernel.shrinkers must be an integer from 0 "
               f"to {MAX_SHRINKERS} (other memcg-aware shrinkers registered at boot), not "
               f"{nshr!r}")
    try:
        make_config(variant, patches, boot, nodes, sysfs, kconfig=kconfig, cgroup=cgroup)
    except ConfigError as e:
        v.fail(kd.line, str(e))
    return KernelSpec(variant, patches, boot, nodes, sysfs, dict(lrus), inject, cgroup,
                      {key: kd.lines[key] for key in kd} | {"kernel": kd.line}, kconfig, nshr)


def _memcgs(v: _V, doc: LDict, kernel: KernelSpec) -> list:
    raw = doc.get("memcgs", [])
    line = doc.lines.get("memcgs", doc.line)
    if not isinstance(raw, list):
        v.fail(line, "memcgs must be a list of paths like [A, B, A/C]")
    seen = []
    for i, m in enumerate(raw):
        ml = raw.lines[i] if isinstance(raw, LList) else line
        why = memcg_path_error(m)
        if why:
            v.fail(ml, f"bad memcg path {m!r}: it {why}; use names like A or A/C (root is "
                   "implicit)")
        parent = m.rpartition("/")[0]
        if parent and parent not in seen:
            v.fail(ml, f"memcg {m!r}: its parent {parent!r} must be listed before it")
        if m in seen:
            v.fail(ml, f"memcg {m!r} listed twice")
        seen.append(m)
    return seen


class _Names:
    """What names exist as the ops are read in order (memcgs, folios, lru items)."""

    def __init__(self, v: _V, kernel: KernelSpec, memcgs: set):
        self.v = v
        self.kernel = kernel
        self.memcgs = set(memcgs)
        self.folios: set = set()
        self.lrus: set = set(kernel.lrus)  # kernel.lrus and the names register ops give
        self.orders: dict = {}  # folio name -> (order, kind) as created (fault, collapse, split)
        self.items: set = set()
        self.cfg = make_config(kernel.variant, kernel.patches, kernel.boot, kernel.nodes,
                               kernel.sysfs, kconfig=kernel.kconfig, cgroup=kernel.cgroup)
        # the cgroup tree as one sequence of ops sees it (setup, then each thread after setup):
        # path -> line of its rmdir; parent -> its first child (the cgroup rules)
        self.removed: dict = {}
        self.child: dict = {}
        for m in sorted(memcgs):
            parent = m.rpartition("/")[0]
            if parent and parent not in self.child:
                self.child[parent] = m
        self._after_setup = None

    def begin(self, where: str) -> None:
        """Start reading a sequence of ops: the setup, or a thread (which starts where the setup
        ended and sees no other thread's ops)."""
        if where == "setup":
            self._after_setup = (dict(self.removed), dict(self.child), dict(self.orders))
            self._joined = (dict(self.removed), dict(self.child), dict(self.orders))
        elif self._after_setup is not None:
            self._joined[0].update(self.removed)  # the sequence read before this one
            self._joined[1].update(self.child)
            self._joined[2].update(self.orders)
            # a thread starts from the setup; 'after:' from the join of every thread
            base = self._joined if where == "after" else self._after_setup
            self.removed, self.child, self.orders = (dict(d) for d in base)


def _ops(v: _V, raw, line: int, st: _Names, where: str, lead: list | None = None) -> list:
    """The ops of one sequence; an 'assert:' entry attaches to the op before it (in
    'after:', asserts before the first op go to ``lead``: they run at the join)."""
    if not isinstance(raw, list):
        v.fail(line, f"{where} must be a list of ops")
    if where != "setup":
        st.begin(where)
    out: list = []
    for i, item in enumerate(raw):
        iline = raw.lines[i] if isinstance(raw, LList) else line
        if isinstance(item, dict) and len(item) == 1 and "assert" in item:
            a = asserts_mod.parse_assert(v.fail, item["assert"], iline, v.path, st)
            if out:
                out[-1] = replace(out[-1], asserts=out[-1].asserts + (a,))
            elif lead is not None:
                lead.append(a)
            else:
                v.fail(iline, f"an assert follows an op: put an op before it in {where}, or "
                       "assert this at the end of setup")
            continue
        out.append(_op(v, item, iline, st))
    if where == "setup":
        st.begin(where)
    return out


def _op(v: _V, item, line: int, st: _Names) -> Op:
    if not isinstance(item, dict) or len(item) != 1:
        v.fail(line, "an op is a one-key mapping like 'fault: {memcg: A, as: f1}'; known ops: "
               + ", ".join(OPS))
    (kind, body), = item.items()
    if kind not in OPS:
        v.fail(line, f"unknown op {kind!r}; known ops: {', '.join(OPS)}")
    spec = OPS[kind]
    if not isinstance(body, dict):
        if kind not in SCALAR_OPS:
            v.fail(line, f"{kind} needs a mapping with {', '.join(spec)}")
        body = {SCALAR_OPS[kind]: body}
    for key in body:
        if key not in spec:
            v.fail(line, f"{kind}: unknown field {key!r}; fields: {', '.join(spec)}")
    for key, (req, _) in spec.items():
        if req and key not in body:
            v.fail(line, f"{kind}: missing field '{key}'")
    args = {}
    for key, (_, typ) in spec.items():
        if key in body:
            args[key] = _field(v, line, kind, key, typ, body[key], st)
    _defaults(kind, args)
    args = {key: args[key] for key in spec if key in args}
    _effects(v, line, kind, args, st)
    return Op(kind, args, line, v.path)


def _field(v: _V, line: int, kind: str, key: str, typ: str, val, st: _Names):
    nodes = node_ids(st.kernel.nodes)
    if typ in ("memcg", "folio", "lru", "item") and not isinstance(val, str):
        v.fail(line, f"{kind}: {key} must be a name, not {val!r}")
    if typ in ("memcg",):
        if val not in st.memcgs:
            v.fail(line, f"{kind}: unknown memcg {val!r}; declare it under memcgs: or mkdir it "
                   "first (root is 'root')")
        return val
    if typ == "path":
        why = memcg_path_error(val)
        if why:
            v.fail(line, f"{kind}: bad path {val!r}: it {why}; use A or A/B (root is implicit)")
        return val
    if typ in ("node", "nodeall"):
        if typ == "nodeall" and val == "all":
            return val
        if not isinstance(val, int) or isinstance(val, bool) or val not in nodes:
            v.fail(line, f"{kind}: node {val!r} does not exist; this kernel has nodes "
                   f"{nodes_text(nodes)}" + (" (or 'all')" if typ == "nodeall" else ""))
        return val
    if typ == "order":
        if not isinstance(val, int) or isinstance(val, bool) or not 1 <= val <= 9:
            v.fail(line, f"{kind}: order {val!r}; use 9 (PMD) or an mTHP order 2..8")
        if val not in (1, 9) and not st.cfg.patch.mthp:  # order 1: _order1_rules
            v.fail(line, f"{kind}: order {val} needs mTHP, which {st.kernel.variant} lacks "
                   "(flag mthp); use order 9")
        return val
    if typ == "kind":
        if not isinstance(val, str) or val not in FOLIO_KINDS:
            v.fail(line, f"{kind}: kind {val!r}; use one of: {', '.join(FOLIO_KINDS)}")
        return val
    if typ == "split_order":
        if not isinstance(val, int) or isinstance(val, bool) or not 0 <= val <= 8:
            v.fail(line, f"{kind}: order {val!r}; use 0 (small pages) or a lower large order "
                   "2..8")
        if val and not st.cfg.patch.split_to_order:
            v.fail(line, f"{kind}: order {val}: {st.kernel.variant} splits only to order 0 "
                   "(split_huge_page_to_list_to_order came with c010d47f107f, 6.9: flag "
                   "split_to_order); use order 0 or a kernel from 6.9 on")
        return val
    if typ == "by":
        if val not in ("kswapd", "direct"):
            v.fail(line, f"{kind}: by {val!r}; use kswapd (balance_pgdat) or direct "
                   "(do_try_to_free_pages)")
        return val
    if typ == "priority":
        if not isinstance(val, int) or isinstance(val, bool) or not 0 <= val <= 12:
            v.fail(line, f"{kind}: priority must be 0..12")
        return val
    if typ == "int":
        hi = MAX_NR_TO_SCAN if key == "nr_to_scan" else MAX_WRITTEN
        if not isinstance(val, int) or isinstance(val, bool) or not 0 <= val <= hi:
            v.fail(line, f"{kind}: {key} must be an integer from 0 to {hi}, not {val!r}")
        return val
    if typ == "name":
        if name_error(val):
            v.fail(line, f"{kind}: {key} {val!r} {name_error(val)}")
        return val
    if typ == "folio":
        if val not in st.folios:
            v.fail(line, f"{kind}: unknown folio {val!r}; create it first with fault/collapse "
                   "'as: NAME'")
        return val
    if typ == "lru":
        if val not in st.lrus:
            v.fail(line, f"{kind}: unknown lru {val!r}; declare it under kernel.lrus or "
                   "register it first")
        return val
    if typ == "newlru":
        if name_error(val):
            v.fail(line, f"{kind}: lru {val!r} {name_error(val)}")
        if val in st.lrus:
            v.fail(line, f"{kind}: lru {val!r} exists already (kernel.lrus or an earlier "
                   "register); give a new name")
        return val
    if typ == "shrinker_flags":
        if not isinstance(val, list) or any(not isinstance(f, str) or f not in SHRINKER_FLAGS
                                             for f in val):
            v.fail(line, f"{kind}: flags is a list of shrinker flags from: "
                   f"{', '.join(SHRINKER_FLAGS)}")
        return list(val)
    if typ == "bool":
        if not isinstance(val, bool):
            v.fail(line, f"{kind}: {key} must be true or false, not {val!r}")
        return val
    if typ == "item":
        if val not in st.items:
            v.fail(line, f"{kind}: unknown item {val!r}; lru_add it first")
        return val
    if typ == "sites":
        sites = [val] if isinstance(val, str) else val
        if not isinstance(sites, list) or \
                any(not isinstance(s, str) or s not in ALLOC_SITES for s in sites):
            v.fail(line, f"{kind}: fail takes allocation sites from: {', '.join(ALLOC_SITES)}")
        return list(sites)
    raise AssertionError(typ)


def _defaults(kind: str, args: dict) -> None:
    if kind in ("fault", "collapse", "lru_add"):
        args.setdefault("node", 0)
    if kind == "fault":
        args.setdefault("order", 9)
    if kind == "reclaim":
        args.setdefault("node", "all")


def _effects(v: _V, line: int, kind: str, args: dict, st: _Names) -> None:
    if kind == "mkdir":
        path = args["path"]
        parent = path.rpartition("/")[0]
        if parent and parent not in st.memcgs:
            v.fail(line, f"mkdir {path}: parent {parent} does not exist")
        if path in st.memcgs:
            v.fail(line, f"mkdir {path}: already exists")
        st.memcgs.add(path)
        if parent and parent not in st.removed:
            st.child.setdefault(parent, path)
    elif kind == "rmdir":
        st.removed.setdefault(args["path"], line)
    if kind in ("fault", "collapse", "lru_add"):
        _task_rules(v, line, kind, args["memcg"], st)
    elif kind == "charge_move":
        _charge_move_rules(v, line, args["to"], st)
    if kind in ("fault", "collapse"):
        st.folios.add(args["as"])
        st.orders[args["as"]] = (args.get("order", 9), args.get("kind", "anon"))
        if "written" in args and args["written"] > 1 << args.get("order", 9):
            v.fail(line, f"{kind}: written is more than the folio's pages")
        order = args.get("order", 9)
        if args.get("kind") == "hugetlb" and order != 9:
            v.fail(line, "fault: a hugetlb folio is a 2 MiB huge page: order 9 (drop order)")
        if order == 1:
            _order1_rules(v, line, args.get("kind", "anon"), st)
        if args.get("kind") == "shmem" and order != 9:
            v.fail(line, "fault: a shmem folio below PMD order (shmem mTHP) is not modelled; use "
                   "order 9 (drop order)")
    if kind in FILE_FOLIO_OPS and st.orders.get(args["folio"], (9, "anon"))[1] in \
            ("shmem", "file"):
        v.fail(line, f"{kind}: {args['folio']} is a {st.orders[args['folio']][1]} folio: "
               f"{FILE_FOLIO_OPS[kind]}; use partial_unmap, unmap, get or put")
    if kind in ("split", "partial_unmap"):
        _split_effects(v, line, kind, args, st)
    elif kind == "lru_add":
        st.items.add(args["item"])
    elif kind == "register":
        st.lrus.add(args["lru"])
    elif kind == "reclaim" and "by" in args and (args["memcg"] != "root" or "priority" in args):
        v.fail(line, "reclaim: by (kswapd or direct) is for global reclaim: give memcg: root and "
               "no priority")
    elif kind == "rmdir" and args["path"] == "root":
        v.fail(line, "rmdir: the root memcg cannot be removed")


def _split_effects(v: _V, line: int, kind: str, args: dict, st: _Names) -> None:
    """What a hugetlb folio cannot do, and the names a split to order N creates: F+OFFSET for
    every other part of the range (OFFSET its first page in F), each of order N."""
    name = args["folio"]
    order, fkind = st.orders.get(name, (9, "anon"))
    if fkind == "hugetlb":
        what = "split" if kind == "split" else "be partially unmapped"
        v.fail(line, f"{kind}: {name} is a hugetlb folio, which cannot {what} (munmap of a "
               "hugetlb range is huge-page aligned; split_huge_pages skips hugetlb VMAs); "
               "use unmap or migrate")
    new = args.get("order", 0)
    if kind != "split" or not new:
        return
    if new >= order:
        v.fail(line, f"split: order {new} is not below {name}'s order {order}; give a lower "
               "order")
    if new == 1:
        v.fail(line, "split: an anonymous folio cannot be split to order 1 (its "
               "_deferred_list would lie in page 2; split_huge_page_to_list_to_order returns "
               "-EINVAL); use order 0 or 2..")
    for start in range(1 << new, 1 << order, 1 << new):
        st.folios.add(f"{name}+{start}")
        st.orders[f"{name}+{start}"] = (new, fkind)
    st.orders[name] = (new, fkind)


def _order1_rules(v: _V, line: int, fkind: str, st: _Names) -> None:
    """Order-1 folios exist only in the page cache, from 8897277acfef (6.9, flag
    page_cache_order1): an anonymous one never (THP_ORDERS_ALL_ANON excludes order 1: its
    _deferred_list would lie in page 2)."""
    if fkind != "file":
        v.fail(line, f"fault: no {fkind} folio of order 1 exists (only the page cache has "
               "order-1 folios; anonymous THP orders are 2..9: THP_ORDERS_ALL_ANON excludes "
               "order 1, whose _deferred_list would lie in page 2); use kind: file or order "
               "2..9")
    if not st.cfg.patch.page_cache_order1:
        v.fail(line, f"fault: {st.kernel.variant} has no order-1 page-cache folio (they came "
               "with 8897277acfef \"mm: support order-1 folios in the page cache\", 6.9: flag "
               "page_cache_order1); use order 2..9 or a kernel from 6.9 on")


def _task_rules(v: _V, line: int, kind: str, memcg: str, st: _Names) -> None:
    """cgroup rules for an op run by a task of ``memcg`` (docs/scenarios.md, "Tasks and
    cgroups"): checked against the setup and the earlier ops of the same thread; what another
    thread does is left to the model, which gives the kernel's -ENOENT / -EBUSY."""
    if memcg == "root":
        return
    if memcg in st.removed:
        v.fail(line, f"{kind}: a task of {memcg} after its rmdir (line {st.removed[memcg]}): a "
               "removed cgroup has no processes; run the op in a live leaf memcg")
    child = st.child.get(memcg)
    if child is not None and not st.cfg.memcg_disabled and not st.cfg.cgroup_v1:
        v.fail(line, f"{kind}: a task of {memcg}, which has the child {child}: cgroup v2 lets "
               "no process into a cgroup that gives memory to children (no internal process "
               f"rule); run the op in a leaf memcg such as {child}")


def _charge_move_rules(v: _V, line: int, to: str, st: _Names) -> None:
    """charge_move is cgroup v1's memory.move_charge_at_immigrate: a v1 hierarchy, a kernel that
    still moves charges (6b611388b626 removed it in 6.13), memcg enabled, and a destination
    the sequence has not removed."""
    if st.cfg.memcg_disabled:
        v.fail(line, "charge_move: no memcgs under cgroup_disable=memory; drop the boot option")
    if not st.cfg.cgroup_v1:
        v.fail(line, "charge_move is cgroup v1's memory.move_charge_at_immigrate, which cgroup "
               "v2 does not have; add 'cgroup: v1' under kernel:")
    if st.cfg.patch.charge_move_removed:
        v.fail(line, f"charge_move: {st.kernel.variant} has no charge moving (removed in 6.13 "
               "by 6b611388b626 \"memcg-v1: remove charge move code\"); use a kernel up to "
               "6.12, e.g. linux-6.1 or '6.12'")
    if to in st.removed:
        v.fail(line, f"charge_move: a task moved into {to} after its rmdir (line "
               f"{st.removed[to]}); move it to a live memcg")


def _check(v: _V, doc: LDict, ov: dict, has_asserts: bool) -> list:
    """The properties to check: the file's 'check:' (default: all but OPT_IN), plus
    'assertion' when the file has asserts (the user's own expectations are always checked),
    or the CLI's --check list instead; then minus --ignore."""
    raw = doc.get("check")
    if ov.get("check") is not None:
        out = list(ov["check"])
    elif raw is None:
        out = [p for p in PROPERTIES if (p != asserts_mod.ASSERTION or has_asserts)
               and p not in OPT_IN]
    else:
        line = doc.lines["check"]
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list):
            v.fail(line, "check must be a list of property names")
        for p in raw:
            if p not in PROPERTIES:
                v.fail(line, f"unknown property {p!r}; known: {', '.join(PROPERTIES)}")
        out = list(raw)
        if has_asserts and asserts_mod.ASSERTION not in out:
            out.append(asserts_mod.ASSERTION)
    if ov.get("also_check") and ov["also_check"] not in out:  # replay of an older trace
        out.append(ov["also_check"])
    ignore = set(ov.get("ignore") or ())
    return [p for p in out if p not in ignore]


def _expect(v: _V, doc: LDict):
    raw = doc.get("expect")
    if raw is None:
        return None
    line = doc.lines["expect"]
    if not isinstance(raw, dict) or set(raw) - {"violation", "introduced", "fixed"} \
            or "violation" not in raw:
        v.fail(line, "expect is {violation: PROPERTY|none, introduced: COMMIT, fixed: "
               "COMMIT|none}")
    val = raw.get("violation")
    if val != "none" and val not in PROPERTIES:
        v.fail(line, f"expect.violation: unknown property {val!r}; use one of the properties "
               "or 'none'")
    if "fixed" in raw and "introduced" not in raw:
        v.fail(line, "expect.fixed needs expect.introduced: the commit that brought the bug in")
    for key in ("introduced", "fixed"):
        _history_ref(v, line, key, raw.get(key, "none" if key == "fixed" else None), raw)
    return dict(raw)


def _history_ref(v: _V, line: int, key: str, ref, raw: dict) -> None:
    """``expect.introduced``/``expect.fixed``: a commit of the history (or ``fixed: none``)."""
    if ref is None or (key == "fixed" and ref == "none"):
        return
    if not isinstance(ref, str) or not ref:
        v.fail(line, f"expect.{key} is a commit id, a Message-ID or a flag name"
               + (" (or none)" if key == "fixed" else ""))
    try:
        history.find_commit(ref)
    except KeyError as e:
        v.fail(line, f"expect.{key}: {e.args[0]}")
