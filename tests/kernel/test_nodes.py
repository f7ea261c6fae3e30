"""kernel.nodes with holes: node ids [0, 2] -- arrays span nr_node_ids, loops visit the possible
nodes only (for_each_node), ops and asserts may name only those."""

import subprocess
import sys

from lrulab.kernel import memory, rmap, split_queue
from lrulab.kernel.config import ConfigError, make_config
from lrulab.kernel.shrinker import shrinker_bits


def test_node_set_with_a_hole_sizes_arrays_by_the_highest_id(kh):
    cfg = make_config("v1", nodes=[0, 2])
    assert cfg.nodes == 3 and cfg.node_ids == (0, 2)
    assert make_config("v1", nodes=2).node_ids == (0, 1)
    for bad in ([2, 0], [1, 2], [], [0, 0], [0, 64], "0,2"):
        try:
            make_config("v1", nodes=bad)
        except ConfigError:
            continue
        raise AssertionError(bad)


def test_v1_reparent_sets_the_parents_bit_on_possible_nodes_only(kh):
    """reparent_deferred_split_queue sets the parent's bit for_each_node: 0 and 2, never 1."""
    h = kh("v1", memcgs=("P", "P/C"), nodes=[0, 2])
    f = h.run(memory.handle_mm_fault(h.k, "f", h.memcg("P/C"), 2, 9, 512))
    h.run(rmap.zap_partial(h.k, f))
    h.run(split_queue.reparent_deferred_split_queue(h.k, h.memcg("P/C")))
    p = h.memcg("P")
    sid = h.k.deferred_split_shrinker.id
    assert sid in shrinker_bits(p, 0) and sid in shrinker_bits(p, 2)
    assert sid not in shrinker_bits(p, 1)


def test_a_scenario_naming_the_hole_is_bad_input(tmp_path):
    text = ("kernel: {variant: v1, nodes: [0, 2]}\nmemcgs: [A]\nsetup:\n"
            "  - fault: {memcg: A, node: NODE, as: f1}\nthreads:\n  - [ {partial_unmap: f1} ]\n"
            "check: [counters]\n")
    good, bad = tmp_path / "g.yaml", tmp_path / "b.yaml"
    good.write_text(text.replace("NODE", "2"))
    bad.write_text(text.replace("NODE", "1"))
    run = [sys.executable, "-m", "lrulab", "run"]
    assert subprocess.run(run + [str(good)], capture_output=True).returncode == 0
    r = subprocess.run(run + [str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and f"{bad}:4:" in r.stderr
    assert "node 1 does not exist; this kernel has nodes 0, 2" in r.stderr
