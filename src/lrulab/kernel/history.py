"""The history of the modelled code: one record per commit or posted patch, points derived.

A *flag* is one commit (or posted patch).  A *point* is a place in history: a mainline release
(or -rc), a posted version of a patch series on top of the tree it was posted against, or a
distribution build with the stable backports it carries.  A point's flags are derived from the
commits' releases and merge order, never assembled by hand.

Sources: every record names where its id and subject were seen (``source``).  A record whose id,
subject, author or release was not seen in a source has ``verified=False`` and says in
``missing`` what is missing.  Nothing here is kernel code; behaviour is paraphrased in model
terms.  ``config.FLAGS`` and ``config.PRESETS`` are built from here: adding a flag is adding
one record (and the ``if k.cfg.patch.<flag>:`` at the line it changed); see docs/history.md.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

# -- releases ---------------------------------------------------------------------------------
# Mainline releases in scope, oldest first, with release dates.  Dates up to 6.18 are from
# kernel.org's release announcements as remembered, not looked up here (DATES_VERIFIED); later
# ones are unknown to us and left None.
DATES_VERIFIED = False
RELEASES: tuple[tuple[str, str | None], ...] = (
    ("4.19", "2018-10-22"), ("4.20", "2018-12-23"), ("5.0", "2019-03-03"), ("5.1", "2019-05-05"),
    ("5.2", "2019-07-07"), ("5.3", "2019-09-15"), ("5.4", "2019-11-24"), ("5.5", "2020-01-26"),
    ("5.6", "2020-03-29"), ("5.7", "2020-05-31"), ("5.8", "2020-08-02"), ("5.9", "2020-10-11"),
    ("5.10", "2020-12-13"), ("5.11", "2021-02-14"), ("5.12", "2021-04-25"),
    ("5.13", "2021-06-27"), ("5.14", "2021-08-29"), ("5.15", "2021-10-31"),
    ("5.16", "2022-01-09"), ("5.17", "2022-03-20"), ("5.18", "2022-05-22"),
    ("5.19", "2022-07-31"), ("6.0", "2022-10-02"), ("6.1", "2022-12-11"), ("6.2", "2023-02-19"),
    ("6.3", "2023-04-23"), ("6.4", "2023-06-25"), ("6.5", "2023-08-27"), ("6.6", "2023-10-30"),
    ("6.7", "2024-01-07"), ("6.8", "2024-03-10"), ("6.9", "2024-05-12"), ("6.10", "2024-07-14"),
    ("6.11", "2024-09-15"), ("6.12", "2024-11-17"), ("6.13", "2025-01-19"),
    ("6.14", "2025-03-24"), ("6.15", "2025-05-25"), ("6.16", "2025-07-27"),
    ("6.17", "2025-09-28"), ("6.18", "2025-11-30"), ("6.19", None), ("7.0", None), ("7.1", None),
    ("7.2", None), ("7.3-rc", None),
)
# "7.3-rc" stands for the newest tree we can read: 7.3-rc plus what the mm tree has queued.

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:-rc(\d*))?$")


def version_key(name: str) -> tuple[int, int, int]:
    """Sort key of a mainline name: "6.12-rc3" < "6.12"; "7.3-rc" is the open -rc (rc 98)."""
    m = _VERSION.match(name)
    if not m:
        raise KeyError(f"not a mainline release: {name!r}")
    major, minor, rc = m.groups()
    if rc is None:
        return int(major), int(minor), 99
    return int(major), int(minor), int(rc) if rc else 98


def is_mainline(name: str) -> bool:
    return bool(_VERSION.match(name))


# -- commits ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Commit:
    """One upstream commit or posted patch, as one flag.

    ``value`` is what the flag is from this commit on (a commit can switch a behaviour off,
    e.g. fb56fdf8b9a2 ends the objcg-first offline order).  ``release`` is the first mainline
    release (or -rc) holding it, None if never merged; ``posted`` the series versions carrying
    it; ``backports`` the distribution points carrying a stable backport.
    """

    flag: str
    commit: str | None            # 12 hex
    msgid: str | None             # Message-ID of the posted patch (without <>)
    subject: str
    author: str
    release: str | None
    change: str                   # the behaviour change in model terms, one line
    functions: tuple[str, ...]    # "file: function"
    fixes: tuple[str, ...] = ()   # commit ids this one Fixes:
    reverted_in: str | None = None
    value: bool = True
    posted: tuple[str, ...] = ()  # "series-v3", ...
    backports: tuple[str, ...] = ()
    modelled: bool = True         # a flag of the model (config.FLAGS is built from these)
    baked: bool = False           # unmodelled, but the model always behaves as after it
    off: str = ""                 # what the code does without the commit (model terms)
    verified: bool = True
    missing: str = ""
    source: str = ""

    @property
    def seen(self) -> str:
        """Where it is: its release, and the first posted version carrying it."""
        posted = f"posted in {self.posted[0]}" if self.posted else ""
        if self.release and posted:
            return f"{self.release}, {posted}"
        return self.release or posted or "unreleased"

    @property
    def first_seen(self) -> str:
        """The release or posted version it first appears in."""
        if self.posted:
            return self.posted[0]
        return self.release or "unreleased"


_THP_SERIES = "[PATCH vN 9/9] mm: switch deferred split shrinker to list_lru"
_V5 = "20260527204757.2544958-{}-hannes@cmpxchg.org"
# Where the 7.2 ids of the list_lru series and its fixes were seen.
_MM_STABLE = ("the mm tree's post-receive of 2026-06-09 (index file 66533629186) lists it, "
              "oldest first, between the v5 series and mm-stable's new head e3d8707358ea, "
              "i.e. in mm-stable with fafaeceb89a5")

# Merge order: releases ascending, then the order the commits were merged within a release.
COMMITS: tuple[Commit, ...] = (
    # -- 4.19: the memcg-aware shrinker bitmaps (scope starts here) ------------------------
    Commit("memcg_shrinker_bitmap", "fae91d6d8be5", None,
           "mm/list_lru.c: set bit in memcg shrinker bitmap on first list_lru item appearance",
           "Kirill Tkhai", "4.19",
           "list_lru_add sets the shrinker's bit in the memcg's per-node map on the 0->1 "
           "transition of a sublist; shrink_slab_memcg visits only set bits",
           ("mm/list_lru.c: list_lru_add", "mm/vmscan.c: shrink_slab_memcg",
            "mm/vmscan.c: memcg_set_shrinker_bit"),
           modelled=False, baked=True,
           source="id and subject: the Fixes: tags of Yang Shi's 'mm: list_lru: set shrinker "
                  "map bit when child nr_items is not zero' (Cc: stable v4.19+, so in 4.19; "
                  "index files 29006099317, 28492871325) and of Johannes Weiner's v5 1/9 "
                  "(index file 56707203773); author: Kirill Tkhai's series summary lists "
                  "'mm: Set bit in memcg shrinker bitmap on first list_lru item apearance' "
                  "(index file 30796452554)"),
    Commit("kswapd_no_max_priority", "9aa41348a8d1", None,
           "mm: vmscan: do not allow kswapd to scan at maximum priority", "Mel Gorman", "4.19",
           "kswapd's balance_pgdat stops at priority 1; only direct reclaim reaches 0 "
           "(behaviour present through the whole scope)",
           ("mm/vmscan.c: balance_pgdat",),
           modelled=False, verified=False,
           missing="predates 4.19 (believed 4.8, node-lru series); id from audit B2 (given there "
                   "with 13 digits, 9aa41348a8d11); release of the commit not confirmed, so it "
                   "is placed at the start of scope",
           source="audit.md B2; id (9aa41348a8d11), subject and Mel Gorman's intent quoted in "
                  "a 2023 linux-mm thread (index file 34732392400)"),
    Commit("thp_migration", None, None,
           "mm: thp: enable thp migration in generic path", "Zi Yan", "4.19",
           "migrate_pages moves a THP whole: try_to_migrate replaces its PMD (or PTEs) with "
           "migration entries and drops its rmap, remove_migration_ptes maps the destination "
           "(or the source, on failure) back; the deferred split queue is not told",
           ("mm/migrate.c: migrate_pages", "mm/migrate.c: remove_migration_pte",
            "mm/huge_memory.c: set_pmd_migration_entry"),
           modelled=False, baked=True, verified=False,
           missing="predates the scope: THP migration came in 4.14 (Yang Shi's c5fc5c3ae0c8 "
                   "'mm: thp: refactor NUMA fault handling': 'Since v4.14 THP migration has "
                   "been supported'); the commit id of the generic-path patch was not seen, so "
                   "it is placed at the start of scope like 9aa41348a8d1",
           source="https://android-kvm.googlesource.com/linux/+/"
                  "c5fc5c3ae0c849c713c4291addb5fce699ad0972%5E (commit text)"),
    # -- 5.4: memcg-aware deferred split queue ----------------------------------------------
    Commit("thp_memcg_queue", "87eaceb3faa5",
           "1565144277-36240-5-git-send-email-yang.shi@linux.alibaba.com",
           "mm: thp: make deferred split shrinker memcg aware", "Yang Shi", "5.4",
           "a charged THP goes on its memcg's deferred_split queue (node queue only when "
           "uncharged); the THP shrinker becomes MEMCG_AWARE; move_account moves a queued THP "
           "to the destination memcg's queue",
           ("mm/huge_memory.c: get_deferred_split_queue", "mm/huge_memory.c: "
            "deferred_split_huge_page", "mm/huge_memory.c: deferred_split_scan",
            "mm/memcontrol.c: mem_cgroup_move_account"),
           modelled=False, baked=True,
           source="https://android-kvm.googlesource.com/linux/+/"
                  "87eaceb3faa59b9b4d940ec9554ce251325d83fe (commit text; Link of v6 4/4 is "
                  "1566496227-84952-5); release 5.4 from the 2019-08 posting and the brief"),
    Commit("shrinker_nonslab", "0a432dcbeb32", None,
           "mm: shrinker: make shrinker not depend on memcg kmem", "Yang Shi", "5.4",
           "SHRINKER_NONSLAB: shrink_slab_memcg calls the THP shrinker even without kmem "
           "accounting, so it stays memcg-driven under cgroup.memory=nokmem",
           ("mm/vmscan.c: shrink_slab_memcg", "mm/huge_memory.c: deferred_split_shrinker"),
           off='under nokmem memcg reclaim skips the THP shrinker; global reclaim drives it',
           source="http://mail.spinics.net/lists/linux-mm/msg189198.html (cover, v6, Yang "
                  "Shi's series); id 0a432dcbeb32edcd211a5d8f7847d0da7642a8b4 and subject in "
                  "Yang Shi's 'mm: vmscan: protect shrinker idr replace with CONFIG_MEMCG' "
                  "(index file 20123331539); the lkp report compares 0a432dcbeb with "
                  "87eaceb3fa as parent and child (index file 11976864770), so both are 5.4"),
    # -- 5.6 ---------------------------------------------------------------------------------
    Commit("move_account_skips_queue", "fac0516b5534", None,
           "mm: thp: don't need care deferred split queue in memcg charge move path",
           "Wei Yang", "5.6",
           "mem_cgroup_move_account no longer touches the deferred split queues: it changes "
           "the THP's memcg only (a PMD-mapped THP was argued never to be queued)",
           ("mm/memcontrol.c: mem_cgroup_move_account",),
           fixes=("87eaceb3faa5",),
           off="5.4 (87eaceb3faa5): a queued THP is unqueued from the source memcg's queue "
               "(list_empty tested unlocked) and every moved THP is added to the destination's "
               "queue, without the destination's shrinker bit",
           source="stable review mail 'commit fac0516b5534897bf4c4a88daa06a8cfa5611b23 "
                  "upstream' (index file 15130519639; Link 20200117233836.3434-1); release 5.6 "
                  "as f8f931bba0f9's text names it; the 5.4 hunks in Wei Yang's review "
                  "thread (index file 27177891476)"),
    # -- 5.9: obj_cgroup reparenting -----------------------------------------------------------
    Commit("objcg_reparent_first", None, None,
           "mm: memcg/slab: obj_cgroup API", "Roman Gushchin", "5.9",
           "memcg_offline_kmem reparents the obj_cgroups before the list_lrus",
           ("mm/memcontrol.c: memcg_offline_kmem",),
           verified=False,
           missing="commit id not seen; order in 6.1 and 6.12 confirmed by audit A2; that the "
                   "order dates from the introduction of objcgs (5.9) is our inference",
           off='memcg_offline_kmem reparents the list_lrus first (6.13 on)',
           source="audit.md A2"),
    # -- 6.7: Qi Zheng's lockless shrinkers ----------------------------------------------------
    Commit("set_shrinker_bit_warn", "42c9db397048", None,
           "mm: vmscan: add a map_nr_max field to shrinker_info", "Qi Zheng", "6.4",
           "set_shrinker_bit WARNs (once) when the id is beyond info->map_nr_max and sets no bit",
           ("mm/vmscan.c: set_shrinker_bit",),
           off="6.1: no map_nr_max, no check",
           verified=False,
           missing="author and release inferred: id 42c9db39704839eeb77b27db4c1d57bfa2a54a5b and "
                   "subject seen in a revlist next to Qi Zheng's SRCU shrinker series (index "
                   "file 67419589653), which lkp tested in May 2023 (index file 8680429461) and "
                   "a stable backport list puts after the 6.3 mm-stable merge (index file "
                   "16412341214): 6.4",
           source="audit.md section 3 (set_shrinker_bit)"),
    Commit("undo_large_rmappable", "8dc4a8f1e038",
           "20230816151201.3655946-5-willy@infradead.org",
           "mm: convert free_transhuge_folio() to folio_undo_large_rmappable()",
           "Matthew Wilcox (Oracle)", "6.6",
           "the deferred split unqueue of a large rmappable folio becomes "
           "folio_undo_large_rmappable and leaves the entry empty (list_del_init)",
           ("mm/huge_memory.c: folio_undo_large_rmappable",),
           off="6.1 free_transhuge_page: list_del (poisons the entry)",
           verified=False,
           missing="id, subject and posting (v2 04/13, 2023-08-16) seen; release 6.6 from the "
                   "posting date; that this commit (not a neighbour before 6.7) brought "
                   "list_del_init is our inference: 9bcef5973e31 (6.7) unqueues a migration "
                   "source that is freed later through the same path, which needs it",
           source="mainline revlists (index file 66628967557); the posting (index file "
                  "48058158633)"),
    Commit("expand_keeps_bits", "307bececcd12", None,
           "mm: shrinker: add a secondary array for shrinker_info::{map, nr_deferred}",
           "Qi Zheng", "6.7-rc1",
           "expand_shrinker_info copies the old units (bits kept); before, every old bit was "
           "set to 1",
           ("mm/shrinker.c: expand_one_shrinker_info",),
           verified=False,
           missing="id, subject and merge order seen; that this commit (and not a neighbour) "
                   "changed the old-bits rule is inferred from the 6.1 and 6.7 sources",
           off='6.1 sets every old bit to 1',
           source="kernel.org post-receive revlist (index file 67332222116)"),
    Commit("shrinker_lockless", "50d09da8e119", None,
           "mm: shrinker: make memcg slab shrink lockless", "Qi Zheng", "6.7-rc1",
           "shrink_slab_memcg walks the bitmap under RCU with shrinker refcounts instead of "
           "down_read_trylock(shrinker_rwsem) (which skipped the pass when contended); the "
           "global pass went lockless in ca1d36b82394 just before it",
           ("mm/shrinker.c: shrink_slab_memcg", "mm/shrinker.c: shrink_slab"),
           off="6.1's down_read_trylock(shrinker_rwsem), which skips the pass when contended",
           source="kernel.org post-receive revlist (index file 67332222116); ca1d36b82394 "
                  "linked as a torvalds/linux commit (index file 3500312856)"),
    Commit("nokmem_skip_clears_bit", "50d09da8e119", None,
           "mm: shrinker: make memcg slab shrink lockless", "Qi Zheng", "6.7-rc1",
           "shrink_slab_memcg clears the bit of a non-NONSLAB shrinker it skips because kmem "
           "is offline (before: skip only)",
           ("mm/shrinker.c: shrink_slab_memcg",),
           verified=False,
           missing="attributed to the lockless rewrite by comparing 6.1 with a 6.6 backport of "
                   "it (kernel-semantics.md section 9); the diff itself was not read",
           source="kernel-semantics.md section 3 and 9"),
    Commit("shrinker_info_unit", "307bececcd12", None,
           "mm: shrinker: add a secondary array for shrinker_info::{map, nr_deferred}",
           "Qi Zheng", "6.7-rc1",
           "shrinker_info holds shrinker_info_unit pointers (map and nr_deferred per 64 ids); "
           "set_shrinker_bit reads info->unit[id / 64] before its map_nr_max check, an "
           "out-of-bounds read KASAN reports when the id is beyond the map",
           ("mm/shrinker.c: set_shrinker_bit", "mm/shrinker.c: expand_one_shrinker_info"),
           off="one flat bitmap per shrinker_info (6.1)",
           source="kernel.org revlists (the history research: 307bececcd12 confirmed with "
                  "50d09da8e119 and ca1d36b82394); audit.md section 3"),
    Commit("migrate_memcg_transfer", "85ce2c517ade", None,
           "memcontrol: only transfer the memcg data for migration", "Nhat Pham", "6.7-rc1",
           "mem_cgroup_migrate moves the charge and the css reference to the new folio and "
           "clears the old folio's memcg_data, although a queued old folio is still on its "
           "memcg's deferred split queue",
           ("mm/memcontrol.c: mem_cgroup_migrate",),
           off="the new folio is charged anew; the old one keeps its memcg until it is freed",
           verified=False,
           missing="id and subject from the Fixes: chain (9bcef5973e31 fixes it, as quoted in "
                   "Hugh Dickins' be9581ea8c05 text); author and the 6.7 merge window "
                   "(Nhat Pham's hugetlb memcg accounting series) from memory, not seen",
           source="be9581ea8c05's text quoted in review (index file 28766803529)"),
    Commit("shrinker_info_free_unlocked", "307bececcd12", None,
           "mm: shrinker: add a secondary array for shrinker_info::{map, nr_deferred}",
           "Qi Zheng", "6.7-rc1",
           "alloc_shrinker_info's error path drops shrinker_mutex before free_shrinker_info "
           "frees the infos it already published, so a racing expand_shrinker_info (a "
           "shrinker registering) can copy and kvfree_rcu one of them: use-after-free, "
           "double free",
           ("mm/shrinker.c: alloc_shrinker_info",),
           off="6.1: free_shrinker_info inside the locked section",
           verified=False,
           missing="attributed to 307bececcd12 by the Fixes: tag of Qi Zheng's 2026 fix; the "
                   "diff of 307bececcd12 itself was not read",
           source="Qi Zheng's fix as quoted in Muchun Song's ack (stable list, 2026-06-17, "
                  "index file 60292105332)"),
    Commit("migrate_unqueue_old", "9bcef5973e31",
           "61273e5e9b490682388377c20f52d19de4a80460.1703054559.git.baolin.wang@linux.alibaba.com",
           "mm: memcg: fix split queue list crash when large folio migration", "Baolin Wang",
           "6.7",
           "mem_cgroup_migrate takes a large rmappable old folio off its deferred split queue "
           "(folio_undo_large_rmappable) before clearing its memcg_data",
           ("mm/memcontrol.c: mem_cgroup_migrate",),
           fixes=("85ce2c517ade",),
           off="6.7-rc1: the old folio's free unqueues it under the node queue's lock while it "
               "is on its memcg's queue",
           verified=False,
           missing="posted 2023-12-20 (Message-ID seen in Nhat Pham's reply); merged through "
                   "mm-hotfixes before 6.7 (which -rc not seen)",
           source="mainline revlist (index file 66262550580); review reply (index file "
                  "8936937301)"),
    # -- 6.8: mTHP -----------------------------------------------------------------------------
    Commit("mthp", "19eaf44954df", None,
           "mm: thp: support allocation of anonymous multi-size THP", "Ryan Roberts", "6.8",
           "anonymous faults may allocate folios of orders 2..8, which the deferred split "
           "queue takes like PMD THPs",
           ("mm/memory.c: alloc_anon_folio",),
           off='only PMD-order THPs',
           source="kernel.org revlists (e.g. index file 30413270507: committed 2023-12-20)"),
    Commit("list_lru_explicit_memcg", "0a97c01cd20b", None,
           "list_lru: allow explicit memcg and NUMA node selection", "Nhat Pham", "6.8",
           "list_lru_add/list_lru_del take the memcg from the caller; list_lru_add_obj and "
           "list_lru_del_obj look the object's memcg up (mem_cgroup_from_slab_obj) before "
           "the lock, with no RCU read-side section holding it until set_shrinker_bit",
           ("mm/list_lru.c: list_lru_add_obj", "mm/list_lru.c: list_lru_del_obj",
            "mm/list_lru.c: list_lru_add"),
           off="list_lru_add looks the memcg up under the node lock (list_lru_from_kmem)",
           verified=False,
           missing="release 6.8 inferred (the zswap shrinker series it belongs to was merged "
                   "for 6.8); id and subject from the Fixes: tag of 5161b48712dc",
           source="Fixes: tag quoted in Stephen Rothwell's linux-next check (index file "
                  "28921768121) and in the v1 review (index file 28246824426)"),
    # -- 6.9: split to any lower order ------------------------------------------------------
    Commit("split_to_order", "c010d47f107f", "20240226205534.1603748-8-zi.yan@sent.com",
           "mm: thp: split huge page to any lower order pages", "Zi Yan", "6.9",
           "split_huge_page_to_list_to_order splits a large folio into folios of a lower "
           "order (anonymous: never order 1, whose _deferred_list would lie in page 2); the "
           "split's dequeue re-initialises _deferred_list (list_del_init) because the head "
           "stays a large folio that may be queued and split again",
           ("mm/huge_memory.c: split_huge_page_to_list_to_order",
            "mm/huge_memory.c: __split_huge_page", "mm/huge_memory.c: split_huge_pages_pid"),
           off="split_huge_page_to_list: order 0 only, list_del leaves the old head's "
               "_deferred_list poisoned (harmless: it is no longer a large folio)",
           verified=False,
           missing="id, subject, author and Link seen in the commit text; release 6.9 inferred "
                   "from the Link's date (2024-02-26, after the 6.8 merge window)",
           source="commit text (http://git.maquefel.me/?a=commit&h=c010d47f107f609b9f4d6a103b6dfc"
                  "53889049e9&p=linux.git)"),
    Commit("page_cache_order1", "8897277acfef", "20231206204442.771430-1-willy@infradead.org",
           "mm: support order-1 folios in the page cache", "Matthew Wilcox (Oracle)", "6.9",
           "the page cache may hold order-1 folios (a file fault may map one); "
           "deferred_split_folio and folio_undo_large_rmappable return for order <= 1, whose "
           "_deferred_list would lie in page 2 (no anonymous order-1 folio exists: "
           "THP_ORDERS_ALL_ANON excludes order 1 at every point)",
           ("mm/huge_memory.c: deferred_split_folio", "mm/huge_memory.c: "
            "folio_undo_large_rmappable", "mm/filemap.c: __filemap_get_folio",
            "mm/readahead.c: page_cache_ra_order"),
           off="no order-1 folio anywhere: the page cache allocates order 0 or 2.. (a file "
               "fault of order 1 is bad input)",
           verified=False,
           missing="release 6.9 inferred: the mm tree's list (index file 65961739878) has the "
                   "full id beside the split-to-any-order series (c010d47f107f, 6.9 here), and "
                   "Pankaj Raghav still posted it as 01/13 of his LBS series v2 on 2024-03-01, "
                   "after the 6.8 merge window (so not 6.8)",
           source="posted patch (Message-ID 20231206204442.771430-1-willy@infradead.org, "
                  "2023-12-06, its text: order-1 folios have no room for the deferred list, "
                  "file-backed folios are never on it); full id in the mm tree's list (index "
                  "file 65961739878) and in 593a10dabe08's text (index file 28776209189)"),
    # -- 6.10 --------------------------------------------------------------------------------
    Commit("migrate_split_deferred", "7262f208ca68", None,
           "mm/migrate: split source folio if it is on deferred split list", "Zi Yan",
           "6.10-rc1",
           "migrate_pages_batch splits a large folio on a deferred list instead of migrating it "
           "whole (thp_migration_fail, thp_migration_split, then the small folios migrate); from "
           "6.12 only when folio_test_partially_mapped() (8422acdc97ed)",
           ("mm/migrate.c: migrate_pages_batch", "mm/migrate.c: try_split_folio"),
           off="a queued large folio migrates whole",
           verified=False,
           missing="author: Zi Yan's follow-up fixes of it (Fixes: 7262f208ca68) were read, "
                   "the commit's own From: was not",
           source="id 7262f208ca681385d133844be8a58d9b4ca185f7 and subject in a mainline "
                  "revlist (index file 66499004658); in 6.10-rc: Hugh Dickins' fix of it is 'A "
                  "hotfix to 6.10-rc' (index file 17895015022); Zi Yan's fix with Fixes: "
                  "7262f208ca68 (index file 8533775191); audit.md B5"),
    Commit("reclaim_split_queued_only", "5ed890ce5147", None,
           "mm: vmscan: avoid split during shrink_folio_list()", "Ryan Roberts",
           "6.10-rc1",
           "shrink_folio_list splits a large anon folio before swapping it only when it is on "
           "a deferred split queue (data_race(!list_empty(&folio->_deferred_list))); the rest "
           "are swapped out whole",
           ("mm/vmscan.c: shrink_folio_list",),
           off="split every large folio that is not PMD-mapped (!folio_entire_mapcount) before "
               "add_to_swap (4.13 .. 6.9): a PMD-mapped THP is swapped whole",
           source="mainline revlist (index file 66499004658) and a blame of mm/vmscan.c "
                  "(index file 40169191297, authored 2024-04-08); the v5 diff (index file "
                  "38363746445); 6.10 as 'mTHP swapout' in f8f931bba0f9's text"),
    # -- 6.10-rc: hugetlb folios become large_rmappable, migration unqueues ------------------
    Commit("hugetlb_large_rmappable", "f6a8dd98a2ce", None,
           "hugetlb: convert alloc_buddy_hugetlb_folio to use a folio",
           "Matthew Wilcox (Oracle)", "6.10-rc1",
           "alloc_buddy_hugetlb_folio allocates with __folio_alloc, which marks the hugetlb "
           "folio PG_large_rmappable although its page[2] holds hugetlb fields "
           "(_hugetlb_subpool, _hugetlb_cgroup), not an initialised _deferred_list",
           ("mm/hugetlb.c: alloc_buddy_hugetlb_folio",),
           off="a hugetlb folio is never large_rmappable",
           verified=False,
           missing="id and subject from the Fixes: tag of f708f6970cc9; author not seen; "
                   "release from Hugh Dickins' reply ('That's in 6.10-rc'), the merge window "
                   "(-rc1) inferred",
           source="f708f6970cc9's commit text (mm-commits, Message-Id "
                  "20240718040927.E5378C4AF0A@smtp.kernel.org); Hugh Dickins' review of it"),
    Commit("split_anon_large_order", "6a50c9b512f7", None,
           "mm: huge_memory: fix misused mapping_large_folio_support() for anon folios",
           "Ran Xiaokai", "6.10-rc5",
           "split_huge_page_to_list_to_order applies the shmem and large-folio-mapping checks "
           "only to file folios: an anonymous folio splits to a non-zero order",
           ("mm/huge_memory.c: split_huge_page_to_list_to_order",),
           fixes=("c010d47f107f",),
           off="6.9: every split to a non-zero order tests mapping_large_folio_support() of "
               "folio->mapping, which for an anonymous folio is its anon_vma: the split fails "
               "(-EINVAL) with VM_WARN_ONCE 'Cannot split file folio to non-0 order' (as "
               "reported; the bit read is anon_vma memory)",
           verified=False,
           missing="Fixes: c010d47f107f from the backport note of a later fix (Zi Yan: 'a hot "
                   "fix to commit c010d47f107f'), not from the commit's own tags; release: in "
                   "mm-hotfixes-stable-2024-06-17 (on 6.10-rc3), merged 2024-06-17, so "
                   "6.10-rc5 is inferred",
           source="mm-commits mail 'merged into the mm-hotfixes-stable branch' with the commit "
                  "text (index file 25528111063); kernel.org revlist with the merge of "
                  "mm-hotfixes-stable-2024-06-17-11-43 (index file 65795648590)"),
    Commit("migrate_unqueue_frozen", "be9581ea8c05",
           "29c83d1a-11ca-b6c9-f92e-6ccb322af510@google.com",
           "mm: fix crashes from deferred split racing folio migration", "Hugh Dickins",
           "6.10-rc7",
           "__folio_migrate_mapping (anon, no mapping): a large rmappable source is frozen and "
           "taken off its deferred-split queue (folio_undo_large_rmappable) before the "
           "destination takes over",
           ("mm/migrate.c: __folio_migrate_mapping", "mm/memcontrol.c: mem_cgroup_migrate"),
           fixes=("9bcef5973e31",),
           off="the source stays queued until it is freed; from 9bcef5973e31 "
               "mem_cgroup_migrate unqueues it unfrozen, while deferred_split_scan may hold "
               "it on its private list (history bug 13)",
           verified=False,
           missing="release: pushed to mainline on 2024-07-10 with the merge of "
                   "mm-hotfixes-stable-2024-07-10-13-19 (revlist index file 67240474215), "
                   "after the 6.10-rc7 tag and before 6.10; the point 6.10-rc7 stands for "
                   "that place in merge order",
           source="6.9-stable review mail 'commit be9581ea8c05... upstream' (From: Hugh "
                  "Dickins); kernel.org revlists (index files 66168726703, 67204337515); the "
                  "commit text, Fixes: 9bcef5973e31 and diff in the mm-commits mail "
                  "<20240703021244.394BFC116B1@smtp.kernel.org> (index file 9041598912)"),
    Commit("hugetlb_large_rmappable", "f708f6970cc9",
           "20240709120433.4136700-1-linmiaohe@huawei.com",
           "mm/hugetlb: fix kernel NULL pointer dereference when migrating hugetlb folio",
           "Miaohe Lin", "6.10",
           "alloc_buddy_hugetlb_folio clears PG_large_rmappable: migration no longer unqueues "
           "a hugetlb folio through its uninitialised _deferred_list",
           ("mm/hugetlb.c: alloc_buddy_hugetlb_folio",), value=False,
           fixes=("f6a8dd98a2ce", "be9581ea8c05"),
           verified=False,
           missing="in mm-hotfixes-stable-2024-07-10-13-19 (the pull for 6.10); that Linus "
                   "merged it before the 6.10 tag (2024-07-14) is inferred",
           source="commit text with Link and Fixes: (mm-commits, Message-Id "
                  "20240718040927.E5378C4AF0A@smtp.kernel.org); hotfix pull request "
                  "mm-hotfixes-stable-2024-07-10-13-19"),
    # -- 6.11 --------------------------------------------------------------------------------
    Commit("reclaim_full_walk_retry", "6be5e186fd65", None,
           "mm: vmscan: restore incremental cgroup iteration", "Johannes Weiner", "6.11",
           "do_try_to_free_pages: when nothing was reclaimed, run the whole priority sweep once "
           "more with sc->memcg_full_walk = 1 and the priority reset (Shakeel Butt's 'mm: "
           "vmscan: reset sc->priority on retry', Message-ID "
           "20240529154911.3008025-1-shakeel.butt@linux.dev, folded in); before it, direct and "
           "memcg reclaim walk the memcg tree with the shared partial iterator",
           ("mm/vmscan.c: do_try_to_free_pages", "mm/vmscan.c: shrink_node_memcgs"),
           off="one sweep (6.1)",
           verified=False,
           missing="release: in linux-next 20240528 (after 6.10-rc1; syzbot's report, index "
                   "file 10506231557), so 6.11 unless it went to 6.10-rc as a hotfix; Shakeel "
                   "Butt's fix is seen as its own commit 9c8805439853 there (Qi Zheng), so "
                   "'folded' is not confirmed. Id 6be5e186fd655df4b3ba267054de2eaaadc71340 and "
                   "author Johannes Weiner seen (syzbot bisection, index file 42678116671)",
           source="audit.md B1 (measured on Debian 6.12.117); config.py flag text (issue 8)"),
    Commit("list_lru_obj_rcu", "5161b48712dc",
           "20240801024603.1865-1-songmuchun@bytedance.com",
           "mm: list_lru: fix UAF for memory cgroup", "Muchun Song", "6.11",
           "list_lru_add_obj and list_lru_del_obj hold rcu_read_lock from the memcg lookup to "
           "the end of the add or del, so an offline and release of the memcg cannot free it "
           "under them",
           ("mm/list_lru.c: list_lru_add_obj", "mm/list_lru.c: list_lru_del_obj"),
           fixes=("0a97c01cd20b",),
           off="6.8 .. 6.10: the memcg is used without RCU after its lookup",
           verified=False,
           missing="release 6.11 inferred from its place in mainline revlists of August 2024 "
                   "(mm-hotfixes, with 6.11-rc fixes); found by code review (Muchun Song to "
                   "Vlastimil Babka), Cc stable",
           source="mainline revlist (index file 66153548764); v1 diff and review (index file "
                  "28246824426)"),
    # -- 6.12: Usama Arif's underused THP series and Hugh Dickins' fixes ---------------------
    Commit("split_remap_zeropage", "b1f202060afe",
           "20240807134732.3292797-3-usamaarif642@gmail.com",
           "mm: remap unused subpages to shared zeropage when splitting isolated thp",
           "Yu Zhao", "6.12-rc1",
           "every successful anon split remaps zero-filled subpages to the shared zero page and "
           "frees them",
           ("mm/huge_memory.c: remap_page", "mm/migrate.c: remove_migration_pte"),
           off="every mapped subpage stays (6.1)",
           source="v2 2/4 posting 2024-08-07 and Fixes: tags citing it (index files 29008556703, "
                  "40459127683)"),
    Commit("partially_mapped_flag", "8422acdc97ed", None,
           "mm: introduce a pageflag for partially mapped folios", "Usama Arif", "6.12-rc1",
           "PG_partially_mapped: queue only really partially mapped THPs, count "
           "thp_deferred_split_page once, drop fully mapped non-underused THPs at scan",
           ("mm/huge_memory.c: deferred_split_folio", "mm/huge_memory.c: deferred_split_scan",
            "mm/rmap.c: __folio_remove_rmap", "mm/vmscan.c: shrink_folio_list"),
           off="6.1: queue when any subpage loses its last mapping, every queued THP is a "
               "split candidate and failures go back to the tail",
           source="kernel.org revlist (index file 65870332318); v3/v4 4/6 review threads"),
    Commit("queue_at_fault", "dafff3f4c850", None,
           "mm: split underused THPs", "Usama Arif", "6.12-rc1",
           "PMD THPs are queued as maybe-underused at fault and after collapse, split when more "
           "than max_ptes_none subpages are zero-filled",
           ("mm/huge_memory.c: __do_huge_pmd_anonymous_page", "mm/khugepaged.c: "
            "collapse_huge_page", "mm/huge_memory.c: thp_underused"),
           off='THPs are queued only when partially unmapped',
           source="kernel.org revlist (index file 65870332318); cover "
                  "https://lkml.iu.edu/hypermail/linux/kernel/2408.1/00956.html"),
    Commit("free_lockless_fastpath", "f8f931bba0f9", None,
           "mm/thp: fix deferred split unqueue naming and locking", "Hugh Dickins", "6.12-rc7",
           "folio_unqueue_deferred_split tests list_empty() locklessly before locking; "
           "migration unqueues the frozen source; swapout and memcg1 move_charge unqueue before "
           "changing memcg_data",
           ("mm/internal.h: folio_unqueue_deferred_split", "mm/migrate.c: "
            "__folio_migrate_mapping", "mm/memcontrol.c: mem_cgroup_move_account"),
           verified=False,
           missing="Fixes: tags of the commit not read; author from the CVE/backport text "
                   "only; whether 6.1.y (debian-6.1.192) carries a backport is open (today's "
                   "linux-6.1 preset, conformance-tested, has not). In mainline by 6.12-rc7: "
                   "the mm tree's 'linus' ref moved to 'Linux 6.12-rc7' with it and "
                   "e66f3185fa04 (index file 65793811733)",
           off="6.1: free_transhuge_page always locks, migration leaves the source to the "
               "free path",
           source="stable backport text 'commit f8f931bba0f92052cf842b7e30917b1afcc77d5a "
                  "upstream' (index file 28580327969); CVE-2024-53079"),
    Commit("swapout_unqueue_first", "f8f931bba0f9", None,
           "mm/thp: fix deferred split unqueue naming and locking", "Hugh Dickins", "6.12-rc7",
           "cgroup v1's mem_cgroup_swapout (memcg1_swapout) unqueues the THP, its refcount "
           "frozen by __remove_mapping, before clearing memcg_data, so the unqueue locks the "
           "memcg's queue",
           ("mm/memcontrol.c: mem_cgroup_swapout",),
           fixes=("87eaceb3faa5", "dafff3f4c850"),
           off="memcg_data is cleared with the THP still queued; the free path then unqueues "
               "it under the node queue's lock (decrementing the node's length) while it sits "
               "on the memcg's list",
           source="commit text and diff of the 6.6.y backport, 'commit "
                  "f8f931bba0f92052cf842b7e30917b1afcc77d5a upstream' (index file 28580327969); "
                  "mainline revlist next to e66f3185fa04 (index file 66181880307); 6.12 as for "
                  "free_lockless_fastpath"),
    Commit("move_charge_split_first", "f8f931bba0f9", None,
           "mm/thp: fix deferred split unqueue naming and locking", "Hugh Dickins", "6.12-rc7",
           "mem_cgroup_move_charge_pte_range splits a queued PMD-mapped THP before moving its "
           "charge (splitting unqueues) and skips it when the split fails; move_account only "
           "WARNs if the folio is still queued",
           ("mm/memcontrol.c: mem_cgroup_move_charge_pte_range",
            "mm/memcontrol.c: mem_cgroup_move_account"),
           fixes=("87eaceb3faa5", "dafff3f4c850"),
           off="move_account changes memcg_data of a queued THP: a later unqueue locks the "
               "destination's queue while the THP sits on the source's list",
           source="commit text and diff of the 6.6.y backport (index file 28580327969)"),
    Commit("scan_keeps_safe_folio", "e66f3185fa04",
           "81e34a8b-113a-0701-740e-2135c97eb1d7@google.com",
           "mm/thp: fix deferred split queue not partially_mapped", "Hugh Dickins", "6.12-rc7",
           "deferred_split_scan drops a fully mapped used folio from its private list with an "
           "unlocked list_del_init only while one folio whose reference it still holds (the "
           "last one it kept, put after the splice) separates it from every earlier folio left "
           "on the list, which a racing free may unqueue under the queue lock; the drops are "
           "counted in 'removed' and subtracted under the lock",
           ("mm/huge_memory.c: deferred_split_scan",),
           fixes=("dafff3f4c850",),
           off="6.12-rc1 (dafff3f4c850): every folio is put right after it is processed, and "
               "the dropped one leaves with an unlocked list_del_init and split_queue_len--",
           verified=False,
           missing="Fixes: tag not read (dafff3f4c850 added the unlocked list_del_init: its "
                   "diff was seen); 6.12-rc7 inferred: it is in akpm's mm-hotfixes-stable of "
                   "2024-11-06 with f8f931bba0f9, merged as mm-hotfixes-stable-2024-11-09 "
                   "around 6.12-rc7 (the revlist order does not settle rc7 against 6.12)",
           source="mm tree post-receive 2024-11-06 (index file 65994802065); '[PATCH hotfix "
                  "v2 1/2]' posting (index file 34972193862); the later folio_batch patch "
                  "quotes its comment (index file 18142473981)"),
    Commit("scan_safe_folio_after_split", "a3477c9e02cc",
           "3c995a30-31ce-0998-1b9f-3a2cb9354c91@google.com",
           "mm/thp: fix deferred split queue not partially_mapped: fix", "Hugh Dickins", "6.12",
           "deferred_split_scan keeps a folio it split out of the safe-folio swap: the split "
           "took it off the private list, so it separates nothing, and putting the previous "
           "safe folio left that one unprotected next to the next unlocked list_del_init",
           ("mm/huge_memory.c: deferred_split_scan",),
           fixes=("e66f3185fa04",),
           off="e66f3185fa04 as merged: a split folio becomes the kept one and the previous "
               "kept folio is put",
           verified=False,
           missing="posted as '[PATCH hotfix] mm/thp: fix deferred split queue not "
                   "partially_mapped: fix' on 2024-11-10 (its Message-ID seen as the "
                   "In-Reply-To of Zi Yan's and Chris Li's replies, the patch itself not "
                   "read); release 6.12 from its place after 6.12-rc7 in the stable tree's "
                   "6.12 revlist",
           source="linux-rolling-stable post-receive 2024-12-05 (index file 66690024480); "
                  "Chris Li's ack quoting Fixes: e66f3185fa04 (docs/history-bugs.md 17)"),
    Commit("list_lru_init_nokmem_unaware", None, None,
           "(not identified) __list_lru_init: no memcg awareness under nokmem", "unknown",
           "6.12",
           "__list_lru_init makes an lru non-memcg-aware when mem_cgroup_kmem_disabled()",
           ("mm/list_lru.c: __list_lru_init",),
           verified=False,
           missing="commit not identified; absent in 6.1 (kernel-6.1.md); the model puts it in "
                   "v0 (6.12) and so do we; the release is open (6.2 .. 6.13)",
           source="config.py flag text; kernel-semantics.md section 2"),
    # -- 6.13: Kairui Song's list_lru lock split -----------------------------------------------
    Commit("list_lru_per_sublist_lock", "fb56fdf8b9a2", None,
           "mm/list_lru: split the lock to per-cgroup scope", "Kairui Song", "6.13",
           "a lock per list_lru_one; a reparented sublist is marked dead (LONG_MIN) and lookups "
           "walk up to the parent; kmemcg_id is no longer rewritten; memcg_reparent_list_lrus "
           "erases the xarray slot before draining the sublists (audit A1)",
           ("mm/list_lru.c: lock_list_lru_of_memcg", "mm/list_lru.c: memcg_reparent_list_lrus",
            "mm/list_lru.c: list_lru_add", "mm/list_lru.c: list_lru_del"),
           off="one lock per node, kmemcg_id rewritten on reparent (6.1, 6.12)",
           source="linux-next revlist 2024-11-24 (index file 66473404588); Fixes: tag of "
                  "Shakeel Butt's drain fix"),
    Commit("objcg_reparent_first", "fb56fdf8b9a2", None,
           "mm/list_lru: split the lock to per-cgroup scope", "Kairui Song", "6.13",
           "memcg_offline_kmem reparents the list_lrus before the obj_cgroups",
           ("mm/memcontrol.c: memcg_offline_kmem",), value=False,
           verified=False,
           missing="that the order changed in this commit (and not 28e98022b31e next to it) is "
                   "from audit A2, which quotes the 6.13 comment but not the commit",
           source="audit.md A2"),
    Commit("list_lru_alloc_skips_dying", "28e98022b31e", None,
           "mm/list_lru: simplify reparenting and initial allocation", "Kairui Song", "6.13",
           "__memcg_list_lru_alloc allocates ancestors first, one at a time, and gives a dying "
           "memcg no sublists",
           ("mm/list_lru.c: memcg_list_lru_alloc",),
           off="allocate the whole table of missing ancestors first (all or nothing), then "
               "store each at its kmemcg_id, dying or not (6.1)",
           source="id 28e98022b31efdb8f1ba310d938cd9b97ededfe4 and subject in the linux-next "
                  "revlist that has fb56fdf8b9a2 (index file 66473404588), listed just after it "
                  "(applied after it, in the 6.13 merge window); author: blame lines "
                  "'28e98022b31efd Kairui Song 2024-11-05' (index file 23138163660); audit.md "
                  "A3"),
    Commit("charge_move_removed", "6b611388b626", None,
           "memcg-v1: remove charge move code", "Shakeel Butt", "6.13",
           "cgroup v1's memory.move_charge_at_immigrate no longer moves charges (only 0 may be "
           "written, aa6b4fdf5940 'memcg-v1: fully deprecate move_charge_at_immigrate'): a "
           "migrating task's pages stay charged where they are",
           ("mm/memcontrol-v1.c: mem_cgroup_move_charge",
            "mm/memcontrol-v1.c: mem_cgroup_move_charge_write"),
           off="5.4 .. 6.12: moving a task to a cgroup with move_charge_at_immigrate set moves "
               "the charges of its pages (mem_cgroup_move_account)",
           source="mainline revlist (index file 66709188116); 'MM updates for 6.13-rc1' pull "
                  "request, series 'memcg-v1: fully deprecate charge moving' (index file "
                  "11929899485)"),
    Commit("deferred_split_skip_mlocked", None,
           "20250908090741.61519-1-lance.yang@linux.dev",
           "mm: skip mlocked THPs that are underused early in deferred_split_scan()",
           "Lance Yang", "6.18",
           "deferred_split_scan does not test an mlocked fully mapped THP for underuse (it "
           "cannot be remapped to the zero page)",
           ("mm/huge_memory.c: deferred_split_scan",),
           off="6.12 ... 6.17: an mlocked underused THP is split like any other",
           verified=False,
           missing="no commit id found; release inferred from the posting date (2025-09)",
           source="issue-8 C-list fix (the scan's mlocked test)"),
    # -- 6.19: Qi Zheng's split queue reparenting --------------------------------------------
    Commit("split_queue_folio_batch", None, None,
           "mm: thp: use folio_batch to handle THP splitting in deferred_split_scan()",
           "Muchun Song, Qi Zheng", "6.19",
           "deferred_split_scan isolates into a folio_batch and unqueues while isolating "
           "(split_queue_len stays exact); before, an on-stack list spliced back",
           ("mm/huge_memory.c: deferred_split_scan",),
           verified=False,
           missing="mainline id not found (many mm-unstable ids seen); release 6.19 inferred "
                   "from the Nov 2025 posting with acks (could be 7.0)",
           off='an on-stack list, spliced back after the scan',
           source="mm revlists (e.g. index file 66881106529); lkml 2511.0/05754"),
    Commit("split_queue_walkup", None,
           "8703f907c4d1f7e8a2ef2bfed3036a84fa53028b.1762762324.git.zhengqi.arch@bytedance.com",
           "mm: thp: reparent the split queue during memcg offline", "Qi Zheng", "6.19",
           "split_queue_lock() walks up past dying memcgs and the shrinker bit goes to the "
           "memcg that owns the locked queue",
           ("mm/huge_memory.c: split_queue_lock", "mm/huge_memory.c: deferred_split_folio"),
           verified=False,
           missing="mainline id not found; release 6.19 inferred (could be 7.0)",
           source="https://patchew.org/linux/cover.1762762324.git.zhengqi.arch@bytedance.com/"),
    Commit("reparent_split_queue", None,
           "8703f907c4d1f7e8a2ef2bfed3036a84fa53028b.1762762324.git.zhengqi.arch@bytedance.com",
           "mm: thp: reparent the split queue during memcg offline", "Qi Zheng", "6.19",
           "css_offline splices a dying memcg's queue to its parent and sets the parent's bit "
           "on every node",
           ("mm/huge_memory.c: reparent_deferred_split_queue", "mm/memcontrol.c: "
            "mem_cgroup_css_offline"),
           verified=False,
           missing="mainline id not found; release 6.19 inferred (could be 7.0)",
           source="https://patchew.org/linux/cover.1762762324.git.zhengqi.arch@bytedance.com/"),
    # -- 7.0 / 7.1 ---------------------------------------------------------------------------
    Commit("migrate_requeue_dst", "8a8ca142a488", None,
           "mm: migrate: requeue destination folio on deferred split queue", "Usama Arif", "7.0",
           "migration requeues the destination folio when the source was queued",
           ("mm/migrate.c: migrate_folio_move",), fixes=("dafff3f4c850",),
           backports=("debian-6.12.117",),
           verified=False,
           missing="release inferred: Lance Yang's fix of it (Fixes: 8a8ca142a488) was posted "
                   "2026-04-01, so it was in mainline by 7.0-rc; may be 7.0 or 7.1",
           source="audit.md B6 (backport in Debian 6.12.117); Fixes: tag in "
                  "20260401131032.13011-1-lance.yang@linux.dev; v2 posting by Usama Arif, "
                  "2026-03-10, 'Fixes: dafff3f4c850 (\"mm: split underused THPs\")' "
                  "(https://lkml.iu.edu/2603.1/04152.html)"),
    Commit("scan_requeue_trylock_fail", None, "20260401131032.13011-1-lance.yang@linux.dev",
           "mm: fix deferred split queue races during migration", "Lance Yang", "7.0",
           "deferred_split_scan requeues a folio whose folio_trylock failed instead of dropping "
           "it (a fully mapped underused folio was lost from the queue)",
           ("mm/huge_memory.c: deferred_split_scan",), fixes=("8a8ca142a488",),
           modelled=False, verified=False,
           missing="mainline id and release not found (syzbot a7067a757858ac8eb085, Cc stable)",
           source="folded version by Andrew Morton (index file 60573474939)"),
    Commit("shrinker_nokmem_memcg_off", None, None,
           "mm: Do not allocate shrinker info with cgroup.memory=nokmem", "Michal Koutný", "7.1",
           "shrinker_memcg_alloc refuses non-NONSLAB shrinkers under nokmem (they fall back to "
           "non-memcg-aware)",
           ("mm/shrinker.c: shrinker_memcg_alloc",),
           verified=False,
           missing="Message-ID and mainline id not seen; v2 posted 2026-03; release 7.1 is our "
                   "inference (today's preset has it from series-v3 on)",
           source="https://lkml.iu.edu/2603.1/01964.html (v2)"),
    Commit("lru_folio_reparent", "f1cf8d2f36dc", None,
           "mm: memcontrol: eliminate the problem of dying memory cgroup for LRU folios",
           "Qi Zheng", "7.1",
           "css_offline reparents LRU folios: after offline folio_memcg() is the parent",
           ("mm/memcontrol.c: memcg_reparent_objcgs", "mm/memcontrol.c: lru_reparent_memcg"),
           off="folio_memcg() stays the dead memcg until the folio is freed",
           source="audit.md A4 (merge confirmed in the 7.1 merge window)"),
    # -- the THP-shrinker-to-list_lru series (posted v1..v5, merged for 7.2) ---------------
    Commit("thp_list_lru", "fafaeceb89a5", _V5.format(10),
           "mm: switch deferred split shrinker to list_lru", "Johannes Weiner", "7.2",
           "the deferred-split queue becomes the memcg-aware list_lru deferred_split_lru "
           "(per node x per memcg sublists)",
           ("mm/huge_memory.c: deferred_split_folio", "mm/huge_memory.c: deferred_split_scan",
            "mm/huge_memory.c: deferred_split_isolate", "mm/huge_memory.c: thp_shrinker_init"),
           posted=("series-v1", "series-v2", "series-v3", "series-v4", "series-v5"),
           off='the open-coded per-memcg/per-node struct deferred_split',
           source="kernel-semantics.md S5 (fafaeceb89a5e2e856ff04c2cacb6cae4a2ecb67, committed "
                  "2026-06-09); lkml 2605.3/07053 (v5 9/9); the commit with its Link: to v5 "
                  "10/10's Message-ID and the folded nokmem fix (https://git.ipfire.org/cgi-bin/"
                  "gitweb.cgi?a=commit&h=fafaeceb89a5e2e856ff04c2cacb6cae4a2ecb67); in mm-stable "
                  "on 2026-06-09 (index file 66533629186). v1..v4 are known by their covers "
                  "(lkml 2603.1/10164 v2, 2603.2/07035 v3, lwn 1073948 v4), not by Message-ID"),
    Commit("alloc_deferred_memcg_disabled_guard", "fafaeceb89a5", _V5.format(10),
           "(part of " + _THP_SERIES + ")", "Johannes Weiner", "7.2",
           "folio_memcg_alloc_deferred returns 0 when mem_cgroup_disabled() (B4)",
           ("mm/huge_memory.c: folio_memcg_alloc_deferred",),
           posted=("series-v4", "series-v5"), verified=False,
           missing="a hunk of 9/9 since v4; the v4 message itself not seen",
           source="kernel-semantics.md B4 (crash report on v3, fix in v4)"),
    Commit("isolate_flags_before_isolate", "fafaeceb89a5", _V5.format(10),
           "(part of " + _THP_SERIES + ")", "Johannes Weiner", "7.2",
           "deferred_split_isolate clears PG_partially_mapped before list_lru_isolate (B5)",
           ("mm/huge_memory.c: deferred_split_isolate",),
           posted=("series-v5",), verified=False,
           missing="a hunk of v5 9/9, whose message was not retrievable (kernel-semantics 9)",
           source="kernel-semantics.md B5; Lance Yang 20260601083652.59539-1-lance.yang@linux.dev"),
    Commit("collapse_alloc_fail_result", "fafaeceb89a5", _V5.format(10),
           "(part of " + _THP_SERIES + ")", "Johannes Weiner", "7.2",
           "collapse_huge_page reports SCAN_ALLOC_HUGE_PAGE_FAIL when "
           "folio_memcg_alloc_deferred fails (B6)",
           ("mm/khugepaged.c: collapse_huge_page",),
           posted=("series-v5",), verified=False,
           missing="a hunk of v5 9/9, whose message was not retrievable (kernel-semantics 9)",
           source="kernel-semantics.md B6"),
    Commit("list_lru_bit_on_effective_memcg", "79a031583ca5", _V5.format(2),
           "mm: list_lru: fix set_shrinker_bit() call during race with cgroup deletion",
           "Johannes Weiner", "7.2",
           "lock_list_lru_of_memcg returns the memcg it walked up to and __list_lru_add sets "
           "the bit on it (B1)",
           ("mm/list_lru.c: lock_list_lru_of_memcg", "mm/list_lru.c: __list_lru_add"),
           fixes=("fae91d6d8be5",), posted=("series-v5",),
           source="id 79a031583ca5: " + _MM_STABLE + "; [PATCH v5 1/9], Johannes Weiner, "
                  "2026-05-27, Message-ID "
                  "20260527204757.2544958-2-hannes@cmpxchg.org, 'Fixes: fae91d6d8be5', 'This "
                  "bug is as old as the shrinker bitmap itself' (index file 56707203773); "
                  "kernel-semantics.md S2"),
    Commit("shrinker_nonslab", "fafaeceb89a5", "ah9PGv12mqai84ES@cmpxchg.org",
           "mm: switch deferred split shrinker to list_lru fix", "Johannes Weiner", "7.2",
           "the THP shrinker drops SHRINKER_NONSLAB: under nokmem it is non-memcg-aware and "
           "driven by global reclaim only (B2)",
           ("mm/huge_memory.c: thp_shrinker_init",), value=False,
           source="https://lkml.iu.edu/2606.0/04601.html (posted 2026-06-02); folded into "
                  "fafaeceb89a5, whose commit text reads '[hannes@cmpxchg.org: fix "
                  "cgroup.memory=nokmem handling] Link: https://lore.kernel.org/"
                  "ah9PGv12mqai84ES@cmpxchg.org' (https://git.ipfire.org/cgi-bin/gitweb.cgi?"
                  "a=commit&h=fafaeceb89a5e2e856ff04c2cacb6cae4a2ecb67)"),
    Commit("count_shrink_empty", "25fcea213022", "20260602043453.67597-1-lance.yang@linux.dev",
           "mm/thp: clear deferred split shrinker bits when queues drain", "Lance Yang", "7.2",
           "deferred_split_count returns SHRINK_EMPTY for an empty sublist so the bit is "
           "cleared (B7)",
           ("mm/huge_memory.c: deferred_split_count",),
           source="id 25fcea21302237641ddd5816b5b2a20f368d1027 and subject: " + _MM_STABLE + ", "
                  "right after it; kernel-semantics.md S10"),
    Commit("list_lru_drain_before_erase", None,
           "20260601161501.1444829-1-shakeel.butt@linux.dev",
           "mm/list_lru: drain before clearing xarray entry on reparent", "Shakeel Butt", "7.2",
           "memcg_reparent_list_lrus drains every sublist (dead-marks it) before erasing the "
           "xarray slot (A1)",
           ("mm/list_lru.c: memcg_reparent_list_lrus",), fixes=("fb56fdf8b9a2",),
           off="6.13 ... 7.1: the slot is erased first (with list_lru_per_sublist_lock)",
           verified=False,
           missing="mainline id not seen (linux-next pending-fixes had it as 367d0b42cd4c on "
                   "2026-06-02, index file 66603401275; linux-next ids change); release 7.2 "
                   "from audit A1 ('until June 2026'): the earliest release it can be in (Cc "
                   "stable); v1 was Message-ID 20260601063408.2879011-1-shakeel.butt@linux.dev",
           source="commit text with Link: (index file 60701698642); audit.md A1"),
    # -- the mm tree after 7.2 ------------------------------------------------------------------
    Commit("list_lru_no_stale_shrinker_id", None, None,
           "mm/list_lru: don't copy stale shrinker id from non-memcg-aware shrinkers",
           "unknown", "7.3-rc",
           "__list_lru_init copies shrinker->id only from a shrinker that stayed memcg-aware; "
           "a fallen-back one leaves lru->shrinker_id at -1, so __list_lru_add sets no bit "
           "(S1: no WARN, no out-of-bounds read of info->unit under nokmem on 7.2)",
           ("mm/list_lru.c: __list_lru_init",),
           off="7.2: lru->shrinker_id = shrinker->id whether or not the shrinker stayed "
               "memcg-aware",
           verified=False,
           missing="subject seen in mm-unstable/mm-new revlists of late 2026, each rebase with "
                   "another id, so no stable id; author and Fixes: not read; that it goes to "
                   "7.2.y comes from audit.md section 4",
           source="kernel.org post-receive revlists (index files 70122840968, 65770752680); "
                  "audit.md section 4"),
    Commit("list_lru_memcg_disabled_unaware", None, None,
           "mm/list_lru: disable memcg awareness under cgroup_disable=memory",
           "Johannes Weiner", "7.3-rc",
           "__list_lru_init makes the lru non-memcg-aware under cgroup_disable=memory",
           ("mm/list_lru.c: __list_lru_init",),
           verified=False,
           missing="author inferred from the proposal in the B4 thread; in mm-unstable "
                   "2026-09; content unknown beyond the title",
           source="kernel-semantics.md S14"),
    Commit("shrinker_info_free_unlocked", None, "20260617085658.27096-1-qi.zheng@linux.dev",
           "mm: shrinker: fix shrinker_info teardown race with expansion", "Qi Zheng",
           "7.3-rc",
           "alloc_shrinker_info frees the infos it published on an allocation failure before "
           "it drops shrinker_mutex (and mem_cgroup_css_online's later unwind takes it)",
           ("mm/shrinker.c: alloc_shrinker_info", "mm/shrinker.c: free_shrinker_info"),
           fixes=("307bececcd12",), value=False,
           verified=False,
           missing="posted 2026-06-17 (Cc stable, acked by Muchun Song); mainline id and "
                   "release not seen: placed in the newest tree (7.3-rc, the mm tree); the "
                   "objcg unwind half is not modelled",
           source="Muchun Song's ack quoting the patch (stable list, Message-Id "
                  "D326325D-79A4-473F-9C63-B875176F378E@linux.dev, index file 60292105332)"),
)

# -- points ----------------------------------------------------------------------------------
# A posted series version is a point on top of the tree it was posted against.  All five THP
# series versions are placed on 7.1 (audit A4: the series sits on folio reparenting); v1..v3
# were posted in March 2026 against mm-unstable, whose exact contents we do not have.  `merged`
# is the release the series went into: on the line of history a series' versions sit between
# its base and that release.
SERIES: dict[str, dict] = {
    "series-v1": {"base": "7.1", "merged": "7.2", "posted": "2026-03", "cover": None},
    "series-v2": {"base": "7.1", "merged": "7.2", "posted": "2026-03",
                  "cover": "https://lkml.iu.edu/2603.1/10164.html"},
    "series-v3": {"base": "7.1", "merged": "7.2", "posted": "2026-03",
                  "cover": "https://lkml.rescloud.iu.edu/2603.2/07035.html"},
    "series-v4": {"base": "7.1", "merged": "7.2", "posted": "2026-05",
                  "cover": "https://lwn.net/Articles/1073948/"},
    "series-v5": {"base": "7.1", "merged": "7.2", "posted": "2026-05-27",
                  "cover": _V5.format(1)},
}

# Distribution builds: a mainline release plus the stable backports in scope they carry
# (Commit.backports names them).  Build dates not looked up.
DISTRO: dict[str, dict] = {
    "debian-6.1.192": {"base": "6.1", "date": None},
    "debian-6.12.117": {"base": "6.12", "date": None},
}

# The model's preset names (config.PRESETS, the columns of `lrulab bugs`), in that order, as
# aliases of points.  A point's own name works everywhere an alias does.
ALIASES: dict[str, str] = {
    "linux-6.1": "debian-6.1.192",
    "v0": "6.12",
    "linux-6.12": "6.12",
    "debian-6.12.117": "debian-6.12.117",
    "linux-6.13": "6.13",
    "v1": "7.1",
    "series-v3": "series-v3",
    "series-v4": "series-v4",
    "series-v5": "series-v5",
    "v7.2": "7.2",
    "v7.2-fixes": "7.3-rc",
}

FLAG_NAMES: tuple[str, ...] = tuple(dict.fromkeys(c.flag for c in COMMITS))
MODELLED: tuple[str, ...] = tuple(dict.fromkeys(c.flag for c in COMMITS if c.modelled))
_RELEASE_NAMES = tuple(n for n, _ in RELEASES)
# The model's code always has the baked commits, so it cannot stand for a tree without them.
MODEL_FROM: str = max((c.release for c in COMMITS if c.baked and c.release), key=version_key)


def records(flag: str) -> list[Commit]:
    """The records of one flag, in merge order."""
    return [c for c in COMMITS if c.flag == flag]


def flag_table() -> dict[str, tuple[str, str]]:
    """name -> (one line with its source, functions) for every modelled flag (config.FLAGS)."""
    out = {}
    for name in MODELLED:
        rs = records(name)
        on = next((c for c in rs if c.value), rs[0])
        text = f"{on.change} ({cite(on)})"
        for c in rs:
            if c is not on:
                text += f"; {'on' if c.value else 'off'} again with {cite(c)}"
        if on.off:
            text += f"; off = {on.off}"
        out[name] = (text, ", ".join(on.functions))
    return out


def cite(c: Commit) -> str:
    """author, id "subject", release: how a flag's text names its source."""
    ident = c.commit or (f"Message-ID {c.msgid}" if c.msgid else "id not seen")
    return f'{c.author}, {ident} "{c.subject}", {c.seen}'


def resolve(name: str) -> str:
    """A point name for ``name`` (an alias, a point, or any release in scope); KeyError naming
    the choices."""
    if name in ALIASES:
        return ALIASES[name]
    if name in points() or name in _RELEASE_NAMES:
        return name
    raise KeyError(f"unknown kernel {name!r}; choose one of: {', '.join(names())}")


def find_commit(ref: str) -> Commit:
    """A record of the commit a catalog file's ``introduced:``/``fixed:`` names: a commit id
    (at least 7 hex digits, a prefix of the record's 12), a Message-ID (with or without <>),
    or a flag name whose records are all one commit.  KeyError with the fix when none or
    several match."""
    ref = ref.strip()
    mid = ref[1:-1] if ref.startswith("<") and ref.endswith(">") else ref
    if re.fullmatch(r"[0-9a-f]{7,40}", ref):
        hits = [c for c in COMMITS if c.commit and (c.commit.startswith(ref)
                                                   or ref.startswith(c.commit))]
    elif "@" in mid:
        hits = [c for c in COMMITS if c.msgid == mid]
    else:
        hits = records(ref)
    # one commit may stand behind several flags (a series patch changes several behaviours)
    if len({c.commit or c.msgid or c.subject for c in hits}) == 1:
        return hits[0]
    if not hits:
        raise KeyError(f"no commit {ref!r} in the history; name a commit id, Message-ID or "
                       "flag of src/lrulab/kernel/history.py (lrulab variants --json)")
    raise KeyError(f"{ref!r} names {len(hits)} commits; give the commit id or Message-ID")


def names() -> list[str]:
    """Every name a user may give: the aliases, then the points."""
    return list(ALIASES) + [p for p in points() if p not in ALIASES]


def base(point: str) -> str:
    """The mainline release a point is built on (itself for a release)."""
    point = resolve(point)
    if point in SERIES:
        return SERIES[point]["base"]
    if point in DISTRO:
        return DISTRO[point]["base"]
    return point


def in_model(point: str) -> bool:
    """Whether the model can stand for ``point`` (it has every baked commit)."""
    return version_key(base(point)) >= version_key(MODEL_FROM)


def date(point: str) -> str | None:
    point = resolve(point)
    if point in SERIES:
        return SERIES[point]["posted"]
    if point in DISTRO:
        return DISTRO[point]["date"]
    return dict(RELEASES).get(point)


def _in_mainline(c: Commit, release: str) -> bool:
    if c.release is None or not is_mainline(c.release):
        return False
    key = version_key(release)
    if version_key(c.release) > key:
        return False
    return c.reverted_in is None or version_key(c.reverted_in) > key


def commits_at(point: str) -> list[Commit]:
    """The commits present at ``point``, in merge order (later commits win for a flag)."""
    point = resolve(point)
    if point in SERIES:
        # the tree it was posted against, minus what the series itself brought in when merged
        present = [c for c in COMMITS if _in_mainline(c, base(point)) and not c.posted]
        return present + [c for c in COMMITS if point in c.posted]
    if point in DISTRO:
        return [c for c in COMMITS if _in_mainline(c, base(point)) or point in c.backports]
    return [c for c in COMMITS if _in_mainline(c, point)]


def flags_of(commits: list[Commit], modelled_only: bool = True) -> dict[str, bool]:
    """Every flag's value given the present ``commits``: off unless one sets it (latest wins)."""
    values = dict.fromkeys(MODELLED if modelled_only else FLAG_NAMES, False)
    for c in commits:
        if c.flag in values:
            values[c.flag] = c.value
    return values


def flags_at(point: str, modelled_only: bool = True) -> dict[str, bool]:
    """Every flag's value at ``point``."""
    return flags_of(commits_at(point), modelled_only)


def points() -> list[str]:
    """All points: the mainline releases (and -rcs) where a behaviour in scope changed (the
    first release of scope, each release a commit lands in or is reverted in, the newest tree),
    then the posted series versions and the distribution builds."""
    changed = {RELEASES[0][0], RELEASES[-1][0]}
    for c in COMMITS:
        for r in (c.release, c.reverted_in):
            if r and is_mainline(r):
                changed.add(r)
    mainline = sorted(changed, key=version_key)
    return mainline + list(SERIES) + list(DISTRO)


def newest() -> str:
    """The newest tree we can read."""
    return max((p for p in points() if is_mainline(p)), key=version_key)


def lineage(point: str) -> list[str]:
    """The points from the oldest to ``point`` along history: mainline releases in order, a
    series' versions between its base and the release it was merged into, a distribution build
    right after its base."""
    point = resolve(point)
    if point in SERIES:
        own = [v for v in SERIES if SERIES[v]["base"] == SERIES[point]["base"]]
        return lineage(SERIES[point]["base"]) + own[:own.index(point) + 1]
    if point in DISTRO:
        return lineage(DISTRO[point]["base"]) + [point]
    key = version_key(point)
    out = []
    for p in points():
        if not is_mainline(p) or version_key(p) > key:
            continue
        out += [v for v, s in SERIES.items()
                if s["merged"] == p and version_key(s["base"]) < version_key(p)]
        out.append(p)
    return out if out[-1] == point else out + [point]


def path(a: str, b: str) -> list[str]:
    """The points from ``a`` to ``b``: back along a's line to where the two lines part, then
    forward along b's."""
    pa, pb = _as_point(a), _as_point(b)
    la, lb = lineage(pa), lineage(pb)
    k = 0
    while k < min(len(la), len(lb)) and la[k] == lb[k]:
        k += 1
    out = la[k - 1:][::-1] + lb[k:]
    # a release that is no point is shown under its own name where its point stands
    return [resolve(a) if i == 0 else resolve(b) if i == len(out) - 1 else p
            for i, p in enumerate(out)] if len(out) > 1 else list(dict.fromkeys(
                (resolve(a), resolve(b))))


def _as_point(name: str) -> str:
    """A release in scope that is no point (nothing modelled changed in it) stands where the
    newest point before it stands: 6.5 is 6.4's code."""
    name = resolve(name)
    if not is_mainline(name) or name in points():
        return name
    key = version_key(name)
    return max((p for p in points() if is_mainline(p) and version_key(p) <= key),
               key=version_key)


Step = tuple[Commit, bool]


def steps(a: str, b: str) -> list[Step]:
    """The commits that turn point ``a`` into point ``b``, one at a time: (commit, False) for
    one taken out (newest first), then (commit, True) for one put in (merge order)."""
    ca, cb = commits_at(a), commits_at(b)
    out = [(c, False) for c in reversed(ca) if c not in cb]
    return out + [(c, True) for c in cb if c not in ca]


def adds(point: str) -> list[Step]:
    """What ``point`` changes relative to the point before it on its line of history."""
    line = lineage(point)
    return steps(line[-2], line[-1]) if len(line) > 1 else \
        [(c, True) for c in commits_at(point)]


def describe(point: str) -> str:
    """One line: what the point changes relative to the point before it on its line of
    history (a series version or a distribution build: relative to its base release)."""
    point = resolve(point)
    line = lineage(point)
    prev = base(point) if point in SERIES or point in DISTRO else \
        (line[-2] if len(line) > 1 else None)
    now = flags_at(point)
    before = flags_at(prev) if prev else dict.fromkeys(now, False)
    changed = ", ".join(n if now[n] else f"{n}=off" for n in now if now[n] != before[n])
    if point in SERIES:
        return f"{prev} + the THP list_lru series as posted in {point[7:]}: {changed}"
    if point in DISTRO:
        return f"{prev} + its stable backports: {changed or 'none in scope'}"
    return f"{point}: {changed or 'no modelled change'}"


def record_json(c: Commit) -> dict:
    """Every field of a record, as JSON-ready data."""
    return asdict(c)


def coexisted(flags: dict[str, bool]) -> str | None:
    """The first point whose flags equal ``flags`` on every flag both know, else None.

    A preset that matches no point mixes code that never coexisted in one tree."""
    for p in points():
        derived = flags_at(p)
        if all(derived[k] == v for k, v in flags.items() if k in derived):
            return p
    return None


def differences(flags: dict[str, bool], point: str) -> dict[str, tuple[bool, bool]]:
    """Flags where ``flags`` disagrees with the derived ``point``: name -> (given, derived)."""
    derived = flags_at(point)
    return {k: (v, derived[k]) for k, v in flags.items() if k in derived and derived[k] != v}


Row = tuple[str, str, str, bool, bool]


def preset_differences(presets: dict[str, dict[str, bool]]) -> list[Row]:
    """(preset, point, flag, preset value, derived value) for every aliased preset."""
    rows = []
    for name, flags in presets.items():
        if name not in ALIASES:
            continue
        point = ALIASES[name]
        for flag, (given, derived) in sorted(differences(flags, point).items()):
            rows.append((name, point, flag, given, derived))
    return rows
