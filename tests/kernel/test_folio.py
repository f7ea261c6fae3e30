"""include/linux/mm.h / page_ref.h: references, freeze, the lockless free-path check."""

import pytest

from lrulab.kernel import memory
from lrulab.kernel.folio import folio_put, folio_ref_freeze, folio_try_get
from lrulab.kernel.sched import Oops


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


def test_put_at_refcount_zero_is_a_bug_only_with_debug_vm(kh):
    """put_page_testzero: VM_BUG_ON_PAGE(page_ref_count(page) == 0) -- an Oops with
    CONFIG_DEBUG_VM (kernel.config.debug_vm); without it the count underflows (a WARN here)
    and the task goes on."""
    for debug_vm in (False, True):
        h = kh("6.7", memcgs=("A",))
        h.k.cfg.kconfig["debug_vm"] = debug_vm
        f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("A"), 0, 9, 512))
        assert h.run(folio_ref_freeze(h.k, f, 1)) and f.refcount == 0
        if debug_vm:
            with pytest.raises(Oops, match="VM_BUG_ON_PAGE"):
                h.run(folio_put(h.k, f))
            assert f.refcount == 0 and not h.k.events
        else:
            h.run(folio_put(h.k, f))
            assert f.refcount == -1
            assert [e.message for e in h.k.events] == ["f refcount underflow"]
