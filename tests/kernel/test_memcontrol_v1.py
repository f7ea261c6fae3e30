"""mm/memcontrol-v1.c and shrink_folio_list's swap-out (kernel/memcontrol_v1.py,
kernel/vmscan.py): what each point of history does to a THP's deferred-split entry."""

import pytest

from lrulab.kernel import memcontrol as mc
from lrulab.kernel import memcontrol_v1 as mc1
from lrulab.kernel import memory, rmap, vmscan
from lrulab.kernel.config import make_config
from lrulab.kernel.folio import PG_swapcache, folio_put
from lrulab.kernel.kernel import boot
from lrulab.kernel.list import list_empty
from lrulab.kernel.sched import run_sync
from lrulab.kernel.shrinker import shrinker_bit_test


def _kernel(variant, cgroup="v1", patches=None, memcgs=("A", "B")):
    k = boot(make_config(variant, patches, (), 1, None, cgroup=cgroup), None)
    k.current = k.task("test")
    for path in memcgs:
        run_sync(k, mc.cgroup_mkdir(k, path))
    return k


def _thp(k, memcg="A", name="f1"):
    return run_sync(k, memory.handle_mm_fault(k, name, k.memcgs[memcg], 0, 9, 512))


def _q(k, memcg):
    return k.memcgs[memcg].deferred_split_queue


@pytest.mark.parametrize("cgroup,uncharged", [("v1", True), ("v2", False)])
def test_mem_cgroup_swapout_uncharges_on_v1_only(cgroup, uncharged):
    """cgroup_subsys_on_dfl: on v2 the charge stays until the free."""
    k = _kernel("linux-6.1", cgroup)
    f = _thp(k)
    f.refcount = 0  # frozen by __remove_mapping
    run_sync(k, mc1.mem_cgroup_swapout(k, f))
    assert (f.memcg is None) == uncharged
    assert k.memcgs["A"].nr_pages == (0 if uncharged else 512)


@pytest.mark.parametrize("variant,unqueued", [("6.11", False), ("6.12", True), ("v7.2", True)])
def test_mem_cgroup_swapout_unqueues_first_from_f8f931bba0f9(variant, unqueued):
    k = _kernel(variant)
    f = _thp(k)
    run_sync(k, rmap.zap_partial(k, f))  # queued on A
    f.refcount = 0
    run_sync(k, mc1.mem_cgroup_swapout(k, f))
    assert f.memcg is None
    assert list_empty(f._deferred_list) == unqueued
    assert not k.events


def test_shrink_folio_list_sets_swapcache_and_frees_the_thp():
    k = _kernel("6.12", "v2")
    f = _thp(k)
    assert run_sync(k, vmscan.shrink_folio_list(k, f)) == "swapped out"
    assert f.freed and not f.flags & PG_swapcache and not k.events
    assert list_empty(_q(k, "A").split_queue) and _q(k, "A").split_queue_len == 0


def test_a_second_reference_keeps_the_folio_in_the_swap_cache():
    """__remove_mapping's freeze needs exactly the isolation and swap-cache references; a
    reference taken after can_split_folio (a racing GUP) keeps the folio, unmapped, in the
    swap cache; its put then leaves the swap cache's references."""
    k = _kernel("linux-6.1", "v2")
    f = _thp(k)
    gen = vmscan.shrink_folio_list(k, f)
    step = next(gen)
    while step != "__remove_mapping":
        step = gen.send(None)
    f.refcount += 1  # a reference taken meanwhile
    try:
        while True:
            gen.send(None)
    except StopIteration as e:
        assert e.value == "kept in the swap cache (extra references)"
    assert not f.freed and f.flags & PG_swapcache and f.mapcount == 0 and not f.isolated
    run_sync(k, folio_put(k, f))
    assert f.refcount == 512 and not f.freed


@pytest.mark.parametrize("variant,to_queue", [("5.4", True), ("5.6", False), ("6.11", False)])
def test_move_account_queue_hunks_of_5_4(variant, to_queue):
    """87eaceb3faa5 queues every moved THP on the destination without its bit; fac0516b5534
    (5.6) leaves the queues alone."""
    k = _kernel(variant)
    f = _thp(k)
    f.refcount += 1
    run_sync(k, mc1.mem_cgroup_move_account(k, f, k.memcgs["A"], k.memcgs["B"], True))
    assert f.memcg is k.memcgs["B"] and k.memcgs["B"].nr_pages == 512
    assert (_q(k, "B").split_queue_len == 1) == to_queue
    assert not list_empty(f._deferred_list) == to_queue
    assert not shrinker_bit_test(k.memcgs["B"], 0, k.deferred_split_shrinker.id)
    assert k.current.irqs_off == 0 and not k.events


def test_move_account_unqueues_from_the_source_in_5_4():
    k = _kernel("5.4")
    f = _thp(k)
    run_sync(k, rmap.zap_partial(k, f))  # PTE-mapped and queued on A: move it by hand
    f.refcount += 1
    run_sync(k, mc1.mem_cgroup_move_account(k, f, k.memcgs["A"], k.memcgs["B"], True))
    assert _q(k, "A").split_queue_len == 0 and list_empty(_q(k, "A").split_queue)
    assert _q(k, "B").split_queue_len == 1


def test_move_charge_write_is_refused_once_charge_moving_is_gone():
    assert mc1.move_charge_at_immigrate_write(_kernel("6.12")) == 0
    assert mc1.move_charge_at_immigrate_write(_kernel("6.13")) == -mc1.EINVAL
