"""The simulator engine: a seeded stochastic workload driven through the kernel model.

Time is continuous (seconds).  Process events (faults, unmaps, collapses, migrations, exits)
and memcg creations arrive as Poisson processes (Gillespie: the next event after an
exponential gap, chosen by weight); memcg removals and queue samples are timed events.
Every kernel entry point runs to completion on one task (``Driver.fast``: the sequential
fast path; ``Driver.stepwise``: one yield at a time, as a scheduler would, with the
bookkeeping a checker keeps).  Memory is the model's own: ``k.nodes[nid].nr_used_pages``
per node and ``memcg.nr_pages`` per memcg, so pressure arises from the workload itself.

Pressure and reclaim (see docs/simulator.md):
- a fault that would take a memcg (or a limited ancestor) over its limit first runs memcg
  reclaim of that memcg: ``vmscan.shrink_node(nid, memcg, priority)`` for priority 12..0, every
  node per priority (the loop of do_try_to_free_pages), stopping once the charge fits; if it
  still does not fit, a memcg OOM kills the faulting process;
- a fault that would take a node under its low watermark first runs kswapd of that node:
  ``shrink_node(nid, None, priority)`` for 12..0 until free memory is back above the high
  watermark; if the folio still does not fit the THP allocation fails (fallback).
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

from ..kernel import khugepaged, memory, migrate, rmap, vmscan
from ..kernel import memcontrol as mc
from ..kernel.config import make_config
from ..kernel.folio import HPAGE_PMD_ORDER, PG_partially_mapped
from ..kernel.kernel import Kernel, boot
from ..kernel.sched import Choice, GracePeriod, Oops, SpinLock
from ..kernel.shrinker import DEF_PRIORITY, SHRINK_EMPTY
from .workload import EVENTS, ProcSpec, Workload

# -- drivers ------------------------------------------------------------------------------

class Driver:
    """Runs kernel generators to completion on the current task and counts spinlock
    acquisitions.  ``fail`` names allocation sites that fail for the next run only."""

    def __init__(self, k: Kernel, stepwise: bool = False):
        self.k = k
        self.locks = 0
        self.steps = 0  # atomic steps taken (yields, plus the final return of each run)
        self.trace: list = []  # stepwise only: the label of every step (bookkeeping)
        self.run = self.stepwise if stepwise else self.fast

    def fast(self, gen, fail=()):
        """The fast path: kernel.sched.run_sync with a lock counter."""
        send = None
        locks = 0
        steps = 0
        try:
            while True:
                want = gen.send(send)
                steps += 1
                send = None
                if want is None or want.__class__ is str:
                    continue
                cls = want.__class__
                if cls is SpinLock:
                    locks += 1
                    if want.owner is not None:
                        raise Oops(f"deadlock: {want.name} already held by {want.owner.name}")
                elif cls is Choice:
                    send = want.site not in fail
                elif cls is GracePeriod:
                    if not want.done():
                        raise Oops("deadlock: synchronize_rcu inside an RCU read-side section")
        except StopIteration as stop:
            self.locks += locks
            self.steps += steps + 1
            return stop.value

    def stepwise(self, gen, fail=()):
        """Checker-style execution: one thread, one yield at a time.  The pending action is
        inspected for enabledness before the thread is stepped, the task is made current at
        every step, and every step is recorded."""
        k = self.k
        task = k.current
        pending = None  # the action the thread announced and waits to perform
        started = False
        send = None
        while True:
            if started:
                # enabledness, as a scheduler checks before picking the thread
                if pending.__class__ is SpinLock:
                    if pending.owner is not None:
                        raise Oops(f"deadlock: {pending.name} held by {pending.owner.name}")
                    self.locks += 1
                elif pending.__class__ is GracePeriod:
                    if not pending.done():
                        raise Oops("deadlock: grace period cannot end")
                elif pending.__class__ is Choice:
                    send = pending.site not in fail
            k.current = task
            try:
                pending = gen.send(send)
            except StopIteration as stop:
                self.steps += 1
                self.trace.append("return")
                return stop.value
            started = True
            send = None
            self.steps += 1
            self.trace.append(pending if pending is None or pending.__class__ is str
                              else repr(pending))
            if len(self.trace) > 4096:
                del self.trace[:2048]


# -- processes ----------------------------------------------------------------------------

class Proc:
    __slots__ = ("pid", "memcg", "home", "spec", "folios", "group", "gidx", "alive")

    def __init__(self, pid: int, memcg, home: int, spec: ProcSpec, group):
        self.pid = pid
        self.memcg = memcg
        self.home = home
        self.spec = spec
        self.folios: list = []
        self.group = group
        self.gidx = 0
        self.alive = True


class Group:
    """The processes of one template: they share rates, so one weight covers them all."""

    __slots__ = ("spec", "procs", "rate", "cum", "orders", "ocum", "written")

    def __init__(self, spec: ProcSpec):
        self.spec = spec
        self.procs: list[Proc] = []
        self.rate = sum(spec.rates.values())
        acc, self.cum = 0.0, []
        for e in EVENTS:
            acc += spec.rates[e]
            self.cum.append(acc)
        self.orders = sorted(spec.orders)
        acc, self.ocum = 0.0, []
        for o in self.orders:
            acc += spec.orders[o]
            self.ocum.append(acc)
        self.written = {o: max(0, min(1 << o, round((1 << o) * spec.written)))
                        for o in set(self.orders) | {HPAGE_PMD_ORDER}}

    def add(self, p: Proc) -> None:
        p.gidx = len(self.procs)
        self.procs.append(p)

    def remove(self, p: Proc) -> None:
        last = self.procs.pop()
        if last is not p:
            self.procs[p.gidx] = last
            last.gidx = p.gidx


# -- metrics ------------------------------------------------------------------------------

COUNTERS = (
    "events", "kernel_ops", "model_steps", "faults", "thp_faults", "fallbacks", "collapses",
    "partial_unmaps", "unmaps", "exits", "migrations", "memcg_created", "memcg_removed",
    "kswapd_runs", "memcg_reclaims", "reclaim_passes", "kswapd_passes", "memcg_passes",
    "splits", "freed_pages", "freed_local_node", "freed_remote_node", "freed_in_memcg",
    "freed_other_memcg", "cross_node_splits", "cross_memcg_splits",
    "freed_kswapd", "freed_memcg",
    "lost_reclaims", "reclaim_node_checks", "oom_events", "oom_avoidable",
    "shrinker_calls", "shrinker_calls_bitmap", "shrinker_empty_bitmap", "items_scanned",
    "reclaim_locks", "kernel_warnings", "attribution_mismatch",
)


@dataclass
class Metrics:
    preset: str
    counts: dict = field(default_factory=lambda: {c: 0 for c in COUNTERS})
    samples: list = field(default_factory=list)  # dicts, see Simulator.sample
    lost_log: list = field(default_factory=list)  # (t, memcg path, nid, kind)
    events_by_kind: dict = field(default_factory=dict)
    final_queues: dict = field(default_factory=dict)  # memcg path -> [per node]
    vmstat: dict = field(default_factory=dict)
    crash: dict | None = None  # {"t", "message"} when a kernel Oops stopped the run
    first_events: dict = field(default_factory=dict)  # kind -> first diagnostic, as text

    def derived(self) -> dict:
        c = self.counts
        f = c["freed_pages"]
        passes = c["reclaim_passes"]
        return {
            "freed_per_pass": f / passes if passes else 0.0,
            "cross_node_freed_pct": 100.0 * c["freed_remote_node"] / f if f else 0.0,
            "cross_memcg_freed_pct": 100.0 * c["freed_other_memcg"] / f if f else 0.0,
            "scanned_per_page_freed": c["items_scanned"] / f if f else float(c["items_scanned"]),
            "locks_per_pass": c["reclaim_locks"] / passes if passes else 0.0,
            "empty_bitmap_calls_pct": (100.0 * c["shrinker_empty_bitmap"]
                                       / c["shrinker_calls_bitmap"]
                                       if c["shrinker_calls_bitmap"] else 0.0),
            "max_queued": max((s["queued"] for s in self.samples), default=0),
            "final_queued": self.samples[-1]["queued"] if self.samples else 0,
            "max_stranded": max((s["stranded"] for s in self.samples), default=0),
            "final_stranded": self.samples[-1]["stranded"] if self.samples else 0,
        }

    def as_dict(self) -> dict:
        return {"preset": self.preset, "counts": dict(self.counts), "derived": self.derived(),
                "events_by_kind": dict(sorted(self.events_by_kind.items())),
                "lost_reclaims": [list(x) for x in self.lost_log[:1000]],
                "final_queues": self.final_queues, "vmstat": self.vmstat, "crash": self.crash,
                "first_events": dict(sorted(self.first_events.items())),
                "samples": self.samples}


# -- the simulator ------------------------------------------------------------------------

class Simulator:
    def __init__(self, w: Workload, preset: str, seed: int | None = None,
                 duration: float | None = None, stepwise: bool = False):
        self.w = w
        self.preset = preset
        self.seed = w.seed if seed is None else seed
        self.duration = w.duration if duration is None else duration
        cfg = make_config(preset, w.patches, tuple(w.boot), w.nodes, w.sysfs)
        self.k = k = boot(cfg)
        k.current = k.task("sim")
        self.drv = Driver(k, stepwise)
        self.run = self.drv.run
        self.m = Metrics(preset)
        self.c = self.m.counts
        self.rng = random.Random(self.seed)
        self.t = 0.0
        self.pid = 0
        self.seq = 0
        self.limits: dict = {}  # memcg -> pages
        self.limit_chain: dict = {}  # memcg -> [(memcg or ancestor, its limit)], a cache
        self.pages0: dict = {}  # live large folio -> pages it had before any split
        self.pm: dict = {}  # memcg -> {folio: None} partially unmapped large folios
        self.dying: dict = {}  # removed memcg -> None, until released
        self.groups: list[Group] = []
        self.idle: dict = {}  # pid -> Proc: rmdir survivors, idle until reaped
        self.churn_state: list = []  # per ChurnSpec: [groups, live memcgs dict, serial]
        self.heap: list = []
        self.hseq = 0
        self.nodes = w.nodes
        self.low = int(w.node_pages * w.watermark_low)
        self.high = int(w.node_pages * w.watermark_high)
        self.capacity = w.node_pages
        self.disabled = mc.mem_cgroup_disabled(k)
        self._instrument()
        self._setup()

    # -- instrumentation (like kprobes: counts, never changes what the kernel does) -------
    def _instrument(self) -> None:
        s = self.k.deferred_split_shrinker
        count, c, k = s.count_objects, self.c, self.k

        def counted(kk, ss, sc):
            n = yield from count(kk, ss, sc)
            c["shrinker_calls"] += 1
            if sc.memcg is not None and sc.memcg is not k.root_mem_cgroup:
                c["shrinker_calls_bitmap"] += 1
                if n == 0 or n == SHRINK_EMPTY:
                    c["shrinker_empty_bitmap"] += 1
            return n
        s.count_objects = counted

    def _setup(self) -> None:
        k = self.k
        for path, limit in self.w.memcg_paths():
            self.run(mc.cgroup_mkdir(k, path))
            if limit is not None:
                self.limits[k.memcgs[path]] = limit
        for spec in self.w.processes:
            g = Group(spec)
            self.groups.append(g)
            if "{i}" in spec.memcg:
                base = next(m for m in self.w.memcgs if m.path == spec.memcg)
                paths = base.paths()
            else:
                paths = [spec.memcg]
            for i, path in enumerate(paths):
                memcg = self._memcg(path)  # "root": the root memcg
                for j in range(spec.count):
                    self._spawn(g, memcg, i * spec.count + j)
        for cs in self.w.churn:
            gs = [Group(ps) for ps in cs.processes]
            self.groups.extend(gs)
            self.churn_state.append([gs, {}, 0])
        self._at(0.0, "sample", None)
        self._at(self.duration, "end", None)

    def _memcg(self, path: str):
        if self.disabled:
            return None
        return self.k.memcgs.get(path) or self.k.root_mem_cgroup

    def _spawn(self, g: Group, memcg, index: int) -> Proc:
        spec = g.spec
        home = spec.node if spec.node is not None else index % self.nodes
        self.pid += 1
        p = Proc(self.pid, memcg, home, spec, g)
        g.add(p)
        self.dirty = True
        return p

    def _at(self, t: float, kind: str, arg) -> None:
        self.hseq += 1
        heapq.heappush(self.heap, (t, self.hseq, kind, arg))

    # -- main loop ---------------------------------------------------------------------------
    def simulate(self, progress=None) -> Metrics:
        """Run to the end (or to a kernel Oops, which stops this preset's run: the kernel
        crashed; the metrics up to then are kept and ``Metrics.crash`` says where)."""
        try:
            self._loop(progress)
        except Oops as e:
            self._crash(str(e))
        except AttributeError as e:
            if "'NoneType' object has no attribute" not in str(e):
                raise
            self._crash(f"BUG: kernel NULL pointer dereference ({e})")
        self._finish()
        return self.m

    def _crash(self, message: str) -> None:
        from ..kernel.sched import KernelEvent
        self.k.events.append(KernelEvent("oops", message, self.k.current.name))
        self.m.crash = {"t": round(self.t, 6), "message": message}
        self.sample()

    def _loop(self, progress) -> None:
        rng = self.rng
        heap = self.heap
        groups = self.groups
        churn = self.w.churn
        cstate = self.churn_state
        next_report = 0.0
        step_report = self.duration / 100
        expovariate = rng.expovariate
        total = 0.0
        self.dirty = True
        while True:
            if self.dirty:  # process or memcg counts changed
                self.dirty = False
                total = 0.0
                for g in groups:
                    total += g.rate * len(g.procs)
                for cs, st in zip(churn, cstate, strict=True):
                    if len(st[1]) < cs.max:
                        total += cs.create
            t_next = self.t + expovariate(total) if total > 0 else float("inf")
            if heap[0][0] <= t_next:
                t, _, kind, arg = heapq.heappop(heap)
                self.t = t
                if kind == "end":
                    self.sample()
                    break
                if kind == "sample":
                    self.sample()
                    self._at(t + self.w.sample_every, "sample", None)
                elif kind == "rmdir":
                    self._rmdir(*arg)
                elif kind == "reap":  # a survivor of an rmdir exits
                    self._exit(arg)
                    arg.alive = False
                    del self.idle[arg.pid]
                if progress is not None and t >= next_report:
                    progress(t)
                    next_report = t + step_report
                continue
            self.t = t_next
            self.c["events"] += 1
            x = rng.random() * total
            for g in groups:
                w = g.rate * len(g.procs)
                if x < w:
                    i = int(x / g.rate)
                    if i >= len(g.procs):  # float rounding at the top end
                        i = len(g.procs) - 1
                    p = g.procs[i]
                    y = x - i * g.rate  # uniform in [0, rate): picks the event
                    cum = g.cum
                    e = 0
                    while e < 5 and y >= cum[e]:
                        e += 1
                    self._event(p, e)
                    break
                x -= w
            else:
                for i, (cs, st) in enumerate(zip(churn, cstate, strict=True)):
                    if len(st[1]) < cs.max:
                        if x < cs.create:
                            self._mkdir(i)
                            break
                        x -= cs.create

    def _event(self, p: Proc, e: int) -> None:
        if e == 0:
            self._fault(p, False)
        elif e == 1:
            self._partial_unmap(p)
        elif e == 2:
            self._unmap(p)
        elif e == 3:
            self._exit(p)
            self.c["exits"] += 1
        elif e == 4:
            self._fault(p, True)
        else:
            self._migrate(p)

    # -- memory accounting ----------------------------------------------------------------
    def free_pages(self, nid: int) -> int:
        return self.capacity - self.k.nodes[nid].nr_used_pages

    def usage(self, memcg) -> int:
        """Hierarchical memory.current: the memcg's pages plus its subtree's (zombies too)."""
        if not memcg.children:
            return memcg.nr_pages
        return sum(m.nr_pages for m in mc.mem_cgroup_iter(self.k, memcg))

    def _over_limit(self, memcg, pages: int):
        """The first memcg from memcg up whose limit the charge would exceed
        (page_counter_try_charge's failing counter), or None."""
        chain = self.limit_chain.get(memcg)
        if chain is None:
            chain = []
            m = memcg
            while m is not None:
                lim = self.limits.get(m)
                if lim is not None:
                    chain.append((m, lim))
                m = m.parent
            self.limit_chain[memcg] = chain
        for m, lim in chain:
            if (m.nr_pages if not m.children else self.usage(m)) + pages > lim:
                return m
        return None

    # -- process events -------------------------------------------------------------------
    def _pick_node(self, p: Proc) -> int:
        spec = p.spec
        if self.nodes == 1:
            return 0
        if spec.policy == "interleave":
            return self.rng.randrange(self.nodes)
        if spec.policy == "local" and spec.spill and self.rng.random() < spec.spill:
            return (p.home + 1 + self.rng.randrange(self.nodes - 1)) % self.nodes
        return p.home

    def _fault(self, p: Proc, collapse: bool) -> None:
        c = self.c
        g = p.group
        if collapse:
            order = HPAGE_PMD_ORDER
        elif len(g.orders) == 1:
            order = g.orders[0]
        else:
            y = self.rng.random() * g.ocum[-1]
            i = 0
            while y >= g.ocum[i] and i < len(g.ocum) - 1:
                i += 1
            order = g.orders[i]
        pages = 1 << order
        written = g.written[order]
        nid = p.home if p.spec.policy == "bind" or self.nodes == 1 else self._pick_node(p)
        memcg = p.memcg
        if memcg is not None and self.limits:
            over = self._over_limit(memcg, pages)
            if over is not None:
                self._memcg_reclaim(over, pages)
                over = self._over_limit(memcg, pages)
                if over is not None:
                    self._oom(p, over, pages)
                    return
        nodes = self.k.nodes
        if self.capacity - nodes[nid].nr_used_pages - pages < self.low:
            self._kswapd(nid)
        fail = ()
        if self.capacity - nodes[nid].nr_used_pages < pages:
            alt = None
            if p.spec.policy != "bind":
                for d in range(1, self.nodes):
                    cand = (nid + d) % self.nodes
                    if self.free_pages(cand) >= pages + self.low:
                        alt = cand
                        break
            if alt is None:
                fail = ("thp_alloc",)
            else:
                nid = alt
        self.seq += 1
        name = f"p{p.pid}.{self.seq}"
        k = self.k
        c["kernel_ops"] += 1
        if collapse:
            c["collapses"] += 1
            _, folio = self.run(khugepaged.collapse_huge_page(k, name, memcg, nid, written), fail)
        else:
            c["faults"] += 1
            folio = self.run(memory.handle_mm_fault(k, name, memcg, nid, order, written), fail)
        if folio is None:
            c["fallbacks"] += 1
            return
        c["thp_faults"] += 1
        p.folios.append(folio)
        self.pages0[folio] = pages

    def _pick_folio(self, p: Proc):
        if not p.folios:
            return -1, None
        i = int(self.rng.random() * len(p.folios))
        return i, p.folios[i]

    def _partial_unmap(self, p: Proc) -> None:
        i, f = self._pick_folio(p)
        if f is None or f.split or f.order < 2 or f.freed:
            return
        self.c["partial_unmaps"] += 1
        self.c["kernel_ops"] += 1
        self.run(rmap.zap_partial(self.k, f))
        if f.memcg is not None or self.disabled:
            self.pm.setdefault(f.memcg, {})[f] = None

    def _drop(self, p: Proc, i: int):
        folios = p.folios
        f = folios[i]
        last = folios.pop()
        if i < len(folios):
            folios[i] = last
        return f

    def _zap(self, f) -> None:
        memcg = f.memcg
        self.c["kernel_ops"] += 1
        self.run(rmap.zap_all(self.k, f))
        if f.freed:
            self.pages0.pop(f, None)
            d = self.pm.get(memcg)
            if d is not None:
                d.pop(f, None)

    def _unmap(self, p: Proc) -> None:
        i, f = self._pick_folio(p)
        if f is None:
            return
        self.c["unmaps"] += 1
        self._drop(p, i)
        self._zap(f)

    def _exit(self, p: Proc) -> None:
        for f in p.folios:
            self._zap(f)
        p.folios = []

    def _migrate(self, p: Proc) -> None:
        if self.nodes < 2:
            return
        i, f = self._pick_folio(p)
        if f is None or f.split or f.order < 2:
            return
        dst_nid = (f.nid + 1 + self.rng.randrange(self.nodes - 1)) % self.nodes
        pages = self.pages0.get(f, 1 << f.order)
        fail = () if self.free_pages(dst_nid) - pages >= self.low else ("migrate_alloc",)
        self.seq += 1
        self.c["migrations"] += 1
        self.c["kernel_ops"] += 1
        dst = self.run(migrate.migrate_pages(self.k, f, dst_nid, f"p{p.pid}.{self.seq}"), fail)
        if dst is None:
            return
        p.folios[i] = dst
        self.pages0[dst] = self.pages0.pop(f, pages)
        d = self.pm.get(f.memcg if f.memcg is not None else dst.memcg)
        if d is not None and f in d:
            del d[f]
            self.pm.setdefault(dst.memcg, {})[dst] = None

    # -- memcg life cycle -------------------------------------------------------------------
    def _mkdir(self, i: int) -> None:
        cs = self.w.churn[i]
        st = self.churn_state[i]
        st[2] += 1
        path = f"{cs.parent}/job{st[2]}"
        self.c["kernel_ops"] += 1
        if self.run(mc.cgroup_mkdir(self.k, path)) != 0:
            return
        self.c["memcg_created"] += 1
        memcg = self._memcg(path)
        if cs.limit is not None and memcg is not None:
            self.limits[memcg] = cs.limit
            self.limit_chain.clear()
        procs = []
        for g in st[0]:
            for j in range(g.spec.count):
                procs.append(self._spawn(g, memcg, st[2] * g.spec.count + j))
        st[1][path] = procs
        self.dirty = True
        self._at(self.t + self.rng.expovariate(1.0 / cs.lifetime), "rmdir", (i, path))

    def _rmdir(self, i: int, path: str) -> None:
        cs = self.w.churn[i]
        st = self.churn_state[i]
        procs = st[1].pop(path)
        self.dirty = True
        k = self.k
        memcg = k.memcgs.get(path)
        parent = self._memcg(cs.parent)
        for p in procs:
            p.group.remove(p)
            if cs.survivors and self.rng.random() < cs.survivors:
                # moved to the parent and idle until it exits a lifetime later: its THPs stay
                # mapped, charged to the dying memcg
                p.memcg = parent
                self.idle[p.pid] = p
                self._at(self.t + self.rng.expovariate(1.0 / cs.lifetime), "reap", p)
            else:
                self._exit(p)
                p.alive = False
        if memcg is None:
            return
        self.limits.pop(memcg, None)
        self.limit_chain.clear()
        self.c["memcg_removed"] += 1
        self.c["kernel_ops"] += 1
        self.run(mc.cgroup_rmdir(k, memcg))
        if memcg.css_refcnt > 0:
            self.dying[memcg] = None

    # -- reclaim ----------------------------------------------------------------------------
    def _subtree(self, memcg) -> set:
        return {id(m) for m in mc.mem_cgroup_iter(self.k, memcg)}

    def _queued_pm(self, memcg):
        """Per node: partially-mapped THPs charged to memcg's subtree that sit on a
        deferred-split queue, and the pages a split of each would free."""
        counts = [0] * self.nodes
        pages = 0
        for m in mc.mem_cgroup_iter(self.k, memcg):
            d = self.pm.get(m)
            if not d:
                continue
            dead = []
            for f in d:
                if f.freed or f.split or f.order < 2:
                    dead.append(f)
                    continue
                if f._deferred_list.owner is None:
                    continue
                if self.k.cfg.patch.partially_mapped_flag and not f.flags & PG_partially_mapped:
                    continue
                counts[f.nid] += 1
                pages += f.nr_pages - (f.nr_pages if f.pmd_mapped else f.nr_pages_mapped)
            for f in dead:
                del d[f]
        return counts, pages

    def _pass(self, kind: str, nid: int, target, priority: int, subtree=None):
        """One shrink_node pass, attributed.  Returns splits per node of folios charged to
        ``subtree`` (a set of memcg ids) when given."""
        k = self.k
        c = self.c
        locks0 = self.drv.locks
        c["reclaim_passes"] += 1
        c[kind + "_passes"] += 1
        c["kernel_ops"] += 1
        self.run(vmscan.shrink_node(k, nid, target, priority))
        c["reclaim_locks"] += self.drv.locks - locks0
        scan = k.scan_log
        splits = k.split_log
        c["items_scanned"] += len(scan)
        per_node = [0] * self.nodes if subtree is not None else None
        if splits:
            seen = set()
            folios = []
            for f in scan:
                if f.split and id(f) not in seen:
                    seen.add(id(f))
                    folios.append(f)
            if len(folios) != len(splits):
                c["attribution_mismatch"] += 1
            pages0 = self.pages0
            for f, (rnid, fnid, rmemcg, fmemcg) in zip(folios, splits, strict=False):
                before = pages0.get(f, 0)
                freed = before - f.nr_pages
                if f.freed:
                    pages0.pop(f, None)
                else:
                    pages0[f] = f.nr_pages
                c["splits"] += 1
                c["freed_pages"] += freed
                c["freed_" + kind] += freed
                if fnid == rnid:
                    c["freed_local_node"] += freed
                else:
                    c["freed_remote_node"] += freed
                    c["cross_node_splits"] += 1
                pressure = target if target is not None else rmemcg
                m = fmemcg
                while m is not None and m is not pressure:
                    m = m.parent
                if m is not None or pressure is None:
                    c["freed_in_memcg"] += freed
                else:
                    c["freed_other_memcg"] += freed
                    c["cross_memcg_splits"] += 1
                if per_node is not None and fmemcg is not None and id(fmemcg) in subtree:
                    per_node[fnid] += 1
            splits.clear()
        scan.clear()
        k.isolate_log.clear()  # memcg_locality's record: the simulator does not read it
        return per_node

    def _kswapd(self, nid: int) -> None:
        """mm/vmscan.c: kswapd -> balance_pgdat, reduced to its shrink_node passes: priority
        DEF_PRIORITY down to 0 until the node is above its high watermark."""
        self.c["kswapd_runs"] += 1
        for priority in range(DEF_PRIORITY, -1, -1):
            self._pass("kswapd", nid, None, priority)
            if self.free_pages(nid) >= self.high:
                break

    def _memcg_reclaim(self, memcg, pages: int) -> None:
        """try_charge -> try_to_free_mem_cgroup_pages(memcg): do_try_to_free_pages' loop
        (priority 12..0, every node per priority), stopping when the charge fits.

        Lost reclaim: the loop ran down to priority 0 without making room (at priority 0 a
        scan covers twice the count, so everything reachable is reached), and on a node where
        the memcg's subtree had queued partially-mapped THPs it split none of them."""
        self.c["memcg_reclaims"] += 1
        had, _ = self._queued_pm(memcg)
        subtree = self._subtree(memcg)
        split_on = [0] * self.nodes
        visited = [False] * self.nodes
        lim = self.limits[memcg]
        done = False
        for priority in range(DEF_PRIORITY, -1, -1):
            for nid in range(self.nodes):
                visited[nid] = True
                per = self._pass("memcg", nid, memcg, priority, subtree)
                for n in range(self.nodes):
                    split_on[n] += per[n]
                if self.usage(memcg) + pages <= lim:
                    done = True
                    break
            if done:
                break
        if done:
            return  # the charge fits: nothing was lost, whatever a node still holds
        for nid in range(self.nodes):
            if visited[nid] and had[nid]:
                self.c["reclaim_node_checks"] += 1
                if not split_on[nid]:
                    self.c["lost_reclaims"] += 1
                    if len(self.m.lost_log) < 100000:
                        self.m.lost_log.append((round(self.t, 3), memcg.path, nid, "reclaim"))

    def _oom(self, p: Proc, memcg, pages: int) -> None:
        """mem_cgroup_out_of_memory: the faulting process is killed.  Avoidable when splitting
        the subtree's queued partially-mapped THPs would have freed enough."""
        c = self.c
        c["oom_events"] += 1
        _, reclaimable = self._queued_pm(memcg)
        shortfall = self.usage(memcg) + pages - self.limits[memcg]
        if reclaimable >= shortfall:
            c["oom_avoidable"] += 1
            if len(self.m.lost_log) < 100000:
                self.m.lost_log.append((round(self.t, 3), memcg.path, -1, "oom"))
        self._exit(p)

    # -- sampling -------------------------------------------------------------------------------
    def queues(self):
        """(per-node queued THPs, {memcg path: per-node}, stranded on offline memcgs)."""
        k = self.k
        nodes = self.nodes
        per_node = [0] * nodes
        per_memcg: dict = {}
        stranded = 0
        if k.cfg.patch.thp_list_lru:
            lru = k.deferred_split_lru
            for nid in range(nodes):
                per_node[nid] = lru.node[nid].nr_items
            if lru.memcg_aware:
                for m in self._all_memcgs():
                    mlru = lru.xa.get(m.kmemcg_id) if m.kmemcg_id >= 0 else None
                    if mlru is None:
                        continue
                    row = [max(l.nr_items, 0) for l in mlru.node]
                    if any(row):
                        per_memcg[m.path + ("" if m.online else " (offline)")] = row
                        if not m.online:
                            stranded += sum(row)
            row = [lru.node[nid].lru.nr_items for nid in range(nodes)]
            if any(row):
                per_memcg["(node lists)"] = row
        else:
            queues = [(None, nd.deferred_split_queue) for nd in k.nodes]
            memcgs = [k.root_mem_cgroup] if k.root_mem_cgroup is not None else []
            memcgs += self._all_memcgs()
            queues += [(m, m.deferred_split_queue) for m in memcgs]
            for m, q in queues:
                if not q.split_queue_len:
                    continue
                row = [0] * nodes
                e = q.split_queue.next
                head = q.split_queue
                while e is not head:
                    row[e.container.nid] += 1
                    e = e.next
                for nid in range(nodes):
                    per_node[nid] += row[nid]
                if m is None:
                    per_memcg.setdefault("(node lists)", [0] * nodes)
                    for nid in range(nodes):
                        per_memcg["(node lists)"][nid] += row[nid]
                else:
                    per_memcg[(m.path or "root") + ("" if m.online else " (offline)")] = row
                    if not m.online:
                        stranded += sum(row)
        return per_node, per_memcg, stranded

    def _all_memcgs(self) -> list:
        live = list(self.k.memcgs.values())
        seen = {id(m) for m in live}
        return live + [m for m in self.dying if id(m) not in seen]

    def sample(self) -> None:
        k = self.k
        for m in k.released_memcgs:
            self.dying.pop(m, None)
        k.released_memcgs.clear()
        for e in k.events:
            self.m.events_by_kind[e.kind] = self.m.events_by_kind.get(e.kind, 0) + 1
            self.m.first_events.setdefault(e.kind, str(e))
            self.c["kernel_warnings"] += 1
        k.events.clear()
        per_node, per_memcg, stranded = self.queues()
        self._last_per_memcg = per_memcg
        c = self.c
        self.m.samples.append({
            "t": round(self.t, 6), "queued": sum(per_node), "queued_per_node": per_node,
            "stranded": stranded, "free_per_node": [self.free_pages(n) for n in range(self.nodes)],
            "freed_pages": c["freed_pages"], "freed_remote_node": c["freed_remote_node"],
            "freed_other_memcg": c["freed_other_memcg"], "lost_reclaims": c["lost_reclaims"],
            "oom_events": c["oom_events"], "oom_avoidable": c["oom_avoidable"],
            "dying_memcgs": len(self.dying),
            "top_memcgs": [[path, row] for path, row in
                           sorted(per_memcg.items(), key=lambda kv: (-sum(kv[1]), kv[0]))[:5]],
        })

    def _finish(self) -> None:
        self.c["model_steps"] = self.drv.steps
        self.m.final_queues = dict(sorted(self._last_per_memcg.items()))
        self.m.vmstat = dict(self.k.vmstat)

    # -- state, for comparing execution modes -------------------------------------------------
    def state(self) -> dict:
        k = self.k
        return {"vmstat": dict(k.vmstat), "used": [n.nr_used_pages for n in k.nodes],
                "memcgs": {p: (m.nr_pages, m.online, m.css_refcnt)
                           for p, m in sorted(k.memcgs.items())},
                "queues": self.queues(), "counts": dict(self.c),
                "folios": [(p.pid, [(f.name, f.order, f.nid, f.nr_pages, f.nr_pages_mapped,
                                     f.pmd_mapped, f.flags, f.refcount, f.mapcount)
                                    for f in p.folios])
                           for p in self.procs()]}

    def procs(self) -> list:
        """Every process that maps memory: the active ones and idle rmdir survivors."""
        return [p for g in self.groups for p in g.procs] + list(self.idle.values())


def simulate(w: Workload, preset: str, seed: int | None = None, duration: float | None = None,
             progress=None, stepwise: bool = False) -> Metrics:
    """Run workload w under preset; returns its Metrics."""
    return Simulator(w, preset, seed, duration, stepwise).simulate(progress)
