"""mm/migrate.c: the destination is requeued only with the 2026 fix."""

from lrulab.kernel import memory, migrate, rmap
from lrulab.kernel.list import list_empty


def _queued_then_migrated(kh, variant):
    h = kh(variant, memcgs=("A",), nodes=2, sysfs={"split_underused_thp": False})
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
    h.run(rmap.zap_partial(h.k, f))
    dst = h.run(migrate.migrate_pages(h.k, f, 1, "f"))
    return h, f, dst


def test_source_freed_and_unqueued_destination_on_new_node(kh):
    h, f, dst = _queued_then_migrated(kh, "v7.2")
    assert f.freed and dst.nid == 1 and dst.memcg is h.memcg("A")
    assert h.memcg("A").nr_pages == 512 and h.k.nodes[0].nr_used_pages == 0


def test_destination_requeued_only_with_fix(kh):
    for variant, requeued in (("v1", False), ("series-v4", True)):
        _, _, dst = _queued_then_migrated(kh, variant)
        assert (not list_empty(dst._deferred_list)) == requeued, variant
