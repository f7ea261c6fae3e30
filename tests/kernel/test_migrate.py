"""mm/migrate.c: migration of a queued THP: split instead (6.10+, B5), or migrated whole and the
destination requeued only with the 2026 fix (B6)."""

import pytest

from lrulab.kernel import memory, migrate, rmap
from lrulab.kernel.folio import folio_get
from lrulab.kernel.list import list_empty


def _queued_then_migrated(kh, variant, partial=True, pin=False):
    """A THP of A on node 0, queued partially mapped (or, partial=False, fully mapped and
    queued at fault as maybe underused), migrated to node 1."""
    h = kh(variant, memcgs=("A",), nodes=2, sysfs={"shrink_underused": not partial})
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
    if partial:
        h.run(rmap.zap_partial(h.k, f))
    if pin:
        h.run(folio_get(h.k, f))
    dst = h.run(migrate.migrate_pages(h.k, f, 1, "f"))
    return h, f, dst


def test_source_freed_and_unqueued_destination_on_new_node(kh):
    h, f, dst = _queued_then_migrated(kh, "v7.2", partial=False)
    assert f.freed and dst.nid == 1 and dst.memcg is h.memcg("A")
    assert h.memcg("A").nr_pages == 512 and h.k.nodes[0].nr_used_pages == 0


@pytest.mark.parametrize("variant,requeued", [("v0", False), ("debian-6.12.117", True),
                                              ("linux-6.13", False), ("v1", True),
                                              ("series-v4", True)])
def test_migrate_requeue_dst_destination_requeued_only_with_fix(kh, variant, requeued):
    """8a8ca142a488: in Debian 6.12.117 by backport, in v1 and later; not in 6.12 or 6.13."""
    _, _, dst = _queued_then_migrated(kh, variant, partial=False)
    assert not dst.split and (not list_empty(dst._deferred_list)) == requeued


def test_migrate_split_deferred_splits_partially_mapped_queued_thp(kh):
    """6.12 migrate_pages_batch -> try_split_folio: no THP migration; the 256 still-mapped
    small pages migrate (measured on 6.12: thp_migration_fail, thp_migration_split,
    thp_split_page); pgmigrate_success counts all 512 subpages (below)."""
    h, f, dst = _queued_then_migrated(kh, "v0")
    vm = h.k.vmstat
    assert dst is f and f.split and f.nid == 1
    assert (vm["thp_migration_fail"], vm["thp_migration_split"], vm["thp_split_page"],
            vm["thp_migration_success"], vm["pgmigrate_success"]) == (1, 1, 1, 0, 512)
    assert h.k.nodes[0].nr_used_pages == 0 and h.k.nodes[1].nr_used_pages == 256


def test_migrate_split_deferred_not_in_61(kh):
    """6.1 migrates the queued THP whole and does not requeue the destination."""
    h, f, dst = _queued_then_migrated(kh, "linux-6.1")
    assert f.freed and not dst.split and dst.nid == 1
    assert h.k.vmstat["thp_migration_success"] == 1 and h.k.vmstat["thp_split_page"] == 0


def test_migrate_split_deferred_pinned_folio_fails_whole(kh):
    """A pinned partially mapped THP cannot be split (thp_split_page_failed) and its whole
    migration fails too; it stays queued where it was."""
    h, f, dst = _queued_then_migrated(kh, "v0", pin=True)
    vm = h.k.vmstat
    assert dst is None and not f.split and f.nid == 0 and not list_empty(f._deferred_list)
    assert vm["thp_split_page_failed"] == 1 and vm["thp_migration_fail"] == 1


@pytest.mark.parametrize("variant", ["v0", "debian-6.12.117"])
def test_migrate_split_counts_every_subpage_in_pgmigrate_success(kh, variant):
    """try_split_folio puts every subpage on split_folios with a reference (lru_add_page_tail);
    migrate_folio_unmap counts the unmapped ones, which only that reference holds, as
    succeeded.  Debian 6.12.117 (conformance 09, migrate f2): pgmigrate_success +512 for a
    THP with 256 pages mapped; only the mapped ones use memory on the new node."""
    h, f, _ = _queued_then_migrated(kh, variant)
    assert f.nr_pages == 256 and h.k.vmstat["pgmigrate_success"] == 512
    assert h.k.nodes[1].nr_used_pages == 256


def test_mem_cgroup_migrate_transfers_the_charge_from_6_7(kh):
    """85ce2c517ade (6.7-rc1, migrate_memcg_transfer): the source's memcg_data is cleared and
    the charge moves (counted once); before it the destination is charged anew and the
    source keeps its memcg until its free uncharges it."""
    from lrulab.kernel import migrate as mg
    for point, transfer in (("6.6", False), ("6.7-rc1", True), ("v7.2", True)):
        h = kh(point, memcgs=("A",), nodes=2)
        a = h.memcg("A")
        src = h.run(memory.handle_mm_fault(h.k, "f", a, 0, 9, 512))
        dst = memory.huge_memory.new_folio(h.k, "g", 9, 1)
        h.run(mg.mem_cgroup_migrate(h.k, src, dst))
        assert dst.memcg is a
        assert (src.memcg is None) is transfer, point
        assert a.nr_pages == (512 if transfer else 1024), point


def test_6_7_rc1_frees_the_migrated_source_under_the_node_queues_lock(kh):
    """History bug 12: without 9bcef5973e31 the queued source, its memcg cleared, is unqueued
    at its free through the node queue's lock while it is on A's queue; with it
    (migrate_unqueue_old, 6.7) mem_cgroup_migrate unqueued it first."""
    for point, bad in (("6.7-rc1", True), ("6.7", False)):
        h, f, dst = _queued_then_migrated(kh, point)
        assert f.freed and dst is not None
        msgs = [e.message for e in h.k.events if e.kind == "list"]
        assert bool(msgs) is bad, (point, msgs)
        if bad:
            assert "without holding A.deferred_split_queue.split_queue_lock" in msgs[0]
        else:
            assert list_empty(h.memcg("A").deferred_split_queue.split_queue)
            assert h.memcg("A").deferred_split_queue.split_queue_len == 0


def _frozen_at_each_step(kh, variant, partial):
    """Run a THP's migration step by step; the steps at which the source is frozen."""
    h = kh(variant, memcgs=("A",), nodes=2, sysfs={"shrink_underused": not partial})
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
    if partial:
        h.run(rmap.zap_partial(h.k, f))
    frozen, labels = [], []

    def watched(gen):
        """The migration, noting the source's frozen state after every step."""
        reply = None
        while True:
            try:
                label = gen.send(reply)
            except StopIteration as stop:
                return stop.value
            labels.append(str(label))
            if f.frozen:
                frozen.append(str(label))
            reply = yield label

    dst = h.run(watched(migrate.migrate_pages(h.k, f, 1, "f")))
    return f, dst, frozen, len(labels)


def test_migration_freezes_the_source_only_around_its_unqueue(kh):
    """__folio_migrate_mapping (be9581ea8c05, 6.10-rc7): freeze at the expected count,
    unqueue, unfreeze -- the rest of the migration (mem_cgroup_migrate, the destination's
    requeue, remove_migration_ptes) sees the source unfrozen; audit section 3."""
    f, dst, frozen, steps = _frozen_at_each_step(kh, "v7.2", partial=False)
    assert dst is not None and f.freed
    # frozen while it leaves its queue; the destination's requeue (8a8ca142a488) runs after
    # the unfreeze (the model kept the source frozen through it until the audit's C list)
    assert "folio_unqueue_deferred_split" in frozen and "deferred_split_folio" not in frozen
    assert len(frozen) < steps


def test_migration_before_be9581ea8c05_only_compares_the_refcount(kh):
    """6.1 folio_migrate_mapping, anonymous and unmapped: folio_ref_count != expected_count
    is -EAGAIN; nothing freezes the source."""
    f, dst, frozen, _ = _frozen_at_each_step(kh, "linux-6.1", partial=True)
    assert dst is not None and f.freed and frozen == []
