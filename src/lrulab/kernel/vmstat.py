"""mm/vmstat.c and include/linux/vm_event_item.h: the /proc/vmstat counters the model keeps.

Names are exactly those of /proc/vmstat (and of the mTHP stats under
/sys/kernel/mm/transparent_hugepage/hugepages-*/stats for per-order counters)."""

from __future__ import annotations

VM_EVENTS = (
    "thp_fault_alloc", "thp_fault_fallback", "thp_fault_fallback_charge",
    "thp_collapse_alloc", "thp_collapse_alloc_failed",
    "thp_deferred_split_page", "thp_split_page", "thp_split_page_failed", "thp_split_pmd",
    "thp_underused_split_page", "thp_migration_success", "thp_migration_fail",
    "slabs_scanned", "pgmigrate_success",
)
NODE_STATS = ("nr_anon_transparent_hugepages", "nr_anon_partially_mapped")


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


def count_mthp_stat(k, order: int, item: str) -> None:
    """mm/huge_memory.c: count_mthp_stat -- per-order counters (hugepages-<size>kB/stats)."""
    key = (order, item)
    k.mthp_stat[key] = k.mthp_stat.get(key, 0) + 1
