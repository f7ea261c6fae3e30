"""The whole kernel state in one place, and boot()."""

from __future__ import annotations

from . import huge_memory
from . import list_lru as ll
from . import memcontrol as mc
from . import shrinker as sh
from .config import Config
from .sched import SpinLock, Task, run_sync
from .split_queue import DeferredSplit
from .vmstat import new_vmstat


class PglistData:
    """``pg_data_t`` of one NUMA node: its deferred-split queue and the pages in use."""

    __slots__ = ("node_id", "deferred_split_queue", "nr_used_pages")
    # the node's page counts are per-cpu vmstat counters in the kernel (KCSAN: marked)
    __marked__ = ("nr_used_pages",)

    def __init__(self, nid: int):
        self.node_id = nid
        self.deferred_split_queue = DeferredSplit(f"node{nid}.deferred_split_queue")
        self.nr_used_pages = 0


class LruUser:
    """A plain list_lru user from the scenario (a dentry cache, say) with its shrinker."""

    __slots__ = ("name", "lru", "shrinker", "items")

    def __init__(self, name: str, lru, shrinker):
        self.name = name
        self.lru = lru
        self.shrinker = shrinker
        self.items: dict = {}


class Kernel:
    """All kernel state.  Kernel functions take it as their first argument ``k``: it stands for
    the C globals.  ``k.current`` is the task running now."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.tasks: list[Task] = [Task(0, "boot")]
        self.current: Task = self.tasks[0]
        self.events: list = []
        self.warned_once: set = set()
        self.vmstat = new_vmstat()
        self.mthp_stat: dict = {}
        self.nodes = [PglistData(nid) for nid in range(cfg.nodes)]
        self.memcgs: dict = {}
        self.released_memcgs: list = []
        self.memcg_ids: set = set()  # mem_cgroup_idr: ids in use (lowest free is taken)
        self.root_mem_cgroup = None
        self.memcg_kmem_online = False
        self.cgroup_mutex = SpinLock("cgroup_mutex")  # a mutex: held across steps, never spun
        self.shrinker_idr: dict = {}
        self.shrinker_nr_max = 0
        self.shrinker_list: list = []
        self.shrinker_rwsem_writer = None
        self.shrinker_mutex = SpinLock("shrinker_mutex")  # 6.1: shrinker_rwsem (write side)
        self.memcg_list_lrus: list = []
        self.deferred_split_lru = None
        self.deferred_split_shrinker = None
        self.lrus: dict[str, LruUser] = {}
        self.folios: dict = {}  # scenario name -> Folio (the latest folio of that name)
        self.split_log: list = []  # (reclaim nid, folio nid, reclaim memcg, folio memcg)
        self.results: list = []  # (op text, claimed, actual) for honest_results
        self.reclaim_passes = 0
        self.scan_log: list = []  # folios a deferred-split scan took off a list
        # (reclaim nid, reclaim memcg, folio, its memcg then, 'isolated'|'freed', the queue
        # owner split_queue_lock walked up to or None) of each folio
        # a deferred-split scan took off a list or freed (memcg_locality)
        self.isolate_log: list = []
        # (kind, shrinker, nid, memcg, nr_to_scan, result) per count/scan call, when a list
        # (conformance only: shrinker.do_shrink_slab appends; None costs nothing elsewhere)
        self.shrinker_calls: list | None = None
        self.mmap_locks: dict = {}
        self.pins: dict = {}  # folio name -> folios a scenario's get pinned (put drops them)

    def task(self, name: str) -> Task:
        t = Task(len(self.tasks), name)
        self.tasks.append(t)
        return t


def boot(cfg: Config, lrus: dict | None = None, shrinkers: int = 0) -> Kernel:
    """init/main.c: start_kernel, as far as we need it: the root memcg online (mem_cgroup_css_online
    of root: no kmemcg_id; its shrinker_info), the THP shrinker (hugepage_init/thp_shrinker_init),
    then the scenario's extra list_lru users.  Boot never fails an allocation."""
    k = Kernel(cfg)
    if not mc.mem_cgroup_disabled(k):
        root = mc.mem_cgroup_css_alloc(k, None, "")
        del k.memcgs[""]
        k.root_mem_cgroup = root
        root.shrinker_info = [sh.ShrinkerInfo(k.shrinker_nr_max) for _ in range(cfg.nodes)]
        mc.online_css(k, root)
    huge_memory.thp_shrinker_init(k)
    for i in range(shrinkers):
        run_sync(k, register_other_shrinker(k, f"other-{i + 1}"))
    for name, spec in (lrus or {}).items():
        run_sync(k, register_lru_user(k, name, spec.get("memcg_aware", True),
                                      spec.get("shrinker", []), spec.get("seeks"),
                                      spec.get("batch")))
    return k


def register_lru_user(k: Kernel, name: str, memcg_aware: bool, shrinker_flags,
                      seeks: int | None = None, batch: int | None = None):
    """A list_lru user like a superblock's dentry lru (fs/super.c: alloc_super, then sget_fc):
    shrinker_alloc, list_lru_init_memcg, shrinker_register; its scan isolates and frees
    objects (dentry disposal).  Objects can be added once it is registered (the mount is
    there).  At boot (kernel.lrus) and as the scenario op ``register``.  `seeks` and `batch`
    are the shrinker's (default DEFAULT_SEEKS and 0, i.e. SHRINK_BATCH): alloc_super gives a
    superblock batch 1024, and kernfs_fill_super (fs/kernfs/mount.c) seeks 0 ("sysfs dentries
    and inodes don't require IO to create"), so do_shrink_slab asks it for freeable / 2 at
    every priority."""
    from . import lru_user
    flags = 0
    for f in shrinker_flags:
        flags |= sh.FLAG_NAMES[f]
    s = yield from sh.shrinker_alloc(k, flags, f"{name}-shrinker")
    if seeks is not None:
        s.seeks = seeks
    if batch is not None:
        s.batch = batch
    lru = ll.ListLru(name)
    ll.__list_lru_init(k, lru, memcg_aware, s)
    s.count_objects = lru_user.lru_user_count
    s.scan_objects = lru_user.lru_user_scan
    user = LruUser(name, lru, s)
    s.private_data = user
    yield from sh.shrinker_register(k, s)
    k.lrus[name] = user
    return user


def unregister_lru_user(k: Kernel, name: str):
    """The scenario op ``unregister`` (fs/super.c: deactivate_locked_super): the mount is gone
    (ops on the lru find nothing), then shrinker_free.  The model disposes of no object and
    keeps the lru (the kernel's kill_sb and list_lru_destroy come after the shrinker is
    gone)."""
    user = k.lrus.pop(name, None)
    if user is None:
        return False
    yield from sh.shrinker_free(k, user.shrinker)
    return True


def _other_count(k, s, sc):
    return sh.SHRINK_EMPTY
    yield


def register_other_shrinker(k: Kernel, name: str):
    """Model helper: one of ``kernel.shrinkers``, a memcg-aware shrinker of another subsystem
    (fs/super.c: alloc_super's superblock shrinker, mm/workingset.c's shadow nodes, ...)
    registered at boot, with no objects here; it only takes an id, so that a later
    registration's id crosses a 64-id boundary and expands every memcg's shrinker_info."""
    s = yield from sh.shrinker_alloc(k, sh.SHRINKER_MEMCG_AWARE | sh.SHRINKER_NUMA_AWARE, name)
    s.count_objects = _other_count
    s.scan_objects = _other_count
    yield from sh.shrinker_register(k, s)
    return s
