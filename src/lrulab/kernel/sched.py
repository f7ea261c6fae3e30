"""The concurrency vocabulary of the model: step points, spinlocks, RCU, allocation choices.

Kernel functions that another CPU could interleave with are generators.  Each ``yield``
announces the *next* atomic action of the calling task and hands control to the driver
(the sequential runner, the checker or the simulator).  What a task yields tells the driver
whether that action can run now:

- ``None`` or a ``str`` label: a plain step point, always enabled (a lockless read, an atomic
  refcount or flag operation, a memcg state change);
- a :class:`SpinLock`: acquire it; enabled only while nobody holds it;
- a :class:`GracePeriod`: the end of ``synchronize_rcu()``; enabled once every reader that was
  inside an RCU read-side section when the grace period began has left it;
- a :class:`Choice`: an allocation that may fail; the driver answers with ``gen.send(bool)``.

Everything between two yields runs atomically.  Code under a held spinlock needs no step points
of its own unless it touches memory that lockless readers use.  Entering and leaving an RCU
read-side section is not a step: nothing but a grace period can observe it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field


class SpinLock:
    """``spinlock_t``.  ``owner`` is the holding :class:`Task` or None."""

    __slots__ = ("name", "owner", "irqsafe")

    def __init__(self, name: str, irqsafe: bool = False):
        self.name = name
        self.owner: Task | None = None
        # True for locks that must always be taken with IRQs off (lockdep's IN-HARDIRQ usage)
        self.irqsafe = irqsafe

    def __repr__(self) -> str:
        return f"<lock {self.name}>"


class Choice:
    """An allocation site that may fail (``kmalloc``, ``folio_alloc``, a memcg charge)."""

    __slots__ = ("site",)

    def __init__(self, site: str):
        self.site = site

    def __repr__(self) -> str:
        return f"<alloc {self.site}>"


class GracePeriod:
    """A pending ``synchronize_rcu()``: the readers it waits for, with their section generation."""

    __slots__ = ("readers",)

    def __init__(self, readers: dict):
        self.readers = readers

    def done(self) -> bool:
        return all(t.rcu_depth == 0 or t.rcu_gen != g for t, g in self.readers.items())


ALLOC_SITES = ("thp_alloc", "charge", "list_lru_memcg", "shrinker_info", "migrate_alloc")
CHOICES = {s: Choice(s) for s in ALLOC_SITES}


class Task:
    """A kernel thread of control (a CPU running one scenario thread)."""

    __slots__ = ("tid", "name", "rcu_depth", "rcu_gen", "irqs_off", "held")

    def __init__(self, tid: int, name: str):
        self.tid = tid
        self.name = name
        self.rcu_depth = 0
        self.rcu_gen = 0
        self.irqs_off = 0
        self.held: list[SpinLock] = []

    def __repr__(self) -> str:
        return f"<task {self.name}>"


@dataclass
class KernelEvent:
    """A kernel diagnostic: WARN, Oops, KASAN report, list corruption, lockdep splat."""

    kind: str  # warn | oops | use_after_free | list | lockdep | deadlock | counter
    message: str
    task: str
    stack: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        where = " > ".join(self.stack)
        return f"{self.kind}: {self.message}" + (f" [{where}]" if where else "")


class Oops(Exception):
    """A fatal kernel error in the current task (BUG_ON, NULL or dead pointer dereference)."""


def kernel_stack(skip: int = 1) -> tuple[str, ...]:
    """Names of the model's kernel functions on the current Python stack, outermost first."""
    names = []
    f = sys._getframe(skip)
    while f is not None:
        mod = f.f_globals.get("__name__", "")
        if mod.startswith("lrulab.kernel.") and not mod.endswith((".sched", ".list")):
            names.append(f.f_code.co_name)
        f = f.f_back
    names.reverse()
    return tuple(names)


def report(k, kind: str, message: str) -> None:
    """Record a kernel diagnostic raised by the current task."""
    k.events.append(KernelEvent(kind, message, k.current.name, kernel_stack(2)))


def WARN_ON(k, cond: bool, message: str) -> bool:
    """include/asm-generic/bug.h: WARN_ON (also stands for VM_WARN_ON under CONFIG_DEBUG_VM)."""
    if cond:
        report(k, "warn", message)
    return cond


def WARN_ON_ONCE(k, cond: bool, message: str) -> bool:
    """include/asm-generic/bug.h: WARN_ON_ONCE -- reported the first time per call site only."""
    if cond and message not in k.warned_once:
        k.warned_once.add(message)
        report(k, "warn", message)
    return cond


def BUG(k, message: str):
    """include/asm-generic/bug.h: BUG -- the task dies with an Oops."""
    raise Oops(message)


# -- allocation -------------------------------------------------------------------------

def may_fail(site: str):
    """Any allocation the kernel can fail: the driver decides (see module docstring)."""
    return (yield CHOICES[site])


# -- spinlocks ----------------------------------------------------------------------------

def _acquired(k, lock: SpinLock) -> None:
    t = k.current
    lock.owner = t
    t.held.append(lock)
    if lock.irqsafe and not t.irqs_off:
        report(k, "lockdep", f"inconsistent lock state: {lock.name} taken with IRQs enabled")


def spin_lock(k, lock: SpinLock):
    """include/linux/spinlock.h: spin_lock."""
    yield lock
    _acquired(k, lock)


def spin_lock_irq(k, lock: SpinLock):
    """include/linux/spinlock.h: spin_lock_irq (also spin_lock_irqsave: same model)."""
    yield lock
    k.current.irqs_off += 1
    _acquired(k, lock)


spin_lock_irqsave = spin_lock_irq


def spin_unlock(k, lock: SpinLock) -> None:
    """include/linux/spinlock.h: spin_unlock."""
    t = k.current
    if lock.owner is not t:
        report(k, "lockdep", f"unlocking {lock.name}, not held by this task")
        return
    lock.owner = None
    t.held.remove(lock)


def spin_unlock_irq(k, lock: SpinLock) -> None:
    """include/linux/spinlock.h: spin_unlock_irq / spin_unlock_irqrestore."""
    spin_unlock(k, lock)
    if k.current.irqs_off:
        k.current.irqs_off -= 1


spin_unlock_irqrestore = spin_unlock_irq


def lockdep_assert_held(k, lock: SpinLock | None) -> bool:
    """include/linux/lockdep.h: lockdep_assert_held.  Returns False (and reports) if not held."""
    if lock is not None and lock.owner is not k.current:
        report(k, "list", f"{lock.name} not held")
        return False
    return True


# -- RCU ----------------------------------------------------------------------------------

def rcu_read_lock(k) -> None:
    """include/linux/rcupdate.h: rcu_read_lock."""
    k.current.rcu_depth += 1


def rcu_read_unlock(k) -> None:
    """include/linux/rcupdate.h: rcu_read_unlock."""
    t = k.current
    t.rcu_depth -= 1
    if t.rcu_depth == 0:
        t.rcu_gen += 1


def synchronize_rcu(k):
    """kernel/rcu/tree.c: synchronize_rcu -- waits for readers that were inside a section when it
    began; readers that enter afterwards do not hold it up."""
    yield "synchronize_rcu"
    me = k.current
    yield GracePeriod({t: t.rcu_gen for t in k.tasks if t is not me and t.rcu_depth > 0})


def kvfree_rcu(k, obj) -> None:
    """include/linux/rcupdate.h: kvfree_rcu / kfree_rcu.

    The object stays readable by every reader that was inside a section at this point, until
    it leaves that section; to everybody else it is freed memory.
    """
    obj.rcu_free = {t: t.rcu_gen for t in k.tasks if t.rcu_depth > 0}


def kfree(k, obj) -> None:
    """mm/slub.c: kfree -- later accesses are use-after-free."""
    obj.freed = True


def kasan_check(k, obj, what: str) -> bool:
    """mm/kasan: report an access to freed memory.  Returns True when the access is valid."""
    if not obj.freed and obj.rcu_free is None:
        return True
    if obj.freed:
        report(k, "use_after_free", f"{what} of freed {obj!r}")
        return False
    rf = obj.rcu_free
    if rf is not None:
        t = k.current
        if not (t in rf and rf[t] == t.rcu_gen and t.rcu_depth > 0):
            report(k, "use_after_free", f"{what} of {obj!r} after its RCU grace period")
            return False
    return True


# -- marked accesses (KCSAN) ----------------------------------------------------------------
#
# KCSAN reports two concurrent accesses to the same memory, at least one a write, unless the
# code marks them: atomic_*() / refcount / bitops, READ_ONCE()/WRITE_ONCE(), or data_race()
# around an access the author knows to be racy (include/linux/compiler.h,
# Documentation/dev-tools/kcsan.rst).  The model marks the same way: a field that is an
# atomic type in the kernel is listed in its class's ``__atomic__``; a single access is
# marked by READ_ONCE / WRITE_ONCE or done inside ``with data_race():``.  A driver that looks
# for data races (the checker's no_data_race) reads ``marked``; nothing else does.
# ``with data_race():`` must not span a ``yield``.

marked = 0  # > 0 while the running code makes a marked access


class data_race:
    """include/linux/compiler.h: data_race(expr) -- the accesses inside are intentionally
    racy (and READ_ONCE/WRITE_ONCE, atomic_read/atomic_set: marked)."""

    __slots__ = ()

    def __enter__(self) -> None:
        global marked
        marked += 1

    def __exit__(self, *exc) -> None:
        global marked
        marked -= 1


class kernel_holds:
    """The kernel holds ``lock`` around this code, which the model runs inside one atomic
    step without taking it (a plain function called from an op): for the 'lock in common'
    of no_data_race it counts as held.  Must not span a ``yield``."""

    __slots__ = ("task", "lock")

    def __init__(self, k, lock: SpinLock):
        self.task = k.current
        self.lock = lock

    def __enter__(self) -> None:
        self.task.held.append(self.lock)

    def __exit__(self, *exc) -> None:
        self.task.held.remove(self.lock)


def READ_ONCE(obj, field: str):
    """include/asm-generic/rwonce.h: READ_ONCE(obj->field)."""
    global marked
    marked += 1
    try:
        return getattr(obj, field)
    finally:
        marked -= 1


def WRITE_ONCE(obj, field: str, value) -> None:
    """include/asm-generic/rwonce.h: WRITE_ONCE(obj->field, value)."""
    global marked
    marked += 1
    try:
        setattr(obj, field, value)
    finally:
        marked -= 1


class KObject:
    """Base for model objects whose lifetime is tracked (KASAN-like)."""

    __slots__ = ("freed", "rcu_free")

    def __init__(self):
        self.freed = False
        self.rcu_free: dict | None = None


# -- driving generators -------------------------------------------------------------------

def run_sync(k, gen, decide=None):
    """Run a kernel generator to completion on the current task, as one CPU alone would.

    ``decide(site) -> bool`` answers allocation choices (default: succeed).  A lock found held
    is a self-deadlock in a sequential run and raises :class:`Oops`.
    """
    send = None
    try:
        while True:
            want = gen.send(send)
            send = None
            if want is None or want.__class__ is str:
                continue
            if want.__class__ is Choice:
                send = decide(want.site) if decide is not None else True
            elif want.__class__ is SpinLock:
                if want.owner is not None:
                    raise Oops(f"deadlock: {want.name} already held by {want.owner.name}")
            elif want.__class__ is GracePeriod:
                if not want.done():
                    raise Oops("deadlock: synchronize_rcu inside an RCU read-side section")
    except StopIteration as stop:
        return stop.value
