"""register / unregister: shrinkers registered at run time (mm/shrinker.c 6.7+, mm/vmscan.c
before), the bitmaps of live memcgs expanded, and bad input."""

import subprocess
import sys
from pathlib import Path

import pytest

from lrulab.kernel import shrinker as sh
from lrulab.runner import run_scenario
from lrulab.scenario import ScenarioError, parse_scenario

R1 = str(Path(__file__).resolve().parents[1] / "scenarios" / "bugs"
         / "r1-shrinker-info-teardown-race.yaml")

MOUNT = """kernel: {{variant: {v}, nodes: 2, shrinkers: {n}}}
memcgs: [A]
setup:
  - lru_add: {{lru: fs0, memcg: A, item: d0}}
  - register: {{lru: fs1, flags: [memcg_aware, numa_aware]}}
  - lru_add: {{lru: fs1, memcg: A, node: 1, item: d1}}
  - assert: {{bit: {{memcg: A, node: 1, shrinker: fs1-shrinker, set: true}}}}
  - reclaim: {{memcg: A, node: 1, priority: 0}}
  - unregister: fs1
  - lru_add: {{lru: fs1, memcg: A, item: d2}}
  - reclaim: {{memcg: A, node: 1, priority: 0}}
"""
def _run(text):
    return run_scenario(parse_scenario(text, "t.yaml"), trace=False)


def _mount(v, n):
    text = MOUNT.format(v=v, n=n).replace(
        "kernel: {variant", "kernel: {lrus: {fs0: {memcg_aware: true, shrinker: [memcg_aware, "
        "numa_aware]}}, variant")
    return parse_scenario(text, "t.yaml")


@pytest.mark.parametrize("v,n,new_id", [("v7.2", 0, 2), ("v7.2", 62, 64), ("linux-6.1", 62, 64),
                                        ("v0", 62, 64)])
def test_register_takes_the_next_id_and_expands_every_memcg_at_a_64_id_boundary(v, n, new_id):
    """THP shrinker id 0, kernel.shrinkers 1..n, fs0 n+1: fs1 gets the next id; crossing 64
    ids grows every memcg's shrinker_info to 128 (6.1 sets every old bit, 6.7+ keeps them)."""
    r = run_scenario(_mount(v, n), trace=False)
    k = r.kernel
    res = [rec.result for rec in r.ops]
    assert res[1] == f"registered (shrinker id {new_id})", res
    a = k.memcgs["A"]
    assert a.shrinker_info[0].map_nr_max == (128 if new_id >= 64 else 64)
    assert k.root_mem_cgroup.shrinker_info[1].map_nr_max == a.shrinker_info[1].map_nr_max
    fs0_id = n + 1
    # A's node-0 bit of fs0 (set by d0) survives the expansion either way
    assert sh.shrinker_bit_test(a, 0, fs0_id)
    if new_id >= 64:
        all_old = a.shrinker_info[0].map & ((1 << 64) - 1) == (1 << 64) - 1
        assert all_old == (v == "linux-6.1")  # expand_keeps_bits off in 6.1
    assert res[4:] == ["unregistered", "no such lru (not registered)", "done"]
    bad = {p: m for p, m in r.properties.items() if m}
    if v == "linux-6.1" and new_id >= 64:
        # 6.1's expansion set A's THP bit too, and its deferred_split_count never says
        # SHRINK_EMPTY: the bit stays (B7, catalog b7-stale-bits, fixed in 7.2)
        assert set(bad) == {"stale_bits"} and "thp-deferred_split" in bad["stale_bits"][0]
    else:
        assert not bad, bad
    # the object went with the reclaim; the shrinker is gone from the list and the idr, and
    # the next pass cleared its bit
    assert "fs1" not in k.lrus and all(s.name != "fs1-shrinker" for s in k.shrinker_list)
    assert new_id not in k.shrinker_idr and not sh.shrinker_bit_test(a, 1, new_id)


def test_register_races_a_failing_mkdir_only_from_307bececcd12_to_the_fix():
    def bisect(*args):
        return subprocess.run([sys.executable, "-m", "lrulab", "bisect", R1, *args],
                              capture_output=True, text=True, check=False)
    r = bisect("--good", "6.4", "--bad", "6.7")
    assert r.returncode == 0, r.stderr
    assert "first bad commit: 307bececcd12 mm: shrinker: add a secondary array for " \
           "shrinker_info::{map, nr_deferred} (6.7-rc1)" in r.stdout
    assert "flag shrinker_info_free_unlocked" in r.stdout
    assert "expand_one_shrinker_info" in r.stdout  # the use-after-free's stack
    r = bisect("--good", "v7.2", "--bad", "v7.2-fixes")
    assert r.returncode == 0, r.stderr
    assert "first bad commit: <20260617085658.27096-1-qi.zheng@linux.dev> mm: shrinker: fix " \
           "shrinker_info teardown race with expansion (7.3-rc)" in r.stdout


@pytest.mark.parametrize("v", ["linux-6.1", "v7.2", "v7.2-fixes"])
def test_a_failed_mkdir_alone_frees_its_shrinker_info_once(v):
    """Node 0's info published, node 1's allocation fails: mkdir returns -ENOMEM and frees
    node 0's info once, whichever side of the lock it frees it on."""
    from lrulab.kernel import memcontrol as mc
    from lrulab.kernel.sched import run_sync
    from lrulab.ops import build_kernel
    k = build_kernel(parse_scenario(f"kernel: {{variant: {v}, nodes: 2}}\n", "t.yaml"))
    calls = []

    def decide(site):
        calls.append(site)
        return len(calls) < 2
    assert run_sync(k, mc.cgroup_mkdir(k, "B"), decide) == -12
    assert calls == ["shrinker_info", "shrinker_info"] and "B" not in k.memcgs
    assert not k.events and k.shrinker_mutex.owner is None


BAD = [
    ("kernel: {variant: v7.2}\nsetup:\n  - register: {lru: fs1, flags: [memcg]}\n", 3,
     "flags is a list"),
    ("kernel: {variant: v7.2}\nsetup:\n  - register: {lru: fs1, flags: memcg_aware}\n", 3,
     "flags is a list"),
    ("kernel: {variant: v7.2}\nsetup:\n  - register: {lru: fs1}\n  - register: {lru: fs1}\n",
     4, "exists already"),
    ("kernel: {variant: v7.2}\nsetup:\n  - register: {lru: 'a b'}\n", 3, "whitespace"),
    ("kernel: {variant: v7.2}\nsetup:\n  - register: {lru: fs1, memcg_aware: 1}\n", 3,
     "true or false"),
    ("kernel: {variant: v7.2}\nsetup:\n  - unregister: fs1\n", 3, "unknown lru"),
    ("kernel: {variant: v7.2, shrinkers: 5000}\n", 1, "kernel.shrinkers"),
    ("kernel: {variant: v7.2, shrinkers: -1}\n", 1, "kernel.shrinkers"),
]


@pytest.mark.parametrize("text,line,why", BAD)
def test_bad_register_input_names_file_and_line(text, line, why):
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text, "bad.yaml")
    assert str(e.value).startswith(f"bad.yaml:{line}: ") and why in str(e.value)
    assert "\n" not in str(e.value)


def test_bad_register_on_the_command_line_exits_2(tmp_path):
    f = tmp_path / "r.yaml"
    f.write_text(BAD[0][0])
    r = subprocess.run([sys.executable, "-m", "lrulab", "check", str(f)], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert f"{f}:3:" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("name", ["h14-hugetlb-deferred-list", "s9-anon-split-to-order-warn",
                                  "r1-shrinker-info-teardown-race"])
def test_the_new_catalog_files_show_their_bug_at_their_own_kernel(name):
    path = Path(R1).parent / f"{name}.yaml"
    r = subprocess.run([sys.executable, "-m", "lrulab", "check", str(path)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "expect: expected (violation of" in r.stdout, r.stdout
