"""`lrulab conform --calls` on real kernels: the THP shrinker's calls recorded with fprobe
events on Debian 6.12.117 (node, memcg, nr_to_scan, result of every deferred_split_count and
deferred_split_scan) agree with the model's call for call; a wrong model is caught at the op
where its calls first differ; 6.1 (no fprobe events) says why it does not compare them."""

from __future__ import annotations

from pathlib import Path

import pytest

from lrulab.conform.command import GuestCache

from .guests import run_json as conform_json

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "conformance" / \
    "13-pinned-unmapped-then-put.yaml"
EMPTY = (1 << 64) - 2

pytestmark = pytest.mark.qemu


def run_json(*files, **kw):
    return conform_json(*files, calls=True, **kw)


@pytest.fixture(scope="module")
def guests():
    return GuestCache()


def test_612_calls_agree_call_for_call(guests):
    status, data = run_json(SCENARIO, kernels=("debian-6.12.117",), guests=guests)
    (sc,) = data["scenarios"]
    assert status == 0 and sc["calls_compared"] and sc["calls_first_differ_at"] is None
    per_op = [o["calls"] for o in sc["ops"]]
    assert per_op[0] == {"kernel": 0, "model": 0}            # a fault calls no shrinker
    assert per_op[4]["kernel"] == per_op[4]["model"] > 0     # memory.reclaim of A


def test_a_wrong_model_differs_at_the_first_call_it_gets_wrong(guests):
    """count_shrink_empty (7.2's SHRINK_EMPTY) flipped on: A's drained queue counts
    SHRINK_EMPTY in the model, 0 on the kernel -- at op 6, the first count after the drain."""
    status, data = run_json(SCENARIO, kernels=("debian-6.12.117",), guests=guests,
                            patch=("count_shrink_empty=true",))
    (sc,) = data["scenarios"]
    assert status == 1 and sc["calls_first_differ_at"] == 6
    first = sc["ops"][6]["calls"]["first_difference"]
    assert first == {"position": 0, "kernel": ["count", 0, "A", None, 0],
                     "model": ["count", 0, "A", None, EMPTY]}


def test_61_says_why_calls_are_not_compared(guests):
    status, data = run_json(SCENARIO, kernels=("debian-6.1",), guests=guests)
    (sc,) = data["scenarios"]
    assert status == 0 and not sc["calls_compared"]
    assert "no fprobe events" in sc["calls_not_compared"]


@pytest.mark.parametrize("stem", ["03-offline-child-stranded", "07-memcg-disabled-node-queues"])
def test_drop_caches_and_a_null_memcg_agree(stem):
    """drop_caches (the kernel may repeat its pass for the other shrinkers: compared up to the
    model's last call) and cgroup_disable=memory (sc->memcg NULL, read as cgroup id 0)."""
    path = SCENARIO.parent / f"{stem}.yaml"
    status, data = run_json(path, kernels=("debian-6.12.117",))
    (sc,) = data["scenarios"]
    assert status == 0 and sc["calls_first_differ_at"] is None
    drops = [o for o in sc["ops"] if "drop_caches" in o["guest_action"]]
    assert drops and all(o["calls"]["model"] > 0 and "note" in o["calls"] for o in drops)
