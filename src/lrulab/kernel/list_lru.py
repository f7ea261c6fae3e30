"""mm/list_lru.c and include/linux/list_lru.h.

Two layouts, chosen by the flag list_lru_per_sublist_lock:
- 6.13+ (Kairui Song's rework, plus the v5 6/9 caller-locking API): every ``list_lru_one`` has
  its own lock; reparenting marks the child's sublist dead (``nr_items = LONG_MIN``) and
  ``lock_list_lru_of_memcg`` walks up to the parent past dead or missing sublists.
- pre-6.13 (6.1): one lock per node covers the node list and every memcg sublist on that node;
  reparenting rewrites ``kmemcg_id`` of the dying memcg (and its descendants) to the parent's.

Reparenting order (6.13+): 6.13 ... 7.1 erase the xarray slot first and then drain node by
node (fb56fdf8b9a2); Shakeel Butt's June 2026 fix drains first and erases last (flag
list_lru_drain_before_erase).  The orders are NOT equivalent: in the erase-first window a
list_lru_del for the dying memcg finds no sublist, walks up, takes the parent's lock and unlinks
an item that is still on the child's list under the child's lock (docs/known-kernel-bugs.md).
"""

from __future__ import annotations

from . import memcontrol as mc
from . import shrinker
from .list import (
    ListHead,
    list_add_tail,
    list_del_init,
    list_empty,
    list_move,
    list_move_tail,
    list_splice_init,
)
from .sched import (
    READ_ONCE,
    WARN_ON,
    WRITE_ONCE,
    KObject,
    SpinLock,
    _acquired,
    kasan_check,
    kvfree_rcu,
    may_fail,
    rcu_read_lock,
    rcu_read_unlock,
    spin_lock,
    spin_lock_irq,
    spin_unlock,
    spin_unlock_irq,
)

LONG_MIN = -(1 << 63)

# enum lru_status
LRU_REMOVED, LRU_REMOVED_RETRY, LRU_ROTATE, LRU_SKIP, LRU_RETRY, LRU_STOP = range(6)


class ListLruOne(KObject):
    """``struct list_lru_one``: a list, its item count (LONG_MIN = dead) and its lock."""

    __slots__ = ("list", "nr_items", "lock", "name")

    def __init__(self, name: str, lock: SpinLock):
        super().__init__()
        self.name = name
        self.lock = lock
        self.list = ListHead(name, lock)
        self.nr_items = 0

    def __repr__(self) -> str:
        return f"<list_lru_one {self.name}>"


class ListLruMemcg(KObject):
    """``struct list_lru_memcg``: one memcg's sublists, one per node; freed with kvfree_rcu."""

    __slots__ = ("node", "name")

    def __init__(self, lru: ListLru, name: str, nodes: int, node_locks):
        super().__init__()
        self.name = name
        self.node = [ListLruOne(f"{lru.name}[{name}][{nid}]",
                                node_locks[nid] or SpinLock(f"{lru.name}[{name}][{nid}].lock",
                                                            lru.irqsafe))
                     for nid in range(nodes)]

    def __repr__(self) -> str:
        return f"<list_lru_memcg {self.name}>"


class ListLruNode:
    """``struct list_lru_node``: the node's root sublist and the node-wide item count."""

    __slots__ = ("lru", "nr_items", "lock")

    def __init__(self, name: str, lock: SpinLock):
        self.lock = lock  # pre-6.13 only: the node lock that covers every sublist
        self.lru = ListLruOne(name, lock)
        self.nr_items = 0


class ListLru:
    """``struct list_lru``."""

    __slots__ = ("name", "node", "shrinker_id", "memcg_aware", "xa", "irqsafe", "per_node_lock")

    def __init__(self, name: str):
        self.name = name
        self.node: list[ListLruNode] = []
        self.shrinker_id = -1
        self.memcg_aware = False
        self.xa: dict[int, ListLruMemcg] = {}
        self.irqsafe = False
        self.per_node_lock = False

    def __repr__(self) -> str:
        return f"<list_lru {self.name}>"


def __list_lru_init(k, lru: ListLru, memcg_aware: bool, s, irqsafe: bool = False) -> None:
    """mm/list_lru.c: __list_lru_init -- shrinker_id is copied from the shrinker whether or not
    it stayed memcg-aware (until list_lru_no_stale_shrinker_id); nokmem (flag
    list_lru_init_nokmem_unaware) and cgroup_disable=memory (flag
    list_lru_memcg_disabled_unaware) make the lru non-memcg-aware."""
    lru.shrinker_id = s.id if s is not None else -1
    if (k.cfg.patch.list_lru_no_stale_shrinker_id and s is not None
            and not s.flags & shrinker.SHRINKER_MEMCG_AWARE):
        # "mm/list_lru: don't copy stale shrinker id from non-memcg-aware shrinkers"
        lru.shrinker_id = -1
    if k.cfg.patch.list_lru_init_nokmem_unaware and mc.mem_cgroup_kmem_disabled(k):
        memcg_aware = False
    if k.cfg.patch.list_lru_memcg_disabled_unaware and mc.mem_cgroup_disabled(k):
        memcg_aware = False
    if not mc.memcg_kmem_built(k):
        memcg_aware = False  # CONFIG_MEMCG_KMEM=n: struct list_lru has no memcg part
    lru.memcg_aware = memcg_aware
    lru.irqsafe = irqsafe
    lru.per_node_lock = not k.cfg.patch.list_lru_per_sublist_lock
    for nid in range(k.cfg.nodes):
        lock = SpinLock(f"{lru.name}.node[{nid}].lock", irqsafe)
        lru.node.append(ListLruNode(f"{lru.name}[root][{nid}]", lock))
    if memcg_aware:
        k.memcg_list_lrus.append(lru)


def _node_locks(lru: ListLru) -> list:
    return [n.lock if lru.per_node_lock else None for n in lru.node]


def list_lru_memcg_aware(lru: ListLru) -> bool:
    """include/linux/list_lru.h: list_lru_memcg_aware."""
    return lru.memcg_aware


def list_lru_from_memcg_idx(k, lru: ListLru, nid: int, idx: int) -> ListLruOne | None:
    """mm/list_lru.c: list_lru_from_memcg_idx -- NULL when the memcg has no sublists (yet, or
    any more); the node list for idx < 0 or a non-memcg-aware lru."""
    if lru.memcg_aware and idx >= 0:
        mlru = lru.xa.get(idx)
        return mlru.node[nid] if mlru is not None else None
    return lru.node[nid].lru


def lock_list_lru_of_memcg(k, lru: ListLru, nid: int, memcg, irq: bool, skip_empty: bool):
    """mm/list_lru.c: lock_list_lru_of_memcg (6.13+, with v5 2/9 and 4/9) -- lock memcg's
    sublist on nid; a missing or dead one (its memcg was reparented) makes it walk up to the
    parent.  Returns (locked sublist, effective memcg); (None, memcg) only with skip_empty.

    pre-6.13 (6.1): takes the node lock and resolves the sublist through kmemcg_id, which
    reparenting rewrote to the parent's."""
    if lru.per_node_lock:
        nlru = lru.node[nid]
        yield from (spin_lock_irq if irq else spin_lock)(k, nlru.lock)
        l = list_lru_from_memcg_idx(k, lru, nid, mc.memcg_kmem_id(memcg))
        if l is None:
            (spin_unlock_irq if irq else spin_unlock)(k, nlru.lock)
        return l, memcg
    rcu_read_lock(k)
    while True:
        l = list_lru_from_memcg_idx(k, lru, nid, mc.memcg_kmem_id(memcg))
        if l is not None:
            yield l.lock  # spin_lock(_irq) inlined: this is the hottest lock in the model
            if irq:
                k.current.irqs_off += 1
            _acquired(k, l.lock)
            if l.freed or l.rcu_free is not None:
                kasan_check(k, l, "lock_list_lru_of_memcg")
            if l.nr_items != LONG_MIN:
                rcu_read_unlock(k)
                return l, memcg
            (spin_unlock_irq if irq else spin_unlock)(k, l.lock)
        if skip_empty:
            rcu_read_unlock(k)
            return None, memcg
        WARN_ON(k, not mc.css_is_dying(memcg), f"walk-up from live {memcg!r}")
        memcg = mc.parent_mem_cgroup(memcg)


def unlock_list_lru(k, l: ListLruOne, irq: bool = False) -> None:
    """mm/list_lru.c: unlock_list_lru."""
    (spin_unlock_irq if irq else spin_unlock)(k, l.lock)


def list_lru_lock(k, lru: ListLru, nid: int, memcg, irq: bool = False):
    """mm/list_lru.c: list_lru_lock / list_lru_lock_irq(save) (v5 6/9) -- never NULL.
    Returns (sublist, effective memcg).  (A plain wrapper returning the generator: delegation
    costs a generator frame per step otherwise.)"""
    return lock_list_lru_of_memcg(k, lru, nid, memcg, irq, False)


# mm/list_lru.c: list_lru_unlock / list_lru_unlock_irq(restore) (v5 6/9) are unlock_list_lru.
list_lru_unlock = unlock_list_lru


def __list_lru_add(k, lru: ListLru, l: ListLruOne, item: ListHead, nid: int, memcg) -> bool:
    """mm/list_lru.c: __list_lru_add (v5 6/9; before it, the body of list_lru_add) -- caller
    holds l's lock; the shrinker bit goes on ``memcg`` when this sublist goes 0 -> 1."""
    if list_empty(item):
        list_add_tail(k, item, l.list)
        if l.nr_items == 0:
            shrinker.set_shrinker_bit(k, memcg, nid, lru.shrinker_id)
        l.nr_items += 1
        lru.node[nid].nr_items += 1
        return True
    return False


def __list_lru_del(k, lru: ListLru, l: ListLruOne, item: ListHead, nid: int) -> bool:
    """mm/list_lru.c: __list_lru_del -- caller holds l's lock; never touches shrinker bits."""
    if not list_empty(item):
        list_del_init(k, item)
        l.nr_items -= 1
        lru.node[nid].nr_items -= 1
        return True
    return False


def bit_memcg(k, memcg, effective):
    """mm/list_lru.c: list_lru_add and its callers -- which memcg they pass for the bit: before v5
    1/9 the one they asked for, after it the one lock_list_lru_of_memcg walked up to
    (list_lru_bit_on_effective_memcg)."""
    return effective if k.cfg.patch.list_lru_bit_on_effective_memcg else memcg


def list_lru_add(k, lru: ListLru, item: ListHead, nid: int, memcg, irq: bool = False):
    """mm/list_lru.c: list_lru_add / list_lru_add_irq."""
    l, eff = yield from lock_list_lru_of_memcg(k, lru, nid, memcg, irq, False)
    ret = __list_lru_add(k, lru, l, item, nid, bit_memcg(k, memcg, eff))
    unlock_list_lru(k, l, irq)
    return ret


def list_lru_del(k, lru: ListLru, item: ListHead, nid: int, memcg, irq: bool = False):
    """mm/list_lru.c: list_lru_del."""
    l, _ = yield from lock_list_lru_of_memcg(k, lru, nid, memcg, irq, False)
    ret = __list_lru_del(k, lru, l, item, nid)
    unlock_list_lru(k, l, irq)
    return ret


def list_lru_isolate(k, l: ListLruOne, item: ListHead) -> None:
    """mm/list_lru.c: list_lru_isolate -- from a walk callback, with l locked."""
    list_del_init(k, item)
    l.nr_items -= 1


def list_lru_isolate_move(k, l: ListLruOne, item: ListHead, head: ListHead) -> None:
    """mm/list_lru.c: list_lru_isolate_move -- onto a private list, with l locked."""
    list_move(k, item, head)
    l.nr_items -= 1


def list_lru_count_one(k, lru: ListLru, nid: int, memcg):
    """mm/list_lru.c: list_lru_count_one -- a lockless read of one sublist's count under RCU,
    no walk-up; a dead sublist counts 0."""
    yield "list_lru_count_one"
    rcu_read_lock(k)
    l = list_lru_from_memcg_idx(k, lru, nid, mc.memcg_kmem_id(memcg))
    count = 0
    if l is not None and kasan_check(k, l, "list_lru_count_one"):
        count = READ_ONCE(l, "nr_items")
    rcu_read_unlock(k)
    return max(count, 0)


def list_lru_shrink_count(k, lru: ListLru, sc):
    """include/linux/list_lru.h: list_lru_shrink_count."""
    return list_lru_count_one(k, lru, sc.nid, sc.memcg)


def __list_lru_walk_one(k, lru: ListLru, nid: int, memcg, isolate, cb_arg, nr_to_walk: list,
                        irq_off: bool):
    """mm/list_lru.c: __list_lru_walk_one -- walk one sublist (no walk-up: skip_empty), the
    budget decremented before each callback; LRU_REMOVED(_RETRY) lowers the node count;
    LRU_ROTATE moves the item to the tail (list_move_tail); LRU_RETRY/LRU_REMOVED_RETRY restart
    and LRU_STOP returns at once (the callback dropped the lock)."""
    isolated = 0
    while True:
        l, _ = yield from lock_list_lru_of_memcg(k, lru, nid, memcg, irq_off, True)
        if l is None:
            return isolated
        restart = False
        pos = l.list.next
        while pos is not l.list:
            nxt = pos.next
            if nr_to_walk[0] <= 0:
                break
            nr_to_walk[0] -= 1
            ret = yield from isolate(k, pos, l, cb_arg)
            if ret == LRU_REMOVED or ret == LRU_REMOVED_RETRY:
                isolated += 1
                lru.node[nid].nr_items -= 1
                if ret == LRU_REMOVED_RETRY:
                    restart = True
                    break
            elif ret == LRU_ROTATE:
                list_move_tail(k, pos, l.list)
            elif ret == LRU_RETRY:
                restart = True
                break
            elif ret == LRU_STOP:
                return isolated  # the callback dropped the lock: nothing to unlock
            pos = nxt
        if restart:
            continue
        unlock_list_lru(k, l, irq_off)
        return isolated


def list_lru_shrink_walk(k, lru: ListLru, sc, isolate, cb_arg, irq_off: bool = False):
    """include/linux/list_lru.h: list_lru_shrink_walk(_irq) -- sc->nid, sc->memcg, budget
    &sc->nr_to_scan."""
    budget = [sc.nr_to_scan]
    ret = yield from __list_lru_walk_one(k, lru, sc.nid, sc.memcg, isolate, cb_arg, budget,
                                         irq_off)
    sc.nr_to_scan = budget[0]
    return ret


# -- memcg sublist allocation -------------------------------------------------------------

def memcg_list_lru_allocated(memcg, lru: ListLru) -> bool:
    """mm/list_lru.c: memcg_list_lru_allocated -- reads memcg->kmemcg_id (a NULL memcg oopses
    here: bug B4, reported inside __memcg_list_lru_alloc when inlined)."""
    idx = memcg.kmemcg_id
    return idx < 0 or idx in lru.xa


def __memcg_list_lru_alloc(k, memcg, lru: ListLru):
    """mm/list_lru.c: __memcg_list_lru_alloc (6.13+, 28e98022b31e "mm/list_lru: simplify
    reparenting and initial allocation") -- populate the farthest ancestor lacking sublists
    first, so a reparent target always exists; a dying memcg never gets new sublists
    (flag list_lru_alloc_skips_dying).  6.1 (memcg_list_lru_alloc, flag off): collect memcg
    and its ancestors lacking sublists in a table, allocate them all (any failure frees them
    all), then store each, farthest first, at its current kmemcg_id if the slot is still
    empty -- dying or not.  Returns 0 or -ENOMEM (allocation site 'list_lru_memcg')."""
    if not k.cfg.patch.list_lru_alloc_skips_dying:
        return (yield from _memcg_list_lru_alloc_table(k, memcg, lru))
    while True:
        pos = memcg
        parent = mc.parent_mem_cgroup(pos)
        while not memcg_list_lru_allocated(parent, lru):
            pos = parent
            parent = mc.parent_mem_cgroup(pos)
        ok = yield from may_fail("list_lru_memcg")
        if not ok:
            return -12
        mlru = ListLruMemcg(lru, pos.path, k.cfg.nodes, _node_locks(lru))
        yield "xas_lock_irqsave"
        idx = pos.kmemcg_id
        # 28e98022b31e: a dying memcg gets no sublists (its adds walk up)
        if idx >= 0 and idx not in lru.xa and not mc.css_is_dying(pos):
            lru.xa[idx] = mlru
        if pos is memcg or mc.css_is_dying(pos):
            return 0


def _memcg_list_lru_alloc_table(k, memcg, lru: ListLru):
    """mm/list_lru.c: memcg_list_lru_alloc (6.1), after its fast check: the table part."""
    table = []
    pos = memcg
    while not memcg_list_lru_allocated(pos, lru):
        table.append(pos)
        pos = mc.parent_mem_cgroup(pos)
    ok = yield from may_fail("list_lru_memcg")  # kmalloc_array + one mlru per entry
    if not ok:
        return -12  # every mlru allocated so far is freed: nothing stored
    mlrus = [ListLruMemcg(lru, m.path, k.cfg.nodes, _node_locks(lru)) for m in table]
    yield "xas_lock_irqsave"
    for m, mlru in zip(reversed(table), reversed(mlrus), strict=True):
        idx = m.kmemcg_id  # read under the xa lock: reparenting may have rewritten it
        if idx >= 0 and idx not in lru.xa:
            lru.xa[idx] = mlru
    return 0


def memcg_list_lru_alloc(k, memcg, lru: ListLru):
    """mm/list_lru.c: memcg_list_lru_alloc -- called when an object that may go on lru is
    allocated (kmem_cache_alloc_lru)."""
    if not list_lru_memcg_aware(lru) or memcg_list_lru_allocated(memcg, lru):
        return 0
    return (yield from __memcg_list_lru_alloc(k, memcg, lru))


def folio_memcg_list_lru_alloc(k, folio, lru: ListLru):
    """mm/list_lru.c: folio_memcg_list_lru_alloc (v5 7/9) -- RCU fast path when the heads
    exist, else pin the memcg and allocate."""
    if not list_lru_memcg_aware(lru):
        return 0
    rcu_read_lock(k)
    memcg = mc.folio_memcg(k, folio)
    res = memcg_list_lru_allocated(memcg, lru)
    rcu_read_unlock(k)
    if res:
        return 0
    return (yield from __memcg_list_lru_alloc(k, memcg, lru))


# -- reparenting --------------------------------------------------------------------------

def memcg_reparent_list_lru_one(k, lru: ListLru, nid: int, src: ListLruOne, parent):
    """mm/list_lru.c: memcg_reparent_list_lru_one (6.13+) -- splice to the head of the
    parent's sublist, bit on the parent if items moved, mark the child dead."""
    yield from spin_lock_irq(k, src.lock)
    dst = list_lru_from_memcg_idx(k, lru, nid, mc.memcg_kmem_id(parent))
    yield from spin_lock(k, dst.lock)
    list_splice_init(k, src.list, dst.list)
    if src.nr_items:
        WARN_ON(k, src.nr_items < 0, f"reparenting dead {src!r}")
        dst.nr_items += src.nr_items
        shrinker.set_shrinker_bit(k, parent, nid, lru.shrinker_id)
    src.nr_items = LONG_MIN
    spin_unlock(k, dst.lock)
    spin_unlock_irq(k, src.lock)


def memcg_reparent_list_lrus(k, memcg, parent):
    """mm/list_lru.c: memcg_reparent_list_lrus -- every memcg-aware lru moves memcg's sublists
    to parent.  6.13 ... 7.1 (fb56fdf8b9a2): xas_store(NULL) under the xa lock first, then each
    node is reparented; with list_lru_drain_before_erase (Shakeel Butt, 2026) each node is
    drained and marked dead first and the slot is erased last.  Either way the memcg_list_lru
    is freed after a grace period.  pre-6.13: kmemcg_id of memcg and its descendants is first
    rewritten to the parent's, then each node is spliced under the node lock (src count set to
    0, not dead)."""
    if not k.cfg.patch.list_lru_per_sublist_lock:
        yield from _memcg_reparent_list_lrus_pernode(k, memcg, parent)
        return
    drain_first = k.cfg.patch.list_lru_drain_before_erase
    for lru in list(k.memcg_list_lrus):
        if not drain_first:
            # fb56fdf8b9a2: erase first; from here on lookups of memcg find no sublist and
            # walk up to the parent while memcg's items are still on memcg's lists
            yield "xas_store"
            mlru = lru.xa.pop(memcg.kmemcg_id, None)
        else:
            mlru = lru.xa.get(memcg.kmemcg_id)
        if mlru is None:
            continue
        for nid in k.cfg.node_ids:
            yield from memcg_reparent_list_lru_one(k, lru, nid, mlru.node[nid], parent)
        if drain_first:
            # "mm/list_lru: drain before clearing xarray entry on reparent"
            yield "xas_store"
            del lru.xa[memcg.kmemcg_id]
        for l in mlru.node:
            kvfree_rcu(k, l)
        kvfree_rcu(k, mlru)


def _memcg_reparent_list_lrus_pernode(k, memcg, parent):
    src_idx, dst_idx = memcg.kmemcg_id, parent.kmemcg_id
    yield "memcg_reparent_list_lrus"
    for m in mc.mem_cgroup_iter(k, memcg):
        WRITE_ONCE(m, "kmemcg_id", dst_idx)  # 6.1: WRITE_ONCE(child->kmemcg_id, ...)
    for lru in list(k.memcg_list_lrus):
        for nid in k.cfg.node_ids:
            nlru = lru.node[nid]
            yield from spin_lock_irq(k, nlru.lock)
            src = list_lru_from_memcg_idx(k, lru, nid, src_idx)
            if src is not None:
                dst = list_lru_from_memcg_idx(k, lru, nid, dst_idx)
                list_splice_init(k, src.list, dst.list)
                if src.nr_items:
                    dst.nr_items += src.nr_items
                    shrinker.set_shrinker_bit(k, parent, nid, lru.shrinker_id)
                    src.nr_items = 0
            spin_unlock_irq(k, nlru.lock)
        mlru = lru.xa.pop(src_idx, None) if src_idx >= 0 else None
        if mlru is not None:
            for l in mlru.node:
                kvfree_rcu(k, l)
            kvfree_rcu(k, mlru)


def lru_sublists(lru: ListLru):
    """Model helper: (owner kmemcg_id or -1, nid, sublist) for every live sublist."""
    for nid, n in enumerate(lru.node):
        yield -1, nid, n.lru
    for idx, mlru in lru.xa.items():
        for nid, l in enumerate(mlru.node):
            yield idx, nid, l
