"""mm/huge_memory.c before the list_lru series: the open-coded ``struct deferred_split`` queue.

One queue per memcg (all nodes mixed) and one per node for uncharged folios.  Three designs,
by flags: 6.1 (partially_mapped_flag off: queue on any subpage unmap, every queued THP is a
split candidate, failures go back to the tail), V0 6.12-6.18 (PG_partially_mapped, underused
THPs, no walk-up, no reparenting), V1 (split_queue_walkup, reparent_split_queue,
split_queue_folio_batch).
"""

from __future__ import annotations

from . import huge_memory, shrinker
from . import memcontrol as mc
from .folio import (
    PG_partially_mapped,
    PG_swapcache,
    folio_put,
    folio_ref_freeze,
    folio_try_get,
    folio_trylock,
    folio_unlock,
)
from .list import (
    ListHead,
    list_add_tail,
    list_del,
    list_del_init,
    list_del_init_unlocked,
    list_empty,
    list_move,
    list_splice_tail_init,
)
from .sched import (
    READ_ONCE,
    WARN_ON_ONCE,
    SpinLock,
    rcu_read_lock,
    rcu_read_unlock,
    report,
    spin_lock,
    spin_lock_irq,
    spin_unlock,
    spin_unlock_irq,
)
from .shrinker import SHRINK_EMPTY, SHRINK_STOP
from .vmstat import count_vm_event

FOLIO_BATCH = 31  # PAGEVEC_SIZE (inferred)


class DeferredSplit:
    """``struct deferred_split``: embedded in every pglist_data and every mem_cgroup."""

    __slots__ = ("split_queue_lock", "split_queue", "split_queue_len", "owner", "name",
                 "reparent_nested")
    # reparent_nested is the model's lockdep annotation, no kernel memory: KCSAN-marked
    __marked__ = ("reparent_nested",)

    def __init__(self, name: str, owner=None):
        self.name = name
        self.split_queue_lock = SpinLock(f"{name}.split_queue_lock", irqsafe=True)
        self.split_queue = ListHead(name, self.split_queue_lock,
                                    handover=self if owner is not None else None)
        self.split_queue_len = 0
        self.owner = owner  # the mem_cgroup it is embedded in, None for a node's queue
        # model annotation (lockdep's spin_lock_nested): reparent_deferred_split_queue holds
        # split_queue_lock and touches the list only once it holds the parent's lock too
        self.reparent_nested = False

    def lock_handed_over(self, k):
        """V1's lock hand-over (split_queue_walkup; Qi Zheng, "mm: thp: reparent the split queue
        during memcg offline", v6 4/4, Nov 2025): from kill_css on, split_queue_lock() of a
        dying memcg returns its nearest live ancestor's queue, locked, so in V1 every new
        accessor of this queue's folios (unqueue at free or migration, the split's dequeue)
        holds that ancestor's lock until reparent_deferred_split_queue() splices the list
        under both locks: the ancestor's lock then protects this list.  A task still
        holding this queue's own lock (taken before kill_css: split_queue_lock checks
        css_is_dying only after locking) is not serialised with them: a real list race.
        reparent_deferred_split_queue is, as it takes the parent's lock before splicing.
        Returns None (no hand-over: report as usual), "" (protected) or the conflict."""
        if not k.cfg.patch.split_queue_walkup or k.cfg.patch.thp_list_lru:
            return None
        memcg = self.owner
        if not mc.css_is_dying(memcg):
            return None
        while memcg is not None and mc.css_is_dying(memcg):
            memcg = mc.parent_mem_cgroup(memcg)
        q = memcg_split_queue(k, 0, memcg)
        if q.split_queue_lock.owner is not k.current:
            return None
        holder = self.split_queue_lock.owner
        if holder is None or self.reparent_nested:
            return ""
        return (f"under {q.split_queue_lock.name} (split_queue_lock walked up from dying "
                f"{self.owner.path}) while {holder.name} still holds "
                f"{self.split_queue_lock.name}")


def node_queue(k, nid: int) -> DeferredSplit:
    """include/linux/mmzone.h: NODE_DATA(nid)->deferred_split_queue."""
    return k.nodes[nid].deferred_split_queue


def memcg_split_queue(k, nid: int, memcg) -> DeferredSplit:
    """mm/huge_memory.c: memcg_split_queue (V1) / the body of get_deferred_split_queue."""
    if memcg is not None:
        return memcg.deferred_split_queue
    return node_queue(k, nid)


def get_deferred_split_queue(k, folio) -> DeferredSplit:
    """mm/huge_memory.c: get_deferred_split_queue (6.1, V0) -- the folio's memcg queue, or its
    node's when uncharged; no walk-up."""
    return memcg_split_queue(k, folio.nid, mc.folio_memcg(k, folio))


def split_queue_lock(k, nid: int, memcg):
    """mm/huge_memory.c: split_queue_lock_irqsave (V1) -- a dying memcg's queue is skipped for
    its parent's.  Without split_queue_walkup: lock the memcg's own queue."""
    while True:
        q = memcg_split_queue(k, nid, memcg)
        yield from spin_lock_irq(k, q.split_queue_lock)
        if k.cfg.patch.split_queue_walkup and memcg is not None and mc.css_is_dying(memcg):
            spin_unlock_irq(k, q.split_queue_lock)
            memcg = mc.parent_mem_cgroup(memcg)
            continue
        return q


def folio_split_queue_lock(k, folio):
    """mm/huge_memory.c: folio_split_queue_lock_irqsave (V1; V0/6.1: lock
    get_deferred_split_queue)."""
    rcu_read_lock(k)
    q = yield from split_queue_lock(k, folio.nid, mc.folio_memcg(k, folio))
    rcu_read_unlock(k)
    return q


def split_queue_unlock(k, q: DeferredSplit) -> None:
    """mm/huge_memory.c: split_queue_unlock_irqrestore (V1)."""
    spin_unlock_irq(k, q.split_queue_lock)


def folio_split_queue_memcg(k, folio, q: DeferredSplit):
    """mm/huge_memory.c: folio_split_queue_memcg (V1) -- the owner of the locked queue; V0 uses
    folio_memcg(folio) even when that memcg is dying."""
    if mc.mem_cgroup_disabled(k):
        return None
    if k.cfg.patch.split_queue_walkup:
        return q.owner
    return mc.folio_memcg(k, folio)


# -- queueing -----------------------------------------------------------------------------

def deferred_split_huge_page(k, folio):
    """mm/huge_memory.c: deferred_split_huge_page (6.1) -- memcg and queue read before locking;
    lockless list_empty early return (6.1.16); the event counts every insertion; the bit is set
    on every insertion, on the THP's memcg and node."""
    yield "deferred_split_huge_page"
    memcg = mc.folio_memcg(k, folio)
    q = get_deferred_split_queue(k, folio)
    if folio.flags & PG_swapcache:
        return
    if not list_empty(folio._deferred_list):
        return
    yield from spin_lock_irq(k, q.split_queue_lock)
    if list_empty(folio._deferred_list):
        count_vm_event(k, "thp_deferred_split_page")
        list_add_tail(k, folio._deferred_list, q.split_queue)
        q.split_queue_len += 1
        if memcg is not None:
            shrinker.set_shrinker_bit(k, memcg, folio.nid, k.deferred_split_shrinker.id)
    spin_unlock_irq(k, q.split_queue_lock)


def deferred_split_folio(k, folio, partially_mapped: bool):
    """mm/huge_memory.c: deferred_split_folio (V0 6.12-6.18, V1) -- flag and stats under the
    queue lock; on insertion len++ and the bit for the folio's node, on folio_memcg (V0) or on
    the owner of the locked queue (V1)."""
    nid = folio.nid
    yield "deferred_split_folio"
    q = yield from folio_split_queue_lock(k, folio)
    huge_memory.mark_partially_mapped(k, folio, partially_mapped)
    if list_empty(folio._deferred_list):
        memcg = folio_split_queue_memcg(k, folio, q)
        list_add_tail(k, folio._deferred_list, q.split_queue)
        q.split_queue_len += 1
        if memcg is not None:
            shrinker.set_shrinker_bit(k, memcg, nid, k.deferred_split_shrinker.id)
    split_queue_unlock(k, q)


# -- unqueueing ---------------------------------------------------------------------------

ULONG_MAX = (1 << 64) - 1


def _other_queue(q: DeferredSplit, folio) -> str:
    """Model check beside ``ds_queue->split_queue_len--``: the queue the folio is really on,
    if it is not q ("" if it is q, or a private list that 6.1/V0 count in q's length by
    design).  V1's walk-up decrements an ancestor's length for a folio still on a dying
    memcg's queue (Chris Mason's review, Message-ID 20260113220046.2274684-1-clm@meta.com);
    the length is an unsigned long, so an empty parent's wraps to ULONG_MAX."""
    head = folio._deferred_list.owner
    if head is not None and head.lock is not None and head is not q.split_queue:
        return (f"split_queue_len-- on {q.name} (now {q.split_queue_len & ULONG_MAX}) for "
                f"{folio.name}, which is on {head.name}")
    return ""


def __folio_unqueue_deferred_split(k, folio):
    """mm/huge_memory.c: __folio_unqueue_deferred_split (V0/V1; 6.1: free_transhuge_page, which
    uses list_del) -- lock the folio's queue, remove it if queued.  6.12 on (Hugh Dickins,
    f8f931bba0f9 "mm/thp: fix deferred split unqueue naming and locking", 6.12-rc7; flag
    free_lockless_fastpath) first WARN_ON_ONCE if the refcount is not 0 or the folio is
    uncharged with memcg enabled (it needs folio_memcg to find the queue)."""
    if k.cfg.patch.free_lockless_fastpath:
        WARN_ON_ONCE(k, folio.refcount != 0, "__folio_unqueue_deferred_split: refcount != 0")
        WARN_ON_ONCE(k, not mc.mem_cgroup_disabled(k) and folio.memcg is None,
                     "__folio_unqueue_deferred_split: uncharged folio")
    q = yield from folio_split_queue_lock(k, folio)
    unqueued = False
    if not list_empty(folio._deferred_list):
        q.split_queue_len -= 1
        if wrong := _other_queue(q, folio):
            report(k, "counter", wrong)
        if k.cfg.patch.partially_mapped_flag and folio.flags & PG_partially_mapped:
            huge_memory.clear_partially_mapped_locked(k, folio)
        if k.cfg.patch.partially_mapped_flag or k.cfg.patch.migrate_unqueue_frozen:
            # list_del_init: a migration source is unqueued while frozen and again when it
            # is freed (be9581ea8c05 "mm: fix crashes from deferred split racing folio
            # migration"; the init dates from 9bcef5973e31's unqueue in mem_cgroup_migrate,
            # 6.7, which the model does not have)
            list_del_init(k, folio._deferred_list)
        elif k.cfg.patch.undo_large_rmappable:
            # folio_undo_large_rmappable (8dc4a8f1e038, 6.6): the entry is left empty, as
            # 9bcef5973e31's unqueue of a migration source that lives on needs
            list_del_init(k, folio._deferred_list)
        else:
            list_del(k, folio._deferred_list)  # 6.1 free_transhuge_page
        unqueued = True
    split_queue_unlock(k, q)
    return unqueued


def freeze_and_dequeue(k, folio, count: int):
    """mm/huge_memory.c: split_huge_page_to_list, its open-coded queue part: the folio's queue
    locked around folio_ref_freeze keeps deferred_split_scan away; dequeue on success (6.1:
    list_del, which also works on the scanner's private list).  Returns whether the freeze
    succeeded."""
    q = yield from folio_split_queue_lock(k, folio)
    frozen = yield from folio_ref_freeze(k, folio, count)
    if frozen and folio.order > 1:
        if not list_empty(folio._deferred_list):
            q.split_queue_len -= 1
            if wrong := _other_queue(q, folio):
                report(k, "counter", wrong)
            if k.cfg.patch.split_to_order:
                # c010d47f107f "mm: thp: split huge page to any lower order pages": the head
                # may stay a large folio, queued and split again: re-initialise the list
                list_del_init(k, folio._deferred_list)
            else:
                list_del(k, folio._deferred_list)
        if k.cfg.patch.partially_mapped_flag and folio.flags & PG_partially_mapped:
            huge_memory.clear_partially_mapped_locked(k, folio)
    split_queue_unlock(k, q)
    return frozen


def reparent_deferred_split_queue(k, memcg):
    """mm/memcontrol.c -> mm/huge_memory.c: reparent_deferred_split_queue (V1) -- the child's
    queue goes to the tail of the parent's and the parent's bit is set on every node."""
    parent = mc.parent_mem_cgroup(memcg) or k.root_mem_cgroup
    q, pq = memcg.deferred_split_queue, parent.deferred_split_queue
    yield from spin_lock_irq(k, q.split_queue_lock)
    q.reparent_nested = True
    yield from spin_lock(k, pq.split_queue_lock)  # spin_lock_nested(SINGLE_DEPTH_NESTING)
    if q.split_queue_len:
        list_splice_tail_init(k, q.split_queue, pq.split_queue)
        pq.split_queue_len += q.split_queue_len
        q.split_queue_len = 0
        for nid in k.cfg.node_ids:
            shrinker.set_shrinker_bit(k, parent, nid, k.deferred_split_shrinker.id)
    spin_unlock(k, pq.split_queue_lock)
    q.reparent_nested = False
    spin_unlock_irq(k, q.split_queue_lock)


# -- the shrinker -------------------------------------------------------------------------

def deferred_split_count(k, s, sc):
    """mm/huge_memory.c: deferred_split_count (open-coded) -- sc->memcg's queue, ignoring
    sc->nid (the NUMA imprecision, B13), or the node's queue when sc->memcg is NULL; a lockless
    read that never says SHRINK_EMPTY unless count_shrink_empty."""
    yield "deferred_split_count"
    q = memcg_split_queue(k, sc.nid, sc.memcg)
    n = READ_ONCE(q, "split_queue_len")
    if n == 0 and k.cfg.patch.count_shrink_empty:
        return SHRINK_EMPTY
    return n


def deferred_split_scan(k, s, sc):
    """mm/huge_memory.c: deferred_split_scan (open-coded designs)."""
    if k.cfg.patch.split_queue_folio_batch:
        return (yield from _scan_folio_batch(k, sc))
    return (yield from _scan_local_list(k, sc))


def _isolate_locked(k, q: DeferredSplit, sc, local: ListHead):
    """Phase 1 of the 6.1/V0 scan, queue locked: pinned folios move to the private list (len
    unchanged), lost races with folio_put are dropped (V0 also clears their flag)."""
    yield from spin_lock_irq(k, q.split_queue_lock)
    pos = q.split_queue.next
    while pos is not q.split_queue:
        nxt = pos.next
        folio = pos.container
        k.scan_log.append(folio)
        if (yield from folio_try_get(k, folio)):
            list_move(k, pos, local)
        else:
            if k.cfg.patch.partially_mapped_flag and folio.flags & PG_partially_mapped:
                huge_memory.clear_partially_mapped_locked(k, folio)
            list_del_init(k, pos)
            q.split_queue_len -= 1
        huge_memory.note_scan(k, sc, folio, huge_memory.scan_memcg(folio), "isolated")
        sc.nr_to_scan -= 1
        if sc.nr_to_scan == 0:
            break
        pos = nxt
    split_queue_unlock(k, q)


def _scan_local_list(k, sc):
    """6.1 and V0: isolate under the lock, split unlocked, splice the rest back to the tail.
    V0 drops fully mapped used folios from the private list without the lock; how it keeps
    that unlink away from a racing unqueue changed twice: 6.12-rc1 puts every folio at once
    (flag scan_keeps_safe_folio off), e66f3185fa04 delays the put of the last kept folio and
    counts the drops in 'removed', its hotfix stops taking a split folio for the kept one
    (flag scan_safe_folio_after_split)."""
    q = memcg_split_queue(k, sc.nid, sc.memcg)
    local = ListHead(f"{q.name}.scan_list")
    yield from _isolate_locked(k, q, sc, local)
    split = removed = 0
    prev = None
    pos = local.next
    while pos is not local:
        nxt = pos.next
        folio = pos.container
        if not k.cfg.patch.partially_mapped_flag:  # 6.1: every queued THP is a candidate
            if (yield from folio_trylock(k, folio)):
                if (yield from huge_memory.split_huge_page(k, folio)) == 0:
                    huge_memory.note_split(k, sc, folio)
                    split += 1
                folio_unlock(k, folio)
            memcg = huge_memory.scan_memcg(folio)
            yield from folio_put(k, folio)
            huge_memory.note_scan_put(k, sc, folio, memcg)
            pos = nxt
            continue
        did_split, _ = yield from huge_memory.try_split_queued(k, folio, sc)
        if did_split:
            split += 1
        if not k.cfg.patch.scan_keeps_safe_folio:
            # dafff3f4c850 "mm: split underused THPs" (6.12-rc1): drop the kept-as-used folio
            # with an unlocked list_del_init and split_queue_len--, put every folio at once --
            # the earlier folios left on the list are unprotected, and a racing free unqueues
            # them under the queue lock next to this unlink
            if not did_split and not folio.flags & PG_partially_mapped:
                yield from list_del_init_unlocked(k, folio._deferred_list,
                                                  "deferred_split_scan")
                q.split_queue_len -= 1
            yield from folio_put(k, folio)
            pos = nxt
            continue
        if did_split and k.cfg.patch.scan_safe_folio_after_split:
            pass  # Hugh Dickins' hotfix of e66f3185fa04: the split removed it from the list
        elif not did_split and not folio.flags & PG_partially_mapped:
            # e66f3185fa04: unlocked, but separated from any earlier folio left on the list by
            # one folio (prev) whose reference is still held
            yield from list_del_init_unlocked(k, folio._deferred_list, "deferred_split_scan")
            removed += 1
        else:
            # e66f3185fa04 keeps this folio as the safe one; before the hotfix also a folio
            # the split just took off the list, which separates nothing (prev is put)
            folio, prev = prev, folio
        if folio is not None:
            memcg = huge_memory.scan_memcg(folio)
            yield from folio_put(k, folio)
            huge_memory.note_scan_put(k, sc, folio, memcg)
        pos = nxt
    yield from spin_lock_irq(k, q.split_queue_lock)
    list_splice_tail_init(k, local, q.split_queue)
    q.split_queue_len -= removed
    empty = list_empty(q.split_queue)
    split_queue_unlock(k, q)
    if prev is not None:
        memcg = huge_memory.scan_memcg(prev)
        yield from folio_put(k, prev)
        huge_memory.note_scan_put(k, sc, prev, memcg)
    if not split and empty:
        return SHRINK_STOP
    return split


def _scan_folio_batch(k, sc):
    """V1: isolate up to a folio_batch under the (walked-up) queue lock, unqueueing as it goes;
    process; requeue partially mapped survivors and trylock misses (no bit set on requeue);
    retry while budget remains and the queue is not empty."""
    split = 0
    while True:
        q = yield from split_queue_lock(k, sc.nid, sc.memcg)
        # model record (memcg_locality): the queue split_queue_lock() walked up to when
        # sc->memcg is dying (between kill_css and css_offline shrink_slab_memcg still runs it)
        walked = q.owner if sc.memcg is not None and q.owner is not sc.memcg else None
        batch = []
        pos = q.split_queue.next
        while pos is not q.split_queue:
            nxt = pos.next
            folio = pos.container
            k.scan_log.append(folio)
            if (yield from folio_try_get(k, folio)):
                batch.append(folio)
            elif folio.flags & PG_partially_mapped:
                huge_memory.clear_partially_mapped_locked(k, folio)
            list_del_init(k, pos)
            huge_memory.note_scan(k, sc, folio, huge_memory.scan_memcg(folio), "isolated", walked)
            q.split_queue_len -= 1
            sc.nr_to_scan -= 1
            if sc.nr_to_scan == 0 or len(batch) == FOLIO_BATCH:
                break
            pos = nxt
        split_queue_unlock(k, q)
        for folio in batch:
            did_split, requeue = yield from huge_memory.try_split_queued(k, folio, sc)
            if did_split:
                split += 1
            elif requeue or folio.flags & PG_partially_mapped:
                q2 = yield from folio_split_queue_lock(k, folio)
                if list_empty(folio._deferred_list):
                    list_add_tail(k, folio._deferred_list, q2.split_queue)
                    q2.split_queue_len += 1
                split_queue_unlock(k, q2)
        for folio in batch:
            memcg = huge_memory.scan_memcg(folio)
            yield from folio_put(k, folio)
            huge_memory.note_scan_put(k, sc, folio, memcg, walked)
        if sc.nr_to_scan > 0 and not list_empty(q.split_queue):
            continue
        if not split and list_empty(q.split_queue):
            return SHRINK_STOP
        return split


