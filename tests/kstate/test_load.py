"""Loading a kernel state into a model Kernel (lrulab.kstate.load), without QEMU: the model's own
state after each op of the conformance scenarios, as the drgn reader would give it for a dump
(queued folios only, with their mapcount and PG_partially_mapped), loads back key for key, and
the properties on the loaded Kernel are those of the Kernel it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrulab import properties as P
from lrulab.kernel.folio import PG_partially_mapped
from lrulab.kstate import diff
from lrulab.kstate.load import LoadError, load_kernel, loaded_view, lru_bits, model_view
from lrulab.kstate.model import model_state
from lrulab.ops import build_kernel
from lrulab.runner import execute
from lrulab.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
PROPS = ("bit_coverage", "stale_bits", "reparent_complete", "memcg_reclaim_reach")


def as_read(k) -> dict:
    """model_state(k) as a dump reads it: only queued folios (a dump has no scenario names for
    the others) plus the reader-only mapcount and partially_mapped keys; list_lru counts and
    the list_lru users' set bits."""
    s = {**model_state(k, tuple(k.lrus)), **lru_bits(k)}
    queued = {n for key, v in s.items() if key.startswith("deferred_split ") for n in v}
    out = {key: v for key, v in s.items()
           if not key.startswith("folio ") or key.split(" ")[1] in queued}
    for name in queued:
        f = k.folios[name]
        out[f"folio {name} mapcount"] = f.mapcount
        out[f"folio {name} partially_mapped"] = int(bool(f.flags & PG_partially_mapped))
    return out


def each_state(path: str, variant: str):
    sc = load_scenario(ROOT / path, {"variant": variant})
    k = build_kernel(sc)
    k.current = k.task("setup")
    for i, op in enumerate(list(sc.setup) + [o for t in sc.threads for o in t]):
        execute(k, op)
        yield i, k, sc.kernel.nodes


CASES = [("scenarios/conformance/03-offline-child-stranded.yaml", "linux-6.1"),
         ("scenarios/conformance/01-reclaim-b-spares-a.yaml", "linux-6.1"),
         ("scenarios/conformance/01-reclaim-b-spares-a.yaml", "debian-6.12.117"),
         ("scenarios/conformance/13-pinned-unmapped-then-put.yaml", "debian-6.12.117"),
         ("scenarios/inspect/clean-drained-stranded.yaml", "linux-6.1"),
         ("scenarios/inspect/clean-drained-stranded.yaml", "debian-6.12.117")]


@pytest.mark.parametrize("path,variant", CASES)
def test_every_state_loads_as_read_with_the_same_verdicts(path, variant):
    for i, k, nodes in each_state(path, variant):
        read = as_read(k)
        loaded = load_kernel(read, variant, nodes)
        assert diff(model_view(read), loaded_view(loaded)) == [], (path, i)
        assert loaded.events == [], (path, i)
        for name in PROPS:
            fn = P.REGISTRY[name][0]
            assert fn(loaded) == fn(k), (path, i, name)


LRU_SCENARIO = """
name: dentries and THPs
kernel:
  variant: VARIANT
  lrus:
    dcache: {memcg_aware: true, shrinker: [numa_aware, memcg_aware]}
memcgs: [A, P, P/C]
setup:
  - lru_add: {lru: dcache, memcg: A, node: 0, item: d1}
  - lru_add: {lru: dcache, memcg: A, node: 0, item: d2}
  - lru_add: {lru: dcache, memcg: P/C, node: 0, item: d3}
  - lru_add: {lru: dcache, memcg: root, node: 0, item: d4}
  - fault: {memcg: P/C, node: 0, as: c1}
  - partial_unmap: c1
  - rmdir: P/C
  - lru_del: {lru: dcache, item: d1}
  - lru_del: {lru: dcache, item: d2}
  - reclaim: {memcg: A, node: all}
"""


@pytest.mark.parametrize("variant", ["linux-6.1", "debian-6.12.117"])
def test_list_lru_items_and_bits_load_as_read(tmp_path, variant):
    """Plain list_lru users: each sublist's count (a memcg's, the root's, a removed memcg's
    reparented to its parent) and each set bit of their shrinker load where they were read;
    the verdicts are those of the original Kernel (item names differ: a dump has none)."""
    path = tmp_path / "lru.yaml"
    path.write_text(LRU_SCENARIO.replace("VARIANT", variant))
    seen_bits = set()
    for i, k, nodes in each_state(path, variant):
        read = as_read(k)
        loaded = load_kernel(read, variant, nodes)
        assert diff(model_view(read), loaded_view(loaded)) == [], i
        seen_bits |= {key for key in read if key.startswith("shrinker_bit dcache")}
        for name in PROPS:
            fn = P.REGISTRY[name][0]
            assert bool(fn(loaded)) == bool(fn(k)), (i, name, fn(loaded), fn(k))
    assert "shrinker_bit dcache A node0" in seen_bits


def test_an_offline_memcgs_queue_stays_where_the_kernel_left_it():
    """Loading does not replay the rmdir: nothing is reparented, reparent_complete sees it."""
    *_, (i, k, nodes) = each_state("scenarios/inspect/clean-drained-stranded.yaml", "linux-6.1")
    loaded = load_kernel(as_read(k), "linux-6.1", nodes)
    assert loaded.memcgs["C"].online is False and loaded.memcgs["C"].dying is True
    assert P.reparent_complete(loaded) == ["c1 stranded on offline C's queue"]


def test_the_rules_follow_the_point_not_the_state():
    """A queued THP that is fully mapped: 6.12 rules (PG_partially_mapped) only unqueue it, so
    the copy's reclaim leaves memcg A's bit with nothing to shrink; 6.1 rules split every
    queued THP -- the same drained queue, the same stale bit (B7 on both)."""
    state = {"memcg root": "online", "memcg root kmemcg_id": -1,
             "shrinker_bit thp root node0": 0, "memcg A": "online", "memcg A kmemcg_id": 2,
             "shrinker_bit thp A node0": 1, "deferred_split A": ["t"], "folio t": "live",
             "folio t order": 9, "folio t node": 0, "folio t memcg": "A",
             "folio t refcount": 1, "folio t mapped": "pmd", "folio t mapcount": 1,
             "folio t partially_mapped": 0}
    for point in ("debian-6.12.117", "debian-6.1.192"):
        k = load_kernel(state, point, 1)
        assert k.cfg.patch.partially_mapped_flag is (point == "debian-6.12.117")
        assert P.stale_bits(k) == [
            "A: bit for thp-deferred_split on node 0 stays set with nothing to shrink"]
        assert P.bit_coverage(k) == [] and P.memcg_reclaim_reach(k) == []


@pytest.mark.parametrize("state,point,message", [
    ({"memcg root": "online", "memcg P/C": "online"}, "linux-6.1", "parent P"),
    ({"memcg root": "online", "deferred_split root": ["x"]}, "linux-6.1", "x is queued"),
    ({"memcg root": "online", "deferred_split node3": []}, "linux-6.1", "node 3"),
    ({"memcg root": "online"}, "v7.2", "list_lru"),
    ({"memcg root": "online"}, "nope", "unknown kernel"),
])
def test_a_state_the_model_cannot_hold_is_one_line(state, point, message):
    with pytest.raises(LoadError) as e:
        load_kernel(state, point, 1)
    assert message in str(e.value) and "\n" not in str(e.value)
