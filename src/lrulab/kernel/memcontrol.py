"""mm/memcontrol.c (and the css life cycle of kernel/cgroup/cgroup.c): the memcg tree.

Life cycle of a memcg: ``mkdir`` allocates it and brings it online (``memcg_online_kmem`` gives
it a ``kmemcg_id``, ``alloc_shrinker_info`` its per-node shrinker bitmaps); ``rmdir`` kills the
css (``css_is_dying`` from then on), an RCU grace period later ``css_offline`` runs the
reparenting hooks and clears ``CSS_ONLINE``; when the last reference (each charged folio holds
one) goes, the memcg is released and freed.
"""

from __future__ import annotations

from . import list_lru, shrinker, split_queue
from .sched import WARN_ON, KObject, kvfree_rcu, may_fail, synchronize_rcu


class MemCgroup(KObject):
    """``struct mem_cgroup`` with the parts of its css that matter here."""

    __slots__ = ("id", "path", "parent", "children", "online", "dying", "kmemcg_id",
                 "shrinker_info", "deferred_split_queue", "css_refcnt", "nr_pages", "stat",
                 "objcg_parent", "lru_folios")

    def __init__(self, mid: int, path: str, parent: MemCgroup | None, nodes: int):
        super().__init__()
        self.id = mid
        self.path = path
        self.parent = parent
        self.children: list[MemCgroup] = []
        self.online = False  # CSS_ONLINE
        self.dying = False  # CSS_DYING (set by rmdir)
        self.kmemcg_id = -1
        self.shrinker_info: list | None = None  # per node, see shrinker.ShrinkerInfo
        self.deferred_split_queue = split_queue.DeferredSplit(
            f"{path or 'root'}.deferred_split_queue", self)
        self.css_refcnt = 1  # the base reference, dropped when the css is killed
        self.nr_pages = 0  # memory.current in pages
        self.stat = {"thp_fault_alloc": 0, "thp_collapse_alloc": 0}
        self.objcg_parent: MemCgroup | None = None  # set when its objcgs were reparented
        self.lru_folios: list = []  # its lruvecs' folios: the folios charged to it

    def __repr__(self) -> str:
        return f"<memcg {self.path}>"


# -- helpers (include/linux/memcontrol.h) -------------------------------------------------

def mem_cgroup_disabled(k) -> bool:
    """include/linux/memcontrol.h: mem_cgroup_disabled -- cgroup_disable=memory."""
    return k.cfg.memcg_disabled


def mem_cgroup_kmem_disabled(k) -> bool:
    """mm/memcontrol.c: mem_cgroup_kmem_disabled -- cgroup.memory=nokmem."""
    return k.cfg.nokmem


def memcg_kmem_online(k) -> bool:
    """include/linux/memcontrol.h: memcg_kmem_online (6.1: memcg_kmem_enabled) -- the static key
    the first kmem-online memcg turns on."""
    return k.memcg_kmem_online


def mem_cgroup_is_root(k, memcg: MemCgroup) -> bool:
    """include/linux/memcontrol.h: mem_cgroup_is_root."""
    return memcg is k.root_mem_cgroup


def mem_cgroup_online(memcg: MemCgroup) -> bool:
    """include/linux/memcontrol.h: mem_cgroup_online -- CSS_ONLINE."""
    return memcg.online


def css_is_dying(memcg: MemCgroup) -> bool:
    """include/linux/cgroup.h: css_is_dying -- true from rmdir on."""
    return memcg.dying


def parent_mem_cgroup(memcg: MemCgroup) -> MemCgroup | None:
    """include/linux/memcontrol.h: parent_mem_cgroup."""
    return memcg.parent


def memcg_kmem_id(memcg: MemCgroup | None) -> int:
    """include/linux/memcontrol.h: memcg_kmem_id -- -1 for NULL, root and nokmem memcgs."""
    return memcg.kmemcg_id if memcg is not None else -1


def folio_memcg(k, folio) -> MemCgroup | None:
    """include/linux/memcontrol.h: folio_memcg -- the memcg the folio is charged to (NULL when
    uncharged or with cgroup_disable=memory)."""
    return folio.memcg


def mem_cgroup_iter(k, root: MemCgroup | None) -> list[MemCgroup]:
    """mm/memcontrol.c: mem_cgroup_iter -- pre-order walk of root's subtree.

    Uses css_tryget, not css_tryget_online: offline memcgs that are not released yet (zombies)
    are visited too.  Returns [] when memcg is disabled (callers then use memcg NULL)."""
    if mem_cgroup_disabled(k):
        return []
    out, stack = [], [root or k.root_mem_cgroup]
    while stack:
        m = stack.pop()
        out.append(m)
        stack.extend(reversed(m.children))
    return out


def css_get(memcg: MemCgroup) -> None:
    """include/linux/cgroup.h: css_get."""
    memcg.css_refcnt += 1


def css_put(k, memcg: MemCgroup) -> None:
    """include/linux/cgroup.h: css_put -- the last put of an offline css releases it."""
    memcg.css_refcnt -= 1
    if memcg.css_refcnt == 0:
        mem_cgroup_css_released(k, memcg)


# -- life cycle ---------------------------------------------------------------------------

def mem_cgroup_css_alloc(k, parent: MemCgroup | None, path: str) -> MemCgroup:
    """mm/memcontrol.c: mem_cgroup_alloc / mem_cgroup_css_alloc -- kmemcg_id = -1, empty
    deferred-split queue."""
    k.last_memcg_id += 1
    memcg = MemCgroup(k.last_memcg_id, path, parent, k.cfg.nodes)
    if parent is not None:
        parent.children.append(memcg)
    k.memcgs[path] = memcg
    return memcg


def memcg_online_kmem(k, memcg: MemCgroup) -> None:
    """mm/memcontrol.c: memcg_online_kmem -- root and nokmem memcgs keep kmemcg_id -1."""
    if mem_cgroup_kmem_disabled(k) or mem_cgroup_is_root(k, memcg):
        return
    k.memcg_kmem_online = True
    memcg.kmemcg_id = memcg.id


def mem_cgroup_css_online(k, memcg: MemCgroup):
    """mm/memcontrol.c: mem_cgroup_css_online -- kmem first, then the shrinker bitmaps; an
    allocation failure makes the mkdir fail with -ENOMEM."""
    memcg_online_kmem(k, memcg)
    ok = yield from shrinker.alloc_shrinker_info(k, memcg)
    if not ok:
        return -12
    memcg.online = True
    return 0


def cgroup_mkdir(k, path: str):
    """kernel/cgroup/cgroup.c: cgroup_mkdir for a memory cgroup.  Returns 0 or -errno."""
    parent_path, _, _ = path.rpartition("/")
    parent = k.memcgs[parent_path] if parent_path else k.root_mem_cgroup
    yield "cgroup_mkdir"
    memcg = mem_cgroup_css_alloc(k, parent, path)
    if mem_cgroup_disabled(k):
        memcg.online = True  # a cgroup without the memory controller: nothing memcg-side
        return 0
    ret = yield from mem_cgroup_css_online(k, memcg)
    if ret:
        parent.children.remove(memcg)
        del k.memcgs[path]
    return ret


def cgroup_rmdir(k, memcg: MemCgroup):
    """kernel/cgroup/cgroup.c: cgroup_rmdir -> kill_css, then (after a grace period, in the
    offline worker; modelled on the same task) css_killed_work_fn -> offline_css.

    kill_css runs under cgroup_mutex together with rmdir's liveness check (the op's first
    step): a second rmdir of the same cgroup finds it dying, as cgroup_kn_lock_live would."""
    memcg.dying = True  # kill_css
    yield from synchronize_rcu(k)
    yield "css_killed_work_fn"
    if not mem_cgroup_disabled(k):
        yield from mem_cgroup_css_offline(k, memcg)
    memcg.online = False
    css_put(k, memcg)  # the base reference


def mem_cgroup_css_offline(k, memcg: MemCgroup):
    """mm/memcontrol.c: mem_cgroup_css_offline -- memcg_offline_kmem (list_lru reparenting),
    then reparent_deferred_split_queue (V1 only), then (7.1+) the LRU folios go to the parent,
    then reparent_shrinker_deferred."""
    yield from memcg_offline_kmem(k, memcg)
    if k.cfg.patch.reparent_split_queue and not k.cfg.patch.thp_list_lru:
        yield from split_queue.reparent_deferred_split_queue(k, memcg)
    if k.cfg.patch.lru_folio_reparent:
        # f1cf8d2f36dc "mm: memcontrol: eliminate the problem of dying memory cgroup for LRU
        # folios": memcg_reparent_objcgs -> lru_reparent_memcg, after the list_lru and
        # split-queue reparenting (with or without kmem: LRU folios are charged via objcgs)
        yield from lru_reparent_memcg(k, memcg, parent_mem_cgroup(memcg) or k.root_mem_cgroup)
    shrinker.reparent_shrinker_deferred(k, memcg)


def memcg_offline_kmem(k, memcg: MemCgroup):
    """mm/memcontrol.c: memcg_offline_kmem -- nothing for root or nokmem; else
    memcg_reparent_objcgs and memcg_reparent_list_lrus to the parent.  6.1 and 6.12 reparent
    the objcgs first; V1 and later the list_lrus first, so nobody resolves a still-child-listed
    item to the parent (flag objcg_reparent_first)."""
    if mem_cgroup_kmem_disabled(k) or mem_cgroup_is_root(k, memcg):
        return
    parent = parent_mem_cgroup(memcg) or k.root_mem_cgroup
    if k.cfg.patch.objcg_reparent_first:
        yield from memcg_reparent_objcgs(k, memcg, parent)
    yield from list_lru.memcg_reparent_list_lrus(k, memcg, parent)
    if not k.cfg.patch.objcg_reparent_first:
        yield from memcg_reparent_objcgs(k, memcg, parent)


def memcg_reparent_objcgs(k, memcg: MemCgroup, parent: MemCgroup):
    """mm/memcontrol.c: memcg_reparent_objcgs -- memcg's obj_cgroups now charge the parent, so
    slab objects allocated in memcg resolve to it (mem_cgroup_from_slab_obj)."""
    yield "memcg_reparent_objcgs"
    memcg.objcg_parent = parent


def lru_reparent_memcg(k, memcg: MemCgroup, parent: MemCgroup):
    """mm/memcontrol.c: memcg_reparent_objcgs -> lru_reparent_memcg (7.1, f1cf8d2f36dc) -- the
    objcg that charges memcg's LRU folios now points to the parent, so folio_memcg() of every
    folio of memcg is the parent from this step on (one pointer switch: all at once); the
    folios' charges and css references follow, so they no longer pin the dying memcg."""
    yield "lru_reparent_memcg"
    for folio in memcg.lru_folios:
        folio.memcg = parent
        parent.lru_folios.append(folio)
        css_get(parent)
        memcg.nr_pages -= folio.nr_pages
        parent.nr_pages += folio.nr_pages
        css_put(k, memcg)
    memcg.lru_folios = []


def mem_cgroup_css_released(k, memcg: MemCgroup) -> None:
    """mm/memcontrol.c: mem_cgroup_css_released / css_free -- the memcg leaves the tree and is
    freed after a grace period (free_shrinker_info included)."""
    WARN_ON(k, memcg.online, f"releasing online {memcg.path}")
    if memcg.parent is not None and memcg in memcg.parent.children:
        memcg.parent.children.remove(memcg)
    if k.memcgs.get(memcg.path) is memcg:
        del k.memcgs[memcg.path]
    k.released_memcgs.append(memcg)
    kvfree_rcu(k, memcg)


# -- charging -----------------------------------------------------------------------------

def mem_cgroup_charge(k, folio, memcg: MemCgroup | None):
    """mm/memcontrol.c: mem_cgroup_charge -- a no-op with cgroup_disable=memory.  Returns
    0 or -ENOMEM (the 'charge' allocation site)."""
    if mem_cgroup_disabled(k) or memcg is None:
        return 0
    ok = yield from may_fail("charge")
    if not ok:
        return -12
    folio.memcg = memcg
    memcg.lru_folios.append(folio)
    css_get(memcg)
    memcg.nr_pages += folio.nr_pages
    return 0


def mem_cgroup_uncharge(k, folio) -> None:
    """mm/memcontrol.c: mem_cgroup_uncharge -- runs after the deferred-split unqueue in the free
    path, so the unqueue still sees the memcg."""
    memcg = folio.memcg
    if memcg is None:
        return
    memcg.nr_pages -= folio.nr_pages
    memcg.lru_folios.remove(folio)
    folio.memcg = None
    css_put(k, memcg)


def mem_cgroup_uncharge_pages(k, folio, nr: int) -> None:
    """The uncharge of the subpages a split frees (mm/huge_memory.c: __split_huge_page ->
    free_page_and_swap_cache for unmapped tails)."""
    if folio.memcg is not None:
        folio.memcg.nr_pages -= nr
