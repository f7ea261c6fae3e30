"""Patch flags, named presets and boot options.

Every behaviour that changed between the kernels we model is one flag, tested with
``if k.cfg.patch.<flag>:`` at the line the patch changed.  A preset is a named set of flags.
Where the sources leave a version open the choice is stated in the flag's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# name -> (one line, where in the kernel)
FLAGS: dict[str, tuple[str, str]] = {
    # -- THP deferred-split queue -----------------------------------------------------------
    "thp_list_lru": (
        "deferred-split queue is the memcg-aware list_lru deferred_split_lru (series 9/9), "
        "not the open-coded struct deferred_split",
        "mm/huge_memory.c"),
    "partially_mapped_flag": (
        "PG_partially_mapped: queue only really partially mapped THPs, count "
        "thp_deferred_split_page once per folio, drop fully mapped non-underused THPs at scan "
        "(6.12); off = 6.1: queue when any subpage loses its last mapping, every queued THP is "
        "a split candidate and failures go back to the tail",
        "mm/huge_memory.c: deferred_split_folio, deferred_split_scan; mm/rmap.c"),
    "queue_at_fault": (
        "queue PMD THPs as maybe-underused at fault and collapse when split_underused_thp (6.12)",
        "mm/huge_memory.c: __do_huge_pmd_anonymous_page, mm/khugepaged.c: collapse_huge_page"),
    "free_lockless_fastpath": (
        "folio_unqueue_deferred_split checks list_empty() locklessly before taking the queue "
        "lock, and migration unqueues the frozen source (6.12, Hugh Dickins); off = 6.1: "
        "free_transhuge_page always locks, migration leaves the source to the free path",
        "mm/internal.h: folio_unqueue_deferred_split, mm/migrate.c: __folio_migrate_mapping"),
    "split_queue_walkup": (
        "split_queue_lock() walks up past dying memcgs and the bit goes to the queue's owner "
        "(Qi Zheng, 6.19/7.0)",
        "mm/huge_memory.c: split_queue_lock"),
    "reparent_split_queue": (
        "reparent_deferred_split_queue() splices a dying memcg's queue to its parent at "
        "css_offline and sets the parent's bit on every node (Qi Zheng)",
        "mm/memcontrol.c: mem_cgroup_css_offline"),
    "split_queue_folio_batch": (
        "deferred_split_scan isolates into a folio_batch and unqueues while isolating "
        "(Muchun Song/Qi Zheng); off = on-stack list, spliced back",
        "mm/huge_memory.c: deferred_split_scan"),
    "migrate_requeue_dst": (
        "migration requeues the destination folio when the source was queued (2026 fix by "
        "Usama Arif/Lance Yang; chosen: from series-v4 on)",
        "mm/migrate.c: migrate_folio_move"),
    "mthp": ("anonymous mTHP orders 2..8 exist (6.8)", "mm/memory.c: alloc_anon_folio"),
    # -- the list_lru series fixes ----------------------------------------------------------
    "alloc_deferred_memcg_disabled_guard": (
        "folio_memcg_alloc_deferred() returns 0 when mem_cgroup_disabled() (series v4, B4)",
        "mm/huge_memory.c: folio_memcg_alloc_deferred"),
    "isolate_flags_before_isolate": (
        "deferred_split_isolate clears PG_partially_mapped before list_lru_isolate (series v5, B5)",
        "mm/huge_memory.c: deferred_split_isolate"),
    "collapse_alloc_fail_result": (
        "collapse_huge_page sets SCAN_ALLOC_HUGE_PAGE_FAIL when folio_memcg_alloc_deferred fails "
        "(series v5, B6)",
        "mm/khugepaged.c: collapse_huge_page"),
    "list_lru_bit_on_effective_memcg": (
        "lock_list_lru_of_memcg returns the memcg it walked up to and __list_lru_add sets the "
        "bit on it (series v5 1/9, B1)",
        "mm/list_lru.c: lock_list_lru_of_memcg, __list_lru_add"),
    "shrinker_nonslab": (
        "the THP shrinker has SHRINKER_NONSLAB, so it stays memcg-driven under nokmem "
        "(dropped for 7.2, B2)",
        "mm/huge_memory.c: thp_shrinker_init"),
    "count_shrink_empty": (
        "deferred_split_count returns SHRINK_EMPTY for an empty list so the bit gets cleared "
        "(Lance Yang, 7.2, B7)",
        "mm/huge_memory.c: deferred_split_count"),
    "list_lru_memcg_disabled_unaware": (
        "__list_lru_init makes the lru non-memcg-aware under cgroup_disable=memory (7.3 queue)",
        "mm/list_lru.c: __list_lru_init"),
    # -- list_lru ----------------------------------------------------------------------------
    "list_lru_per_sublist_lock": (
        "6.13 layout: a lock per list_lru_one, dead sublists marked LONG_MIN, walk-up to the "
        "parent; off = pre-6.13: one lock per node, kmemcg_id rewritten on reparent",
        "mm/list_lru.c"),
    "list_lru_init_nokmem_unaware": (
        "__list_lru_init makes the lru non-memcg-aware under cgroup.memory=nokmem (not in 6.1; "
        "chosen: from v0 on)",
        "mm/list_lru.c: __list_lru_init"),
    "objcg_reparent_first": (
        "memcg_offline_kmem reparents the obj_cgroups before the list_lrus (6.1, 6.12); off = "
        "list_lrus first (V1, series)",
        "mm/memcontrol.c: memcg_offline_kmem"),
    # -- cgroup and list_lru fidelity (issue 8, audit A3 and C) ------------------------------
    "list_lru_alloc_skips_dying": (
        "__memcg_list_lru_alloc allocates ancestors first, one at a time, and gives a dying "
        "memcg no sublists (28e98022b31e \"mm/list_lru: simplify reparenting and initial "
        "allocation\", Kairui Song, 6.13); off = 6.1: allocate the whole table of missing "
        "ancestors first (all or nothing), then store each at its kmemcg_id, dying or not",
        "mm/list_lru.c: memcg_list_lru_alloc"),
    # -- shrinker ----------------------------------------------------------------------------
    "shrinker_lockless": (
        "shrink_slab walks shrinkers under RCU with refcounts (6.7); off = 6.1's "
        "down_read_trylock(shrinker_rwsem), which skips the pass when contended",
        "mm/shrinker.c: shrink_slab, shrink_slab_memcg"),
    "expand_keeps_bits": (
        "expand_shrinker_info copies old bits; off = 6.1 sets every old bit to 1",
        "mm/shrinker.c: expand_one_shrinker_info"),
    "nokmem_skip_clears_bit": (
        "shrink_slab_memcg clears the bit of a slab shrinker it skips under nokmem (6.7)",
        "mm/shrinker.c: shrink_slab_memcg"),
    "set_shrinker_bit_warn": (
        "set_shrinker_bit warns when the id is beyond map_nr_max (6.7)",
        "mm/shrinker.c: set_shrinker_bit"),
    "shrinker_nokmem_memcg_off": (
        "shrinker_memcg_alloc refuses non-NONSLAB shrinkers under nokmem (Michal Koutny 2026; "
        "chosen: from series-v3 on)",
        "mm/shrinker.c: shrinker_memcg_alloc"),
}

_LINUX_61 = {name: False for name in FLAGS}
_LINUX_61.update(shrinker_nonslab=True, objcg_reparent_first=True)

_V0 = dict(_LINUX_61, partially_mapped_flag=True, queue_at_fault=True,
           free_lockless_fastpath=True, mthp=True, list_lru_per_sublist_lock=True,
           list_lru_init_nokmem_unaware=True, shrinker_lockless=True, expand_keeps_bits=True,
           nokmem_skip_clears_bit=True, set_shrinker_bit_warn=True)
_V1 = dict(_V0, split_queue_walkup=True, reparent_split_queue=True, split_queue_folio_batch=True,
           objcg_reparent_first=False)
# issue 8 (cgroup fidelity): 6.13+ commits
_V1.update(list_lru_alloc_skips_dying=True)
_S3 = dict(_V1, thp_list_lru=True, shrinker_nokmem_memcg_off=True)
_S4 = dict(_S3, alloc_deferred_memcg_disabled_guard=True, migrate_requeue_dst=True)
_S5 = dict(_S4, list_lru_bit_on_effective_memcg=True, isolate_flags_before_isolate=True,
           collapse_alloc_fail_result=True)
_V72 = dict(_S5, shrinker_nonslab=False, count_shrink_empty=True)
_V72F = dict(_V72, list_lru_memcg_disabled_unaware=True)

PRESETS: dict[str, tuple[str, dict[str, bool]]] = {
    "linux-6.1": ("Debian's 6.1: open-coded per-memcg/per-node queue, queued on any subpage "
                  "unmap, no reparenting, pre-6.13 list_lru, rwsem shrinkers", _LINUX_61),
    "v0": ("6.12-6.18: open-coded queue, PG_partially_mapped, underused THPs queued at fault, "
           "no queue reparenting", _V0),
    "v1": ("just before the series: v0 + split_queue_lock walk-up, "
           "reparent_deferred_split_queue, folio_batch scan", _V1),
    "series-v3": ("the list_lru conversion as posted in v3", _S3),
    "series-v4": ("v3 + mem_cgroup_disabled() guard in folio_memcg_alloc_deferred", _S4),
    "series-v5": ("v4 + bit on the effective memcg (1/9), flag work before list_lru_isolate, "
                  "SCAN_ALLOC_HUGE_PAGE_FAIL", _S5),
    "v7.2": ("v5 as merged: SHRINKER_NONSLAB dropped, deferred_split_count returns "
             "SHRINK_EMPTY", _V72),
    "v7.2-fixes": ("v7.2 + list_lru memcg awareness off under cgroup_disable=memory", _V72F),
}

BOOT_OPTIONS = {
    "cgroup.memory=nokmem": "no kernel memory accounting: kmemcg_id stays -1 everywhere",
    "cgroup_disable=memory": "no memory controller: folios are uncharged, mem_cgroup_disabled()",
}

SYSFS_DEFAULTS = {
    "split_underused_thp": True,  # /sys/kernel/mm/transparent_hugepage/split_underused_thp
    "khugepaged_max_ptes_none": 511,  # .../khugepaged/max_ptes_none
}


class ConfigError(ValueError):
    """An unknown preset, flag, boot option or knob."""


class Patches:
    """The flag values of one configuration, as attributes (``k.cfg.patch.thp_list_lru``)."""

    __slots__ = tuple(FLAGS)

    def __init__(self, values: dict[str, bool]):
        for name in FLAGS:
            setattr(self, name, bool(values[name]))

    def as_dict(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in FLAGS}


@dataclass
class Config:
    variant: str
    patch: Patches
    overrides: dict[str, bool] = field(default_factory=dict)
    boot: tuple[str, ...] = ()
    nodes: int = 1
    sysfs: dict = field(default_factory=dict)

    @property
    def nokmem(self) -> bool:
        return "cgroup.memory=nokmem" in self.boot

    @property
    def memcg_disabled(self) -> bool:
        return "cgroup_disable=memory" in self.boot

    @property
    def cgroup_v1(self) -> bool:
        """The scenario mounts a cgroup v1 memory hierarchy, where a cgroup with children may
        have tasks.  Scenarios cannot ask for it yet (a later history issue adds it); until
        then the cgroup v2 rules hold (memcontrol.cgroup_attach_task, scenario rule checks)."""
        return False


def make_config(variant: str, patches: dict | None = None, boot=(), nodes: int = 1,
                sysfs: dict | None = None) -> Config:
    """Build a Config, refusing unknown names with a message that names the fix."""
    if variant not in PRESETS:
        raise ConfigError(f"unknown variant {variant!r}; choose one of: {', '.join(PRESETS)}")
    values = dict(PRESETS[variant][1])
    for name, value in (patches or {}).items():
        if name not in FLAGS:
            raise ConfigError(f"unknown patch flag {name!r}; 'lrulab variants' lists them")
        if not isinstance(value, bool):
            raise ConfigError(f"patch flag {name} must be true or false, not {value!r}")
        values[name] = value
    for opt in boot:
        if opt not in BOOT_OPTIONS:
            raise ConfigError(f"unknown boot option {opt!r}; known: {', '.join(BOOT_OPTIONS)}")
    knobs = dict(SYSFS_DEFAULTS)
    for name, value in (sysfs or {}).items():
        if name not in SYSFS_DEFAULTS:
            raise ConfigError(f"unknown sysfs knob {name!r}; known: {', '.join(SYSFS_DEFAULTS)}")
        knobs[name] = value
    if not isinstance(nodes, int) or isinstance(nodes, bool) or not 1 <= nodes <= 64:
        raise ConfigError(f"nodes must be an integer from 1 to 64, not {nodes!r}")
    return Config(variant, Patches(values), dict(patches or {}), tuple(boot), nodes, knobs)
