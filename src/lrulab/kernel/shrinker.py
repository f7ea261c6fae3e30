"""mm/shrinker.c (mm/vmscan.c before 6.7): shrinker registration, per-memcg bitmaps, shrink_slab.

Sources: the 6.7+ lockless shrinker (shrinker_info_unit, set_shrinker_bit's WARN,
shrink_slab_memcg clearing skipped nokmem bits) and the 6.1 rwsem variant, selected by the
flags shrinker_lockless, expand_keeps_bits, nokmem_skip_clears_bit, set_shrinker_bit_warn.
A shrinker_info's bitmap is one Python int (bit i = shrinker id i).
"""

from __future__ import annotations

from . import memcontrol as mc
from .sched import (
    WARN_ON_ONCE,
    KObject,
    kasan_check,
    kfree,
    kvfree_rcu,
    may_fail,
    report,
    spin_lock,
    spin_unlock,
)
from .vmstat import count_vm_events

SHRINKER_REGISTERED = 1 << 0
SHRINKER_ALLOCATED = 1 << 1
SHRINKER_NUMA_AWARE = 1 << 2
SHRINKER_MEMCG_AWARE = 1 << 3
SHRINKER_NONSLAB = 1 << 4

SHRINK_STOP = (1 << 64) - 1  # ~0UL
SHRINK_EMPTY = (1 << 64) - 2  # ~0UL - 1
SHRINKER_UNIT_BITS = 64  # BITS_PER_LONG
SHRINK_BATCH = 128
DEFAULT_SEEKS = 2
DEF_PRIORITY = 12

FLAG_NAMES = {"numa_aware": SHRINKER_NUMA_AWARE, "memcg_aware": SHRINKER_MEMCG_AWARE,
              "nonslab": SHRINKER_NONSLAB}


class Shrinker:
    """``struct shrinker``: id is valid only while SHRINKER_MEMCG_AWARE is set (else 0)."""

    __slots__ = ("name", "flags", "id", "nr_deferred", "count_objects", "scan_objects",
                 "seeks", "batch", "private_data")

    def __init__(self, name: str, flags: int):
        self.name = name
        self.flags = flags
        self.id = 0  # kzalloc'ed
        self.nr_deferred: list[int] | None = None
        self.count_objects = None
        self.scan_objects = None
        self.seeks = DEFAULT_SEEKS
        self.batch = 0
        self.private_data = None

    def __repr__(self) -> str:
        return f"<shrinker {self.name}>"


class ShrinkerInfo(KObject):
    """``struct shrinker_info`` of one memcg on one node: bitmap and memcg-level nr_deferred
    (kvmalloc'ed; freed by free_shrinker_info or, replaced, with kvfree_rcu)."""

    __slots__ = ("map_nr_max", "map", "nr_deferred")
    # KCSAN-marked (sched.py): the bitmap changes only by set_bit/clear_bit, nr_deferred is
    # atomic_long_t
    __marked__ = ("map", "nr_deferred")

    def __init__(self, map_nr_max: int):
        super().__init__()
        self.map_nr_max = map_nr_max
        self.map = 0
        self.nr_deferred = [0] * map_nr_max

    def __repr__(self) -> str:
        return f"<shrinker_info map_nr_max {self.map_nr_max}>"


class ShrinkControl:
    """``struct shrink_control``.  scan_limit: the reclaim op's nr_to_scan (see do_shrink_slab)."""

    __slots__ = ("nid", "memcg", "nr_to_scan", "nr_scanned", "scan_limit")

    def __init__(self, nid: int, memcg, scan_limit: int | None = None):
        self.nid = nid
        self.memcg = memcg
        self.nr_to_scan = 0
        self.nr_scanned = 0
        self.scan_limit = scan_limit


def _round_up(n: int, unit: int) -> int:
    return -(-n // unit) * unit


# -- registration -------------------------------------------------------------------------

def shrinker_lock(k):
    """mm/shrinker.c: mutex_lock(&shrinker_mutex) (6.1 mm/vmscan.c: down_write(&shrinker_rwsem))
    -- a sleeping lock held
    across steps; the 6.1 read side (shrink_slab's down_read_trylock) sees the writer."""
    yield from spin_lock(k, k.shrinker_mutex)
    k.shrinker_rwsem_writer = k.current


def shrinker_unlock(k) -> None:
    """mm/shrinker.c: mutex_unlock(&shrinker_mutex) (6.1: up_write(&shrinker_rwsem))."""
    k.shrinker_rwsem_writer = None
    spin_unlock(k, k.shrinker_mutex)


def shrinker_memcg_alloc(k, s: Shrinker):
    """mm/shrinker.c: shrinker_memcg_alloc (6.1: prealloc_memcg_shrinker) -- under the
    shrinker mutex, an idr id and the bitmaps of every memcg grown to cover it.  -ENOSYS with
    cgroup_disable=memory, and (flag shrinker_nokmem_memcg_off) for slab shrinkers under
    nokmem.  (The expansion's allocations do not fail in the model.)"""
    if mc.mem_cgroup_disabled(k):
        return -38
    if (k.cfg.patch.shrinker_nokmem_memcg_off and mc.mem_cgroup_kmem_disabled(k)
            and not s.flags & SHRINKER_NONSLAB):
        return -38
    yield from shrinker_lock(k)
    sid = 0
    while sid in k.shrinker_idr:
        sid += 1
    k.shrinker_idr[sid] = s
    if sid >= k.shrinker_nr_max:
        yield from expand_shrinker_info(k, sid)
    s.id = sid
    shrinker_unlock(k)
    return 0


def shrinker_alloc(k, flags: int, name: str):
    """mm/shrinker.c: shrinker_alloc -- a memcg-aware shrinker that cannot get an id falls back
    to a non-memcg-aware one with per-node nr_deferred; its id stays 0 (from kzalloc)."""
    s = Shrinker(name, flags | SHRINKER_ALLOCATED)
    if flags & SHRINKER_MEMCG_AWARE:
        if (yield from shrinker_memcg_alloc(k, s)) == 0:
            return s
        s.flags &= ~SHRINKER_MEMCG_AWARE
    s.nr_deferred = [0] * (k.cfg.nodes if flags & SHRINKER_NUMA_AWARE else 1)
    return s


def shrinker_register(k, s: Shrinker):
    """mm/shrinker.c: shrinker_register (6.1: register_shrinker_prepared) -- under the
    shrinker mutex, onto shrinker_list, SHRINKER_REGISTERED."""
    yield from shrinker_lock(k)
    s.flags |= SHRINKER_REGISTERED
    k.shrinker_list.append(s)
    shrinker_unlock(k)


def shrinker_free(k, s: Shrinker):
    """mm/shrinker.c: shrinker_free (6.1: unregister_shrinker) -- under the shrinker mutex,
    off shrinker_list, SHRINKER_REGISTERED cleared, its id removed from the idr (a bit left
    for it is cleared by the next shrink_slab_memcg).  The kernel also waits for running
    do_shrink_slab calls of it (6.7+: its refcount; 6.1: the rwsem's readers); the model frees
    nothing here, so a call still running only walks a list nobody adds to any more."""
    yield from shrinker_lock(k)
    if s.flags & SHRINKER_REGISTERED:
        k.shrinker_list.remove(s)
        s.flags &= ~SHRINKER_REGISTERED
    if s.flags & SHRINKER_MEMCG_AWARE and k.shrinker_idr.get(s.id) is s:
        del k.shrinker_idr[s.id]  # shrinker_memcg_remove (6.1: unregister_memcg_shrinker)
    shrinker_unlock(k)


def _kvfree(k, info: ShrinkerInfo, where: str, rcu: bool = False) -> None:
    """kvfree / kvfree_rcu of a shrinker_info; freeing it twice is a KASAN double-free."""
    if info.freed or info.rcu_free is not None:
        report(k, "use_after_free", f"KASAN: double-free in {where}: {info!r}")
        return
    if rcu:
        kvfree_rcu(k, info)
    else:
        kfree(k, info)


def expand_one_shrinker_info(k, memcg, new_nr_max: int):
    """mm/shrinker.c: expand_one_shrinker_info -- a bigger info per node, the old one's
    contents copied (6.1, expand_keeps_bits off: every old bit set to 1), published, the old
    one freed after a grace period.  A memcg whose info is not (or no longer) there is not
    online yet: skipped.  The allocation is a step: another CPU may run between reading the
    old pointer and copying it."""
    for nid in range(k.cfg.nodes):
        old = memcg.shrinker_info[nid] if memcg.shrinker_info else None
        if old is None:
            return
        if new_nr_max <= old.map_nr_max:
            continue
        yield "kvmalloc_node"
        kasan_check(k, old, "expand_one_shrinker_info: memcpy from the old shrinker_info")
        new = ShrinkerInfo(new_nr_max)
        new.nr_deferred[: old.map_nr_max] = old.nr_deferred
        new.map = old.map if k.cfg.patch.expand_keeps_bits else (1 << old.map_nr_max) - 1
        memcg.shrinker_info[nid] = new  # rcu_assign_pointer
        _kvfree(k, old, "expand_one_shrinker_info", rcu=True)


def expand_shrinker_info(k, new_id: int):
    """mm/shrinker.c: expand_shrinker_info -- shrinker mutex held: every memcg mem_cgroup_iter
    visits (root first, then in creation order; a memcg still in css_online too) grows to
    cover new_id."""
    new_nr_max = _round_up(new_id + 1, SHRINKER_UNIT_BITS)
    for memcg in [k.root_mem_cgroup] + list(k.memcgs.values()):
        if memcg is not None and memcg.shrinker_info is not None:
            yield from expand_one_shrinker_info(k, memcg, new_nr_max)
    k.shrinker_nr_max = new_nr_max


def free_shrinker_info(k, memcg) -> None:
    """mm/shrinker.c: free_shrinker_info -- kvfree every node's info, NULL the pointers."""
    for nid in range(k.cfg.nodes):
        info = memcg.shrinker_info[nid]
        if info is not None:
            _kvfree(k, info, "free_shrinker_info")
            memcg.shrinker_info[nid] = None


def alloc_shrinker_info(k, memcg):
    """mm/shrinker.c: alloc_shrinker_info -- under the shrinker mutex (6.1: shrinker_rwsem for
    write), an info sized shrinker_nr_max per node, each published as it is allocated.  On a
    failure the published ones are freed: inside the locked section before 307bececcd12 and
    after Qi Zheng's fix, after mutex_unlock in between (flag shrinker_info_free_unlocked),
    where a racing expand_shrinker_info can copy and kvfree_rcu an info this frees.  Returns
    False on allocation failure."""
    yield from shrinker_lock(k)
    memcg.shrinker_info = [None] * k.cfg.nodes
    ok = True
    for nid in range(k.cfg.nodes):
        ok = yield from may_fail("shrinker_info")
        if not ok:
            break
        memcg.shrinker_info[nid] = ShrinkerInfo(k.shrinker_nr_max)
    if ok or not k.cfg.patch.shrinker_info_free_unlocked:
        if not ok:
            free_shrinker_info(k, memcg)
        shrinker_unlock(k)
        return ok
    # 307bececcd12 "mm: shrinker: add a secondary array for shrinker_info::{map,
    # nr_deferred}": the err: label unlocks first; fixed by "mm: shrinker: fix shrinker_info
    # teardown race with expansion" (Qi Zheng, 2026)
    shrinker_unlock(k)
    yield "free_shrinker_info"
    free_shrinker_info(k, memcg)
    return False


def reparent_shrinker_deferred(k, memcg) -> None:
    """mm/shrinker.c: reparent_shrinker_deferred -- the child's nr_deferred is added to the
    parent's, per node; bits are not touched."""
    parent = mc.parent_mem_cgroup(memcg) or k.root_mem_cgroup
    if memcg.shrinker_info is None or parent.shrinker_info is None:
        return
    for nid, info in enumerate(memcg.shrinker_info):
        pinfo = parent.shrinker_info[nid]
        for i, v in enumerate(info.nr_deferred):
            pinfo.nr_deferred[i] += v


def set_shrinker_bit(k, memcg, nid: int, shrinker_id: int) -> None:
    """mm/shrinker.c (mm/vmscan.c before 6.7): set_shrinker_bit -- no-op unless id >= 0 and
    memcg is a non-root memcg.  6.7+ (shrinker_info_unit, 307bececcd12) reads
    info->unit[id / SHRINKER_UNIT_BITS] first: with the id beyond map_nr_max (7.2 under
    nokmem: map_nr_max 0) that read is past the kvzalloc'ed unit array, which KASAN reports as
    slab-out-of-bounds.  6.4+ then WARNs once and sets nothing (set_shrinker_bit_warn,
    42c9db397048)."""
    if shrinker_id < 0 or memcg is None or mc.mem_cgroup_is_root(k, memcg):
        return
    kasan_check(k, memcg, "set_shrinker_bit")
    info = memcg.shrinker_info[nid]
    if k.cfg.patch.shrinker_info_unit and shrinker_id >= info.map_nr_max:
        report(k, "use_after_free",
               f"KASAN: slab-out-of-bounds in set_shrinker_bit: read of info->unit"
               f"[{shrinker_id // SHRINKER_UNIT_BITS}] of a shrinker_info with map_nr_max "
               f"{info.map_nr_max}")
    if k.cfg.patch.set_shrinker_bit_warn:
        if WARN_ON_ONCE(k, shrinker_id >= info.map_nr_max,
                        f"set_shrinker_bit: id {shrinker_id} >= map_nr_max {info.map_nr_max}"):
            return
    info.map |= 1 << shrinker_id


def shrinker_bit_test(memcg, nid: int, shrinker_id: int) -> bool:
    """Model helper: whether bit shrinker_id is set for (memcg, nid) -- for properties and state
    views."""
    if memcg is None or memcg.shrinker_info is None or shrinker_id < 0 \
            or memcg.shrinker_info[nid] is None:
        return False
    return bool(memcg.shrinker_info[nid].map >> shrinker_id & 1)


def _clear_bit(info: ShrinkerInfo, i: int) -> None:
    info.map &= ~(1 << i)


# -- shrinking ----------------------------------------------------------------------------

def _nr_deferred_slot(k, s: Shrinker, sc: ShrinkControl):
    nid = sc.nid if s.flags & SHRINKER_NUMA_AWARE else 0
    if sc.memcg is not None and s.flags & SHRINKER_MEMCG_AWARE:
        return sc.memcg.shrinker_info[nid].nr_deferred, s.id
    return s.nr_deferred, nid


def do_shrink_slab(k, sc: ShrinkControl, s: Shrinker, priority: int):
    """mm/shrinker.c (6.1: mm/vmscan.c): do_shrink_slab -- count, then scan in batches.

    total_scan = (nr_deferred >> priority) + (freeable >> priority) * 4 / seeks, capped at twice
    freeable; batches of shrinker->batch (default 128) while total_scan >= batch or >= freeable;
    the leftover goes back to nr_deferred.  ``sc.scan_limit`` (the reclaim op's nr_to_scan)
    replaces the priority formula with exactly that many objects, as a scan request does."""
    freeable = yield from s.count_objects(k, s, sc)
    _record_call(k, "count", s, sc, None, freeable)
    if freeable == 0 or freeable == SHRINK_EMPTY:
        return freeable
    arr, idx = _nr_deferred_slot(k, s, sc)
    nr = arr[idx]
    arr[idx] = 0
    if s.seeks:
        delta = (freeable >> priority) * 4 // s.seeks
    else:
        delta = freeable // 2
    total_scan = min((nr >> priority) + delta, 2 * freeable)
    batch = s.batch or SHRINK_BATCH
    if sc.scan_limit is not None:
        total_scan = sc.scan_limit
        batch = min(batch, total_scan) or 1
    freed = scanned = 0
    while total_scan >= batch or total_scan >= freeable:
        if total_scan <= 0:
            break
        nr_to_scan = min(batch, total_scan)
        sc.nr_to_scan = nr_to_scan
        sc.nr_scanned = nr_to_scan
        ret = yield from s.scan_objects(k, s, sc)
        _record_call(k, "scan", s, sc, nr_to_scan, ret)
        if ret == SHRINK_STOP:
            break
        freed += ret
        count_vm_events(k, "slabs_scanned", sc.nr_scanned)
        total_scan -= sc.nr_scanned
        scanned += sc.nr_scanned
    next_deferred = min(max(nr + delta - scanned, 0), 2 * freeable)
    arr, idx = _nr_deferred_slot(k, s, sc)
    arr[idx] += next_deferred
    return freed


def _record_call(k, kind: str, s: Shrinker, sc: ShrinkControl, nr_to_scan, result) -> None:
    """Model helper: when ``k.shrinker_calls`` is a list (conformance sets it), each
    count_objects / scan_objects call as a trace event on the kernel's function sees it: entry
    (sc->nid, sc->memcg, sc->nr_to_scan) and return value (conform/calls.py compares them)."""
    if k.shrinker_calls is not None:
        memcg = sc.memcg.path or "root" if sc.memcg is not None else "-"
        k.shrinker_calls.append((kind, s.name, sc.nid, memcg, nr_to_scan, result))


def _rwsem_is_contended(k) -> bool:
    """include/linux/rwsem.h: rwsem_is_contended(&shrinker_rwsem) (6.1) -- the model's writer
    (alloc_shrinker_info) holds the rwsem without waiting for readers, so a writer holding it
    during a read-side pass stands for one waiting for it."""
    w = k.shrinker_rwsem_writer
    return w is not None and w is not k.current


def _rwsem_trylock(k) -> bool:
    w = k.shrinker_rwsem_writer
    return w is None or w is k.current


def shrink_slab_memcg(k, nid: int, memcg, priority: int, scan_limit=None):
    """mm/shrinker.c (6.1: mm/vmscan.c): shrink_slab_memcg -- only online memcgs; each set
    bit's shrinker runs; SHRINK_EMPTY clears the bit, then one re-check re-sets it if objects
    raced in.  Under nokmem slab (non-NONSLAB) shrinkers are skipped (6.7+ also clears their
    bit).  6.1 clears a bit whose shrinker is gone only when idr_find returns NULL, and stops
    after a shrinker when rwsem_is_contended(&shrinker_rwsem) (returning at least 1)."""
    if not mc.mem_cgroup_online(memcg):
        return 0
    if not k.cfg.patch.shrinker_lockless and not _rwsem_trylock(k):
        return 0
    if memcg.shrinker_info is None:
        return 0
    freed = 0
    info = memcg.shrinker_info[nid]
    i = 0
    while True:
        bits = info.map >> i
        if not bits:
            break
        i += (bits & -bits).bit_length() - 1  # next set bit
        if i >= k.shrinker_nr_max:
            break
        s = k.shrinker_idr.get(i)
        if s is None or not s.flags & SHRINKER_REGISTERED:
            # 6.7+ (shrinker_try_get failing too) clears the bit; 6.1 only when idr_find
            # returned NULL (an unregistering shrinker keeps it)
            if s is None or k.cfg.patch.shrinker_lockless:
                _clear_bit(info, i)
            i += 1
            continue
        if not mc.memcg_kmem_online(k) and not s.flags & SHRINKER_NONSLAB:
            if k.cfg.patch.nokmem_skip_clears_bit:
                _clear_bit(info, i)
            i += 1
            continue
        sc = ShrinkControl(nid, memcg, scan_limit)
        ret = yield from do_shrink_slab(k, sc, s, priority)
        if ret == SHRINK_EMPTY:
            _clear_bit(info, i)
            yield "smp_mb__after_atomic"
            ret = yield from do_shrink_slab(k, sc, s, priority)
            if ret == SHRINK_EMPTY:
                ret = 0
            else:
                set_shrinker_bit(k, memcg, nid, i)
        freed += ret
        if not k.cfg.patch.shrinker_lockless and _rwsem_is_contended(k):
            # 6.1: a writer waits for shrinker_rwsem: let it in
            freed = freed or 1
            break
        info = memcg.shrinker_info[nid]
        i += 1
    return freed


def shrink_slab(k, nid: int, memcg, priority: int, scan_limit=None):
    """mm/shrinker.c: shrink_slab -- a non-root memcg goes through its bitmap; the root memcg
    (or NULL with memcg disabled) runs every registered shrinker, memcg-aware ones included,
    with sc->memcg = root (or NULL).  SHRINK_EMPTY counts as 0."""
    if not mc.mem_cgroup_disabled(k) and memcg is not None and not mc.mem_cgroup_is_root(k, memcg):
        return (yield from shrink_slab_memcg(k, nid, memcg, priority, scan_limit))
    if not k.cfg.patch.shrinker_lockless and not _rwsem_trylock(k):
        return 0
    freed = 0
    for s in list(k.shrinker_list):
        sc = ShrinkControl(nid, memcg, scan_limit)
        ret = yield from do_shrink_slab(k, sc, s, priority)
        if ret == SHRINK_EMPTY:
            ret = 0
        freed += ret
    return freed


def shrinker_bits(memcg, nid: int) -> list[int]:
    """Model helper: the set bit ids of (memcg, nid), for views and properties."""
    if memcg is None or memcg.shrinker_info is None or memcg.shrinker_info[nid] is None:
        return []
    m, out, i = memcg.shrinker_info[nid].map, [], 0
    while m:
        if m & 1:
            out.append(i)
        m >>= 1
        i += 1
    return out

