"""mm/rmap.c: where unmapping queues a THP."""

from lrulab.kernel import memory, rmap
from lrulab.kernel.list import list_empty
from lrulab.kernel.sched import Choice


def test_pmd_unmap_of_whole_thp_does_not_queue(kh):
    """folio_remove_rmap_pmd: a PMD-mapped THP unmapped whole is not queued, just freed."""
    h = kh("v7.2", memcgs=("A",), sysfs={"shrink_underused": False})
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
    h.run(rmap.zap_all(h.k, f))
    assert f.freed and h.k.vmstat["thp_deferred_split_page"] == 0


def test_partial_unmap_splits_pmd_then_queues(kh):
    """__folio_remove_rmap: some pages still mapped after a PTE unmap -> partially mapped."""
    h = kh("v7.2", memcgs=("A",), sysfs={"shrink_underused": False})
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
    nr = h.run(rmap.zap_partial(h.k, f))
    assert nr == 256 and f.refcount == f.mapcount == 256 and not list_empty(f._deferred_list)
    assert h.k.vmstat["thp_split_pmd"] == 1


def _run_until(h, gen, cond):
    """Step a kernel generator on the harness's task until cond() holds (a racing CPU's turn)."""
    want = None
    while not cond():
        want = gen.send(True if isinstance(want, Choice) else None)
    return gen


def test_munmap_of_migration_entries_drops_no_reference(kh):
    """A split's unmap_folio turns the mappings into migration entries, which hold no folio
    reference: a munmap racing the split clears them and drops nothing, and the split keeps
    only what is still mapped (audit A8: a second drop was a false refcount-underflow WARN)."""
    from lrulab.kernel import huge_memory
    h = kh("v7.2", memcgs=("A",), sysfs={"split_underused_thp": False})
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
    h.run(rmap.zap_partial(h.k, f))
    split = _run_until(h, huge_memory.split_folio(h.k, f), lambda: f.migration)
    assert f.refcount == 1 and f.mapcount == 0  # only split_folio's pin
    h.run(rmap.zap_all(h.k, f))
    assert not h.k.events and f.refcount == 1 and f.nr_pages_mapped == 0
    assert h.run(split) == 0
    assert f.split and f.nr_pages == 0 and h.memcg("A").nr_pages == 0 and not h.k.events


def test_munmap_racing_migration_leaves_the_destination_unmapped(kh):
    """try_to_migrate's entries hold no reference either: a munmap while the source is
    unmapped drops nothing, and remove_migration_ptes maps on the destination only the
    entries that are left."""
    from lrulab.kernel import migrate
    h = kh("v7.2", memcgs=("A",), nodes=2, sysfs={"split_underused_thp": False})
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
    h.run(rmap.zap_partial(h.k, f))
    mig = _run_until(h, migrate.migrate_pages(h.k, f, 1, "f"), lambda: f.migration)
    h.run(rmap.zap_partial(h.k, f))
    dst = h.run(mig)
    assert not h.k.events and dst.nid == 1 and dst.nr_pages_mapped == dst.refcount == 128
