"""Scenario -> guest script for the probe (see probe/probe.c for the script language).

Ops run in file order: setup, then thread 0's ops, thread 1's, ... . Each op becomes one
``O <idx> ...`` line, so op ``idx`` here is the ``idx``-th op the model runner executes.
What the real kernel (its rules: kernels.py) cannot express raises :class:`NotApplicable`
with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lrulab.kernel.config import SYSFS_ALIASES, SYSFS_DEFAULTS

from .kernels import RULES_61, THP_SYSFS, KernelRules

PMD_ORDER = 9
MAX_NODES = 4
MEMCG_RECLAIM_AMOUNT = "1G"   # more than any scenario charges: reclaim "everything possible"

# knobs always written before the scenario: keep khugepaged, kswapd and the other background
# movers of pages out of the way.  NUMA balancing (hinting faults, task_numa_work every
# second or so) and proactive compaction (kcompactd every 500 ms) migrate pages on their own
# clock: under a loaded host a 6.12 memory.reclaim op once counted pgmigrate_success +2/+4
# that no op caused (conformance 01, 2 nodes); the probe records numa_pages_migrated,
# numa_hint_faults and compact_* so such a mover shows in --json.
BASE_KNOBS = (
    (f"{THP_SYSFS}/khugepaged/scan_sleep_millisecs", "3600000"),
    (f"{THP_SYSFS}/khugepaged/alloc_sleep_millisecs", "3600000"),
    (f"{THP_SYSFS}/enabled", "always"),
    ("/proc/sys/vm/swappiness", "60"),
    ("/proc/sys/kernel/numa_balancing", "0"),
    ("/proc/sys/vm/compaction_proactiveness", "0"),
)

BOOT_61 = ("cgroup.memory=nokmem", "cgroup_disable=memory")

# The dentry ops look names up in a private sysfs mounted here (probe.c: the D line); its
# superblock's s_dentry_lru is the lru the scenario's `lru_add`s are compared with.
DCACHE_DIR = "/lrulab-dcache"
# a superblock's dentry lru (fs/super.c: alloc_super): memcg-aware list_lru, shrinker
# SHRINKER_NUMA_AWARE | SHRINKER_MEMCG_AWARE
# SHRINKER_NUMA_AWARE | SHRINKER_MEMCG_AWARE, batch 1024; kernfs_fill_super (fs/kernfs/mount.c)
# sets seeks 0, so do_shrink_slab asks for freeable / 2 at every priority
SB_LRU_SHAPE = {"memcg_aware": True, "shrinker": {"numa_aware", "memcg_aware"}, "seeks": 0,
                "batch": 1024}
# the names in the root of sysfs: a lookup of one of them finds a positive dentry
SYSFS_ROOT_NAMES = {"block", "bus", "class", "dev", "devices", "firmware", "fs", "hypervisor",
                    "kernel", "module", "power"}
# the only counter a node-local global reclaim (the allocation hog) is compared on; with the
# state after it (split folios, queues) it is the op's outcome
HOG_OUTCOME = ("thp_split_page", "nr_anon_transparent_hugepages")
HOG_OUTCOME_MTHP = ("split", "nr_anon", "nr_anon_partially_mapped")   # per-order stats
HOG_WHY = ("node-local global reclaim runs as an allocation hog: how many kswapd and direct "
           "reclaim passes run varies from run to run, so only the outcome is compared "
           "(thp_split_page, the THP gauges and the state after the op)")


def hog_outcome(counter: str) -> bool:
    """Is `counter` part of a hog op's outcome (compared) rather than a per-pass count?"""
    return counter in HOG_OUTCOME or (
        "/stats/" in counter and counter.rpartition("/")[2] in HOG_OUTCOME_MTHP)


_NO_KIND = {"hugetlb": "no hugetlbfs pool is set up",
            "shmem": "no MAP_SHARED | MAP_ANONYMOUS mapping with shmem_enabled set up",
            "file": "no file on a large-folio filesystem is mapped"}


class NotApplicable(Exception):
    """The scenario (or one op) cannot be run on the real kernel; str() is the reason."""


@dataclass
class GuestOp:
    index: int
    kind: str
    line: int
    text: str                       # human description, e.g. "reclaim B (memory.reclaim)"
    action: str                     # what the guest does, for the table and the docs
    exclude: dict[str, str] = field(default_factory=dict)  # counter -> why it is not compared
    outcome_only: str = ""          # why only HOG_OUTCOME counters (and the state) are compared


@dataclass
class GuestPlan:
    script: str
    ops: list[GuestOp]
    nodes: int
    boot: list[str]
    lrus: tuple[str, ...] = ()      # scenario lrus compared with the private sysfs's dentry lru


def _where(scenario: Any, op: Any) -> str:
    return f"{getattr(scenario, 'path', '?')}:{getattr(op, 'line', '?')}"


def _at(scenario: Any, key: str) -> str:
    """'file:line' of kernel key ``key`` (or of the kernel mapping) in the scenario file."""
    lines = getattr(scenario.kernel, "lines", None) or {}
    return f"{scenario.path}:{lines.get(key, lines.get('kernel', 1))}"


def _memcg(path: Any) -> str:
    p = str(path).strip("/")
    return "root" if p in ("", "root") else p


def iter_ops(scenario: Any) -> list[Any]:
    ops = list(scenario.setup)
    for thread in scenario.threads:
        ops.extend(thread)
    return ops


def plan(scenario: Any, rules: KernelRules = RULES_61) -> GuestPlan:
    """Translate for a kernel with `rules`; raise NotApplicable for anything that kernel under
    QEMU cannot express."""
    linux = f"Linux {rules.series}"
    k = scenario.kernel
    boot = list(getattr(k, "boot", []) or [])
    for opt in boot:
        if opt not in BOOT_61:
            raise NotApplicable(f"{_at(scenario, 'boot')}: boot option {opt} is not supported "
                                f"by the conformance harness (supported: {', '.join(BOOT_61)})")
    memcg_off = "cgroup_disable=memory" in boot
    if getattr(k, "cgroup", "v2") != "v2":
        raise NotApplicable(f"{_at(scenario, 'cgroup')}: kernel.cgroup: v1: the conformance "
                            "guest mounts the cgroup v2 hierarchy only")
    nodes = int(getattr(k, "nodes", 1) or 1)
    if not 1 <= nodes <= MAX_NODES:
        raise NotApplicable(f"{_at(scenario, 'nodes')}: nodes: {nodes}: the QEMU guest "
                            f"supports 1 to {MAX_NODES} NUMA nodes")
    if getattr(k, "inject_alloc_failures", False):
        raise NotApplicable(f"{_at(scenario, 'inject_alloc_failures')}: "
                            "kernel.inject_alloc_failures: allocation failures cannot be "
                            "injected into the real kernel at chosen sites")
    lines = [f"K {p} {v}" for p, v in BASE_KNOBS]
    given = {SYSFS_ALIASES.get(n, n): v for n, v in (getattr(k, "sysfs", {}) or {}).items()}
    # every knob the kernel has gets the model's value (its default unless the file sets it),
    # so a kernel default that differs cannot make the two sides disagree silently
    for name, value in {**SYSFS_DEFAULTS, **given}.items():
        if name in rules.sysfs:
            v = int(value) if isinstance(value, bool) else value
            lines.append(f"K {rules.sysfs[name]} {v}")
        elif name not in given:
            continue
        elif name in rules.not_in_kernel:
            raise NotApplicable(f"{_at(scenario, 'sysfs')}: sysfs {name}: "
                                f"{rules.not_in_kernel[name]}")
        else:
            raise NotApplicable(f"{_at(scenario, 'sysfs')}: sysfs knob {name} has no {linux} "
                                "equivalent")
    orders = sorted({int(op.args.get("order") or PMD_ORDER) for op in iter_ops(scenario)
                     if op.kind == "fault" and op.args} - {PMD_ORDER})
    for order in orders:
        if order in rules.mthp_orders:
            # mTHP: this size in madvise mode, the probe maps the folio with MADV_HUGEPAGE
            lines.append(f"K {THP_SYSFS}/hugepages-{4 << order}kB/enabled madvise")
    lines.append("Q")
    lines.append(f"N {nodes}")
    live: set[str] = set()
    for cg in scenario.memcgs:
        cg = _memcg(cg)
        if cg == "root":
            continue
        if memcg_off:
            raise NotApplicable(f"{_at(scenario, 'boot')}: memcg {cg}: there are no memcgs "
                                "under cgroup_disable=memory")
        lines.append(f"G {cg}")
        live.add(cg)

    lrus = _dentry_lrus(scenario)
    if lrus:
        lines.append(f"D {DCACHE_DIR}")
    folios: dict[str, int] = {}
    pins: dict[str, int] = {}
    gops: list[GuestOp] = []
    outcome = ""
    looked_up: set[str] = set()
    for idx, op in enumerate(iter_ops(scenario)):
        kind, a = op.kind, dict(op.args or {})
        where = _where(scenario, op)
        exclude: dict[str, str] = {}
        if a.get("fail"):
            raise NotApplicable(f"{where}: {kind} with fail: allocation failures cannot be "
                                "injected into the real kernel at chosen sites")

        def folio(a: dict = a, where: str = where, kind: str = kind) -> str:
            name = a.get("folio")
            if name not in folios:
                raise NotApplicable(f"{where}: {kind}: unknown folio {name}")
            return str(name)

        if kind == "fault" and a.get("kind", "anon") != "anon":
            raise NotApplicable(f"{where}: fault kind {a['kind']}: the guest program maps "
                                "private anonymous memory only ("
                                + _NO_KIND.get(a["kind"], "not mapped") + ")")
        if kind == "split" and a.get("order"):
            raise NotApplicable(f"{where}: split to order {a['order']}: the guest writes "
                                "debugfs split_huge_pages without a new order")
        if kind in ("fault", "collapse"):
            cg, node, name = _memcg(a.get("memcg", "root")), a.get("node", 0), a.get("as")
            order = a.get("order", PMD_ORDER)
            if order is None:
                order = PMD_ORDER
            order = int(order)
            if order != PMD_ORDER and not rules.mthp_orders:
                raise NotApplicable(
                    f"{where}: {kind} order {order}: {linux} has no mTHP (multi-size THP came in "
                    "6.8); only PMD-order (9) anonymous THPs exist")
            if order != PMD_ORDER and (kind == "collapse" or order not in rules.mthp_orders):
                raise NotApplicable(f"{where}: {kind} order {order}: {linux} has anonymous mTHP "
                                    f"orders {rules.mthp_orders} by fault only (MADV_COLLAPSE "
                                    "makes PMD-order THPs)")
            if not isinstance(node, int) or not 0 <= node < nodes:
                raise NotApplicable(f"{where}: {kind}: node {node} is not one of the "
                                    f"{nodes} node(s)")
            if cg != "root" and cg not in live:
                raise NotApplicable(f"{where}: {kind}: memcg {cg} is not online")
            nr = 1 << order
            written = a.get("written", nr)
            if written is None:
                written = nr
            if not 1 <= int(written) <= nr:
                raise NotApplicable(f"{where}: {kind} written: {written}: the guest must write "
                                    "at least one page (a fault is a write)")
            slot = folios[name] = len(folios)
            lines.append(f"O {idx} {kind} {cg} {node} {name} {slot} {int(written)}"
                         + (f" {order}" if order != PMD_ORDER else ""))
            if kind == "fault":
                what = "every 4 KiB page" if written == nr else f"the first {written} 4 KiB pages"
                size = "2 MiB" if order == PMD_ORDER else f"{4 << order} KiB + MADV_HUGEPAGE"
                action = (f"worker in {cg}: mmap {size} at a 2 MiB-aligned address, mbind to "
                          f"node {node}, write {what}")
            else:
                action = (f"worker in {cg}: mmap 2 MiB (node {node}), MADV_NOHUGEPAGE, write "
                          f"{written} pages, MADV_HUGEPAGE + MADV_COLLAPSE")
            text = f"{kind} {name} in {cg} on node {node}"
        elif kind == "partial_unmap":
            name = folio()
            lines.append(f"O {idx} partial {name}")
            text, action = f"partial_unmap {name}", "munmap the upper half of what is still mapped"
        elif kind == "unmap":
            name = folio()
            lines.append(f"O {idx} unmap {name}")
            text, action = f"unmap {name}", "munmap the rest"
        elif kind in ("get", "put"):
            name = folio()
            pins[name] = pins.get(name, 0) + (1 if kind == "get" else -1)
            lines.append(f"O {idx} {kind} {name}")
            text = f"{kind} {name}"
            action = ("vmsplice one mapped 4 KiB page of it into a pipe (+1 folio reference)"
                      if kind == "get" else "read that page back out of the pipe (-1 reference)")
        elif kind == "split":
            name = folio()
            if pins.get(name, 0) > 0:
                raise NotApplicable(
                    f"{where}: split {name} while it holds an extra reference: debugfs "
                    "split_huge_pages (the only user-space split) skips pinned THPs without "
                    "counting thp_split_page_failed, unlike split_huge_page()")
            lines.append(f"O {idx} split {name}")
            text, action = f"split {name}", "write <pid>,<start>,<end> to debugfs split_huge_pages"
        elif kind == "migrate":
            name, node = folio(), a.get("node")
            if not isinstance(node, int) or not 0 <= node < nodes:
                raise NotApplicable(f"{where}: migrate: node {node} is not one of the "
                                    f"{nodes} node(s)")
            lines.append(f"O {idx} migrate {name} {node}")
            text, action = f"migrate {name} to node {node}", "mbind(MPOL_BIND, MPOL_MF_MOVE)"
        elif kind in ("mkdir", "rmdir"):
            cg = _memcg(a.get("path", a.get("memcg", "")))
            if cg == "root":
                raise NotApplicable(f"{where}: {kind}: cannot {kind} the root cgroup")
            if memcg_off:
                raise NotApplicable(f"{where}: {kind} {cg}: there are no memcgs under "
                                    "cgroup_disable=memory")
            lines.append(f"O {idx} {kind} {cg}")
            (live.add if kind == "mkdir" else live.discard)(cg)
            text = f"{kind} {cg}"
            action = ("mkdir the cgroup (+memory in the parent's subtree_control)"
                      if kind == "mkdir"
                      else "move its worker to the root cgroup (memory stays charged), rmdir, "
                           "wait for css offline (2 x membarrier(GLOBAL) = RCU grace periods, "
                           "then 1.5 s)")
        elif kind == "reclaim":
            cg, node = _memcg(a.get("memcg", "root")), a.get("node", "all")
            if a.get("by") is not None:
                raise NotApplicable(f"{where}: reclaim by {a['by']}: kswapd and direct reclaim "
                                    "need an allocation hog, which is not deterministic; use "
                                    "memcg reclaim or drop_caches (no 'by')")
            extra = [k for k in ("priority", "nr_to_scan") if a.get(k) is not None]
            if extra:
                raise NotApplicable(f"{where}: reclaim with {' and '.join(extra)}: {linux} has "
                                    "no user interface that fixes the reclaim priority or the "
                                    "shrinker batch")
            if node != "all" and cg != "root":
                raise NotApplicable(f"{where}: reclaim {cg} on node {node}: {linux} has no "
                                    "interface that reclaims one memcg on one node (per-node "
                                    "memory.reclaim came with b980077899ea in 6.17); use "
                                    "node: all")
            if node != "all":
                if not isinstance(node, int) or not 0 <= node < nodes:
                    raise NotApplicable(f"{where}: reclaim: node {node} is not one of the "
                                        f"{nodes} node(s)")
                lines.append(f"O {idx} hog {node}")
                text = f"reclaim root on node {node} (hog)"
                action = (f"a root-cgroup process bound to node {node} (set_mempolicy "
                          "MPOL_BIND) touches 1 MiB chunks until the OOM killer kills it")
                outcome = HOG_WHY
            elif cg == "root" and lrus:
                raise NotApplicable(
                    f"{where}: reclaim root on all nodes with dentries: drop_caches repeats its "
                    "drop_slab rounds while the guest's other shrinkers (dentries and inodes of "
                    "proc, sysfs, cgroupfs) free objects the model does not represent, and the "
                    "private sysfs's shrinker (seeks 0) scans only in later rounds, so how many "
                    "of the scenario's dentries it frees depends on objects outside the "
                    "scenario; use node-local reclaim (reclaim: {memcg: root, node: N})")
            elif cg == "root":
                lines.append(f"O {idx} dropslab")
                text, action = "reclaim root (all nodes)", "echo 2 > /proc/sys/vm/drop_caches"
                exclude["slabs_scanned"] = ("drop_caches also runs every other shrinker (dentries, "
                                            "inodes of proc/sysfs/...) in the root pass")
            else:
                if memcg_off:
                    raise NotApplicable(f"{where}: reclaim {cg}: no memcgs under "
                                        "cgroup_disable=memory")
                lines.append(f"O {idx} memreclaim {cg} {MEMCG_RECLAIM_AMOUNT}")
                text = f"reclaim {cg} (all nodes)"
                action = f"echo {MEMCG_RECLAIM_AMOUNT} > {cg}/memory.reclaim"
        elif kind in ("swapout", "charge_move"):
            raise NotApplicable(f"{where}: {kind}: the conformance guest has no swap device "
                                "and mounts cgroup v2 only (no charge moving)")
        elif kind == "lru_add":
            cg, node, item = _memcg(a.get("memcg", "root")), a.get("node", 0), str(a.get("item"))
            if not isinstance(node, int) or not 0 <= node < nodes:
                raise NotApplicable(f"{where}: lru_add: node {node} is not one of the "
                                    f"{nodes} node(s)")
            if cg != "root" and cg not in live:
                raise NotApplicable(f"{where}: lru_add: memcg {cg} is not online")
            if item in SYSFS_ROOT_NAMES or not item.replace("-", "").replace("_", "").isalnum():
                raise NotApplicable(f"{where}: lru_add item {item}: the guest looks the item "
                                    "up as a missing name in sysfs's root; choose another name")
            if item in looked_up:
                raise NotApplicable(
                    f"{where}: lru_add {item} again: the kernel finds the dentry cached and its "
                    "dput marks it DCACHE_REFERENCED (the shrinker then rotates it once instead "
                    "of freeing it); the model's list_lru user has no referenced bit")
            looked_up.add(item)
            lines.append(f"O {idx} dentry {cg} {node} {item}")
            text = f"lru_add {a.get('lru')} {item} in {cg} on node {node}"
            action = (f"worker in {cg}, on node {node}'s CPU with MPOL_BIND {node}: stat "
                      f"{DCACHE_DIR}/{item} (missing): a negative dentry, on the private "
                      "sysfs's s_dentry_lru once its dput drops it")
        elif kind == "lru_del":
            raise NotApplicable(
                f"{where}: lru_del: a dentry leaves its lru only when it is killed (the lookup "
                "that finds it stale allocates a new dentry in the same lru) or isolated by "
                "the shrinker (reclaim); no guest action takes one dentry off the lru alone")
        else:
            raise NotApplicable(f"{where}: op {kind} has no user-space trigger on a real kernel "
                                "(list_lru internals); the conformance harness cannot run it")
        gops.append(GuestOp(idx, kind, int(getattr(op, "line", 0) or 0), text, action, exclude,
                            outcome))
        outcome = ""
    return GuestPlan("\n".join(lines) + "\n", gops, nodes, boot, lrus)


def _dentry_lrus(scenario: Any) -> tuple[str, ...]:
    """The scenario lrus the ops use: at most one, shaped like a superblock's dentry lru
    (the guest's is the private sysfs's s_dentry_lru)."""
    used = sorted({str(op.args.get("lru")) for op in iter_ops(scenario)
                   if op.kind in ("lru_add", "lru_del") and op.args})
    declared = getattr(scenario.kernel, "lrus", {}) or {}
    if len(used) > 1:
        raise NotApplicable(f"{_at(scenario, 'lrus')}: lrus {', '.join(used)}: the guest has "
                            "one list_lru user space can fill (a superblock's dentry lru)")
    for name in used:
        spec = declared.get(name) or {}
        shape = {"memcg_aware": bool(spec.get("memcg_aware", True)),
                 "shrinker": set(spec.get("shrinker", []) or []),
                 "seeks": spec.get("seeks"), "batch": spec.get("batch")}
        if shape != SB_LRU_SHAPE:
            raise NotApplicable(f"{_at(scenario, 'lrus')}: lru {name}: the guest's lru is a "
                                "sysfs superblock's dentry lru: declare it {memcg_aware: true, "
                                "shrinker: [numa_aware, memcg_aware], seeks: 0, batch: 1024}")
    return tuple(used)
