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
        "queue PMD THPs as maybe-underused at fault and collapse when the shrink_underused knob "
        "is on (6.12)",
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
        "migration requeues the destination folio when the source was queued (Usama Arif, "
        "8a8ca142a488 \"mm: migrate: requeue destination folio on deferred split queue\", "
        "Fixes dafff3f4c850, 2026; v1 and later, and Debian 6.12.117 by its stable backport)",
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
    # -- issue 8 (helper reclaim): version-assigned behaviours of the fidelity audit ---------
    "reclaim_full_walk_retry": (
        "do_try_to_free_pages: when nothing was reclaimed, run the whole priority sweep once more "
        "with sc->memcg_full_walk = 1 and the priority reset; before that, direct and memcg "
        "reclaim walk the memcg tree with the shared partial iterator (Johannes Weiner, "
        "6be5e186fd65 \"mm: vmscan: restore incremental cgroup iteration\", with Shakeel Butt's "
        "\"mm: vmscan: reset sc->priority on retry\", Message-ID "
        "20240529154911.3008025-1-shakeel.butt@linux.dev, folded in; 6.11 merge window, so in "
        "6.12 (audit B1); off = 6.1: one sweep",
        "mm/vmscan.c: do_try_to_free_pages, shrink_node_memcgs"),
    "split_remap_zeropage": (
        "every successful anon split remaps zero-filled subpages to the shared zeropage and frees "
        "them (Yu Zhao/Usama Arif, b1f202060afe \"mm: remap unused subpages to shared zeropage "
        "when splitting isolated thp\", 6.12; audit B3); off = 6.1: every mapped subpage stays",
        "mm/huge_memory.c: __split_huge_page -> remap_page(RMP_USE_SHARED_ZEROPAGE)"),
    "migrate_split_deferred": (
        "migrate_pages_batch splits a large folio on a deferred list instead of migrating it "
        "whole: thp_migration_fail, thp_migration_split, then the small folios migrate (Zi Yan, "
        "7262f208ca68 \"mm/migrate: split source folio if it is on deferred split list\", 6.10; "
        "6.12 adds the folio_test_partially_mapped() test with 8422acdc97ed \"mm: introduce a "
        "pageflag for partially mapped folios\"; kept through 7.x; audit B5)",
        "mm/migrate.c: migrate_pages_batch -> try_split_folio"),
    "lru_folio_reparent": (
        "css_offline reparents the LRU folios: memcg_reparent_objcgs ends with "
        "lru_reparent_memcg(), after the list_lru and split-queue reparenting, and folio_memcg() "
        "is the parent from then on (Qi Zheng, f1cf8d2f36dc \"mm: memcontrol: eliminate the "
        "problem of dying memory cgroup for LRU folios\", 7.1; audit A4)",
        "mm/memcontrol.c: memcg_reparent_objcgs, lru_reparent_memcg"),
    "list_lru_drain_before_erase": (
        "memcg_reparent_list_lrus drains every node's sublist and only then clears the xarray "
        "slot (Shakeel Butt, \"mm/list_lru: drain before clearing xarray entry on reparent\", "
        "v2 Message-ID 20260601161501.1444829-1-shakeel.butt@linux.dev, Fixes fb56fdf8b9a2 "
        "\"mm/list_lru: split the lock to per-cgroup scope\", June 2026, Cc stable; chosen: "
        "v7.2 and later, the earliest release it can be in); off = 6.13 ... 7.1: the slot is "
        "erased first (audit A1, docs/known-kernel-bugs.md). Only with list_lru_per_sublist_lock",
        "mm/list_lru.c: memcg_reparent_list_lrus"),
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
        "set_shrinker_bit warns (once) when the id is beyond map_nr_max and sets no bit "
        "(Qi Zheng, 42c9db397048 \"mm: vmscan: add a map_nr_max field to shrinker_info\", "
        "6.4); off = 6.1: no map_nr_max, no check",
        "mm/shrinker.c (mm/vmscan.c before 6.7): set_shrinker_bit"),
    "shrinker_nokmem_memcg_off": (
        "shrinker_memcg_alloc refuses non-NONSLAB shrinkers under nokmem (Michal Koutny 2026; "
        "chosen: from series-v3 on)",
        "mm/shrinker.c: shrinker_memcg_alloc"),
    # -- issue 8 section 2 (helper citems): audit C items --------------------------------------
    "shrinker_info_unit": (
        "shrinker_info holds an array of shrinker_info_unit pointers (map and nr_deferred per "
        "64 ids); set_shrinker_bit reads info->unit[id / 64] before its map_nr_max check, an "
        "out-of-bounds read KASAN reports when the id is beyond the map (Qi Zheng, "
        "307bececcd12 \"mm: shrinker: add a secondary array for shrinker_info::{map, "
        "nr_deferred}\", 6.7); off = one flat bitmap (6.1)",
        "mm/shrinker.c: set_shrinker_bit, expand_one_shrinker_info"),
    "deferred_split_skip_mlocked": (
        "deferred_split_scan does not test an mlocked fully mapped THP for underuse (Lance "
        "Yang, \"mm: skip mlocked THPs that are underused early in deferred_split_scan()\", "
        "Message-ID 20250908090741.61519-1-lance.yang@linux.dev, 6.18); off = 6.12 ... 6.17",
        "mm/huge_memory.c: deferred_split_scan"),
}

_LINUX_61 = {name: False for name in FLAGS}
_LINUX_61.update(shrinker_nonslab=True, objcg_reparent_first=True)

# linux-6.12 (= v0): 6.12's own code -- pre-6.13 list_lru layout with the objcgs reparented
# first (audit A2), the 6.10/6.11 reclaim retry and migration split (B1, B5), the 6.12
# zeropage remap (B3).  Debian 6.12.117 adds the stable backport of migrate_requeue_dst (B6).
_V0 = dict(_LINUX_61, partially_mapped_flag=True, queue_at_fault=True,
           free_lockless_fastpath=True, mthp=True, list_lru_init_nokmem_unaware=True,
           shrinker_lockless=True, expand_keeps_bits=True, nokmem_skip_clears_bit=True,
           set_shrinker_bit_warn=True, reclaim_full_walk_retry=True, split_remap_zeropage=True,
           migrate_split_deferred=True, shrinker_info_unit=True)
_DEB612 = dict(_V0, migrate_requeue_dst=True)
# linux-6.13: Kairui Song's list_lru rework (fb56fdf8b9a2): per-sublist locks, list_lrus
# reparented before the objcgs, the xarray slot erased before the drain (A1).
# Sublists are no longer allocated for a dying memcg (28e98022b31e, audit A3).
_L613 = dict(_V0, list_lru_per_sublist_lock=True, objcg_reparent_first=False,
             list_lru_alloc_skips_dying=True)
# v1 (7.1, just before the series): V1's queue, folio reparenting (A4) and both halves of the
# 2026 requeue fix (B6).
_V1 = dict(_L613, split_queue_walkup=True, reparent_split_queue=True,
           split_queue_folio_batch=True, lru_folio_reparent=True, migrate_requeue_dst=True,
           deferred_split_skip_mlocked=True)
_S3 = dict(_V1, thp_list_lru=True, shrinker_nokmem_memcg_off=True)
_S4 = dict(_S3, alloc_deferred_memcg_disabled_guard=True)
_S5 = dict(_S4, list_lru_bit_on_effective_memcg=True, isolate_flags_before_isolate=True,
           collapse_alloc_fail_result=True)
_V72 = dict(_S5, shrinker_nonslab=False, count_shrink_empty=True,
            list_lru_drain_before_erase=True)
_V72F = dict(_V72, list_lru_memcg_disabled_unaware=True)

PRESETS: dict[str, tuple[str, dict[str, bool]]] = {
    "linux-6.1": ("Debian's 6.1: open-coded per-memcg/per-node queue, queued on any subpage "
                  "unmap, no reparenting, pre-6.13 list_lru, rwsem shrinkers", _LINUX_61),
    "v0": ("6.12: open-coded queue, PG_partially_mapped, underused THPs queued at fault, "
           "no queue reparenting, pre-6.13 list_lru with the objcgs reparented first", _V0),
    "linux-6.12": ("the same point as v0", _V0),
    "debian-6.12.117": ("6.12 + the stable backport of migrate_requeue_dst (8a8ca142a488)",
                        _DEB612),
    "linux-6.13": ("6.13-7.0: 6.12 + per-sublist list_lru locks, list_lrus reparented before "
                   "the objcgs, xarray slot erased before the drain", _L613),
    "v1": ("7.1, just before the series: 6.13 + split_queue_lock walk-up, "
           "reparent_deferred_split_queue, folio_batch scan, LRU folio reparenting, "
           "destination requeue on migration", _V1),
    "series-v3": ("the list_lru conversion as posted in v3", _S3),
    "series-v4": ("v3 + mem_cgroup_disabled() guard in folio_memcg_alloc_deferred", _S4),
    "series-v5": ("v4 + bit on the effective memcg (1/9), flag work before list_lru_isolate, "
                  "SCAN_ALLOC_HUGE_PAGE_FAIL", _S5),
    "v7.2": ("v5 as merged: SHRINKER_NONSLAB dropped, deferred_split_count returns "
             "SHRINK_EMPTY; list_lru drained before its xarray slot is cleared", _V72),
    "v7.2-fixes": ("v7.2 + list_lru memcg awareness off under cgroup_disable=memory", _V72F),
}

BOOT_OPTIONS = {
    "cgroup.memory=nokmem": "no kernel memory accounting: kmemcg_id stays -1 everywhere",
    "cgroup_disable=memory": "no memory controller: folios are uncharged, mem_cgroup_disabled()",
}

SYSFS_DEFAULTS = {
    # /sys/kernel/mm/transparent_hugepage/shrink_underused (kernel variable split_underused_thp)
    "shrink_underused": True,
    "khugepaged_max_ptes_none": 511,  # .../khugepaged/max_ptes_none
}
# older scenario spelling -> knob (the kernel variable's name, kept as a documented alias)
SYSFS_ALIASES = {"split_underused_thp": "shrink_underused"}


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
        name = SYSFS_ALIASES.get(name, name)
        if name not in SYSFS_DEFAULTS:
            raise ConfigError(f"unknown sysfs knob {name!r}; known: {', '.join(SYSFS_DEFAULTS)}")
        knobs[name] = value
    if not isinstance(nodes, int) or isinstance(nodes, bool) or not 1 <= nodes <= 64:
        raise ConfigError(f"nodes must be an integer from 1 to 64, not {nodes!r}")
    return Config(variant, Patches(values), dict(patches or {}), tuple(boot), nodes, knobs)
