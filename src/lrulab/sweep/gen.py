"""Random well-formed scenarios for the false-alarm sweep.

``scenario_text(seed, preset)`` is YAML in the format of docs/scenarios.md: 2-3 threads of 2-5
ops drawn from every op the model has, 1-2 NUMA nodes, each boot option, plain and
memcg-aware list_lru users, and sometimes injected allocation failures.  The same seed gives
the same text, byte for byte; the preset only decides whether mTHP orders appear (the random
draws are the same for every preset, so a seed is the same workload on every kernel).

The kernel's rules a scenario must respect (kernel/cgroup/cgroup.c,
Documentation/admin-guide/cgroup-v2.rst), kept by construction:
- no internal processes: fault, collapse and a first lru_add (the ops that charge a new
  object to the task's memcg) run in root or in a memcg that is a leaf of the final tree (no
  child is declared or made anywhere) that setup or the same thread has not removed before
  (another thread's rmdir may race it: rmdir moves the cgroup's tasks out first, and an op that
  starts after it finds the cgroup gone, -ENOENT; docs/scenarios.md, "Tasks and cgroups");
  a re-add of an existing lru object (a dput) is by such a task too;
- no mkdir under a memcg that any op removes; memcg paths are written ``A/B``;
- a pin is dropped only by the thread that took it (``put`` after a ``get`` of the same
  folio in the same thread, or of a setup pin), so no thread drops a reference it does not own;
- names are used only after the op that makes them, in reading order (setup, thread 0, ...).

cgroup v1 (``kernel: {cgroup: v1}``), ``swapout`` and ``charge_move`` are drawn from a second
random stream, so that every draw of the first -- and so every scenario these ops do not
touch -- is what it was before they existed: a drawn ``split`` sometimes becomes a
``swapout`` of the same folio, or, on a v1 hierarchy, a ``charge_move`` of it to a memcg no
earlier op of the sequence removed.  Charge moving exists up to 6.12 only
(``charge_move_removed``): on later presets that op is a ``swapout`` of the folio instead,
the one place where a seed's workload depends on the preset.
"""

from __future__ import annotations

import random

from ..kernel.config import PRESETS

BOOTS = ([], ["cgroup.memory=nokmem"], ["cgroup_disable=memory"])
TREES = (["A"], ["A", "B"], ["A", "A/C"], ["A", "A/C", "B"])
LRUS = {  # plain (not memcg-aware) and memcg-aware list_lru users
    "dcache": "{memcg_aware: true, shrinker: [numa_aware, memcg_aware]}",
    "plain": "{memcg_aware: false, shrinker: [numa_aware]}",
}
OP_WEIGHTS = {"fault": 5, "partial_unmap": 5, "unmap": 3, "get": 2, "put": 2, "split": 2,
              "migrate": 2, "collapse": 2, "reclaim": 5, "rmdir": 3, "mkdir": 1,
              "lru_add": 4, "lru_del": 2}
# ops the sweep does not draw: a registration only matters at a 64-id boundary
# (kernel.shrinkers), and adding kinds to OP_WEIGHTS would change every seed's scenario
NOT_DRAWN = ("register", "unregister")
FAIL_SITES = {"fault": ["thp_alloc", "charge", "list_lru_memcg"],
              "collapse": ["thp_alloc", "charge", "list_lru_memcg"],
              "migrate": ["migrate_alloc", "list_lru_memcg"],
              "lru_add": ["list_lru_memcg"]}


class _Gen:
    """One scenario being drawn; ``known`` is what reading order has made so far."""

    def __init__(self, seed: int, preset: str):
        self.rnd = random.Random(seed)
        self.rnd2 = random.Random(seed * 7919 + 17)  # the later ops' own stream (docstring)
        self.mthp = PRESETS[preset][1]["mthp"]
        self.charge_move = not PRESETS[preset][1]["charge_move_removed"]
        self.v1 = self.rnd2.random() < 0.3
        self.nodes = self.rnd.choice([1, 1, 2])
        self.memcgs = list(self.rnd.choice(TREES))
        self.made: list = []  # mkdir'ed paths, decided up front (they shape the leaves)
        self.removed: set = set()  # memcgs some op removes
        self.folios: list = []  # names usable by every thread: setup's
        self.items: list = []
        self.lrus = [n for n in LRUS if self.rnd.random() < 0.6]
        self.seq = 0

    # -- the memcg tree ---------------------------------------------------------------------

    def plan_tree(self) -> None:
        """Decide the mkdirs and rmdirs first: they decide which memcgs may host tasks."""
        rnd = self.rnd
        if rnd.random() < 0.25:
            parent = rnd.choice(["", "", *self.memcgs])
            name = rnd.choice(["D", "E"])
            path = f"{parent}/{name}" if parent else name
            if path not in self.memcgs:
                self.made.append(path)
        every = self.memcgs + self.made
        for m in every:
            if rnd.random() < 0.35:
                self.removed.add(m)
        # no mkdir under a memcg that some op removes
        self.made = [p for p in self.made if p.rpartition("/")[0] not in self.removed]

    def leaves(self) -> list:
        every = self.memcgs + self.made
        return [m for m in every if not any(o.startswith(m + "/") for o in every)]

    def task_memcg(self, thread_made: list, gone: set | None = None) -> str:
        """A memcg a task may live in (see the module docstring): ``gone`` is None in setup,
        else what setup and this thread removed so far.  A thread's task sometimes lives in a
        leaf another thread removes: the kernel's rmdir moves it out first (or the op finds
        the cgroup gone: -ENOENT)."""
        ok = [m for m in self.leaves() if (gone is None or m not in self.removed)
              and (m in self.memcgs or m in thread_made)]
        if gone is not None and self.rnd.random() < 0.2:
            ok += [m for m in self.leaves() if m in self.removed and m not in gone
                   and m in self.memcgs]
        return self.rnd.choice(["root", *ok]) if self.rnd.random() < 0.15 or not ok \
            else self.rnd.choice(ok)

    # -- ops ----------------------------------------------------------------------------------

    def name(self, prefix: str) -> str:
        self.seq += 1
        return f"{prefix}{self.seq}"

    def fails(self, kind: str) -> str:
        """Sometimes a ``fail:`` site (never in setup, which must build what threads use)."""
        if kind in FAIL_SITES and self.rnd.random() < 0.08 and not self.in_setup:
            return f", fail: [{self.rnd.choice(FAIL_SITES[kind])}]"
        return ""

    def fault(self, memcg: str, out: list) -> str:
        rnd = self.rnd
        order = rnd.choice([2, 4, 8]) if rnd.random() < 0.3 else 9
        if not self.mthp:
            order = 9
        name = self.name("f")
        out.append(name)
        node = rnd.randrange(self.nodes)
        o = f", order: {order}" if order != 9 else ""
        w = f", written: {rnd.choice([1, 1 << order])}" if rnd.random() < 0.2 else ""
        return f"{{fault: {{memcg: {memcg}, node: {node}{o}, as: {name}{w}{self.fails('fault')}}}}}"

    def collapse(self, memcg: str, out: list) -> str:
        name = self.name("c")
        out.append(name)
        node = self.rnd.randrange(self.nodes)
        return f"{{collapse: {{memcg: {memcg}, node: {node}, as: {name}{self.fails('collapse')}}}}}"

    def reclaim(self, memcg: str) -> str:
        rnd = self.rnd
        node = rnd.randrange(self.nodes)
        form = rnd.choices(["pass", "memcg_node", "memory.reclaim", "drop_caches", "direct",
                            "kswapd", "nr_to_scan"], [6, 2, 1, 1, 1, 1, 1])[0]
        if form == "pass":
            return f"{{reclaim: {{memcg: {memcg}, node: {node}, priority: 0}}}}"
        if form == "memcg_node":
            return f"{{reclaim: {{memcg: {memcg}, node: {node}}}}}"
        if form == "memory.reclaim":
            return f"{{reclaim: {{memcg: {memcg}}}}}" if memcg != "root" else \
                "{reclaim: {memcg: root}}"
        if form == "drop_caches":
            return "{reclaim: {memcg: root}}"
        if form == "direct":
            return f"{{reclaim: {{memcg: root, node: {node}, by: direct}}}}"
        if form == "kswapd":
            return f"{{reclaim: {{memcg: root, node: {node}, by: kswapd}}}}"
        return (f"{{reclaim: {{memcg: {memcg}, node: {node}, priority: 0, "
                f"nr_to_scan: {rnd.choice([1, 2])}}}}}")

    def swap_or_move(self, folio: str, gone: set) -> str:
        """A drawn split of ``folio``, or (second stream) a swapout or charge_move of it."""
        r = self.rnd2.random()
        if r < 0.25 and self.v1 and not self.memcg_off:
            to = self.rnd2.choice(["root", *(m for m in self.memcgs if m not in gone)])
            if self.charge_move:
                return f"{{charge_move: {{folio: {folio}, to: {to}}}}}"
            return f"{{swapout: {folio}}}"
        if r < 0.5:
            return f"{{swapout: {folio}}}"
        return f"{{split: {folio}}}"

    def lru_add(self, memcg: str, items: list) -> str:
        lru = self.rnd.choice(self.lrus)
        name = self.name("d")
        items.append((lru, name))
        node = self.rnd.randrange(self.nodes)
        return (f"{{lru_add: {{lru: {lru}, memcg: {memcg}, node: {node}, item: {name}"
                f"{self.fails('lru_add')}}}}}")

    def thread(self) -> list:
        """2-5 ops of one thread."""
        rnd = self.rnd
        n = rnd.choices([2, 3, 4, 5], [5, 4, 2, 1])[0]
        mine: list = []  # folios this thread made (it may pin them)
        pins: list = []
        items = list(self.items)
        made: list = []
        gone = set(self.setup_removed)
        ops: list = []
        kinds = [k for k in OP_WEIGHTS if k not in ("lru_add", "lru_del") or self.lrus]
        weights = [OP_WEIGHTS[k] for k in kinds]
        while len(ops) < n:
            kind = rnd.choices(kinds, weights)[0]
            folios = self.folios + mine
            if kind in ("partial_unmap", "unmap", "split", "migrate", "get") and not folios:
                kind = "fault"
            if kind == "put" and not pins:
                kind = "get" if folios else "fault"
            if kind == "lru_del" and not items:
                kind = "lru_add"
            if kind == "migrate" and self.nodes == 1:
                kind = "split"
            if kind == "mkdir":
                todo = [p for p in self.made if p not in self.made_by_someone]
                if not todo:
                    kind = "reclaim"
                else:
                    self.made_by_someone.add(todo[0])
                    made.append(todo[0])
                    ops.append(f"{{mkdir: {todo[0]}}}")
                    continue
            if kind == "rmdir":
                pool = sorted(m for m in self.removed if m in self.memcgs + made)
                if not pool:
                    kind = "reclaim"
                else:
                    victim = rnd.choice(pool)
                    gone.add(victim)
                    ops.append(f"{{rmdir: {victim}}}")
                    continue
            if kind == "fault":
                ops.append(self.fault(self.task_memcg(made, gone), mine))
            elif kind == "collapse":
                ops.append(self.collapse(self.task_memcg(made, gone), mine))
            elif kind in ("partial_unmap", "unmap", "split"):
                f = rnd.choice(folios)
                ops.append(self.swap_or_move(f, gone) if kind == "split" else
                           f"{{{kind}: {f}}}")
            elif kind == "get":
                f = rnd.choice(folios)
                pins.append(f)
                ops.append(f"{{get: {f}}}")
            elif kind == "put":
                ops.append(f"{{put: {pins.pop(rnd.randrange(len(pins)))}}}")
            elif kind == "migrate":
                ops.append(f"{{migrate: {{folio: {rnd.choice(folios)}, "
                           f"node: {rnd.randrange(self.nodes)}{self.fails('migrate')}}}}}")
            elif kind == "reclaim":
                ops.append(self.reclaim(rnd.choice(["root", *self.memcgs, *made])))
            elif kind == "lru_add":
                memcg = self.task_memcg(made, gone)
                if items and rnd.random() < 0.3:
                    # re-add an object that exists (a dput by any task): it goes to the list
                    # of the memcg it was charged to, which may be gone by now
                    lru, item = rnd.choice(items)
                    ops.append(f"{{lru_add: {{lru: {lru}, memcg: {memcg}, item: {item}}}}}")
                else:
                    ops.append(self.lru_add(memcg, items))
            elif kind == "lru_del":
                lru, item = rnd.choice(items)
                ops.append(f"{{lru_del: {{lru: {lru}, item: {item}}}}}")
        return ops

    def setup(self) -> list:
        """0-4 ops run to completion before the threads: THPs (often partially mapped, so
        queued), list_lru objects, setup mkdirs and rmdirs (zombie memcgs)."""
        rnd = self.rnd
        ops: list = []
        for _ in range(rnd.choice([0, 1, 1, 2, 2, 3])):
            memcg = self.task_memcg([])
            if self.lrus and rnd.random() < 0.3:
                ops.append(self.lru_add(memcg, self.items))
                if rnd.random() < 0.3:
                    lru, item = self.items[-1]
                    ops.append(f"{{lru_del: {{lru: {lru}, item: {item}}}}}")
            else:
                ops.append(self.fault(memcg, self.folios))
                if rnd.random() < 0.6:
                    ops.append(f"{{partial_unmap: {self.folios[-1]}}}")
        for m in sorted(self.removed & set(self.memcgs)):
            if rnd.random() < 0.3 and not any(o.startswith(m + "/") for o in self.made):
                ops.append(f"{{rmdir: {m}}}")
                self.setup_removed.add(m)
        return ops

    def text(self, seed: int, preset: str) -> str:
        rnd = self.rnd
        self.made_by_someone: set = set()
        self.plan_tree()
        boot = rnd.choice(BOOTS)
        self.memcg_off = "cgroup_disable=memory" in boot  # no memcgs: nothing to move
        inject = rnd.random() < 0.1
        self.setup_removed: set = set()
        self.in_setup = True
        setup = self.setup()
        self.in_setup = False
        threads = [self.thread() for _ in range(rnd.choice([2, 2, 2, 3]))]
        lines = [f"name: sweep {seed}", "kernel:", f"  variant: {preset}",
                 f"  nodes: {self.nodes}"]
        if self.v1:
            lines.append("  cgroup: v1")
        if boot:
            lines.append(f"  boot: [{', '.join(boot)}]")
        if self.lrus:
            lines.append("  lrus:")
            lines += [f"    {n}: {LRUS[n]}" for n in self.lrus]
        if inject:
            lines.append("  inject_alloc_failures: true")
        lines.append(f"memcgs: [{', '.join(self.memcgs)}]")
        if setup:
            lines.append("setup:")
            lines += [f"  - {op[1:-1]}" for op in setup]
        lines.append("threads:")
        lines += ["  - [ " + ", ".join(t) + " ]" for t in threads]
        return "\n".join(lines) + "\n"


def scenario_text(seed: int, preset: str) -> str:
    """The scenario of ``seed`` for ``preset`` (YAML text, docs/scenarios.md)."""
    return _Gen(seed, preset).text(seed, preset)
