"""mm/vmstat.c and include/linux/vm_event_item.h: the /proc/vmstat counters the model keeps,
and the per-order mTHP stats of mm/huge_memory.c.

Names are exactly those of /proc/vmstat; the per-order stats (``k.mthp_stat[(order, item)]``)
are shown under their sysfs names, /sys/kernel/mm/transparent_hugepage/hugepages-<size>kB/
stats/<item> (``split``, ``split_failed``, ``split_deferred``, ``nr_anon``,
``nr_anon_partially_mapped``, ``anon_fault_alloc``, ...).  6.1 has no per-order stats."""

from __future__ import annotations

VM_EVENTS = (
    "thp_fault_alloc", "thp_fault_fallback", "thp_fault_fallback_charge",
    "thp_collapse_alloc", "thp_collapse_alloc_failed",
    "thp_deferred_split_page", "thp_split_page", "thp_split_page_failed", "thp_split_pmd",
    "thp_underused_split_page", "thp_migration_success", "thp_migration_fail",
    "thp_migration_split",
    "slabs_scanned", "pgmigrate_success",
    "thp_file_alloc", "thp_file_mapped",
)
NODE_STATS = ("nr_anon_transparent_hugepages",)
PAGE_SIZE_KB = 4


def new_vmstat() -> dict[str, int]:
    """Model helper: every counter at 0 (mm/vmstat.c: vmstat_text lists the names)."""
    return {name: 0 for name in VM_EVENTS + NODE_STATS}


def count_vm_event(k, item: str) -> None:
    """include/linux/vmstat.h: count_vm_event."""
    k.vmstat[item] += 1


def count_vm_events(k, item: str, delta: int) -> None:
    """include/linux/vmstat.h: count_vm_events."""
    k.vmstat[item] += delta


def mod_node_page_state(k, item: str, delta: int) -> None:
    """mm/vmstat.c: mod_node_page_state (node-summed here, as /proc/vmstat shows it)."""
    k.vmstat[item] += delta


def mod_mthp_stat(k, order: int, item: str, delta: int) -> None:
    """include/linux/huge_mm.h: mod_mthp_stat -- per-order counters (hugepages-<size>kB/stats);
    none before the mTHP sysfs (the mthp flag: 6.1 has no per-order stats)."""
    if not k.cfg.patch.mthp:
        return
    key = (order, item)
    k.mthp_stat[key] = k.mthp_stat.get(key, 0) + delta


def count_mthp_stat(k, order: int, item: str) -> None:
    """include/linux/huge_mm.h: count_mthp_stat."""
    mod_mthp_stat(k, order, item, 1)


def mthp_stat_name(order: int, item: str) -> str:
    """The sysfs path of a per-order stat below /sys/kernel/mm/transparent_hugepage."""
    return f"hugepages-{PAGE_SIZE_KB << order}kB/stats/{item}"


def mthp_stats(k) -> dict[str, int]:
    """Model helper: every per-order stat by its sysfs name (for reports and deltas)."""
    return {mthp_stat_name(o, item): v for (o, item), v in sorted(k.mthp_stat.items())}


def mthp_stat_total(k, item: str) -> int:
    """Model helper: one per-order stat summed over the orders."""
    return sum(v for (_, name), v in k.mthp_stat.items() if name == item)
