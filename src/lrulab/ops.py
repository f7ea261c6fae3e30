"""What a scenario can do, as kernel calls.  Each op is a generator run on the current task.

A user-space name (folio ``f1``, item ``d1``) stands for whatever the program's mapping holds
now; an op on a mapping that is gone is a no-op, as the syscall would find nothing there.
Ops that change one process's mappings hold that mm's mmap_lock, as munmap does."""

from __future__ import annotations

from .kernel import huge_memory, khugepaged, lru_user, memory, migrate, rmap, vmscan
from .kernel import memcontrol as mc
from .kernel import memcontrol_v1 as mc1
from .kernel import shrinker as sh
from .kernel.config import make_config
from .kernel.folio import folio_lock, folio_put, folio_unlock
from .kernel.kernel import Kernel, boot, register_lru_user, unregister_lru_user
from .kernel.sched import SpinLock, run_sync, spin_lock, spin_unlock
from .scenario import Op, Scenario


def build_kernel(sc: Scenario) -> Kernel:
    """Boot the scenario's kernel and create its memcgs (online, in order)."""
    ks = sc.kernel
    k = boot(make_config(ks.variant, ks.patches, ks.boot, ks.nodes, ks.sysfs, kconfig=ks.kconfig,
                         cgroup=ks.cgroup),
             ks.lrus, ks.shrinkers)
    for path in sc.memcgs:
        run_sync(k, mc.cgroup_mkdir(k, path))
    return k


def memcg_of(k: Kernel, path: str):
    """The memcg of cgroup ``path``; None with memcg disabled."""
    if mc.mem_cgroup_disabled(k):
        return None
    return k.root_mem_cgroup if path == "root" else k.memcgs.get(path)


_ERRNO = {-mc.EBUSY: "-EBUSY", -mc.ENOENT: "-ENOENT", -mc.ENODEV: "-ENODEV",
          -mc.ENOMEM: "-ENOMEM"}


def _mmap_lock(k: Kernel, name: str) -> SpinLock:
    lock = k.mmap_locks.get(name)
    if lock is None:
        lock = k.mmap_locks[name] = SpinLock(f"mm({name}).mmap_lock")
    return lock


def _follow_page(k: Kernel, name: str):
    """mm/gup.c: follow_page (folio_walk_start in 6.12) and try_grab_folio, under the page
    table lock: one atomic step that finds the folio mapped at the range and takes a reference,
    or nothing -- the mapping is gone, or a migration or split entry stands there (the folio
    frozen at refcount 0, or unmapped by try_to_migrate and not yet frozen: follow_page finds
    a non-present entry), where GUP would wait and retry; the model takes nothing then."""
    yield "follow_page"
    folio = _live(k, name)
    if folio is None or not (folio.pmd_mapped or folio.nr_pages_mapped) or folio.refcount <= 0 \
            or folio.migration:
        return None
    folio.refcount += 1
    return folio


def _follow_page_mmap_locked(k: Kernel, name: str):
    """_follow_page between mmap_read_lock and mmap_read_unlock, as get_user_pages and
    move_pages' add_page_for_migration take their reference: the folio, pinned, or None."""
    lock = _mmap_lock(k, name)
    yield from spin_lock(k, lock)
    folio = yield from _follow_page(k, name)
    spin_unlock(k, lock)
    return folio


def _live(k: Kernel, name: str):
    f = k.folios.get(name)
    return None if f is None or f.freed else f


def run_op(k: Kernel, op: Op):
    """The generator for one scenario op.  Returns a short result string."""
    a = op.args
    kind = op.kind
    if kind == "mkdir":
        ret = yield from mc.cgroup_mkdir(k, a["path"])
        return "ok" if ret == 0 else _ERRNO[ret]
    if kind == "rmdir":
        m = k.memcgs.get(a["path"])
        if m is None or m.dying:
            return "-ENOENT"  # the path lookup finds no cgroup
        mc.cgroup_migrate_tasks(k, m)  # its tasks go to the root cgroup first, as in conform
        ret = yield from mc.cgroup_rmdir(k, m)
        return "ok" if ret == 0 else _ERRNO[ret]
    if kind in ("fault", "collapse", "lru_add"):
        # the op's task is attached to its cgroup while the op runs (docs/scenarios.md)
        path = a["memcg"]
        cg = None if path == "root" else k.memcgs.get(path)  # None: the root cgroup
        ret = -mc.ENOENT if path != "root" and cg is None else mc.cgroup_attach_task(k, cg)
        if ret:
            return f"{_ERRNO[ret]} (cgroup.procs of {path})"
        gen = cg.procs_gen if cg is not None else 0
        owner = None if mc.mem_cgroup_disabled(k) else mc.TaskCgroup(cg or k.root_mem_cgroup, gen)
        res = yield from _run_task_op(k, op, owner)
        mc.cgroup_detach_task(k, cg, gen)
        return res
    return (yield from _run_op(k, op))


def _run_task_op(k: Kernel, op: Op, owner):
    """The ops a task attached to ``memcg`` runs; ``owner`` is that task (mc.TaskCgroup, None
    with memcg disabled): the kernel code looks its memcg up when it charges, so a racing
    rmdir that moved the task to root is seen."""
    a = op.args
    kind = op.kind
    if kind == "fault":
        kind = a.get("kind", "anon")
        folio = yield from memory.handle_mm_fault(
            k, a["as"], owner, a["node"], a["order"],
            a.get("written", 1 << a["order"]), kind)
        k.folios[a["as"]] = folio
        if kind == "hugetlb":
            return "hugetlb folio" if folio is not None else "SIGBUS (no huge page)"
        if kind in ("shmem", "file"):
            what = "shmem THP" if kind == "shmem" else "page-cache large folio"
            return what if folio is not None else "fallback to small pages"
        return "THP" if folio is not None else "fallback to small pages"
    if kind == "collapse":
        result, folio = yield from khugepaged.collapse_huge_page(
            k, a["as"], owner, a["node"], a.get("written", 512))
        k.folios[a["as"]] = folio
        k.results.append((op.text(), result, folio is not None and folio.pmd_mapped))
        return result
    assert kind == "lru_add", kind
    user = k.lrus.get(a["lru"])
    if user is None:
        return "no such lru (not registered)"
    obj = user.items.get(a["item"])
    if obj is None:
        obj = yield from lru_user.kmem_cache_alloc_lru(
            k, user, a["item"], a["node"], owner)
        if obj is None:
            return "-ENOMEM"
    added = yield from lru_user.list_lru_add_obj(k, user, obj)
    return "added" if added else "already on the lru"


def _run_op(k: Kernel, op: Op):
    """The ops that name no cgroup of their own."""
    a = op.args
    kind = op.kind
    if kind in ("partial_unmap", "unmap"):
        lock = _mmap_lock(k, a["folio"])
        yield from spin_lock(k, lock)
        folio = _live(k, a["folio"])
        res = "nothing mapped"
        if folio is not None and (folio.pmd_mapped or folio.nr_pages_mapped):
            if kind == "partial_unmap":
                nr = yield from rmap.zap_partial(k, folio)
                res = f"unmapped {nr} pages"
            else:
                yield from rmap.zap_all(k, folio)
                res = "unmapped"
        spin_unlock(k, lock)
        return res
    if kind == "get":
        # mm/gup.c: get_user_pages -- under the mm's mmap_lock the page-table walk finds only
        # a folio that is still mapped, and try_grab_folio fails on a frozen (being split or
        # migrated) or freed one: then no pin is taken, as GUP returns nothing for that page
        folio = yield from _follow_page_mmap_locked(k, a["folio"])
        if folio is None:
            return "gone"
        k.pins.setdefault(a["folio"], []).append(folio)
        return "pinned"
    if kind == "put":
        # unpin_user_page: only a pin this program took (a get that found the folio)
        pins = k.pins.get(a["folio"])
        if not pins:
            return "not pinned"
        folio = pins.pop()
        if not pins:
            del k.pins[a["folio"]]
        yield from folio_put(k, folio)
        return "freed" if folio.freed else "unpinned"
    if kind == "split":
        # mm/huge_memory.c: split_huge_pages_pid (debugfs) -- under mmap_read_lock, so a
        # munmap of the range waits for it: follow_page(FOLL_GET) finds the folio through the
        # page tables and takes its reference in the same step (a folio no longer mapped, or
        # under migration, is not found; a migration, which runs without mmap_lock, cannot
        # free it after the lookup), then lock, split_huge_page, unlock, put.  order N > 0:
        # split_folio_to_order (6.9+, c010d47f107f; the scenario refuses it before): a
        # folio whose order is not above N is skipped, as split_huge_pages_pid does
        lock = _mmap_lock(k, a["folio"])
        yield from spin_lock(k, lock)
        folio = yield from _follow_page(k, a["folio"])
        ret = None
        new_order = a.get("order", 0)
        if folio is not None and new_order and folio.order <= new_order:
            yield from folio_put(k, folio)
            spin_unlock(k, lock)
            return f"not above order {new_order}"
        if folio is not None:
            yield from folio_lock(k, folio)
            ret = yield from huge_memory.split_huge_page(k, folio, new_order)
            folio_unlock(k, folio)
            yield from folio_put(k, folio)
        spin_unlock(k, lock)
        if ret is None:
            return "gone"
        return "split" if ret == 0 else f"failed ({ret})"
    if kind == "migrate":
        # move_pages(2): add_page_for_migration finds the folio through the page tables and
        # takes its reference under mmap_read_lock (a folio no longer mapped is not found);
        # the migration itself runs after the lock is dropped
        folio = yield from _follow_page_mmap_locked(k, a["folio"])
        if folio is None:
            return "gone"
        if folio.split:
            yield from folio_put(k, folio)
            return "not a large folio"
        if folio.isolated:  # folio_isolate_lru fails: reclaim or charge moving holds it
            yield from folio_put(k, folio)
            return "-EBUSY (isolated)"
        folio.isolated = True
        dst = yield from migrate.migrate_pages(k, folio, a["node"], a["folio"], isolated=True)
        folio.isolated = False  # putback_movable_pages, or the freed source
        if dst is None:
            return "failed"
        k.folios[a["folio"]] = dst
        return f"moved to node {a['node']}"
    if kind == "reclaim":
        m = k.memcgs.get(a["memcg"])
        if a["memcg"] != "root" and (m is None or m.dying):
            return "-ENOENT"  # memory.reclaim of a removed cgroup is gone
        yield from reclaim(k, a)
        return "done"
    if kind == "swapout":
        # reclaim (kswapd, or MADV_PAGEOUT's reclaim_pages) finds the folio on its LRU, not
        # through the page tables: no mmap_lock (try_to_unmap walks the rmap)
        folio = _live(k, a["folio"])
        if folio is None:
            return "gone"
        return (yield from vmscan.shrink_folio_list(k, folio))
    if kind == "charge_move":
        return (yield from _charge_move(k, a["folio"], a["to"]))
    if kind == "lru_del":
        user = k.lrus.get(a["lru"])
        if user is None:
            return "no such lru (not registered)"
        obj = user.items.get(a["item"])
        if obj is None or obj.freed:
            return "gone"
        deleted = yield from lru_user.list_lru_del_obj(k, user, obj)
        return "deleted" if deleted else "not on the lru"
    if kind == "register":
        # a mount (fs/super.c: alloc_super, sget_fc): shrinker_alloc (an id, every memcg's
        # shrinker_info expanded when it crosses a 64-id boundary), list_lru_init_memcg,
        # shrinker_register
        flags = a.get("flags", [])
        yield "register"
        user = yield from register_lru_user(k, a["lru"], a.get("memcg_aware",
                                                               "memcg_aware" in flags), flags)
        return f"registered (shrinker id {user.shrinker.id})" \
            if user.shrinker.flags & sh.SHRINKER_MEMCG_AWARE else "registered (not memcg-aware)"
    if kind == "unregister":
        yield "unregister"
        gone = yield from unregister_lru_user(k, a["lru"])
        return "unregistered" if gone else "no such lru (not registered)"
    raise AssertionError(kind)


def _charge_move(k: Kernel, name: str, to_path: str):
    """cgroup v1: the process mapping ``name`` is written into ``to_path``'s cgroup.procs, whose
    memory.move_charge_at_immigrate is 1 (docs/scenarios.md).  The process is in the memcg F
    is charged to (its task faulted F there), or in root once that memcg was removed (rmdir
    moved its tasks out).  cgroup_procs_write attaches the task (-ENOENT for a removed
    cgroup); mem_cgroup_move_task then walks the range under mmap_read_lock and moves the
    charges found charged to the old memcg (mem_cgroup_move_charge_pte_range)."""
    if mc1.move_charge_at_immigrate_write(k):
        return "-EINVAL (memory.move_charge_at_immigrate)"
    to = k.root_mem_cgroup if to_path == "root" else k.memcgs.get(to_path)
    ret = -mc.ENOENT if to is None else mc.cgroup_attach_task(
        k, None if to_path == "root" else to)
    if ret:
        return f"{_ERRNO[ret]} (cgroup.procs of {to_path})"
    gen = to.procs_gen
    folio = _live(k, name)
    from_ = mc.folio_memcg(k, folio) if folio is not None else None
    if from_ is None or mc.css_is_dying(from_):
        from_ = k.root_mem_cgroup  # mem_cgroup_from_task: the task's memcg
    res = "nothing to move"
    if from_ is not to:  # mem_cgroup_can_attach: moving within one memcg moves nothing
        lock = _mmap_lock(k, name)
        yield from spin_lock(k, lock)  # mmap_read_lock(mc.mm)
        res = yield from mc1.mem_cgroup_move_charge_pte_range(k, lambda: _live(k, name), from_, to)
        spin_unlock(k, lock)
    if to_path != "root":
        mc.cgroup_detach_task(k, to, gen)
    return res


def reclaim(k: Kernel, a: dict):
    """The reclaim op (docs/scenarios.md):
    - priority P given: one shrink_node pass at P on the node(s), target's subtree;
    - memcg M, node all: memory.reclaim (memory_reclaim: 17 calls of
      try_to_free_mem_cgroup_pages);
    - memcg M, node N: one try_to_free_mem_cgroup_pages restricted to node N;
    - root, node all, no by: drop_caches=2 (drop_slab);
    - root, by: kswapd: balance_pgdat of the node (each node for 'all'), priorities 12 -> 1;
    - root, node N or by: direct: direct reclaim, do_try_to_free_pages (12 -> 0, retried once
      from 6.11).
    With cgroup_disable=memory every reclaim is global.  nr_to_scan: each shrinker call scans
    exactly that many objects."""
    limit = a.get("nr_to_scan")
    nodes = k.cfg.node_ids if a["node"] == "all" else [a["node"]]
    is_root = a["memcg"] == "root" or mc.mem_cgroup_disabled(k)
    target = None if is_root else memcg_of(k, a["memcg"])
    by = a.get("by")
    yield "reclaim"
    if "priority" in a:
        for nid in nodes:
            yield from vmscan.shrink_node(k, nid, target, a["priority"], limit)
    elif is_root and by == "kswapd":
        for nid in nodes:
            yield from vmscan.balance_pgdat(k, nid, limit)
    elif is_root and a["node"] == "all" and limit is None and by is None:
        yield from vmscan.drop_slab(k)
    elif is_root:
        yield from vmscan.do_try_to_free_pages(k, nodes, None, limit)
    elif a["node"] == "all":
        yield from vmscan.memory_reclaim(k, target, limit)
    else:
        yield from vmscan.try_to_free_mem_cgroup_pages(k, target, nodes, limit)
