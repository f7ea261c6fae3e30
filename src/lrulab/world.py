"""The kernel model as a world for the generic checker (lrulab.check): the only module that
knows both.

A *state* is a booted kernel after the scenario's setup plus, for each scenario thread, where
it is: the op it runs and its suspended generator chain.  A *move* is ``(thread, choice)``:
resume that thread for one atomic step (``choice`` answers an allocation that may fail, else
None).  Generators cannot be copied, so a state is rebuilt by replaying its schedule from a
pickled copy of the post-setup kernel (deterministic: the model has no randomness).

Step granularity: everything a thread runs between two ``yield`` s of the kernel code is one
step (sched.py); starting an op (its code up to the first yield) is a step of its own.

Fingerprint: a canonical encoding (check/canon.py) of the whole kernel object graph and of
each thread's position (op index, generator frames with their locals).  Maps the model only
looks up by key (``k.folios``, ``k.mmap_locks``, ``k.pins``, an lru user's ``items``, the
per-order mTHP stats ``k.mthp_stat``) are encoded in key order, not insertion order.  Left out,
because no future step reads them: ``events``, ``split_log``, ``scan_log``, ``isolate_log``,
``reclaim_passes`` (history: the step properties that read events, split_log and isolate_log
are checked on the step that appends to them), ``current`` (set before each step) and
``cfg`` (constant).  RCU generation counters are rewritten into what the future can observe
of them: whether a grace-period or kvfree_rcu
snapshot still names the reader's current section.
"""

from __future__ import annotations

import copy
import itertools
import pickle
import re
import sys

from . import asserts as am
from .check.canon import Canon, _slot_names, map_strings
from .check.engine import Accepted
from .kernel import sched as _sched
from .kernel.config import Config, Patches
from .kernel.folio import Folio
from .kernel.kernel import Kernel, LruUser
from .kernel.list import ListHead
from .kernel.list_lru import ListLru
from .kernel.memcontrol import MemCgroup
from .kernel.sched import Choice, GracePeriod, KernelEvent, KObject, Oops, SpinLock, Task, run_sync
from .ops import build_kernel, run_op
from .properties import REGISTRY
from .runner import _tb_stack, accepted_notes, decide_from, execute
from .scenario import OPS, Op, Scenario
from .view import diff, snapshot

_SKIP_KERNEL = {"events", "split_log", "scan_log", "isolate_log", "reclaim_passes", "current",
                "cfg"}
_HELPERS = ("lrulab.kernel.sched", "lrulab.kernel.list")


# maps the model only looks up by key (name -> object; the per-order mTHP stats, a fixed
# array in the kernel): their insertion order is not state
_BY_KEY = {"folios", "mmap_locks", "pins", "mthp_stat"}


def _sorted(d: dict) -> list:
    return [(key, d[key]) for key in sorted(d)]


def _kernel_fields(obj):
    return [(n, _sorted(v) if n in _BY_KEY else v) for n, v in vars(obj).items()
            if n not in _SKIP_KERNEL]


def _lru_user_fields(obj):
    return [("name", obj.name), ("lru", obj.lru), ("shrinker", obj.shrinker),
            ("items", _sorted(obj.items))]


def _task_fields(obj):
    return [("tid", obj.tid), ("name", obj.name), ("rcu_depth", obj.rcu_depth),
            ("irqs_off", obj.irqs_off), ("held", obj.held)]


def _grace_period_fields(obj):
    return [("readers", [(task, task.rcu_gen == g) for task, g in obj.readers.items()])]


def _kobject_fields(obj):
    if obj.rcu_free is None:
        return None
    out = [(n, getattr(obj, n, None)) for n in _slot_names(type(obj)) if n != "rcu_free"]
    out.append(("rcu_free", [(task, task.rcu_gen == g and task.rcu_depth > 0)
                             for task, g in obj.rcu_free.items()]))
    return out


def _subclasses(cls):
    out = [cls]
    for c in cls.__subclasses__():
        out += _subclasses(c)
    return out


def _canon() -> Canon:
    fields = {c: _kobject_fields for c in _subclasses(KObject)}
    fields.update({Kernel: _kernel_fields, LruUser: _lru_user_fields, Task: _task_fields,
                   GracePeriod: _grace_period_fields, Config: lambda obj: []})
    return Canon(fields)


_CANON = _canon()
_START = object()  # a thread between ops: its next step starts the next op
MODEL_ERROR = "model_error"  # an exception the model's code raised (always checked)


# -- footprints: what one step read and wrote ----------------------------------------------
#
# For the checker's sleep sets.  While a tracked step runs, every __slots__ attribute of the
# model's classes (all classes of lrulab.kernel.*, found at import) and every attribute of
# its __dict__-based classes (the Kernel) is read and written through a recording hook; a
# list/dict/set read through an attribute is a read of its contents, and a write of them when
# it differs after the step.  Locations are named stably across replays: objects of the
# post-setup kernel by class and name (folio name, memcg path, lock name...; one name per
# class for the few unnamed classes), objects created later by (creating thread, how many
# that thread created before).  Enabling conditions (a lock's owner, the
# readers a grace period waits for) are read under tracking too.


def _kernel_classes() -> list:
    """Every class the model's kernel modules define (exceptions aside)."""
    import importlib
    import pkgutil

    from . import kernel as pkg
    out = []
    for mi in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{pkg.__name__}.{mi.name}")
        for obj in vars(mod).values():
            if isinstance(obj, type) and obj.__module__ == mod.__name__ and \
                    not issubclass(obj, BaseException):
                out.append(obj)
    return out


_TRACKED = _kernel_classes()
# classes whose instances keep attributes in a __dict__ (Kernel, dataclasses): hooked whole
_DICT_CLASSES = [c for c in _TRACKED if "__slots__" not in c.__dict__]
# the attribute that names an object of a class (its original slot descriptor); objects of
# classes without one share one name per class, which only makes more steps dependent
_NAME_ATTR: dict = {}
for _cls in _TRACKED:
    for _attr in ("name", "path", "node_id", "site"):
        _d = next((c.__dict__[_attr] for c in _cls.__mro__ if _attr in c.__dict__), None)
        if _d is not None and type(_d).__name__ == "member_descriptor":
            _NAME_ATTR[_cls] = _d
            break
_REC = None  # the Recorder of the step being tracked
_NAMING = None  # the Live whose steps are running (names the objects they create)
_CONTAINERS = (list, dict, set)


def _snap(v):
    t = type(v)
    if t is list:
        return tuple(v)
    if t is dict:
        return tuple(v.items())
    return frozenset(v)


class Recorder:
    __slots__ = ("h", "R", "W", "cont")

    def __init__(self, h):
        self.h = h
        self.R: set = set()
        self.W: set = set()
        self.cont: dict = {}

    def name(self, obj):
        n = self.h.names.get(id(obj))
        if n is None:  # an object of the post-setup kernel: named by what it is
            t = type(obj)
            d = _NAME_ATTR.get(t)
            try:
                n = (t.__name__, d.__get__(obj, t)) if d is not None else (t.__name__,)
            except AttributeError:  # one being built: an assert's copy.deepcopy (reachable:)
                n = (t.__name__,)
        return n

    def read(self, obj, attr, v):
        loc = (self.name(obj), attr)
        self.R.add(loc)
        if type(v) in _CONTAINERS and id(v) not in self.cont:
            cl = loc + ("[]",)
            self.R.add(cl)
            self.cont[id(v)] = (v, cl, _snap(v))

    def write(self, obj, attr):
        self.W.add((self.name(obj), attr))

    def finish(self):
        for v, cl, snap in self.cont.values():
            if _snap(v) != snap:
                self.W.add(cl)
        return frozenset(self.R), frozenset(self.W)


# -- data races: no_data_race ---------------------------------------------------------------
#
# KCSAN's question asked of the model (docs/properties.md).  Two steps of different threads
# that are enabled in the same state can run back to back in either order: they are
# concurrent.  A data race is such a pair touching the same field of the same kernel object,
# at least one writing, with no lock in common at the two accesses (each access carries the
# locks its task held at that moment: spinlocks, cgroup_mutex, folio locks), and neither
# access marked (a field the kernel declares atomic -- a class's ``__atomic__`` -- or an
# access under READ_ONCE / WRITE_ONCE / data_race(): kernel/sched.py).  Both steps' accesses
# are recorded from the same state, so an access a step only makes after seeing the other's
# effect (message passing through a marked flag) is not a pair.  Locations: objects that
# exist in the state by their number in a deterministic walk of it (the same in every replay
# of it), objects a step creates by (thread, how many it created before).  Contents of the
# Python containers that stand for kernel structures with their own synchronization
# (xarray, idr, RCU lists, per-cpu counters) are not watched, only their fields.

NO_DATA_RACE = "no_data_race"
# the concurrency vocabulary and the model's own bookkeeping: not kernel memory KCSAN watches
_RACE_SKIP_CLASSES = (SpinLock, Task, GracePeriod, Choice, KernelEvent, LruUser, Config, Patches)
_RACE_SKIP_FIELDS = {
    ListHead: {"owner", "lock", "container", "name"},  # DEBUG_LIST bookkeeping of the model
    Kernel: _SKIP_KERNEL | {"warned_once", "results", "folios", "mmap_locks", "tasks"},
    # a cgroup's populated state: the kernel keeps it under cgroup_mutex / css_set_lock in
    # attach, exit and rmdir; the model's attach and exit (plain functions around an op) do
    # not take those locks
    MemCgroup: {"nr_tasks", "procs_gen",
                # its LRU lists: under lruvec->lru_lock in the kernel, which the model does
                # not have (nor the LRU moves of the free path)
                "lru_folios"},
    # the pages a folio still holds: the model's charge bookkeeping (page_counter atomics
    # and LRU moves under lru_lock in the kernel); migration entries: page-table contents,
    # under the page table lock in the kernel, which the model does not have
    Folio: {"nr_pages", "migration"},
}
# kernel data races the property does not report: benign, documented with their sources in
# docs/known-kernel-bugs.md ("Data races no_data_race does not report")
_RACE_SKIP_FIELDS[MemCgroup] |= {
    "dying",  # css_is_dying -> percpu_ref_is_dying: a plain read of the DEAD bit
}
# struct names for messages
_STRUCT = {"Folio": "folio", "ListHead": "list_head", "MemCgroup": "mem_cgroup",
           "ListLruOne": "list_lru_one", "ListLruNode": "list_lru_node",
           "ListLruMemcg": "list_lru_memcg", "ListLru": "list_lru", "Shrinker": "shrinker",
           "ShrinkerInfo": "shrinker_info", "ShrinkControl": "shrink_control",
           "DeferredSplit": "deferred_split", "PglistData": "pglist_data",
           "LruObject": "object"}


def _unwatched(cls):
    """True for a class none of whose fields is watched, else the set of its fields that are
    not (atomic in the kernel, or the model's bookkeeping)."""
    if issubclass(cls, _RACE_SKIP_CLASSES):
        return True
    out = {"freed", "rcu_free"}  # KASAN's view of the object, not its memory
    for c in cls.__mro__:
        out |= set(c.__dict__.get("__marked__", ()))
        out |= _RACE_SKIP_FIELDS.get(c, set())
    return frozenset(out)


_UNWATCHED = {c: _unwatched(c) for c in _TRACKED}


def _access_site() -> str:
    """The kernel functions of the access being made, outermost first (the last three)."""
    names: list = []
    f = sys._getframe(3)
    while f is not None and len(names) < 3:
        mod = f.f_globals.get("__name__", "")
        n = f.f_code.co_name
        # model helpers (_unlink, ...) fold into their kernel caller; a dispatcher and the
        # design it dispatches to share a name
        if mod.startswith("lrulab.kernel.") and mod != "lrulab.kernel.sched" and \
                (n[0] != "_" or n[:2] == "__") and (not names or names[-1] != n):
            names.append(n)
        f = f.f_back
    return " > ".join(reversed(names))


def _describe(obj, attr: str) -> str:
    t = type(obj)
    if t is Kernel:
        return attr
    d = _NAME_ATTR.get(t)
    try:
        name = d.__get__(obj, t) if d is not None else None
    except AttributeError:  # being constructed
        name = None
    struct = _STRUCT.get(t.__name__, t.__name__)
    return f"{struct}({name})->{attr}" if name is not None else f"{struct}->{attr}"


class RaceRecorder(Recorder):
    """A Recorder (when ``por``) that also keeps every unmarked access of a watched field:
    acc[location] = {(write?, locks held): (kernel functions, field, lock names)}."""

    __slots__ = ("num", "acc", "por")

    def __init__(self, h, num: dict, por: bool):
        super().__init__(h)
        self.num = num
        self.acc: dict = {}
        self.por = por

    def read(self, obj, attr, v):
        if self.por:
            Recorder.read(self, obj, attr, v)
        if not _sched.marked:
            self.access(obj, attr, False)

    def write(self, obj, attr):
        if self.por:
            Recorder.write(self, obj, attr)
        if not _sched.marked:
            self.access(obj, attr, True)

    def oname(self, obj):
        n = self.num.get(id(obj))
        return ("#", n) if n is not None else self.name(obj)

    def access(self, obj, attr, write: bool) -> None:
        global _REC
        u = _UNWATCHED.get(type(obj), ())
        if u is True or attr in u:
            return
        _REC = None  # what we read here is not the step's
        try:
            held = self.h.k.current.held
            locks = frozenset(self.oname(lk) for lk in held)
            ent = self.acc.setdefault((self.oname(obj), attr), {})
            if (write, locks) not in ent:
                ent[(write, locks)] = (_access_site(), _describe(obj, attr),
                                       ", ".join(lk.name for lk in held) or "no lock")
        finally:
            _REC = self


def data_races(ti: str, acc_i: dict, tj: str, acc_j: dict) -> list:
    """The data races between two concurrent steps' accesses (one message per location)."""
    if ti > tj:
        ti, acc_i, tj, acc_j = tj, acc_j, ti, acc_i
    out = []
    for loc, ei in acc_i.items():
        ej = acc_j.get(loc)
        if ej is None:
            continue
        hits = [(a, b) for a in ei.items() for b in ej.items()
                if (a[0][0] or b[0][0]) and not a[0][1] & b[0][1]]
        if not hits:
            continue
        hit = max(hits, key=lambda ab: ab[0][0][0] + ab[1][0][0])  # writes first
        ((wi, _), (si, what, li)), ((wj, _), (sj, _, lj)) = hit
        out.append(f"data race on {what}: {ti} {'write' if wi else 'read'} in {si} "
                   f"({li}) and {tj} {'write' if wj else 'read'} in {sj} ({lj}) can run back "
                   "to back in either order")
    return sorted(out)


class _Slot:
    __slots__ = ("orig", "attr")

    def __init__(self, orig, attr):
        self.orig = orig
        self.attr = attr

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        v = self.orig.__get__(obj, cls)
        if _REC is not None:
            _REC.read(obj, self.attr, v)
        return v

    def __set__(self, obj, v):
        if _REC is not None:
            _REC.write(obj, self.attr)
        self.orig.__set__(obj, v)

    def __delete__(self, obj):
        if _REC is not None:
            _REC.write(obj, self.attr)
        self.orig.__delete__(obj)


_K_NOTRACK = {"current", "cfg", "__class__", "__dict__"}


def _k_getattribute(self, name):
    v = object.__getattribute__(self, name)
    if _REC is not None and name not in _K_NOTRACK:
        _REC.read(self, name, v)
    return v


def _k_setattr(self, name, v):
    if _REC is not None and name not in _K_NOTRACK:
        _REC.write(self, name)
    object.__setattr__(self, name, v)


_SLOT_DESCRS = [(cls, n, cls.__dict__[n]) for cls in _TRACKED
                for n in (cls.__dict__.get("__slots__") or ()) if n in cls.__dict__]
_TRACKING_SLOTS = [(cls, n, _Slot(d, n)) for cls, n, d in _SLOT_DESCRS]


def _track_on(rec):
    global _REC
    for cls, n, d in _TRACKING_SLOTS:
        setattr(cls, n, d)
    for cls in _DICT_CLASSES:
        cls.__getattribute__ = _k_getattribute
        cls.__setattr__ = _k_setattr
    _REC = rec


def _track_off():
    global _REC
    _REC = None
    for cls, n, d in _SLOT_DESCRS:
        setattr(cls, n, d)
    for cls in _DICT_CLASSES:
        del cls.__getattribute__
        del cls.__setattr__


def _wrap_init(cls):
    orig = cls.__dict__.get("__init__")
    if orig is None or getattr(orig, "_lrulab_named", False):
        return

    def __init__(self, *a, **kw):
        h = _NAMING
        if h is not None and id(self) not in h.names:
            i = h.stepping
            h.names[id(self)] = ("new", i, h.created[i])
            h.created[i] += 1
            h.keep.append(self)
        orig(self, *a, **kw)
    __init__._lrulab_named = True
    __init__.__wrapped__ = orig
    cls.__init__ = __init__


def enable_naming():
    """Name the objects kernel steps create (idempotent; harmless when nothing runs)."""
    for cls in _TRACKED:
        _wrap_init(cls)


class Live:
    """One live state: the kernel and each thread's generator."""

    __slots__ = ("k", "tasks", "pc", "gens", "want", "done", "counts", "results", "nev",
                 "nsplit", "niso", "names", "keep", "created", "stepping", "marks", "pending",
                 "path")

    def __init__(self, k, ntreads):
        self.k = k
        self.names: dict = {}  # id -> name of the objects created after setup
        self.keep: list = []  # ... kept alive, so that their ids stay theirs
        self.created = [0] * ntreads
        self.stepping = 0
        self.tasks = [k.task(f"T{i}") for i in range(ntreads)]
        for i, t in enumerate(self.tasks):
            self.names[id(t)] = ("task", i)
        self.pc = [0] * ntreads
        self.gens = [None] * ntreads
        self.want = [_START] * ntreads
        self.done = [False] * ntreads
        self.results = [[] for _ in range(ntreads)]
        self.counts: dict = {}
        self.nev = len(k.events)
        self.nsplit = len(k.split_log)
        self.niso = len(k.isolate_log)
        self.marks = [None] * ntreads  # counters at each thread's previous assert (vmstat)
        self.pending: list = []  # assert failures of the step being run
        self.path: list = []  # the moves that led here (no_data_race's per-state cache)


class KernelWorld:
    """The adapter the checker drives (see check/engine.py for the interface)."""

    def __init__(self, sc: Scenario):
        self.sc = sc
        self.ops = [list(t) for t in sc.threads]
        self.threads = [f"T{i}" for i in range(len(self.ops))]
        self.inject = sc.kernel.inject_alloc_failures
        self.step_props = [p for p in sc.check if p in REGISTRY and REGISTRY[p][1] == "step"]
        self.end_props = [p for p in sc.check if p in REGISTRY and REGISTRY[p][1] == "quiescent"]
        self.asserts = am.ASSERTION in sc.check
        self.vm_asserts = self.asserts and any(a.uses_vmstat() for a in sc.all_asserts())
        k = build_kernel(sc)
        self.setup_assert_fails: list = []
        mark = am.counters(k)
        if sc.setup:
            k.current = k.task("setup")
            for op in sc.setup:
                execute(k, op)
                for a in op.asserts if self.asserts else ():
                    self.setup_assert_fails += am.evaluate(k, a, mark)
                    mark = am.counters(k)
        self.setup_counters = am.counters(k)
        k.current = k.tasks[0]
        self.setup_events = [str(e) for e in k.events]
        self._base = k
        self._blob = pickle.dumps(k, protocol=pickle.HIGHEST_PROTOCOL)
        self._deciders = [[decide_from(op) for op in ops] for ops in self.ops]
        self.por = False
        self.races = NO_DATA_RACE in sc.check
        if self.races:
            enable_naming()
        self._rkey = None  # no_data_race: the state (its path) whose steps' accesses ...
        self._rcache: dict = {}  # ... are cached, move -> accesses
        self.symmetries = find_symmetries(sc, k)  # non-trivial (memcgs, names, threads) maps
        # [(Canon, word map, thread permutation, walks it reorders)] while symmetry is on
        self._sym = None
        # per thread, per op index: the memcgs whose subtree its ops from there on walk
        self._walks = [_walk_targets(ops) for ops in self.ops]

    def set_symmetry(self, on: bool) -> bool:
        """Fingerprints up to the scenario's symmetries (the minimum over the group) when
        ``on``; returns whether the scenario has any non-trivial symmetry."""
        if on and self.symmetries:
            if self._sym is None:
                h = self.initial()
                self._sym = [_sym_canon(self._base, h, g) + (_reordered_walks(g[0]),)
                             for g in [_identity(self.sc, self._base)] + self.symmetries]
        else:
            self._sym = None
        return bool(on and self.symmetries)

    def enable_footprints(self) -> None:
        """Make apply_fp available (the checker's sleep sets)."""
        if not self.por:
            enable_naming()
            self.por = True

    def infer_ok(self) -> bool:
        """Whether a step's violations depend only on the state it runs in (the checker may
        then infer the edge of a step that commutes with the one before): not with
        no_data_race, whose messages name the other threads' steps enabled there."""
        return not self.races

    def apply_fp(self, h: Live, move):
        """apply, also returning the step's footprint (reads, writes) in stable names."""
        if self.races:
            return self._apply_race(h, move, True)
        rec = Recorder(h)
        self._tracked_step(h, move, rec)
        fp = rec.finish()
        return self._check_step(h), fp

    def _tracked_step(self, h: Live, move, rec) -> None:
        i = move[0]
        _track_on(rec)
        try:
            w = h.want[i]
            if w.__class__ is SpinLock:
                w.owner  # noqa: B018 -- the enabling condition is a read
            elif w.__class__ is GracePeriod:
                w.done()
            self._step(h, move)
        finally:
            _track_off()
        if _sched.marked:  # a 'with data_race():' around a yield: a bug of the model
            _sched.marked = 0
            h.k.events.append(KernelEvent(MODEL_ERROR, "data_race() held across a step",
                                          h.k.current.name))

    def _race_step(self, h: Live, move, por: bool) -> RaceRecorder:
        """Run one step recording its accesses for no_data_race (and its footprint)."""
        rec = RaceRecorder(h, _CANON.numbering([h.k, h.gens]), por)
        self._tracked_step(h, move, rec)
        return rec

    def _apply_race(self, h: Live, move, por: bool):
        """apply (apply_fp when ``por``) with no_data_race: the step's accesses against those
        of every other thread's step enabled in the same state (computed on replays of it
        and cached while the checker expands that state)."""
        key = tuple(h.path)
        if key != self._rkey:
            self._rkey, self._rcache = key, {}
        cache = self._rcache
        others = [u for u in self.moves(h) if u[0] != move[0]]
        mine = cache.get(move)
        fp = None
        if mine is None:
            rec = self._race_step(h, move, por)
            mine = cache[move] = rec.acc
            fp = rec.finish() if por else None
        elif por:
            rec = Recorder(h)
            self._tracked_step(h, move, rec)
            fp = rec.finish()
        else:
            self._step(h, move)
        viol = self._check_step(h)
        if mine:
            for u in others:
                acc = cache.get(u)
                if acc is None:
                    hh = self._replay_quiet(key)
                    acc = cache[u] = self._race_step(hh, u, False).acc
                viol += [(NO_DATA_RACE, m) for m in
                         data_races(self.threads[move[0]], mine, self.threads[u[0]], acc)]
        return viol, fp

    # -- the interface ------------------------------------------------------------------

    def initial(self) -> Live:
        h = Live(pickle.loads(self._blob), len(self.ops))
        for p in self.step_props:
            h.counts[p] = len(REGISTRY[p][0](h.k))
        for i in range(len(self.ops)):
            if not self.ops[i]:
                h.done[i] = True
        return h

    def initial_violations(self) -> list:
        """Step properties the sequential setup already violated."""
        return [(p, m) for p in self.step_props for m in REGISTRY[p][0](self._base)] + \
            [(am.ASSERTION, m) for m in self.setup_assert_fails]

    def violation_key(self, prop: str, msg: str):
        """Violations the checker traces separately: one per property, one per assert, one per
        field with a data race."""
        if prop == am.ASSERTION:
            return (prop, msg.split(": ", 1)[0])
        if prop == NO_DATA_RACE:  # one per racy field, as KCSAN reports them
            return (prop, msg.split(": ", 1)[0])
        return prop

    def replay(self, path) -> Live:
        return self._replay_quiet(path)

    def moves(self, h: Live) -> list:
        out = []
        for i, w in enumerate(h.want):
            if h.done[i]:
                continue
            if w is _START or w is None or w.__class__ is str:
                out.append((i, None))
            elif w.__class__ is SpinLock:
                if w.owner is None:
                    out.append((i, None))
            elif w.__class__ is GracePeriod:
                if w.done():
                    out.append((i, None))
            elif w.__class__ is Choice:
                if self.inject:
                    out += [(i, True), (i, False)]
                else:
                    out.append((i, self._deciders[i][h.pc[i]](w.site)))
            else:
                raise AssertionError(f"thread {i} yielded {w!r}")
        return out

    def apply(self, h: Live, move) -> list:
        """Run one step; returns the step properties it violated, [(property, message)]."""
        if self.races:
            return self._apply_race(h, move, False)[0]
        self._step(h, move)
        return self._check_step(h)

    def _replay_quiet(self, path) -> Live:
        """The state after ``path``, without no_data_race's work on the way."""
        h = self.initial()
        for m in path:
            self._step(h, m)
            self._check_step(h)
        return h

    def _step(self, h: Live, move):
        global _NAMING
        i, choice = move
        k = h.k
        h.path.append(move)
        if self.por or self.races:
            _NAMING = h
            h.stepping = i
        try:
            self._resume(h, i, choice, k)
        finally:
            _NAMING = None

    def _resume(self, h, i, choice, k):
        k.current = h.tasks[i]
        gen = h.gens[i]
        if gen is None:
            if self.vm_asserts and h.marks[i] is None:
                h.marks[i] = am.counters(k)
            gen = h.gens[i] = run_op(k, self.ops[i][h.pc[i]])
            send = None
        else:
            send = choice
        try:
            h.want[i] = gen.send(send)
        except StopIteration as stop:
            self._op_done(h, i, stop.value)
        except Oops as e:
            k.events.append(KernelEvent("oops", str(e), k.current.name, _tb_stack(e)))
            self._died(h, i)
        except AttributeError as e:
            if "'NoneType' object has no attribute" not in str(e):
                self._model_error(h, i, e)
                return
            k.events.append(KernelEvent("oops", f"BUG: kernel NULL pointer dereference ({e})",
                                        k.current.name, _tb_stack(e)))
            self._died(h, i)
        except Exception as e:  # noqa: BLE001 -- reported with its schedule, not raised
            self._model_error(h, i, e)

    def _model_error(self, h, i, e) -> None:
        """Any other exception is a bug of the model (or a state the kernel forbids that the
        model lets happen): reported like a step property that every scenario checks."""
        h.k.events.append(KernelEvent(MODEL_ERROR, f"{e.__class__.__name__}: {e}",
                                      h.k.current.name, _tb_stack(e)))
        self._died(h, i)

    def _check_step(self, h: Live) -> list:
        """The step properties the last step violated: their messages beyond those already
        counted on this schedule (events, split_log and isolate_log only grow)."""
        k = h.k
        out = [(am.ASSERTION, m) for m in h.pending]
        h.pending = []
        if len(k.events) == h.nev and len(k.split_log) == h.nsplit \
                and len(k.isolate_log) == h.niso:
            return out
        new = k.events[h.nev:]
        h.nev, h.nsplit, h.niso = len(k.events), len(k.split_log), len(k.isolate_log)
        out += [(MODEL_ERROR, f"model error (a bug of lrulab's model): {e}") for e in new
                if e.kind == MODEL_ERROR]
        for p in self.step_props:
            msgs = REGISTRY[p][0](k)
            n = h.counts[p]
            if len(msgs) > n:
                out += [(p, m) for m in msgs[n:]]
                h.counts[p] = len(msgs)
        return out

    def _op_done(self, h, i, value):
        h.results[i].append(str(value))
        for a in self.ops[i][h.pc[i]].asserts if self.asserts else ():
            h.pending += am.evaluate(h.k, a, h.marks[i])
            if self.vm_asserts:
                h.marks[i] = am.counters(h.k)
        h.gens[i] = None
        h.want[i] = _START
        h.pc[i] += 1
        if h.pc[i] == len(self.ops[i]):
            h.done[i] = True

    def _died(self, h, i):
        h.results[i].append("oops")
        h.gens[i] = None
        h.want[i] = _START
        h.done[i] = True

    def fingerprint(self, h: Live) -> bytes:
        wants = ["start" if w is _START else w for w in h.want]
        if self._sym is None:
            if self.vm_asserts:  # the baselines of vmstat asserts decide their future
                return _CANON.digest([h.k, h.pc, h.done, h.gens, wants, h.marks])
            return _CANON.digest([h.k, h.pc, h.done, h.gens, wants])
        walks = set()
        for i, done in enumerate(h.done):
            if not done:
                walks |= self._walks[i][h.pc[i]]
        # a symmetry that reorders a walk still to come is not one of this state (see above)
        return min(_sym_digest(c, words, perm, [h.pc, h.done, h.gens, wants], h.k)
                   for c, words, perm, reordered in self._sym if not reordered & walks)

    def end_violations(self, h: Live) -> list:
        """At a state without moves: the quiescent properties if every thread finished, else
        a deadlock (reported under no_oops when the scenario checks it)."""
        if all(h.done):
            out = []
            for p in self.end_props:
                out += [(p, m) for m in REGISTRY[p][0](h.k)]
            for p, msgs in accepted_notes(h.k, self.sc).items():
                if self.sc.strict:
                    out += [(p, f"{m} [--strict]") for m in msgs]
                else:
                    out += [Accepted(p, m) for m in msgs]
            if self.sc.after or self.sc.after_asserts:
                out += self._after(h.k)
            return out
        if "no_oops" in self.sc.check:
            return [("no_oops", "deadlock: " + "; ".join(self._waits(h)))]
        return []

    def _after(self, k) -> list:
        """The 'after:' block on a copy of the final state: its ops in order, sequentially,
        then their asserts (vmstat deltas from the end of setup); step properties cover its
        ops too."""
        c = copy.deepcopy(k)
        c.current = c.task("after")
        nev = {p: len(REGISTRY[p][0](c)) for p in self.step_props}
        out: list = []
        mark = self.setup_counters
        for a in self.sc.after_asserts if self.asserts else ():
            out += [(am.ASSERTION, m) for m in am.evaluate(c, a, mark)]
            mark = am.counters(c)
        for op in self.sc.after:
            execute(c, op)
            for a in op.asserts if self.asserts else ():
                out += [(am.ASSERTION, m) for m in am.evaluate(c, a, mark)]
                mark = am.counters(c)
        for p in self.step_props:
            out += [(p, f"after: {m}") for m in REGISTRY[p][0](c)[nev[p]:]]
        return out

    def _waits(self, h) -> list:
        out = []
        for i, w in enumerate(h.want):
            if h.done[i]:
                continue
            if w.__class__ is SpinLock:
                out.append(f"{self.threads[i]} waits for {w.name} held by "
                           f"{w.owner.name if w.owner else '?'}")
            elif w.__class__ is GracePeriod:
                out.append(f"{self.threads[i]} waits in synchronize_rcu")
        return out

    # -- traces -------------------------------------------------------------------------

    def op_text(self, h: Live, i: int) -> str:
        ops = self.ops[i]
        return ops[h.pc[i]].text() if h.pc[i] < len(ops) else "(finished)"

    def stack(self, h: Live, i: int) -> list:
        g = h.gens[i]
        names = []
        while g is not None:
            f = g.gi_frame
            if f is None:
                break
            mod = f.f_globals.get("__name__", "")
            if mod.startswith("lrulab.kernel.") and mod not in _HELPERS:
                names.append(g.gi_code.co_name)
            g = g.gi_yieldfrom
        return names

    def action(self, h: Live, i: int, choice) -> str:
        w = h.want[i]
        if w is _START:
            return "start"
        if w is None:
            return "step"
        if w.__class__ is str:
            return w
        if w.__class__ is SpinLock:
            return f"acquire {w.name}"
        if w.__class__ is GracePeriod:
            return "grace period ends"
        if w.__class__ is Choice:
            return f"allocation {w.site} {'succeeds' if choice else 'FAILS'}"
        return repr(w)

    def render(self, path, last_violation=None) -> list:
        """Re-run ``path`` and describe each step: thread, op, kernel functions, what changed."""
        h = self.initial()
        steps = []
        before = snapshot(h.k)
        for m in path:
            i, choice = m
            if m not in self.moves(h):
                raise ReplayError(f"step {len(steps) + 1}: {self.threads[i]} cannot move "
                                  f"{'(' + str(choice) + ')' if choice is not None else ''} here")
            op = self.op_text(h, i)
            act = self.action(h, i, choice)
            fstack = self.stack(h, i)
            nev = len(h.k.events)
            nres = len(h.results[i])
            viol = self.apply(h, m)
            if not fstack:
                fstack = self.stack(h, i)
            after = snapshot(h.k)
            detail = [act] + diff(before, after)
            detail += [f"! {e}" for e in h.k.events[nev:]]
            if len(h.results[i]) > nres:
                detail.append(f"-> {h.results[i][-1]}")
            evs = {str(e) for e in h.k.events[nev:]}
            detail += [f"VIOLATES {p}" + ("" if msg in evs else f": {msg}") for p, msg in viol]
            steps.append({"thread": self.threads[i], "op": op, "functions": fstack,
                          "detail": detail, "choice": choice})
            before = after
        return steps, h


# -- symmetry: memcgs that are interchangeable ----------------------------------------------
#
# A symmetry g = (pm, nm, tp): a permutation pm of the scenario's memcg paths that keeps the
# tree (parent of pm(m) = pm(parent of m)), a bijection nm of folio / lru item names, and a
# permutation tp of the threads, such that the renamed setup is the setup (as a sequence: it
# fixes creation order, ids and names) and thread i's renamed ops are thread tp[i]'s.  The
# state g(s) is encoded from s by renaming, in the encoding, every memcg-derived name and
# number (path, id, kmemcg_id, xarray keys, lock and list names, task ids/names of threads)
# and putting creation-ordered containers (k.memcgs, children, k.tasks) and maps encoded by
# key back in their order for the new names.  The fingerprint is the minimum over the group,
# less the symmetries that reorder a walk still to come: a reclaim op not finished (pending or
# running) walks its target's subtree in creation order (mem_cgroup_iter) at every priority,
# so when the target is a strict ancestor of a memcg g moves, s and g(s) do not have mirrored
# futures (both walks meet the swapped siblings in the same order) and g is left out for that
# state.  The model's other walks of the tree (css_has_online_children,
# memcg_reparent_list_lrus) run within one step and do not depend on the order;
# expand_shrinker_info walks across steps, but only a register op expands at run time, and
# scenarios with one have no symmetry (find_symmetries).

_WORD = re.compile(r"[A-Za-z0-9_/]+")
_SAFE = re.compile(r"^[A-Za-z0-9_/]+$")
_MEMCG_KINDS = ("path", "memcg")
_NAME_KINDS = ("name", "folio", "item")
# words of the model's own strings (object names) that a renamed name must not be
_MODEL_WORDS = {"PG_locked", "_deferred_list", "mm", "mmap_lock", "d_lru", "lock", "node",
                "deferred_split_queue", "split_queue_lock", "boot", "setup", "root"}
_ID_LOCALS = {"idx", "src_idx", "dst_idx"}  # kernel locals holding a kmemcg_id
MAX_SYM_MEMCGS = 7
MAX_SYM_THREADS = 6


def _op_kinds(op: Op) -> dict:
    spec = OPS.get(op.kind, {})
    return {key: spec.get(key, (False, None))[1] for key in op.args}


def _ren_op(op: Op, pm: dict, nm: dict):
    out = []
    for key, kind in _op_kinds(op).items():
        v = op.args[key]
        if kind in _MEMCG_KINDS:
            v = pm.get(v, v)
        elif kind in _NAME_KINDS:
            v = nm.get(v, v)
        out.append((key, repr(v)))
    return (op.kind, tuple(out))


def _match_threads(ops: list, pm: dict, tp: tuple):
    """The name bijection under which thread i's ops, memcgs renamed by pm, are thread
    tp[i]'s, or None."""
    nm: dict = {}
    for i, j in enumerate(tp):
        a, b = ops[i], ops[j]
        if len(a) != len(b):
            return None
        for oa, ob in zip(a, b, strict=True):
            if oa.kind != ob.kind or list(oa.args) != list(ob.args):
                return None
            for key, kind in _op_kinds(oa).items():
                va, vb = oa.args[key], ob.args[key]
                if kind in _MEMCG_KINDS:
                    if pm.get(va, va) != vb:
                        return None
                elif kind in _NAME_KINDS:
                    if nm.setdefault(va, vb) != vb:
                        return None
                elif va != vb:
                    return None
    if len(set(nm.values())) != len(nm):
        return None
    return {a: b for a, b in nm.items() if a != b}


def find_symmetries(sc: Scenario, k=None) -> list:
    """The scenario's non-trivial symmetries [(pm, nm, tp)] (see above); [] when it has none
    or uses what the renaming does not cover (mkdir, names that are not plain words)."""
    paths = list(sc.memcgs)
    ops = [list(t) for t in sc.threads]
    if len(paths) > MAX_SYM_MEMCGS or len(ops) > MAX_SYM_THREADS or len(paths) < 2:
        return []
    if any(op.kind in ("mkdir", "register", "unregister") for op in sc.all_ops()):
        return []  # (registration walks every memcg in creation order, across steps)
    if sc.after or any(True for _ in sc.all_asserts()):  # asserts name memcgs and folios
        return []
    setup_names = {op.args[key] for op in sc.setup for key, kind in _op_kinds(op).items()
                   if kind in _NAME_KINDS}
    all_names = {op.args[key] for op in sc.all_ops() for key, kind in _op_kinds(op).items()
                 if kind in _NAME_KINDS}
    reserved = _MODEL_WORDS | set(sc.kernel.lrus) | {f"T{i}" for i in range(len(ops))}
    if k is not None:
        reserved |= {f"node{n}" for n in range(len(k.nodes))}
    parent = {p: p.rpartition("/")[0] or "root" for p in paths}
    setup_key = [_ren_op(op, {}, {}) for op in sc.setup]
    out = []
    for perm in itertools.permutations(paths):
        pm = {a: b for a, b in zip(paths, perm, strict=True) if a != b}
        if not pm:
            continue
        if any(parent[pm.get(p, p)] != pm.get(parent[p], parent[p]) for p in paths):
            continue
        if [_ren_op(op, pm, {}) for op in sc.setup] != setup_key:
            continue
        moved = set(pm)
        if any(not _SAFE.match(p) or p in reserved or p in all_names for p in moved):
            continue
        for tp in itertools.permutations(range(len(ops))):
            nm = _match_threads(ops, pm, tp)
            if nm is None or set(nm) & setup_names:
                continue
            if any(not _SAFE.match(n) or n in reserved or n in paths for n in nm):
                continue
            out.append((pm, nm, tp))
    return out


def _identity(sc, k):
    return ({}, {}, tuple(range(len(sc.threads))))


def _walk_targets(ops: list) -> list:
    """For each op index: the memcgs ("root" included) that the reclaim ops from there on
    walk the subtree of, across steps (mem_cgroup_iter in creation order).  The last entry
    (thread finished) is empty."""
    out = [frozenset()]
    for op in reversed(ops):
        here = {op.args["memcg"]} if op.kind == "reclaim" else set()
        out.append(out[-1] | here)
    return out[::-1]


def _reordered_walks(pm: dict) -> frozenset:
    """The memcgs whose subtree walk a memcg permutation reorders: the strict ancestors
    ("root" included) of the memcgs it moves (moved siblings swap places in the walk)."""
    out = set()
    for path in pm:
        out.add("root")
        parts = path.split("/")
        out.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return frozenset(out)


def _sym_canon(base: Kernel, h: Live, g):
    """The Canon (hooks), word map and thread permutation that encode g(s) from s.  Strings
    are renamed after the walk (map_strings), so the hooks only reorder by renamed keys."""
    pm, nm, tp = g
    rank = {p: i for i, p in enumerate(base.memcgs)}
    ids = {m.id: base.memcgs[pm.get(p, p)].id for p, m in base.memcgs.items()}
    tids = {h.tasks[i].tid: h.tasks[j].tid for i, j in enumerate(tp)}
    words = dict(pm)
    words.update(nm)
    words.update({f"T{i}": f"T{j}" for i, j in enumerate(tp) if i != j})
    cache: dict = {}

    def ren(x: str) -> str:
        r = cache.get(x)
        if r is None:
            r = cache[x] = _WORD.sub(lambda mt: words.get(mt.group(), mt.group()), x) \
                if words else x
        return r

    def mid(i):
        return ids.get(i, i) if type(i) is int and i >= 0 else i

    def kernel_fields(obj):
        out = []
        for n, v in vars(obj).items():
            if n in _SKIP_KERNEL:
                continue
            if n in _BY_KEY:
                v = sorted(v.items(), key=lambda kv: ren(kv[0]) if type(kv[0]) is str else kv[0])
            elif n == "memcgs":
                v = sorted(v.items(), key=lambda kv: rank.get(ren(kv[0]), len(rank)))
            elif n == "tasks":
                v = sorted(v, key=lambda t: tids.get(t.tid, t.tid))
            out.append((n, v))
        return out

    def lru_user_fields(obj):
        return [("name", obj.name), ("lru", obj.lru), ("shrinker", obj.shrinker),
                ("items", sorted(obj.items.items(), key=lambda kv: ren(kv[0])))]

    def task_fields(obj):
        return [("tid", tids.get(obj.tid, obj.tid))] + _task_fields(obj)[1:]

    def memcg_fields(obj):
        out = []
        for n in _slot_names(MemCgroup):
            v = getattr(obj, n, None)
            if n in ("id", "kmemcg_id"):
                v = mid(v)
            elif n == "children":
                v = sorted(v, key=lambda m: rank.get(ren(m.path), len(rank)))
            elif n == "rcu_free" and v is not None:
                v = [(task, task.rcu_gen == gg and task.rcu_depth > 0) for task, gg in v.items()]
            out.append((n, v))
        return out

    def list_lru_fields(obj):
        out = []
        for n in _slot_names(ListLru):
            v = getattr(obj, n, None)
            if n == "xa":
                v = [(mid(key), val) for key, val in v.items()]
            elif n == "rcu_free" and v is not None:
                v = [(task, task.rcu_gen == gg and task.rcu_depth > 0) for task, gg in v.items()]
            out.append((n, v))
        return out

    def op_fields(obj):
        return [("kind", obj.kind), ("args", obj.args)]

    def local(name, v):
        return mid(v) if name in _ID_LOCALS else v

    fields = dict(_CANON.fields)
    fields.update({Kernel: kernel_fields, LruUser: lru_user_fields, Task: task_fields,
                   MemCgroup: memcg_fields, ListLru: list_lru_fields, Op: op_fields})
    return Canon(fields, local), ren, tp


def _sym_digest(c: Canon, ren, tp, per_thread: list, k) -> bytes:
    roots = [k]
    for lst in per_thread:
        out = [None] * len(lst)
        for i, j in enumerate(tp):
            out[j] = lst[i]
        roots.append(out)
    return c.digest_tokens(map_strings(c.encode(roots), ren))


class ReplayError(Exception):
    pass


__all__ = ["KernelWorld", "Live", "ReplayError", "run_sync"]
