"""no_data_race (world.py): KCSAN's question over every state -- two steps of different
threads enabled in the same state touching one field, one writing, no lock in common, neither
access marked."""

from pathlib import Path

import pytest

from lrulab.check.engine import Bounds
from lrulab.check.report import check_file
from lrulab.kernel import huge_memory
from lrulab.kernel import list as list_mod
from lrulab.kernel import split_queue as sq
from lrulab.kernel.folio import PG_partially_mapped, folio_put
from lrulab.kernel.list import ListHead, list_del_init, list_empty, list_splice_tail_init
from lrulab.kernel.sched import spin_lock_irq
from lrulab.kernel.shrinker import SHRINK_STOP

ROOT = Path(__file__).resolve().parents[2]
BUGS = ROOT / "scenarios" / "bugs"
EX = ROOT / "scenarios" / "examples"
HERE = Path(__file__).resolve().parent / "scenarios"
PRIVATE = HERE / "race-private-list.yaml"


def scan_local_list_6_12_0(k, sc):
    """mm/huge_memory.c: deferred_split_scan of 6.12.0 (dafff3f4c850 "mm: split underused
    THPs"), before Hugh Dickins' "mm/thp: fix deferred split queue not partially_mapped"
    (Message-ID 81e34a8b-113a-0701-740e-2135c97eb1d7@google.com): every folio is put as
    soon as it is handled, and one no longer partially mapped leaves the private list by an
    unlocked list_del_init with an unlocked split_queue_len--.  (A test double of the model's
    V0 scan, until a flag stands for it.)"""
    q = sq.memcg_split_queue(k, sc.nid, sc.memcg)
    local = ListHead(f"{q.name}.scan_list")
    yield from sq._isolate_locked(k, q, sc, local)
    split = 0
    pos = local.next
    while pos is not local:
        nxt = pos.next
        folio = pos.container
        did_split, _ = yield from huge_memory.try_split_queued(k, folio, sc)
        if did_split:
            split += 1
        elif not folio.flags & PG_partially_mapped:
            list_del_init(k, folio._deferred_list)
            q.split_queue_len -= 1
        yield from folio_put(k, folio)
        pos = nxt
    yield from spin_lock_irq(k, q.split_queue_lock)
    list_splice_tail_init(k, local, q.split_queue)
    empty = list_empty(q.split_queue)
    sq.split_queue_unlock(k, q)
    if not split and empty:
        return SHRINK_STOP
    return split


def _check(path, ov=None, **kw):
    return check_file(str(path), ov or {}, Bounds(timeout=120), **kw)


def _races(res) -> list:
    return [v for v in res.violations if v.property == "no_data_race"]


def test_race_on_the_links_of_an_item_on_an_unlocked_private_list(monkeypatch):
    monkeypatch.setattr(sq, "_scan_local_list", scan_local_list_6_12_0)
    w, res, rendered = _check(PRIVATE)
    races = [v for v in _races(res) if "_deferred_list)->" in v.message]
    assert res.verdict == "violation" and races
    msg = races[0].message
    # both access sites, with their kernel functions and the locks each held
    assert "deferred_split_scan" in msg and "list_del_init" in msg
    assert "__folio_unqueue_deferred_split" in msg and "split_queue_lock" in msg
    assert "(no lock)" in msg
    # the trace replays to a step that is one of the two
    last = next(r for r in rendered if r["message"] == msg)["trace"][-1]
    assert "VIOLATES no_data_race" in last["detail"]


def test_unlocked_split_queue_len_is_a_data_race(monkeypatch):
    monkeypatch.setattr(sq, "_scan_local_list", scan_local_list_6_12_0)
    _, res, _ = _check(PRIVATE)
    assert any("split_queue_len" in v.message for v in _races(res))


def test_kept_folio_pinned_until_the_splice_has_no_data_race():
    """V0 / 6.13: the kept folio stays pinned until the splice, so nobody unqueues the
    neighbour of a folio leaving the private list."""
    _, res, _ = _check(PRIVATE)
    assert res.verdict == "ok"


def test_sleep_sets_find_the_same_data_race(monkeypatch):
    monkeypatch.setattr(sq, "_scan_local_list", scan_local_list_6_12_0)
    _, with_sleep, _ = _check(PRIVATE)
    _, plain, _ = _check(PRIVATE, reduction=False)
    assert [(v.message, v.path) for v in _races(with_sleep)] == \
        [(v.message, v.path) for v in _races(plain)]


def test_a_marked_access_is_no_data_race(monkeypatch):
    """The lockless list_empty of folio_unqueue_deferred_split is marked in the kernel
    (data_race() around list_empty's READ_ONCE), and so is list_del_init's store of ->next
    (INIT_LIST_HEAD's WRITE_ONCE); both plain, they race with the scan's locked isolation
    (B5's schedule)."""
    import lrulab.kernel.sched as sched

    class unmarked:
        def __enter__(self):
            pass

        def __exit__(self, *exc):
            pass

    b5 = BUGS / "b5-isolate-uaf.yaml"
    ov = {"check": ["no_data_race"], "variant": "v7.2"}
    _, res, _ = _check(b5, ov)
    assert res.verdict == "ok"
    monkeypatch.setattr(huge_memory, "data_race", unmarked)
    monkeypatch.setattr(huge_memory, "list_empty", lambda h: h.next is h)
    monkeypatch.setattr(list_mod, "WRITE_ONCE", setattr)  # and list.h's stores plain
    _, res, _ = _check(b5, ov)
    msgs = [v.message for v in _races(res)]
    assert any("_deferred_list)->next" in m and "folio_unqueue_deferred_split (" in m
               for m in msgs), msgs
    assert sched.marked == 0


# every catalog file (its own preset and the fixed one) and every example: no data race
CLEAN = sorted(BUGS.glob("*.yaml")) + sorted(p for p in EX.glob("*.yaml")
                                             if p.name != "q-c-node0-reclaim-spares-node1.yaml")


@pytest.mark.parametrize("path", CLEAN, ids=lambda p: p.stem)
def test_no_data_race_on_the_catalog_and_examples(path):
    _, res, _ = _check(path, {"check": ["no_data_race"]})
    assert res.verdict == "ok", [v.message for v in res.violations]


@pytest.mark.parametrize("variant", ["linux-6.1", "v1", "series-v5", "v7.2"])
def test_no_data_race_in_other_presets(variant):
    from lrulab.scenario import ScenarioError
    for path in sorted(BUGS.glob("*.yaml")):
        try:
            _, res, _ = _check(path, {"check": ["no_data_race"], "variant": variant})
        except ScenarioError:  # not a scenario of this kernel (s9's split to order 4 on 6.1)
            assert variant == "linux-6.1" and path.stem == "s9-anon-split-to-order-warn"
            continue
        assert res.verdict == "ok", (path.name, [v.message for v in res.violations])
