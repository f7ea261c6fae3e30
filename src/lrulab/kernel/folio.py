"""include/linux/mm.h, page_ref.h, page-flags.h and mm/swap.c: folios, their refcount, flags
and the free path.

Reference units: a PMD mapping holds one reference and one mapcount; each PTE-mapped subpage
holds one of each (as the kernel's folio_ref_add on PTE mapping does); pins (``get``) add
references only.  So can_split_folio's test is mapcount == refcount - 1 (the caller's pin).
"""

from __future__ import annotations

from . import memcontrol as mc
from .list import ListHead
from .sched import BUG, WARN_ON, KObject, SpinLock, kasan_check, kfree
from .vmstat import mod_mthp_stat

HPAGE_PMD_ORDER = 9
HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER

PG_partially_mapped = 1 << 0
PG_large_rmappable = 1 << 1
PG_mlocked = 1 << 2
PG_swapcache = 1 << 3
PG_anon = 1 << 4
PG_has_hwpoisoned = 1 << 5
PG_hugetlb = 1 << 6  # the hugetlb page type (folio_test_hugetlb)
PG_swapbacked = 1 << 7  # a shmem folio (folio_test_swapbacked; anon ones are not marked here)
FLAG_NAMES = {PG_partially_mapped: "partially_mapped", PG_large_rmappable: "large_rmappable",
              PG_mlocked: "mlocked", PG_swapcache: "swapcache", PG_anon: "anon",
              PG_hugetlb: "hugetlb", PG_swapbacked: "swapbacked"}


class Folio(KObject):
    """``struct folio`` (its head page plus the second/third page fields we need)."""

    __slots__ = ("name", "order", "nid", "memcg", "refcount", "mapcount", "pmd_mapped",
                 "nr_pages_mapped", "flags", "_deferred_list", "nr_pages", "written",
                 "locked", "frozen", "split", "migration", "isolated")
    # fields every kernel access of which is marked (KCSAN, sched.py): _refcount,
    # _mapcount / _nr_pages_mapped / _entire_mapcount are atomic_t; flags change by bitops
    # atomic_t in the kernel; ``frozen`` is the model's name for a _refcount that
    # folio_ref_freeze's cmpxchg took to 0 (include/linux/page_ref.h), so it is atomic too
    __marked__ = ("refcount", "mapcount", "nr_pages_mapped", "pmd_mapped", "flags", "frozen")

    def __init__(self, name: str, order: int, nid: int):
        super().__init__()
        self.name = name
        self.order = order
        self.nid = nid
        self.memcg = None
        self.refcount = 1  # the allocation reference
        self.mapcount = 0
        self.pmd_mapped = False
        self.nr_pages_mapped = 0  # PTE-mapped subpages
        self.flags = PG_anon
        self._deferred_list = ListHead(f"{name}._deferred_list", container=self)
        self.nr_pages = 1 << order  # pages this folio still holds (charged)
        self.written = 1 << order  # subpages holding non-zero data (thp_underused)
        self.locked = SpinLock(f"{name}.PG_locked")  # folio_lock is a sleeping bit lock
        self.frozen = False
        self.split = False
        # pmd_mapped / nr_pages_mapped are migration entries (unmap_folio, try_to_migrate):
        # they hold no reference and no mapcount; a munmap only clears them
        self.migration = False
        # off its LRU list (folio_isolate_lru cleared PG_lru): reclaim, migration and
        # memcg1 charge moving each isolate a folio first, and only one of them can
        self.isolated = False

    def __repr__(self) -> str:
        return f"<folio {self.name}>"


def folio_order(folio: Folio) -> int:
    """include/linux/mm.h: folio_order."""
    return folio.order


def folio_nid(k, folio: Folio) -> int:
    """include/linux/mm.h: folio_nid."""
    kasan_check(k, folio, "folio_nid")
    return folio.nid


def folio_nr_pages(folio: Folio) -> int:
    """include/linux/mm.h: folio_nr_pages."""
    return 1 << folio.order


def folio_test(k, folio: Folio, flag: int) -> bool:
    """include/linux/page-flags.h: folio_test_<flag>."""
    if folio.freed or folio.rcu_free is not None:
        kasan_check(k, folio, "folio_test_" + FLAG_NAMES.get(flag, "flag"))
    return bool(folio.flags & flag)


def folio_set(k, folio: Folio, flag: int) -> None:
    """include/linux/page-flags.h: folio_set_<flag>."""
    if folio.freed or folio.rcu_free is not None:
        kasan_check(k, folio, "folio_set_" + FLAG_NAMES.get(flag, "flag"))
    folio.flags |= flag


def folio_clear(k, folio: Folio, flag: int) -> None:
    """include/linux/page-flags.h: folio_clear_<flag>."""
    if folio.freed or folio.rcu_free is not None:
        kasan_check(k, folio, "folio_clear_" + FLAG_NAMES.get(flag, "flag"))
    folio.flags &= ~flag


def folio_test_clear(k, folio: Folio, flag: int):
    """include/linux/page-flags.h: folio_test_clear_<flag> -- an atomic RMW on shared memory,
    so a step point of its own."""
    yield "folio_test_clear_" + FLAG_NAMES.get(flag, "flag")
    kasan_check(k, folio, "folio_test_clear_" + FLAG_NAMES.get(flag, "flag"))
    old = bool(folio.flags & flag)
    folio.flags &= ~flag
    return old


def folio_mapcount(folio: Folio) -> int:
    """include/linux/mm.h: folio_mapcount (in the reference units of this module)."""
    return folio.mapcount


def folio_ref_count(folio: Folio) -> int:
    """include/linux/page_ref.h: folio_ref_count."""
    return folio.refcount


# -- references ---------------------------------------------------------------------------

def folio_get(k, folio: Folio):
    """include/linux/mm.h: folio_get."""
    yield "folio_get"
    if folio.freed or folio.rcu_free is not None:
        kasan_check(k, folio, "folio_get")
    WARN_ON(k, folio.refcount <= 0, f"folio_get on {folio.name} with refcount 0")
    folio.refcount += 1


def folio_try_get(k, folio: Folio):
    """include/linux/page_ref.h: folio_try_get -- fails on refcount 0 (freed or frozen)."""
    yield "folio_try_get"
    if folio.freed or folio.rcu_free is not None:
        kasan_check(k, folio, "folio_try_get")
    if folio.refcount == 0:
        return False
    folio.refcount += 1
    return True


def folio_put_refs(k, folio: Folio, nr: int):
    """include/linux/mm.h: folio_put_refs -- the last reference frees the folio."""
    yield "folio_put"
    if nr == 1 and k.cfg.debug_vm and folio.refcount <= 0:
        # include/linux/mm.h: folio_put -> folio_put_testzero -> put_page_testzero:
        # VM_BUG_ON_PAGE(page_ref_count(page) == 0), a BUG() with CONFIG_DEBUG_VM (without
        # it the count goes negative: the WARN below)
        kasan_check(k, folio, "folio_put")
        BUG(k, f"VM_BUG_ON_PAGE(page_ref_count(page) == 0): folio_put of {folio.name}")
    if (folio.freed or folio.rcu_free is not None) and not kasan_check(k, folio, "folio_put"):
        return
    folio.refcount -= nr
    WARN_ON(k, folio.refcount < 0, f"{folio.name} refcount underflow")
    if folio.refcount == 0:
        yield from __folio_put(k, folio)


def folio_put(k, folio: Folio):
    """include/linux/mm.h: folio_put."""
    return folio_put_refs(k, folio, 1)


def folio_ref_freeze(k, folio: Folio, count: int):
    """include/linux/page_ref.h: folio_ref_freeze -- cmpxchg refcount count -> 0."""
    yield "folio_ref_freeze"
    if folio.freed or folio.rcu_free is not None:
        kasan_check(k, folio, "folio_ref_freeze")
    if folio.refcount != count:
        return False
    folio.refcount = 0
    folio.frozen = True
    return True


def folio_ref_unfreeze(k, folio: Folio, count: int) -> None:
    """include/linux/page_ref.h: folio_ref_unfreeze."""
    folio.refcount = count
    folio.frozen = False


def folio_trylock(k, folio: Folio):
    """include/linux/pagemap.h: folio_trylock."""
    yield "folio_trylock"
    if folio.locked.owner is not None:
        return False
    folio.locked.owner = k.current
    k.current.held.append(folio.locked)  # a lock for lockdep and KCSAN's "lock in common"
    return True


def folio_lock(k, folio: Folio):
    """include/linux/pagemap.h: folio_lock -- sleeps until the lock bit is free."""
    yield folio.locked
    folio.locked.owner = k.current
    k.current.held.append(folio.locked)


def folio_unlock(k, folio: Folio) -> None:
    """mm/filemap.c: folio_unlock."""
    owner = folio.locked.owner
    if owner is not None and folio.locked in owner.held:
        owner.held.remove(folio.locked)
    folio.locked.owner = None


# -- free path ----------------------------------------------------------------------------

def __folio_put(k, folio: Folio):
    """mm/swap.c: __folio_put (6.1: __folio_put_large -> destroy_large_folio) -- LRU removal,
    the deferred-split unqueue while the memcg is still charged, uncharge, free.  A hugetlb
    folio goes back to its pool first (free_huge_folio), never through the unqueue: true of
    every release in scope (6.1: destroy_large_folio tests folio_test_hugetlb first)."""
    WARN_ON(k, folio.frozen, f"freeing frozen {folio.name}")
    if folio.flags & PG_hugetlb:
        hugetlb.free_huge_folio(k, folio)
        return
    if folio.order > 1:
        yield from huge_memory.folio_unqueue_deferred_split(k, folio)
    if folio.order > 0 and folio.flags & PG_anon:
        mod_mthp_stat(k, folio.order, "nr_anon", -1)  # free_pages_prepare (6.12): anon only
    mc.mem_cgroup_uncharge(k, folio)
    free_folio(k, folio)


def free_folio(k, folio: Folio) -> None:
    """mm/page_alloc.c: free_frozen_pages -- back to the buddy allocator; later touches of the
    struct are use-after-free (the page may be reallocated)."""
    k.nodes[folio.nid].nr_used_pages -= folio.nr_pages
    folio.nr_pages = 0
    kfree(k, folio)


from . import huge_memory, hugetlb  # noqa: E402  (after our names: they import them)
