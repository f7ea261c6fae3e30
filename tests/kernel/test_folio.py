"""include/linux/mm.h / page_ref.h: references, freeze, the lockless free-path check."""

from lrulab.kernel import memory
from lrulab.kernel.folio import folio_put, folio_ref_freeze, folio_try_get


def test_try_get_fails_at_zero_and_freeze_needs_exact_count(kh):
    """folio_try_get fails on refcount 0; folio_ref_freeze only at the expected count."""
    h = kh("v7.2", memcgs=("A",))
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
    assert not h.run(folio_ref_freeze(h.k, f, 2))
    assert h.run(folio_ref_freeze(h.k, f, 1)) and f.refcount == 0
    assert not h.run(folio_try_get(h.k, f))


def test_put_after_free_is_use_after_free(kh):
    """KASAN: touching a freed folio is reported."""
    h = kh("v7.2", memcgs=("A",))
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
    h.run(folio_put(h.k, f))
    assert f.freed
    h.run(folio_put(h.k, f))
    assert [e.kind for e in h.k.events] == ["use_after_free"]
