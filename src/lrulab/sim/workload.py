"""Workload files: YAML in, a validated :class:`Workload` out.  Every error is one line naming
file:line and the fix.  The format is documented in docs/simulator.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..kernel.config import BOOT_OPTIONS, FLAGS, SYSFS_ALIASES, SYSFS_DEFAULTS
from ..kernel.folio import HPAGE_PMD_ORDER
from ..scenario import memcg_path_error, sysfs_error
from ..yamlload import LDict, LList, load_yaml, read_user_file


class WorkloadError(ValueError):
    """A bad workload: str() is one line, 'file:line: what is wrong; how to fix it'."""


EVENTS = ("fault", "partial_unmap", "unmap", "exit", "collapse", "migrate")
POLICIES = ("bind", "local", "interleave")
TOP_KEYS = {"name", "description", "seed", "duration", "sample_every", "host", "memcgs",
            "processes", "churn"}
HOST_KEYS = {"nodes", "node_pages", "watermark_low", "watermark_high", "boot", "patches", "sysfs"}
MEMCG_KEYS = {"path", "count", "limit"}
PROC_KEYS = {"memcg", "count", "policy", "node", "spill", "rates", "orders", "written"}
CHURN_KEYS = {"parent", "create", "lifetime", "max", "limit", "survivors", "processes"}
MAX_SAMPLES = 100_000  # duration / sample_every: the samples are kept in memory and written
MAX_MEMCGS = 100_000  # memcgs made at setup (the benchmarks use 10,000)
MAX_PROCS = 1_000_000  # processes spawned at setup


@dataclass
class ProcSpec:
    """A process template: ``count`` processes in each memcg the template names."""
    memcg: str  # may contain {i}
    count: int = 1
    policy: str = "local"
    node: int | None = None  # bind/local home node; None: spread by process index
    spill: float = 0.0  # local: fraction of faults on another node
    rates: dict = field(default_factory=dict)  # event -> per second per process
    orders: dict = field(default_factory=lambda: {HPAGE_PMD_ORDER: 1.0})  # order -> weight
    written: float = 1.0  # fraction of a new THP's subpages written
    line: int = 0


@dataclass
class MemcgSpec:
    path: str  # may contain {i}
    count: int = 0  # 0: one memcg, path literal
    limit: int | None = None  # pages
    line: int = 0

    def paths(self) -> list[str]:
        if not self.count:
            return [self.path]
        return [self.path.replace("{i}", str(i)) for i in range(self.count)]


@dataclass
class ChurnSpec:
    parent: str
    create: float  # memcgs created per second
    lifetime: float  # mean seconds
    max: int = 64
    limit: int | None = None
    survivors: float = 0.0  # fraction of processes left idle in the parent at rmdir
    processes: list = field(default_factory=list)  # ProcSpec with memcg ignored
    line: int = 0


@dataclass
class Workload:
    path: str
    name: str
    description: str = ""
    seed: int = 1
    duration: float = 3600.0
    sample_every: float = 60.0
    nodes: int = 1
    node_pages: int = 1 << 20
    watermark_low: float = 0.02
    watermark_high: float = 0.04
    boot: list = field(default_factory=list)
    patches: dict = field(default_factory=dict)
    sysfs: dict = field(default_factory=dict)
    memcgs: list = field(default_factory=list)  # MemcgSpec
    processes: list = field(default_factory=list)  # ProcSpec
    churn: list = field(default_factory=list)  # ChurnSpec

    def memcg_paths(self) -> list[tuple[str, int | None]]:
        return [(p, m.limit) for m in self.memcgs for p in m.paths()]


class _V:
    def __init__(self, path: str):
        self.path = path

    def fail(self, line: int, msg: str):
        raise WorkloadError(f"{self.path}:{line}: {msg}")

    def keys(self, d, known: set, what: str):
        if not isinstance(d, LDict):
            self.fail(getattr(d, "line", 1), f"{what} must be a mapping")
        for key in d:
            if key not in known:
                self.fail(d.lines[key], f"unknown {what} key {key!r}; known: "
                          f"{', '.join(sorted(known))}")

    def num(self, d, key, default, lo=0.0, hi=None, integer=False, what=""):
        if key not in d:
            return default
        v = d[key]
        line = d.lines.get(key, d.line)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if integer:
            ok = ok and isinstance(v, int)
        if not ok or v < lo or (hi is not None and v > hi):
            rng = f"from {lo}" + (f" to {hi}" if hi is not None else "")
            self.fail(line, f"{what}{key} must be {'an integer' if integer else 'a number'} "
                      f"{rng}, not {v!r}")
        return v


def load_workload(path) -> Workload:
    """Read and validate a workload file."""
    text = read_user_file(path, "workload", WorkloadError, "give a workload file or a built-in "
                          f"name ({', '.join(builtin_names())})")
    return parse_workload(text, str(path))


def builtin_dir() -> Path:
    """workloads/ of the source tree (next to src/)."""
    return Path(__file__).resolve().parents[3] / "workloads"


def builtin_names() -> list[str]:
    d = builtin_dir()
    return sorted(p.stem for p in d.glob("*.yaml")) if d.is_dir() else []


def resolve(name_or_path: str) -> str:
    """A path as given, or a built-in workload by name."""
    if Path(name_or_path).exists():
        return name_or_path
    cand = builtin_dir() / f"{name_or_path}.yaml"
    return str(cand) if cand.exists() else name_or_path


def _proc(v: _V, d, where: str, nodes: int, need_memcg: bool) -> ProcSpec:
    v.keys(d, PROC_KEYS - ({"memcg"} if not need_memcg else set()), where)
    ps = ProcSpec(memcg="", line=d.line)
    if need_memcg:
        if not isinstance(d.get("memcg"), str) or "\n" in d["memcg"]:
            v.fail(d.line, f"{where}: missing 'memcg: PATH' (may use {{i}} for every instance)")
        ps.memcg = d["memcg"]
    ps.count = v.num(d, "count", 1, 0, 100000, True, f"{where}: ")
    pol = d.get("policy", "local")
    if not isinstance(pol, str) or pol not in POLICIES:
        v.fail(d.lines.get("policy", d.line), f"{where}: policy {pol!r} unknown; use one of "
               f"{', '.join(POLICIES)}")
    ps.policy = pol
    if "node" in d:
        ps.node = v.num(d, "node", 0, 0, nodes - 1, True, f"{where}: ")
    ps.spill = v.num(d, "spill", 0.0, 0.0, 1.0, False, f"{where}: ")
    rates = d.get("rates", LDict())
    v.keys(rates, set(EVENTS), f"{where} rates")
    ps.rates = {e: float(v.num(rates, e, 0.0, 0.0, None, False, f"{where}: rates."))
                for e in EVENTS}
    if "orders" in d:
        od = d["orders"]
        if not isinstance(od, LDict) or not od:
            v.fail(d.lines["orders"], f"{where}: orders must map an order (2..9) to a weight, "
                   "e.g. {9: 0.8, 4: 0.2}")
        orders = {}
        for o in od:
            if not isinstance(o, int) or isinstance(o, bool) or not 2 <= o <= HPAGE_PMD_ORDER:
                v.fail(od.lines[o], f"{where}: order {o!r} must be an integer from 2 to 9")
            orders[o] = float(v.num(od, o, 0.0, 0.0, None, False, f"{where}: orders."))
        if sum(orders.values()) <= 0:
            v.fail(d.lines["orders"], f"{where}: order weights sum to 0; give one a weight > 0")
        ps.orders = orders
    ps.written = float(v.num(d, "written", 1.0, 0.0, 1.0, False, f"{where}: "))
    return ps


def parse_workload(text: str, path: str = "<workload>") -> Workload:
    v = _V(path)
    doc = load_yaml(text, path, "workload", WorkloadError)
    if not isinstance(doc, LDict):
        v.fail(getattr(doc, "line", 1), "a workload is a mapping with 'host:', 'memcgs:' and "
               "'processes:'")
    v.keys(doc, TOP_KEYS, "top-level")
    w = Workload(path=path, name=str(doc.get("name", Path(path).stem)))
    w.description = str(doc.get("description", ""))
    w.seed = v.num(doc, "seed", 1, 0, None, True)
    w.duration = float(v.num(doc, "duration", 3600.0, 0.001))
    w.sample_every = float(v.num(doc, "sample_every", max(w.duration / 200, 0.001), 0.001))
    if w.duration / w.sample_every > MAX_SAMPLES:
        v.fail(doc.lines.get("sample_every", doc.line), f"duration / sample_every is over "
               f"{MAX_SAMPLES:,} samples; sample less often")
    host = doc.get("host")
    if host is None:
        v.fail(doc.line, "missing 'host:' mapping; add 'host: {nodes: 2, node_pages: 262144}'")
    v.keys(host, HOST_KEYS, "host")
    w.nodes = v.num(host, "nodes", 1, 1, 64, True, "host.")
    w.node_pages = v.num(host, "node_pages", 1 << 20, 1024, None, True, "host.")
    w.watermark_low = float(v.num(host, "watermark_low", 0.02, 0.0, 0.9, False, "host."))
    w.watermark_high = float(v.num(host, "watermark_high", max(0.04, w.watermark_low), 0.0, 0.95,
                                   False, "host."))
    if w.watermark_high < w.watermark_low:
        v.fail(host.lines.get("watermark_high", host.line),
               "host.watermark_high must be >= watermark_low")
    boot = host.get("boot", [])
    if isinstance(boot, str):
        boot = [boot]
    if not isinstance(boot, list):
        v.fail(host.lines.get("boot", host.line), f"host.boot must be a list of boot options, "
               f"not {boot!r}")
    for b in boot:
        if not isinstance(b, str) or b not in BOOT_OPTIONS:
            v.fail(host.lines.get("boot", host.line), f"unknown boot option {b!r}; known: "
                   f"{', '.join(BOOT_OPTIONS)}")
    w.boot = list(boot)
    patches = host.get("patches", LDict())
    if not isinstance(patches, LDict):
        v.fail(host.lines.get("patches", host.line), "host.patches must map FLAG: true|false")
    for name, val in patches.items():
        if name not in FLAGS:
            v.fail(patches.lines[name], f"unknown patch flag {name!r}; 'lrulab variants' "
                   "lists them")
        if not isinstance(val, bool):
            v.fail(patches.lines[name], f"patch flag {name} must be true or false")
    w.patches = dict(patches)
    sysfs = host.get("sysfs", LDict())
    if not isinstance(sysfs, LDict):
        v.fail(host.lines.get("sysfs", host.line), "host.sysfs must be a mapping")
    for name in sysfs:
        if SYSFS_ALIASES.get(name, name) not in SYSFS_DEFAULTS:
            v.fail(sysfs.lines[name], f"unknown sysfs knob {name!r}; known: "
                   f"{', '.join(SYSFS_DEFAULTS)}")
        if sysfs_error(name, sysfs[name]):
            v.fail(sysfs.lines[name], f"sysfs {name} {sysfs_error(name, sysfs[name])}")
    w.sysfs = dict(sysfs)

    memcgs = doc.get("memcgs", LList())
    if not isinstance(memcgs, LList):
        v.fail(doc.lines.get("memcgs", doc.line), "memcgs must be a list of {path, count, limit}")
    known: set[str] = set()
    for i, m in enumerate(memcgs):
        line = memcgs.lines[i]
        if isinstance(m, str):
            m = LDict(path=m)
            m.line, m.lines = line, {"path": line}
        v.keys(m, MEMCG_KEYS, "memcg")
        if not isinstance(m.get("path"), str) or not m["path"]:
            v.fail(line, "memcg entry needs 'path: a/b' (use {i} with count: N for N of them)")
        ms = MemcgSpec(m["path"], v.num(m, "count", 0, 0, 1_000_000, True, "memcg "),
                       None, line)
        if "limit" in m:
            ms.limit = v.num(m, "limit", 0, 1, None, True, "memcg ")
        if ms.count and "{i}" not in ms.path:
            v.fail(line, f"memcg {ms.path!r} has count: {ms.count} but no {{i}} in its path")
        if not ms.count and "{i}" in ms.path:
            v.fail(line, f"memcg {ms.path!r} uses {{i}}; add count: N")
        if "{" in ms.path.replace("{i}", "") or "}" in ms.path.replace("{i}", ""):
            v.fail(line, f"memcg {ms.path!r}: {{i}} is the only template; drop the other "
                   "braces")
        why = memcg_path_error(ms.path.replace("{i}", "0"))
        if why:
            v.fail(line, f"bad memcg path {ms.path!r}: it {why}; use names like a or a/b{{i}}")
        if len(known) + max(ms.count, 1) > MAX_MEMCGS:
            v.fail(line, f"more than {MAX_MEMCGS:,} memcgs; lower count")
        for p in ms.paths():
            parent = p.rpartition("/")[0]
            if parent and parent not in known:
                v.fail(line, f"memcg {p!r}: parent {parent!r} must be listed before it")
            if p in known:
                v.fail(line, f"memcg {p!r} listed twice")
            known.add(p)
        w.memcgs.append(ms)
    counts = {m.path: m.count for m in w.memcgs}

    procs = doc.get("processes", LList())
    if not isinstance(procs, LList):
        v.fail(doc.lines.get("processes", doc.line), "processes must be a list of templates")
    for i, d in enumerate(procs):
        ps = _proc(v, d, f"processes[{i}]", w.nodes, True)
        if ps.memcg not in counts and ps.memcg != "root":
            v.fail(d.lines.get("memcg", d.line), f"processes[{i}]: memcg {ps.memcg!r} is not "
                   "in memcgs: (write it exactly as listed there, {i} included)")
        w.processes.append(ps)

    churn = doc.get("churn", LList())
    if not isinstance(churn, LList):
        v.fail(doc.lines.get("churn", doc.line), "churn must be a list")
    for i, d in enumerate(churn):
        where = f"churn[{i}]"
        v.keys(d, CHURN_KEYS, where)
        parent = d.get("parent")
        if not isinstance(parent, str) or parent not in known:
            v.fail(d.lines.get("parent", d.line), f"{where}: parent {parent!r} must be a memcg "
                   "listed under memcgs: (without {i})")
        cs = ChurnSpec(parent, float(v.num(d, "create", 0.0, 0.0, None, False, where + ".")),
                       float(v.num(d, "lifetime", 600.0, 0.001, None, False, where + ".")),
                       v.num(d, "max", 64, 1, 1_000_000, True, where + "."), None,
                       float(v.num(d, "survivors", 0.0, 0.0, 1.0, False, where + ".")),
                       [], d.line)
        if "limit" in d:
            cs.limit = v.num(d, "limit", 0, 1, None, True, where + ".")
        pl = d.get("processes", LList())
        if not isinstance(pl, LList):
            v.fail(d.lines.get("processes", d.line), f"{where}.processes must be a list")
        for j, pd in enumerate(pl):
            cs.processes.append(_proc(v, pd, f"{where}.processes[{j}]", w.nodes, False))
        w.churn.append(cs)
    nprocs = sum(ps.count * max(counts.get(ps.memcg, 0), 1) for ps in w.processes)
    if nprocs > MAX_PROCS:
        v.fail(doc.lines.get("processes", doc.line), f"{nprocs:,} processes at setup, over "
               f"{MAX_PROCS:,}; lower the counts")
    return w


EVENTS_PER_SECOND = 60_000  # kernel entry points the simulator runs per second (README)


def expected_events(w: Workload, duration: float) -> float:
    """About how many events (faults, unmaps, exits, memcg creations...) a run of ``duration``
    seconds draws, from the rates: an upper estimate to refuse or warn before a run that would
    not end in reasonable time."""
    counts = {m.path: max(m.count, 1) for m in w.memcgs}
    rate = sum(sum(ps.rates.values()) * ps.count * counts.get(ps.memcg, 1)
               for ps in w.processes)
    for cs in w.churn:
        live = min(cs.max, cs.create * cs.lifetime + 1)
        rate += cs.create + live * sum(sum(ps.rates.values()) * ps.count for ps in cs.processes)
    setup = sum(counts.values()) + sum(ps.count * counts.get(ps.memcg, 1) for ps in w.processes)
    return rate * duration + setup
