"""mm/memcontrol-v1.c (mm/memcontrol.c before 6.11): the cgroup v1 parts of the memory
controller that touch a THP's deferred-split entry -- swap-out uncharging
(``mem_cgroup_swapout``, 6.12: ``memcg1_swapout``) and charge moving
(``memory.move_charge_at_immigrate``: ``mem_cgroup_move_charge_pte_range`` ->
``mem_cgroup_move_account``, 5.4 .. 6.12).

The history of both (flags):
- 87eaceb3faa5 (5.4, baked): move_account unqueues a queued THP from the source memcg's queue
  (``list_empty`` read unlocked) and adds every moved THP to the destination's queue, without
  the destination's shrinker bit;
- fac0516b5534 (5.6, ``move_account_skips_queue``): move_account leaves the queues alone;
- f8f931bba0f9 (6.12, ``swapout_unqueue_first``, ``move_charge_split_first``): swap-out
  unqueues before clearing memcg_data; charge moving splits a queued THP first or skips it;
- 6b611388b626 (6.13, ``charge_move_removed``): charge moving is gone.
"""

from __future__ import annotations

from . import huge_memory
from . import memcontrol as mc
from .folio import Folio, folio_put, folio_unlock
from .list import list_add_tail, list_del_init, list_empty
from .sched import WARN_ON_ONCE, WRITE_ONCE, data_race, spin_lock, spin_unlock

EINVAL = 22


def mem_cgroup_swapout(k, folio: Folio):
    """mm/memcontrol.c: mem_cgroup_swapout (6.12: memcg1_swapout) -- called by
    __remove_mapping with the folio's refcount frozen at 0: on cgroup v1 only (on v2,
    cgroup_subsys_on_dfl returns at once and the charge stays until the folio is freed) the
    memory charge goes (memsw keeps the swap), memcg_data is cleared and the folio's css
    reference dropped (the swap entry's memcg id reference is not modelled).  From
    f8f931bba0f9 the THP is unqueued first, while memcg_data still names its queue."""
    if mc.mem_cgroup_disabled(k) or not k.cfg.cgroup_v1:
        return
    if mc.folio_memcg(k, folio) is None:
        return  # VM_WARN_ON_ONCE_FOLIO(!memcg): nothing charged
    if k.cfg.patch.swapout_unqueue_first:
        # f8f931bba0f9 "mm/thp: fix deferred split unqueue naming and locking"
        yield from huge_memory.folio_unqueue_deferred_split(k, folio)
    mc.mem_cgroup_uncharge(k, folio)  # page_counter_uncharge(memory); folio->memcg_data = 0


def move_charge_at_immigrate_write(k) -> int:
    """mm/memcontrol-v1.c: mem_cgroup_move_charge_write -- 0, or -EINVAL once charge moving is
    gone (6b611388b626 with aa6b4fdf5940: only 0 may be written)."""
    if k.cfg.patch.charge_move_removed:
        return -EINVAL  # 6b611388b626 "memcg-v1: remove charge move code"
    return 0


def mem_cgroup_move_account(k, folio: Folio, from_, to, compound: bool):
    """mm/memcontrol.c: mem_cgroup_move_account -- the caller holds the folio locked, isolated
    and referenced.  Under from's move_lock (IRQs off) the charge and memcg_data move to ``to``.
    5.4's queue hunks (87eaceb3faa5) run unless move_account_skips_queue (fac0516b5534)."""
    k.current.irqs_off += 1  # spin_lock_irqsave(&from->move_lock)
    if compound and not k.cfg.patch.move_account_skips_queue:
        # 87eaceb3faa5: list_empty tested without the queue lock
        with data_race():
            queued = not list_empty(folio._deferred_list)
        if queued:
            q = from_.deferred_split_queue
            yield from spin_lock(k, q.split_queue_lock)
            list_del_init(k, folio._deferred_list)
            q.split_queue_len -= 1
            spin_unlock(k, q.split_queue_lock)
    if compound and k.cfg.patch.move_charge_split_first:
        # f8f931bba0f9: WARN_ON_ONCE(folio_unqueue_deferred_split(folio)): never queued here
        WARN_ON_ONCE(k, not list_empty(folio._deferred_list),
                     "mem_cgroup_move_account: moving the charge of a queued THP")
    n = folio.nr_pages
    from_.nr_pages -= n
    to.nr_pages += n
    from_.lru_folios.remove(folio)
    to.lru_folios.append(folio)
    mc.css_get(to)
    WRITE_ONCE(folio, "memcg", to)  # folio->memcg_data = (unsigned long)to
    mc.css_put(k, from_)
    if compound and not k.cfg.patch.move_account_skips_queue:
        # 87eaceb3faa5: every moved THP goes on to's queue; no shrinker bit is set for it
        with data_race():
            empty = list_empty(folio._deferred_list)
        if empty:
            q = to.deferred_split_queue
            yield from spin_lock(k, q.split_queue_lock)
            list_add_tail(k, folio._deferred_list, q.split_queue)
            q.split_queue_len += 1
            spin_unlock(k, q.split_queue_lock)
    k.current.irqs_off -= 1  # spin_unlock_irqrestore(&from->move_lock)
    return 0


def get_mctgt_type(k, folio: Folio | None, from_) -> bool:
    """mm/memcontrol.c: get_mctgt_type(_thp), in the page-table walk's locked step -- a present
    page charged to ``from`` is a target: it is referenced and trylocked (a locked folio is
    skipped).  Returns whether the caller now holds the folio locked and referenced."""
    if folio is None or folio.freed or folio.refcount <= 0 or folio.migration:
        return False
    if not (folio.pmd_mapped or folio.nr_pages_mapped):
        return False
    if mc.folio_memcg(k, folio) is not from_ or folio.locked.owner is not None:
        return False
    folio.refcount += 1
    folio.locked.owner = k.current
    k.current.held.append(folio.locked)
    return True


def mem_cgroup_move_charge_pte_range(k, lookup, from_, to):
    """mm/memcontrol.c: mem_cgroup_move_charge_pte_range for the range of one folio (the
    caller holds mmap_read_lock; ``lookup()`` is the folio the page tables map now).  A
    PMD-mapped THP is moved whole (from 6.12 a queued one is first split, and skipped if that
    fails: move_charge_split_first); a PTE-mapped large folio is skipped (PageTransCompound:
    'keep in original memcg'); small pages move one by one.  Each target must be isolated from
    its LRU (a folio reclaim or migration holds is skipped).  Returns a result string."""
    tried_split_before = False
    while True:
        yield "mem_cgroup_move_charge_pte_range"  # pmd_trans_huge_lock / pte_offset_map_lock
        folio = lookup()
        if folio is None or not get_mctgt_type(k, folio, from_):
            return "nothing to move"
        compound = folio.pmd_mapped
        if not compound and folio.order > 0:
            folio_unlock(k, folio)
            yield from folio_put(k, folio)
            return "not moved (a PTE-mapped large folio stays in its memcg)"
        if compound and k.cfg.patch.move_charge_split_first:
            # f8f931bba0f9: "split or skip if on the queue? first try to split"
            if not list_empty(folio._deferred_list):
                if not tried_split_before:
                    yield from huge_memory.split_huge_page(k, folio)
                folio_unlock(k, folio)
                yield from folio_put(k, folio)
                if tried_split_before:
                    return "not moved (queued, split failed)"
                tried_split_before = True
                continue
        res = "busy (isolated)"
        if not folio.isolated:  # isolate_lru_page
            folio.isolated = True
            yield from mem_cgroup_move_account(k, folio, from_, to, compound)
            folio.isolated = False  # putback_lru_page
            res = "moved"
        folio_unlock(k, folio)
        yield from folio_put(k, folio)
        return res
