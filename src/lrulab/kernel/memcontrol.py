"""mm/memcontrol.c (and the css life cycle of kernel/cgroup/cgroup.c): the memcg tree.

Life cycle of a memcg: ``mkdir`` allocates it (``init_and_link_css``: it pins its parent's css)
and brings it online (``memcg_online_kmem`` gives it a ``kmemcg_id``, ``alloc_shrinker_info``
its per-node shrinker bitmaps; ``online_css`` counts it in its own and its parent's
``online_cnt``).  ``rmdir`` fails with -EBUSY while the cgroup has tasks or online children
(``cgroup_destroy_locked``); else it kills the css (``css_is_dying`` from then on).  An RCU
grace period later ``css_killed_ref_fn`` drops its ``online_cnt``; at zero ``css_killed_work_fn``
offlines it (the reparenting hooks, then ``CSS_ONLINE`` cleared) and walks up, offlining each
killed ancestor whose ``online_cnt`` drops to zero: a parent goes offline after its children.
When the last reference (each charged folio and each child holds one) goes, the memcg is
released and freed, and drops its reference on its parent.

Tasks (cgroup v2, Documentation/admin-guide/cgroup-v2.rst): a scenario op "by a task of M"
(fault, collapse, lru_add with ``memcg: M``) attaches its task to M when it starts
(``cgroup_attach_task``) and leaves M when it ends; the attach fails with -ENOENT when M was
removed and with -EBUSY when M distributes memory to children (the no-internal-process rule:
memory is in its ``cgroup.subtree_control`` from its first child's mkdir on).  An rmdir of M
first moves M's tasks to the root cgroup, as the conformance harness does
(``cgroup_migrate_tasks``).  An op already running charges the memcg its task is in when it
charges, not when it started (``get_mem_cgroup_from_mm``: the memcg of ``mm->owner``'s css_set,
pinned with ``css_tryget`` under RCU): once the rmdir moved the task, that is root.
"""

from __future__ import annotations

from . import list_lru, shrinker, split_queue
from .sched import (
    READ_ONCE,
    WARN_ON,
    WRITE_ONCE,
    KObject,
    kernel_holds,
    kvfree_rcu,
    may_fail,
    rcu_read_lock,
    rcu_read_unlock,
    spin_lock,
    spin_unlock,
    synchronize_rcu,
)

EBUSY, ENOENT, ENODEV, ENOMEM = 16, 2, 19, 12


class MemCgroup(KObject):
    """``struct mem_cgroup`` with the parts of its css that matter here."""

    __slots__ = ("id", "path", "parent", "children", "online", "dying", "kmemcg_id",
                 "shrinker_info", "deferred_split_queue", "css_refcnt", "nr_pages", "stat",
                 "objcg_parent", "lru_folios", "online_cnt", "nr_tasks", "procs_gen",
                 "subtree_control")
    # fields every kernel access of which is marked (KCSAN, sched.py): css.refcnt is a
    # percpu_ref, css->online_cnt an atomic_t, memory.current a page_counter (atomic_long),
    # the stats per-cpu counters; objcg_parent stands for objcg->memcg, read with READ_ONCE
    # (obj_cgroup_memcg) and switched with WRITE_ONCE (memcg_reparent_objcgs)
    __marked__ = ("css_refcnt", "online_cnt", "nr_pages", "stat", "objcg_parent")

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
        self.online_cnt = 0  # css->online_cnt: itself while not killed + its online children
        self.nr_tasks = 0  # tasks attached to the cgroup (cgroup_is_populated)
        self.procs_gen = 0  # bumped when its tasks are moved out (see cgroup_migrate_tasks)
        self.subtree_control = False  # memory enabled for its children (cgroup.subtree_control)

    def __repr__(self) -> str:
        return f"<memcg {self.path}>"


# -- helpers (include/linux/memcontrol.h) -------------------------------------------------

def mem_cgroup_disabled(k) -> bool:
    """include/linux/memcontrol.h: mem_cgroup_disabled -- cgroup_disable=memory."""
    return k.cfg.memcg_disabled


def mem_cgroup_kmem_disabled(k) -> bool:
    """mm/memcontrol.c: mem_cgroup_kmem_disabled -- cgroup.memory=nokmem."""
    return k.cfg.nokmem


def memcg_kmem_built(k) -> bool:
    """init/Kconfig: CONFIG_MEMCG_KMEM -- whether the kernel was built with kmem accounting
    (the scenario's kernel.config); without it memcontrol.h's kmem helpers are stubs."""
    return k.cfg.memcg_kmem


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
    uncharged or with cgroup_disable=memory).  With lru_folio_reparent (7.1) it goes through
    the folio's objcg: obj_cgroup_memcg's READ_ONCE(objcg->memcg)."""
    if k.cfg.patch.lru_folio_reparent:
        return READ_ONCE(folio, "memcg")
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


def mem_cgroup_iter_pinned(k, root: MemCgroup | None):
    """mm/memcontrol.c: the ``mem_cgroup_iter(root, prev, NULL)`` loop of reclaim -- each memcg
    of root's subtree is handed out with a css reference (css_tryget; a memcg released
    meanwhile is skipped) that the next call drops (css_put(prev)), so rmdir cannot free the
    memcg reclaim is visiting.  Yields None once with memcg disabled."""
    memcgs = mem_cgroup_iter(k, root)
    if not memcgs:
        yield None
        return
    for memcg in memcgs:
        if not css_tryget(memcg):
            continue
        yield memcg
        css_put(k, memcg)


def css_get(memcg: MemCgroup) -> None:
    """include/linux/cgroup.h: css_get."""
    memcg.css_refcnt += 1


def css_tryget(memcg: MemCgroup) -> bool:
    """include/linux/cgroup.h: css_tryget -- fails once the last reference is gone."""
    if memcg.css_refcnt <= 0:
        return False
    memcg.css_refcnt += 1
    return True


def css_put(k, memcg: MemCgroup) -> None:
    """include/linux/cgroup.h: css_put -- the last put of an offline css releases it."""
    memcg.css_refcnt -= 1
    if memcg.css_refcnt == 0:
        mem_cgroup_css_released(k, memcg)


# -- life cycle ---------------------------------------------------------------------------

def mem_cgroup_id_alloc(k) -> int:
    """mm/memcontrol.c: mem_cgroup_alloc -> idr_alloc(&mem_cgroup_idr, NULL, 1,
    MEM_CGROUP_ID_MAX + 1): the lowest free id, so a new memcg takes the id (and, as
    memcg_online_kmem reuses it, the kmemcg_id: 5.18's "mm: memcontrol: reuse memory cgroup
    ID for kmem ID"; before it memcg_alloc_cache_id's ida, also lowest-free and also freed at
    offline) of a memcg whose id was removed at its offline, while that memcg may still be a
    zombie."""
    mid = 1
    while mid in k.memcg_ids:
        mid += 1
    k.memcg_ids.add(mid)
    return mid


def mem_cgroup_id_remove(k, memcg: MemCgroup) -> None:
    """mm/memcontrol.c: mem_cgroup_id_put -> mem_cgroup_id_remove -- css_offline drops the id
    reference taken at online; with no swap entries holding more (the model has none) the id
    leaves mem_cgroup_idr there and a later mkdir may take it."""
    k.memcg_ids.discard(memcg.id)


def mem_cgroup_css_alloc(k, parent: MemCgroup | None, path: str) -> MemCgroup:
    """mm/memcontrol.c: mem_cgroup_alloc / mem_cgroup_css_alloc -- kmemcg_id = -1, empty
    deferred-split queue; kernel/cgroup/cgroup.c: init_and_link_css -- css_get(parent)."""
    memcg = MemCgroup(mem_cgroup_id_alloc(k), path, parent, k.cfg.nodes)
    if parent is not None:
        css_get(parent)
        parent.children.append(memcg)
    k.memcgs[path] = memcg
    return memcg


def memcg_online_kmem(k, memcg: MemCgroup) -> None:
    """mm/memcontrol.c: memcg_online_kmem -- root and nokmem memcgs keep kmemcg_id -1 (and
    every memcg with CONFIG_MEMCG_KMEM=n, where it is an empty stub)."""
    if not memcg_kmem_built(k) or mem_cgroup_kmem_disabled(k) or mem_cgroup_is_root(k, memcg):
        return
    k.memcg_kmem_online = True
    memcg.kmemcg_id = memcg.id


def mem_cgroup_css_online(k, memcg: MemCgroup):
    """mm/memcontrol.c: mem_cgroup_css_online -- kmem first, then the shrinker bitmaps; an
    allocation failure makes the mkdir fail with -ENOMEM."""
    memcg_online_kmem(k, memcg)
    ok = yield from shrinker.alloc_shrinker_info(k, memcg)
    if not ok:
        return -ENOMEM
    return 0


def online_css(k, memcg: MemCgroup) -> None:
    """kernel/cgroup/cgroup.c: online_css -- CSS_ONLINE, and online_cnt of the css and of its
    parent (so the parent is offlined only after this css)."""
    memcg.online = True
    memcg.online_cnt += 1
    if memcg.parent is not None:
        memcg.parent.online_cnt += 1


def cgroup_mkdir(k, path: str):
    """kernel/cgroup/cgroup.c: cgroup_mkdir for a memory cgroup, after the parent got memory in
    its cgroup.subtree_control (what ``mkdir`` means in a scenario, as in the conformance
    harness).  Returns 0 or -errno: -ENOENT when the path lookup finds no parent (removed
    before the mkdir), -ENODEV when cgroup_kn_lock_live finds it dead (removed after the
    lookup), -EBUSY when enabling memory in the parent's subtree_control finds tasks in it
    (cgroup_vet_subtree_control_enable), -ENOMEM."""
    parent_path, _, _ = path.rpartition("/")
    parent = k.memcgs.get(parent_path) if parent_path else k.root_mem_cgroup
    if parent_path and (parent is None or css_is_dying(parent)):
        return -ENOENT  # the VFS lookup of the parent directory fails
    yield from spin_lock(k, k.cgroup_mutex)  # cgroup_kn_lock_live(parent)
    if parent is not None and css_is_dying(parent):
        spin_unlock(k, k.cgroup_mutex)
        return -ENODEV
    if parent is not None and not parent.subtree_control and not k.cfg.cgroup_v1:
        # (cgroup v1 has no subtree_control: a cgroup with tasks may get children)
        # cgroup_subtree_control_write "+memory" -> cgroup_vet_subtree_control_enable
        if not mem_cgroup_is_root(k, parent) and parent.nr_tasks:
            spin_unlock(k, k.cgroup_mutex)
            return -EBUSY
        parent.subtree_control = True
    memcg = mem_cgroup_css_alloc(k, parent, path)
    ret = 0
    if not mem_cgroup_disabled(k):  # a cgroup without the memory controller: no memcg side
        ret = yield from mem_cgroup_css_online(k, memcg)
    if ret:
        parent.children.remove(memcg)
        del k.memcgs[path]
        mem_cgroup_id_remove(k, memcg)  # mem_cgroup_free of the failed memcg
        css_put(k, parent)  # css_free_rwork_fn of the failed css
    else:
        online_css(k, memcg)
    spin_unlock(k, k.cgroup_mutex)
    return ret


class TaskCgroup:
    """A scenario op's task as the memcg code finds it through ``mm->owner``
    (``task->cgroups``, its css_set): the cgroup the op attached it to, and that cgroup's
    ``procs_gen`` then -- an rmdir's cgroup_migrate_tasks bumps it when it moves the task to
    the root cgroup.  Plain data, so that a state that differs in it differs in fingerprint."""

    __slots__ = ("memcg", "procs_gen")

    def __init__(self, memcg: MemCgroup, procs_gen: int):
        self.memcg = memcg
        self.procs_gen = procs_gen


def mem_cgroup_from_task(k, owner) -> MemCgroup:
    """mm/memcontrol.c: mem_cgroup_from_task -- the memcg of the task's css_set, read under
    RCU.  ``owner`` is a scenario op's TaskCgroup (root once an rmdir moved the task out) or a
    memcg its task never leaves (the simulator's processes, unit tests)."""
    if isinstance(owner, TaskCgroup):
        if owner.memcg.procs_gen != owner.procs_gen:
            return k.root_mem_cgroup  # cgroup_migrate_tasks moved it
        return owner.memcg
    return owner


def cgroup_attach_task(k, memcg: MemCgroup | None) -> int:
    """kernel/cgroup/cgroup.c: __cgroup_procs_write -> cgroup_attach_task, for the task of a
    scenario op that names its memcg (it leaves again through cgroup_detach_task when the op
    ends).  -ENOENT: the cgroup was removed (its cgroup.procs is gone); -EBUSY: cgroup v2's
    no-internal-process rule (cgroup_migrate_vet_dst: a non-root cgroup with controllers in
    its subtree_control takes no tasks).  None is the root cgroup.  Returns 0 or -errno."""
    if memcg is None:
        return 0
    with kernel_holds(k, k.cgroup_mutex):  # cgroup_procs_write_start: cgroup_kn_lock_live
        if css_is_dying(memcg):
            return -ENOENT
        if memcg.subtree_control and not mem_cgroup_is_root(k, memcg) and \
                not mem_cgroup_disabled(k) and not k.cfg.cgroup_v1:
            return -EBUSY
        memcg.nr_tasks += 1
    return 0


def cgroup_detach_task(k, memcg: MemCgroup | None, procs_gen: int) -> None:
    """kernel/cgroup/cgroup.c: cgroup_exit (or cgroup_attach_task elsewhere) -- the task of a
    scenario op leaves its cgroup when the op ends, unless an rmdir moved it out already
    (procs_gen: the cgroup's generation when the task was attached); its memory stays
    charged."""
    if memcg is not None and memcg.procs_gen == procs_gen:
        memcg.nr_tasks -= 1


def cgroup_migrate_tasks(k, memcg: MemCgroup) -> None:
    """kernel/cgroup/cgroup.c: __cgroup_procs_write of the root cgroup for each task of memcg
    (the harness moves a cgroup's worker out before its rmdir); the memory stays charged."""
    memcg.nr_tasks = 0
    memcg.procs_gen += 1


def cgroup_rmdir(k, memcg: MemCgroup):
    """kernel/cgroup/cgroup.c: cgroup_rmdir -> cgroup_destroy_locked under cgroup_mutex: -EBUSY
    while the cgroup is populated (a task attached) or has an online child
    (css_has_online_children: a removed child no longer counts), -ENOENT when another rmdir
    removed it first; else its self css goes offline and kill_css makes the memory css dying.
    After the grace period of percpu_ref_kill_and_confirm, css_killed_ref_fn drops online_cnt
    and, at zero, runs css_killed_work_fn (modelled on the same task; the offline worker in
    the kernel).  Returns 0 or -errno."""
    yield from spin_lock(k, k.cgroup_mutex)  # cgroup_kn_lock_live
    if css_is_dying(memcg):
        spin_unlock(k, k.cgroup_mutex)
        return -ENOENT
    if memcg.nr_tasks or css_has_online_children(memcg):
        spin_unlock(k, k.cgroup_mutex)
        return -EBUSY
    memcg.dying = True  # self CSS_ONLINE cleared, kill_css
    spin_unlock(k, k.cgroup_mutex)
    yield from synchronize_rcu(k)
    # css_killed_ref_fn
    memcg.online_cnt -= 1
    if memcg.online_cnt == 0:
        yield from css_killed_work_fn(k, memcg)
    return 0


def css_has_online_children(memcg: MemCgroup) -> bool:
    """kernel/cgroup/cgroup.c: css_has_online_children (of the cgroup's self css, whose
    CSS_ONLINE rmdir clears at once: a removed child no longer counts)."""
    for child in memcg.children:
        if not css_is_dying(child):
            return True
    return False


def css_killed_work_fn(k, memcg: MemCgroup):
    """kernel/cgroup/cgroup.c: css_killed_work_fn -- under cgroup_mutex: offline_css, drop the
    base reference, then the parent if it was killed and this was its last online child."""
    yield from spin_lock(k, k.cgroup_mutex)
    while True:
        # offline_css
        if not mem_cgroup_disabled(k):
            yield from mem_cgroup_css_offline(k, memcg)
        memcg.online = False
        parent = memcg.parent
        css_put(k, memcg)  # the base reference
        memcg = parent
        if memcg is None:
            break
        memcg.online_cnt -= 1
        if memcg.online_cnt:
            break
    spin_unlock(k, k.cgroup_mutex)


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
    mem_cgroup_id_remove(k, memcg)


def memcg_offline_kmem(k, memcg: MemCgroup):
    """mm/memcontrol.c: memcg_offline_kmem -- nothing for root or nokmem; else
    memcg_reparent_objcgs and memcg_reparent_list_lrus to the parent.  6.1 and 6.12 reparent
    the objcgs first; V1 and later the list_lrus first, so nobody resolves a still-child-listed
    item to the parent (flag objcg_reparent_first)."""
    if not memcg_kmem_built(k) or mem_cgroup_kmem_disabled(k) or mem_cgroup_is_root(k, memcg):
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
        WRITE_ONCE(folio, "memcg", parent)  # WRITE_ONCE(objcg->memcg, parent): all at once
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
    parent = memcg.parent
    if parent is not None and memcg in parent.children:
        parent.children.remove(memcg)
    if k.memcgs.get(memcg.path) is memcg:
        del k.memcgs[memcg.path]
    k.released_memcgs.append(memcg)
    kvfree_rcu(k, memcg)
    if parent is not None:
        css_put(k, parent)  # css_free_rwork_fn: the child's pin on its parent


# -- charging -----------------------------------------------------------------------------

def get_mem_cgroup_from_mm(k, mm):
    """mm/memcontrol.c: get_mem_cgroup_from_mm -- under rcu_read_lock, the memcg of
    ``mm->owner`` (mem_cgroup_from_task), pinned with css_tryget, read again while the tryget
    fails (the css was released: the task has moved on).  It runs in the step after the
    caller's allocation, so another CPU's rmdir may have moved the task to root before it.
    The read and the first tryget are one step: the css a reader finds cannot be released
    before the tryget, because its base reference goes only after a grace period
    (css_killed_ref_fn) that waits for this reader.  ``mm`` is what mem_cgroup_from_task
    takes.  Returns the memcg with a reference the caller drops."""
    rcu_read_lock(k)
    memcg = mem_cgroup_from_task(k, mm)
    while not css_tryget(memcg):
        yield "get_mem_cgroup_from_mm"  # retry, as the kernel's do-while loop
        memcg = mem_cgroup_from_task(k, mm)
    rcu_read_unlock(k)
    return memcg


def mem_cgroup_charge(k, folio, mm):
    """mm/memcontrol.c: mem_cgroup_charge -> __mem_cgroup_charge (5.17+; 6.1 .. 7.x): the memcg
    looked up from the mm now (get_mem_cgroup_from_mm), charge_memcg, then the lookup's
    reference dropped (the folio keeps its own).  A no-op with cgroup_disable=memory or
    without an mm owner's memcg (None).  Returns 0 or -ENOMEM (the 'charge' allocation
    site)."""
    if mem_cgroup_disabled(k) or mm is None:
        return 0
    memcg = yield from get_mem_cgroup_from_mm(k, mm)
    ret = yield from charge_memcg(k, folio, memcg)
    css_put(k, memcg)
    return ret


def charge_memcg(k, folio, memcg: MemCgroup):
    """mm/memcontrol.c: charge_memcg -- try_charge (the 'charge' allocation site), then
    css_get and commit_charge: the folio pins its memcg."""
    ok = yield from may_fail("charge")
    if not ok:
        return -ENOMEM
    css_get(memcg)
    folio.memcg = memcg
    memcg.lru_folios.append(folio)
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
