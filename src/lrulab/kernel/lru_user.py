"""A generic list_lru user (fs/dcache.c style): objects charged to a memcg (through their
obj_cgroup), added on release, isolated and freed by their shrinker."""

from __future__ import annotations

from . import list_lru as ll
from . import memcontrol as mc
from .list import ListHead, list_del_init
from .sched import KObject, kfree, rcu_read_lock, rcu_read_unlock
from .shrinker import SHRINK_EMPTY


class LruObject(KObject):
    """A shrinkable slab object (a dentry) with its lru link."""

    __slots__ = ("name", "nid", "memcg", "lru")

    def __init__(self, name: str, nid: int, memcg):
        super().__init__()
        self.name = name
        self.nid = nid
        self.memcg = memcg  # the memcg of its obj_cgroup at allocation
        self.lru = ListHead(f"{name}.d_lru", container=self)

    def __repr__(self) -> str:
        return f"<object {self.name}>"


def mem_cgroup_from_slab_obj(k, obj: LruObject):
    """mm/memcontrol.c: mem_cgroup_from_slab_obj -- obj_cgroup_memcg of the object's objcg,
    which memcg_reparent_objcgs points at the parent when the memcg goes offline."""
    memcg = obj.memcg
    if mc.mem_cgroup_disabled(k) or mc.mem_cgroup_kmem_disabled(k) or not mc.memcg_kmem_built(k):
        return None
    while memcg is not None and memcg.objcg_parent is not None:
        memcg = memcg.objcg_parent
    return memcg


def kmem_cache_alloc_lru(k, user, name: str, nid: int, owner):
    """mm/slub.c: kmem_cache_alloc_lru -> slab_pre_alloc_hook -> memcg_slab_pre_alloc_hook:
    the obj_cgroup of the allocating task's memcg (get_obj_cgroup_from_current, under RCU:
    ``owner`` as mm/memcontrol.c: mem_cgroup_from_task takes it), then for an lru cache
    memcg_list_lru_alloc for that memcg, pinned meanwhile (get_mem_cgroup_from_objcg ...
    css_put), so a racing rmdir cannot free it under the allocation."""
    yield "kmem_cache_alloc_lru"
    memcg = None if owner is None else mc.mem_cgroup_from_task(k, owner)
    if not mc.mem_cgroup_disabled(k) and memcg is not None and not mc.mem_cgroup_kmem_disabled(k) \
            and mc.memcg_kmem_built(k):
        mc.css_get(memcg)  # the task's css_set (or root) holds one: it cannot be gone yet
        ret = yield from ll.memcg_list_lru_alloc(k, memcg, user.lru)
        mc.css_put(k, memcg)
        if ret:
            return None
    obj = LruObject(name, nid, memcg)
    user.items[name] = obj
    return obj


def _obj_memcg_protected(k) -> bool:
    """Whether an RCU read-side section covers the object's memcg from its lookup to the end
    of the add or del.  Before 0a97c01cd20b (6.8) list_lru_add looked the memcg up itself
    under the node lock (list_lru_from_kmem; the spinlock is a read-side section, modelled as
    rcu_read_lock); 0a97c01cd20b "list_lru: allow explicit memcg and NUMA node selection"
    (flag list_lru_explicit_memcg) moved the lookup into list_lru_add_obj/list_lru_del_obj
    before the lock with nothing holding the memcg; 5161b48712dc "mm: list_lru: fix UAF for
    memory cgroup" (6.11, flag list_lru_obj_rcu) wraps both in rcu_read_lock."""
    return not k.cfg.patch.list_lru_explicit_memcg or k.cfg.patch.list_lru_obj_rcu


def list_lru_add_obj(k, user, obj: LruObject):
    """mm/list_lru.c: list_lru_add_obj -- resolve the object's memcg (under RCU), then add."""
    yield "list_lru_add_obj"
    protected = _obj_memcg_protected(k)
    if protected:
        rcu_read_lock(k)
    memcg = mem_cgroup_from_slab_obj(k, obj)
    ret = yield from ll.list_lru_add(k, user.lru, obj.lru, obj.nid, memcg)
    if protected:
        rcu_read_unlock(k)
    return ret


def list_lru_del_obj(k, user, obj: LruObject):
    """mm/list_lru.c: list_lru_del_obj -- as list_lru_add_obj."""
    yield "list_lru_del_obj"
    protected = _obj_memcg_protected(k)
    if protected:
        rcu_read_lock(k)
    memcg = mem_cgroup_from_slab_obj(k, obj)
    ret = yield from ll.list_lru_del(k, user.lru, obj.lru, obj.nid, memcg)
    if protected:
        rcu_read_unlock(k)
    return ret


def lru_user_count(k, s, sc):
    """fs/super.c: super_cache_count style -- list_lru_shrink_count, SHRINK_EMPTY when empty."""
    n = yield from ll.list_lru_shrink_count(k, s.private_data.lru, sc)
    return n if n else SHRINK_EMPTY


def _isolate(k, item: ListHead, l, dispose: ListHead):
    """fs/dcache.c: dentry_lru_isolate_shrink style -- move to the dispose list."""
    ll.list_lru_isolate_move(k, l, item, dispose)
    return ll.LRU_REMOVED
    yield


def lru_user_scan(k, s, sc):
    """fs/super.c: super_cache_scan style -- walk, then free what was isolated."""
    user = s.private_data
    dispose = ListHead(f"{user.name}.dispose")
    freed = yield from ll.list_lru_shrink_walk(k, user.lru, sc, _isolate, dispose)
    pos = dispose.next
    while pos is not dispose:
        nxt = pos.next
        obj = pos.container
        list_del_init(k, pos)
        user.items.pop(obj.name, None)
        kfree(k, obj)
        pos = nxt
    return freed
