"""The triage table: what each distinct violation the sweep finds is.

An entry matches a violation by its property, *where* it fired (a regular expression over the
kernel function, or over ``end: <normalised message>`` for a quiescent property, see run.py),
optionally its message (so that, say, a use-after-free of a memcg in a function is not taken
for a known out-of-bounds read there) and a condition on the configuration: patch flags that
must have given values (so an entry follows a kernel change, not a preset's name) and boot
options that must (or must not) be present.  Its ``kind`` says what it is:

- ``kernel-bug``: a real kernel bug; ``catalog`` names its scenario in scenarios/bugs/ and
  docs/known-kernel-bugs.md describes it (source lines, releases, fix);
- ``audit``: a known false alarm of the model listed in the fidelity audit (its item id),
  to be fixed in the model; the sweep's test expects none once the fixes land.

Anything that matches no entry is ``untriaged``: the sweep's test fails on it.
``model_error`` never matches an entry of kind ``kernel-bug``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

UNTRIAGED = "untriaged"


@dataclass(frozen=True)
class Entry:
    id: str
    kind: str  # kernel-bug | audit
    property: str
    where: str  # regular expression, matched from the start
    flags: dict = field(default_factory=dict)  # flag -> required value
    boot: tuple = ()  # boot options that must be present ("!opt": must be absent)
    catalog: str = ""  # scenarios/bugs/<file> for a kernel bug
    note: str = ""
    message: str = ""  # regular expression the violation's message must contain (searched)


_BUGS = "scenarios/bugs/"
TABLE: list[Entry] = [
    # -- real kernel bugs (docs/known-kernel-bugs.md) ---------------------------------------
    Entry("S1", "kernel-bug", "no_warn", r"set_shrinker_bit$",
          flags={"thp_list_lru": True, "shrinker_nonslab": False},
          boot=("cgroup.memory=nokmem",), catalog=_BUGS + "v72-nokmem-stale-shrinker-id.yaml",
          note="7.2 nokmem: lru->shrinker_id copied from a shrinker that fell back"),
    Entry("S1", "kernel-bug", "no_use_after_free", r"set_shrinker_bit$",
          flags={"thp_list_lru": True, "shrinker_nonslab": False},
          boot=("cgroup.memory=nokmem",), catalog=_BUGS + "v72-nokmem-stale-shrinker-id.yaml",
          message=r"slab-out-of-bounds in set_shrinker_bit: read of info->unit\[",
          note="the same stale id: set_shrinker_bit reads info->unit[] before its WARN"),
    Entry("S2", "kernel-bug", "reparent_complete", r"end: F stranded on offline M's queue",
          flags={"thp_list_lru": False, "reparent_split_queue": False},
          catalog=_BUGS + "offline-memcg-queue-stranded.yaml",
          note="6.1..6.18: an offline memcg's deferred split queue is never reparented"),
    Entry("S2", "kernel-bug", "memcg_reclaim_reach",
          r"end: memcg reclaim of M on node N would not reach F$",
          flags={"thp_list_lru": False, "reparent_split_queue": False},
          catalog=_BUGS + "offline-memcg-queue-stranded.yaml",
          note="the same stranded THPs, seen from the parent's reclaim"),
    Entry("S2", "kernel-bug", "no_orphan",
          r"end: F is partially mapped and queued, but no reclaim of node N reaches it",
          flags={"thp_list_lru": False, "reparent_split_queue": False},
          catalog=_BUGS + "offline-memcg-queue-stranded.yaml",
          note="the same stranded THPs: global reclaim skips the offline memcg too"),
    Entry("S3", "kernel-bug", "no_orphan",
          r"end: F is partially mapped and on no deferred-split list, but no reclaim",
          flags={"migrate_requeue_dst": False, "migrate_split_deferred": False},
          catalog=_BUGS + "s3-migrate-dst-unqueued.yaml",
          note="6.1..6.9: a migrated partially mapped THP's destination is never queued"),
    Entry("S4", "kernel-bug", "no_orphan",
          r"end: F is partially mapped and on no deferred-split list, but no reclaim",
          catalog=_BUGS + "s4-munmap-during-migration.yaml",
          note="every release: a partial munmap of a THP's migration entries is never "
               "accounted (S3 and S4 give the same message: the catalog files tell them "
               "apart)"),
    Entry("B1", "kernel-bug", "bit_coverage",
          r"end: I is queued for M on node N, but M's bit for dcache-shrinker",
          flags={"list_lru_bit_on_effective_memcg": False},
          catalog=_BUGS + "b1-dcache-rmdir-race.yaml",
          note="list_lru_add sets the bit on the dying memcg (4.19 .. 7.1)"),
    Entry("B7", "kernel-bug", "stale_bits",
          r"end: M: bit for thp-deferred_split on node N stays set",
          flags={"count_shrink_empty": False}, catalog=_BUGS + "b7-stale-bits.yaml",
          note="deferred_split_count returns 0, never SHRINK_EMPTY (through 7.1)"),
    Entry("B13", "kernel-bug", "node_locality", r".*", flags={"thp_list_lru": False},
          catalog=_BUGS + "b13-node-locality.yaml",
          note="a memcg's open-coded queue mixes nodes (through 7.1)"),
    Entry("B15", "kernel-bug", "list_integrity", r"__folio_unqueue_deferred_split$",
          flags={"swapout_unqueue_first": False, "thp_list_lru": False},
          catalog=_BUGS + "b15-swapout-unqueue-v1.yaml",
          message=r"list_del(_init)? on \S+\.deferred_split_queue without holding",
          note="cgroup v1 swap-out of a queued THP: memcg_data cleared first, the free "
               "unqueues under the node's lock (5.4 .. 6.11; f8f931bba0f9)"),
    Entry("B15", "kernel-bug", "split_queue_len", r"__folio_unqueue_deferred_split$",
          flags={"swapout_unqueue_first": False, "thp_list_lru": False},
          catalog=_BUGS + "b15-swapout-unqueue-v1.yaml",
          message=r"split_queue_len-- on node\d+\.deferred_split_queue",
          note="the same unqueue, seen in the node queue's length"),
    Entry("B15", "kernel-bug", "counters",
          r"end: (nodeN|M)\.deferred_split_queue: split_queue_len N but N queued",
          flags={"swapout_unqueue_first": False, "thp_list_lru": False},
          catalog=_BUGS + "b15-swapout-unqueue-v1.yaml",
          note="the same unqueue: the memcg's length keeps the THP, the node's wraps"),
    # -- known false alarms of the model (/work/shared/audit.md), fixes pending ------------
    Entry("A8", "audit", "no_warn", r"folio_put_refs$",
          note="a split's unmap leaves the mappings counted: a racing munmap drops the "
               "references again (refcount underflow)"),
]


def matches(e: Entry, flags: dict, boot, prop: str, where: str, message: str = "") -> bool:
    if e.property != prop or not re.match(e.where, where):
        return False
    if e.message and not re.search(e.message, message):
        return False
    if any(flags.get(f) != v for f, v in e.flags.items()):
        return False
    for b in e.boot:
        if b.startswith("!") and b[1:] in boot:
            return False
        if not b.startswith("!") and b not in boot:
            return False
    return True


def classify(flags: dict, boot, prop: str, where: str, message: str = "") -> str:
    """The id of the first entry that matches, else ``untriaged``."""
    for e in TABLE:
        if matches(e, flags, boot, prop, where, message):
            return e.id
    return UNTRIAGED


def kind_of(tid: str) -> str:
    for e in TABLE:
        if e.id == tid:
            return e.kind
    return UNTRIAGED


def entry(tid: str) -> Entry | None:
    return next((e for e in TABLE if e.id == tid), None)
