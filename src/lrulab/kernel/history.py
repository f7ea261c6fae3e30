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
           modelled=False, baked=True, verified=False,
           missing="id and release from kernel-semantics.md (B1) and the brief; commit text "
                   "not read here",
           source="kernel-semantics.md section 8 B1"),
    Commit("kswapd_no_max_priority", "9aa41348a8d1", None,
           "mm: vmscan: do not allow kswapd to scan at maximum priority", "Mel Gorman", "4.19",
           "kswapd's balance_pgdat stops at priority 1; only direct reclaim reaches 0 "
           "(behaviour present through the whole scope)",
           ("mm/vmscan.c: balance_pgdat",),
           modelled=False, verified=False,
           missing="predates 4.19 (believed 4.8, node-lru series); id from audit B2 (given there "
                   "with 13 digits, 9aa41348a8d11); release of the commit not confirmed, so it "
                   "is placed at the start of scope",
           source="audit.md B2"),
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
           verified=False,
           missing="id from the brief; the series is confirmed by the cover letter of "
                   "87eaceb3faa5's series ('Make deferred split shrinker not depend on memcg "
                   "kmem'), the id itself was not seen",
           off='under nokmem memcg reclaim skips the THP shrinker; global reclaim drives it',
           source="http://mail.spinics.net/lists/linux-mm/msg189198.html (cover, v6)"),
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
           missing="id, subject and release as found by the issue-8 C-list fix (audit section "
                   "3: the WARN came with map_nr_max); the commit text itself was not read",
           source="audit.md section 3 (set_shrinker_bit)"),
    Commit("expand_keeps_bits", "307bececcd12", None,
           "mm: shrinker: add a secondary array for shrinker_info::{map, nr_deferred}",
           "Qi Zheng", "6.7",
           "expand_shrinker_info copies the old units (bits kept); before, every old bit was "
           "set to 1",
           ("mm/shrinker.c: expand_one_shrinker_info",),
           verified=False,
           missing="id, subject and merge order seen; that this commit (and not a neighbour) "
                   "changed the old-bits rule is inferred from the 6.1 and 6.7 sources",
           off='6.1 sets every old bit to 1',
           source="kernel.org post-receive revlist (index file 67332222116)"),
    Commit("shrinker_lockless", "50d09da8e119", None,
           "mm: shrinker: make memcg slab shrink lockless", "Qi Zheng", "6.7",
           "shrink_slab_memcg walks the bitmap under RCU with shrinker refcounts instead of "
           "down_read_trylock(shrinker_rwsem) (which skipped the pass when contended); the "
           "global pass went lockless in ca1d36b82394 just before it",
           ("mm/shrinker.c: shrink_slab_memcg", "mm/shrinker.c: shrink_slab"),
           off="6.1's down_read_trylock(shrinker_rwsem), which skips the pass when contended",
           source="kernel.org post-receive revlist (index file 67332222116); ca1d36b82394 "
                  "linked as a torvalds/linux commit (index file 3500312856)"),
    Commit("nokmem_skip_clears_bit", "50d09da8e119", None,
           "mm: shrinker: make memcg slab shrink lockless", "Qi Zheng", "6.7",
           "shrink_slab_memcg clears the bit of a non-NONSLAB shrinker it skips because kmem "
           "is offline (before: skip only)",
           ("mm/shrinker.c: shrink_slab_memcg",),
           verified=False,
           missing="attributed to the lockless rewrite by comparing 6.1 with a 6.6 backport of "
                   "it (kernel-semantics.md section 9); the diff itself was not read",
           source="kernel-semantics.md section 3 and 9"),
    Commit("shrinker_info_unit", "307bececcd12", None,
           "mm: shrinker: add a secondary array for shrinker_info::{map, nr_deferred}",
           "Qi Zheng", "6.7",
           "shrinker_info holds shrinker_info_unit pointers (map and nr_deferred per 64 ids); "
           "set_shrinker_bit reads info->unit[id / 64] before its map_nr_max check, an "
           "out-of-bounds read KASAN reports when the id is beyond the map",
           ("mm/shrinker.c: set_shrinker_bit", "mm/shrinker.c: expand_one_shrinker_info"),
           off="one flat bitmap per shrinker_info (6.1)",
           source="kernel.org revlists (the history research: 307bececcd12 confirmed with "
                  "50d09da8e119 and ca1d36b82394); audit.md section 3"),
    Commit("shrinker_info_free_unlocked", "307bececcd12", None,
           "mm: shrinker: add a secondary array for shrinker_info::{map, nr_deferred}",
           "Qi Zheng", "6.7",
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
    # -- 6.8: mTHP -----------------------------------------------------------------------------
    Commit("mthp", "19eaf44954df", None,
           "mm: thp: support allocation of anonymous multi-size THP", "Ryan Roberts", "6.8",
           "anonymous faults may allocate folios of orders 2..8, which the deferred split "
           "queue takes like PMD THPs",
           ("mm/memory.c: alloc_anon_folio",),
           off='only PMD-order THPs',
           source="kernel.org revlists (e.g. index file 30413270507: committed 2023-12-20)"),
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
           missing="id, subject, author and release from the issue-8 audit fix (config text, "
                   "audit B5: measured on 6.12); the commit itself was not read here; placed "
                   "at 6.10-rc1 (a 6.10 merge-window commit) once the 6.10-rc points existed",
           source="audit.md B5; config.py flag text (issue 8)"),
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
    Commit("migrate_unqueue_frozen", "be9581ea8c05", None,
           "mm: fix crashes from deferred split racing folio migration", "Hugh Dickins",
           "6.10-rc7",
           "__folio_migrate_mapping (anon, no mapping): a large rmappable source is frozen and "
           "taken off its deferred-split queue (folio_undo_large_rmappable) before the "
           "destination takes over",
           ("mm/migrate.c: __folio_migrate_mapping", "mm/huge_memory.c: deferred_split_scan"),
           fixes=("9bcef5973e31",),
           off="the source stays queued until it is freed",
           verified=False,
           missing="release -rc inferred from its place in a mainline revlist right after the "
                   "i2c-for-6.10-rc7 merge; Fixes: tag from docs/history-bugs.md #13, not read",
           source="6.9-stable review mail 'commit be9581ea8c05... upstream' (From: Hugh "
                  "Dickins); kernel.org revlists (index files 66168726703, 67204337515)"),
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
           missing="id from audit B1; author and release from the issue-8 fix (the folded fix "
                   "was posted 2024-05-29, after the 6.10 merge window, hence 6.11); the "
                   "history helper read Yu Zhao and 6.10 from the same audit line; neither the "
                   "commit nor its tags were read",
           source="audit.md B1 (measured on Debian 6.12.117); config.py flag text (issue 8)"),
    # -- 6.12: Usama Arif's underused THP series and Hugh Dickins' fixes ---------------------
    Commit("split_remap_zeropage", "b1f202060afe",
           "20240807134732.3292797-3-usamaarif642@gmail.com",
           "mm: remap unused subpages to shared zeropage when splitting isolated thp",
           "Yu Zhao", "6.12",
           "every successful anon split remaps zero-filled subpages to the shared zero page and "
           "frees them",
           ("mm/huge_memory.c: remap_page", "mm/migrate.c: remove_migration_pte"),
           off="every mapped subpage stays (6.1)",
           source="v2 2/4 posting 2024-08-07 and Fixes: tags citing it (index files 29008556703, "
                  "40459127683)"),
    Commit("partially_mapped_flag", "8422acdc97ed", None,
           "mm: introduce a pageflag for partially mapped folios", "Usama Arif", "6.12",
           "PG_partially_mapped: queue only really partially mapped THPs, count "
           "thp_deferred_split_page once, drop fully mapped non-underused THPs at scan",
           ("mm/huge_memory.c: deferred_split_folio", "mm/huge_memory.c: deferred_split_scan",
            "mm/rmap.c: __folio_remove_rmap"),
           off="6.1: queue when any subpage loses its last mapping, every queued THP is a "
               "split candidate and failures go back to the tail",
           source="kernel.org revlist (index file 65870332318); v3/v4 4/6 review threads"),
    Commit("queue_at_fault", "dafff3f4c850", None,
           "mm: split underused THPs", "Usama Arif", "6.12",
           "PMD THPs are queued as maybe-underused at fault and after collapse, split when more "
           "than max_ptes_none subpages are zero-filled",
           ("mm/huge_memory.c: __do_huge_pmd_anonymous_page", "mm/khugepaged.c: "
            "collapse_huge_page", "mm/huge_memory.c: thp_underused"),
           off='THPs are queued only when partially unmapped',
           source="kernel.org revlist (index file 65870332318); cover "
                  "https://lkml.iu.edu/hypermail/linux/kernel/2408.1/00956.html"),
    Commit("free_lockless_fastpath", "f8f931bba0f9", None,
           "mm/thp: fix deferred split unqueue naming and locking", "Hugh Dickins", "6.12",
           "folio_unqueue_deferred_split tests list_empty() locklessly before locking; "
           "migration unqueues the frozen source; swapout and memcg1 move_charge unqueue before "
           "changing memcg_data",
           ("mm/internal.h: folio_unqueue_deferred_split", "mm/migrate.c: "
            "__folio_migrate_mapping", "mm/memcontrol.c: mem_cgroup_move_account"),
           verified=False,
           missing="Fixes: tags of the commit not read; mainline by 6.12-rc7 inferred from its "
                   "6.6.62 stable backport (Nov 2024); whether 6.1.y (debian-6.1.192) carries "
                   "a backport is open (today's linux-6.1 preset, conformance-tested, has not)",
           off="6.1: free_transhuge_page always locks, migration leaves the source to the "
               "free path",
           source="stable backport text 'commit f8f931bba0f92052cf842b7e30917b1afcc77d5a "
                  "upstream' (index file 28580327969); CVE-2024-53079"),
    Commit("scan_keeps_safe_folio", "e66f3185fa04", None,
           "mm/thp: fix deferred split queue not partially_mapped", "Hugh Dickins", "6.12",
           "deferred_split_scan keeps a reference on the preceding folio of its private list "
           "so a racing free or migration cannot unlink the list under it",
           ("mm/huge_memory.c: deferred_split_scan",),
           modelled=False, verified=False,
           missing="release inferred from its place next to f8f931bba0f9 in a mainline revlist; "
                   "the audit says 6.12.0 has the older scan, so it may be 6.13",
           source="revlist (index file 66181880307); Hugh's follow-up fix 2024-11-10"),
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
           verified=False,
           missing="id, subject and release from the issue-8 fix of audit A3 (config text); the "
                   "commit itself was not read here; its merge order next to fb56fdf8b9a2 in "
                   "the same series is assumed",
           source="audit.md A3; config.py flag text (issue 8)"),
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
           ("mm/migrate.c: migrate_folio_move",),
           backports=("debian-6.12.117",),
           verified=False,
           missing="release inferred: Lance Yang's fix of it (Fixes: 8a8ca142a488) was posted "
                   "2026-04-01, so it was in mainline by 7.0-rc; may be 7.0 or 7.1",
           source="audit.md B6 (backport in Debian 6.12.117); Fixes: tag in "
                  "20260401131032.13011-1-lance.yang@linux.dev"),
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
           verified=False,
           missing="v1..v4 Message-IDs not seen (covers: lkml 2603.1/10164 v2, 2603.2/07035 "
                   "v3, lwn 1073948 v4); merged id seen in a stable mirror only",
           off='the open-coded per-memcg/per-node struct deferred_split',
           source="kernel-semantics.md S5 (fafaeceb89a5e2e856ff04c2cacb6cae4a2ecb67, committed "
                  "2026-06-09); lkml 2605.3/07053 (v5 9/9)"),
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
    Commit("list_lru_bit_on_effective_memcg", None, _V5.format(2),
           "mm: list_lru: fix set_shrinker_bit() call during race with cgroup deletion",
           "Johannes Weiner", "7.2",
           "lock_list_lru_of_memcg returns the memcg it walked up to and __list_lru_add sets "
           "the bit on it (B1)",
           ("mm/list_lru.c: lock_list_lru_of_memcg", "mm/list_lru.c: __list_lru_add"),
           fixes=("fae91d6d8be5",), posted=("series-v5",),
           verified=False,
           missing="mainline id not seen; Fixes: tag not read (fae91d6d8be5 is where "
                   "kernel-semantics dates the bug)",
           source="kernel-semantics.md S2"),
    Commit("shrinker_nonslab", None, None,
           "mm: switch deferred split shrinker to list_lru fix", "Johannes Weiner", "7.2",
           "the THP shrinker drops SHRINKER_NONSLAB: under nokmem it is non-memcg-aware and "
           "driven by global reclaim only (B2)",
           ("mm/huge_memory.c: thp_shrinker_init",), value=False,
           verified=False,
           missing="sent 2026-06-02 with a request to fold; folding before mm-stable confirmed "
                   "only by a transliteration of later huge_memory.c",
           source="https://lkml.iu.edu/2606.0/04601.html"),
    Commit("count_shrink_empty", None, "20260602043453.67597-1-lance.yang@linux.dev",
           "mm/thp: clear deferred split shrinker bits when queues drain", "Lance Yang", "7.2",
           "deferred_split_count returns SHRINK_EMPTY for an empty sublist so the bit is "
           "cleared (B7)",
           ("mm/huge_memory.c: deferred_split_count",),
           verified=False,
           missing="merged status and release inferred from a transliteration of later "
                   "huge_memory.c",
           source="kernel-semantics.md S10"),
    Commit("list_lru_drain_before_erase", None,
           "20260601161501.1444829-1-shakeel.butt@linux.dev",
           "mm/list_lru: drain before clearing xarray entry on reparent", "Shakeel Butt", "7.2",
           "memcg_reparent_list_lrus drains every sublist (dead-marks it) before erasing the "
           "xarray slot (A1)",
           ("mm/list_lru.c: memcg_reparent_list_lrus",), fixes=("fb56fdf8b9a2",),
           off="6.13 ... 7.1: the slot is erased first (with list_lru_per_sublist_lock)",
           verified=False,
           missing="mainline id not seen; release 7.2 from audit A1 ('until June 2026'): the "
                   "earliest release it can be in (Cc stable)",
           source="commit text with Link: (index file 60701698642); audit.md A1"),
    # -- the mm tree after 7.2 ------------------------------------------------------------------
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
    la, lb = lineage(a), lineage(b)
    k = 0
    while k < min(len(la), len(lb)) and la[k] == lb[k]:
        k += 1
    return la[k - 1:][::-1] + lb[k:]


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
