"""no_data_race (world.py): KCSAN's question over every state -- two steps of different
threads enabled in the same state touching one field, one writing, no lock in common, neither
access marked."""

from pathlib import Path

import pytest

from lrulab.check.engine import Bounds
from lrulab.check.report import check_file
from lrulab.kernel import huge_memory
from lrulab.kernel import list as list_mod
from lrulab.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
BUGS = ROOT / "scenarios" / "bugs"
EX = ROOT / "scenarios" / "examples"
HERE = Path(__file__).resolve().parent / "scenarios"
PRIVATE = HERE / "race-private-list.yaml"


# 6.12-rc1's deferred_split_scan (dafff3f4c850 "mm: split underused THPs"), before Hugh
# Dickins' e66f3185fa04 "mm/thp: fix deferred split queue not partially_mapped" (Message-ID
# 81e34a8b-113a-0701-740e-2135c97eb1d7@google.com): every folio is put as soon as it is
# handled, and one no longer partially mapped leaves the private list by an unlocked
# list_del_init with an unlocked split_queue_len-- (flag scan_keeps_safe_folio off)
RC1_SCAN = {"patches": {"scan_keeps_safe_folio": False}}


def _check(path, ov=None, **kw):
    return check_file(str(path), ov or {}, Bounds(timeout=120), **kw)


def _races(res) -> list:
    return [v for v in res.violations if v.property == "no_data_race"]


def test_race_on_the_links_of_an_item_on_an_unlocked_private_list():
    w, res, rendered = _check(PRIVATE, dict(RC1_SCAN))
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


def test_unlocked_split_queue_len_is_a_data_race():
    _, res, _ = _check(PRIVATE, dict(RC1_SCAN))
    assert any("split_queue_len" in v.message for v in _races(res))


def test_kept_folio_pinned_until_the_splice_has_no_data_race():
    """V0 / 6.13: the kept folio stays pinned until the splice, so nobody unqueues the
    neighbour of a folio leaving the private list."""
    _, res, _ = _check(PRIVATE)
    assert res.verdict == "ok"


def test_sleep_sets_find_the_same_data_race():
    _, with_sleep, _ = _check(PRIVATE, dict(RC1_SCAN))
    _, plain, _ = _check(PRIVATE, dict(RC1_SCAN), reduction=False)
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


# history bugs that are data races themselves (the scan's unlocked unlink next to a racing
# unqueue; bug 13: 6.7's mem_cgroup_migrate unlinks a THP from the scan's private list, which
# the scan walks with no lock): checked at the point that fixed them; at their own point
# KCSAN must see the race
RACE_BUGS = {"scan-unlocked-del-race": "6.12", "scan-safe-folio-after-split": "6.12",
             "h13-deferred-split-migration-race": "6.10-rc7"}


@pytest.mark.parametrize("path", CLEAN, ids=lambda p: p.stem)
def test_no_data_race_on_the_catalog_and_examples(path):
    ov = {"check": ["no_data_race"]}
    if path.stem in RACE_BUGS:
        ov["variant"] = RACE_BUGS[path.stem]
    _, res, _ = _check(path, ov)
    assert res.verdict == "ok", [v.message for v in res.violations]


@pytest.mark.parametrize("name", sorted(RACE_BUGS))
def test_the_scan_race_bugs_are_data_races_at_their_own_points(name):
    """The scan bugs race on a _deferred_list; bug 13's double put frees f1 under the scan's
    split, whose writes then race with the free path's reads of f1."""
    _, res, _ = _check(BUGS / f"{name}.yaml", {"check": ["no_data_race"]})
    field = "folio(f1)->" if name.startswith("h13") else "_deferred_list)->"
    assert any(field in v.message and "deferred_split_scan" in v.message
               for v in _races(res)), [v.message for v in res.violations]


@pytest.mark.parametrize("variant", ["linux-6.1", "v1", "series-v5", "v7.2"])
def test_no_data_race_in_other_presets(variant):
    for path in sorted(BUGS.glob("*.yaml")):
        try:
            load_scenario(path, {"variant": variant})
        except ScenarioError:
            continue  # not a scenario at this kernel (charge_move after 6.12)
        _, res, _ = _check(path, {"check": ["no_data_race"], "variant": variant})
        assert res.verdict == "ok", (path.name, [v.message for v in res.violations])


def test_the_models_own_reads_and_the_atomic_refcount_are_no_data_races():
    """At bug 13's own point a migration clears f1's memcg (mem_cgroup_migrate, under the
    folio lock) while the scan records f1 for memcg_locality (a read no kernel makes), and
    folio_ref_freeze's cmpxchg races the free path (an atomic _refcount): neither is a data
    race. Only the race the bug causes is reported (test above)."""
    _, res, _ = _check(BUGS / "h13-deferred-split-migration-race.yaml",
                       {"check": ["no_data_race"]})
    msgs = [v.message for v in _races(res)]
    assert msgs and not [m for m in msgs if "->memcg:" in m or "->frozen:" in m], msgs
