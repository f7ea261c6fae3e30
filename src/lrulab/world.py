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
looks up by name (``k.folios``, ``k.mmap_locks``, an lru user's ``items``) are encoded in key
order, not insertion order.  Left out, because no
future step reads them: ``events``, ``split_log``, ``scan_log``, ``reclaim_passes`` (history:
the step properties that read events and split_log are checked on the step that appends to
them), ``current`` (set before each step) and ``cfg`` (constant).  RCU generation counters are
rewritten into what the future can observe of them: whether a grace-period or kvfree_rcu
snapshot still names the reader's current section.
"""

from __future__ import annotations

import pickle

from .check.canon import Canon, _slot_names
from .kernel.config import Config
from .kernel.kernel import Kernel, LruUser
from .kernel.sched import Choice, GracePeriod, KernelEvent, KObject, Oops, SpinLock, Task, run_sync
from .ops import build_kernel, run_op
from .properties import REGISTRY
from .runner import _tb_stack, decide_from, execute
from .scenario import Scenario
from .view import diff, snapshot

_SKIP_KERNEL = {"events", "split_log", "scan_log", "reclaim_passes", "current", "cfg"}
_HELPERS = ("lrulab.kernel.sched", "lrulab.kernel.list")


# name -> object maps the model only looks up by key: their insertion order is not state
_BY_KEY = {"folios", "mmap_locks"}


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
            n = (t.__name__, d.__get__(obj, t)) if d is not None else (t.__name__,)
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
                 "nsplit", "names", "keep", "created", "stepping")

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


class KernelWorld:
    """The adapter the checker drives (see check/engine.py for the interface)."""

    def __init__(self, sc: Scenario):
        self.sc = sc
        self.ops = [list(t) for t in sc.threads]
        self.threads = [f"T{i}" for i in range(len(self.ops))]
        self.inject = sc.kernel.inject_alloc_failures
        self.step_props = [p for p in sc.check if REGISTRY[p][1] == "step"]
        self.end_props = [p for p in sc.check if REGISTRY[p][1] == "quiescent"]
        k = build_kernel(sc)
        if sc.setup:
            k.current = k.task("setup")
            for op in sc.setup:
                execute(k, op)
        k.current = k.tasks[0]
        self.setup_events = [str(e) for e in k.events]
        self._base = k
        self._blob = pickle.dumps(k, protocol=pickle.HIGHEST_PROTOCOL)
        self._deciders = [[decide_from(op) for op in ops] for ops in self.ops]
        self.por = False

    def enable_footprints(self) -> None:
        """Make apply_fp available (the checker's sleep sets)."""
        if not self.por:
            enable_naming()
            self.por = True

    def apply_fp(self, h: Live, move):
        """apply, also returning the step's footprint (reads, writes) in stable names."""
        rec = Recorder(h)
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
        fp = rec.finish()
        return self._check_step(h), fp

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
        return [(p, m) for p in self.step_props for m in REGISTRY[p][0](self._base)]

    def replay(self, path) -> Live:
        h = self.initial()
        for m in path:
            self.apply(h, m)
        return h

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
        self._step(h, move)
        return self._check_step(h)

    def _step(self, h: Live, move):
        global _NAMING
        i, choice = move
        k = h.k
        if self.por:
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
        counted on this schedule (events and split_log only grow)."""
        k = h.k
        if len(k.events) == h.nev and len(k.split_log) == h.nsplit:
            return []
        new = k.events[h.nev:]
        h.nev, h.nsplit = len(k.events), len(k.split_log)
        out = [(MODEL_ERROR, f"model error (a bug of lrulab's model): {e}") for e in new
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
        return _CANON.digest([h.k, h.pc, h.done, h.gens, wants])

    def end_violations(self, h: Live) -> list:
        """At a state without moves: the quiescent properties if every thread finished, else
        a deadlock (reported under no_oops when the scenario checks it)."""
        if all(h.done):
            out = []
            for p in self.end_props:
                out += [(p, m) for m in REGISTRY[p][0](h.k)]
            return out
        if "no_oops" in self.sc.check:
            return [("no_oops", "deadlock: " + "; ".join(self._waits(h)))]
        return []

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


class ReplayError(Exception):
    pass


__all__ = ["KernelWorld", "Live", "ReplayError", "run_sync"]
