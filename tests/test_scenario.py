"""Scenario files: malformed input gets one line with file:line and exit status 2."""

import json
import subprocess
import sys

import pytest

from lrulab.scenario import ScenarioError, parse_scenario

GOOD = """\
kernel: {variant: v7.2}
memcgs: [A]
setup:
  - fault: {memcg: A, as: f1}
threads:
  - [ {partial_unmap: f1} ]
"""


def lrulab(*args):
    return subprocess.run([sys.executable, "-m", "lrulab", *args], capture_output=True, text=True)


@pytest.mark.parametrize("text,line,words", [
    (GOOD.replace("partial_unmap", "frobnicate"), 6, "unknown op 'frobnicate'"),
    (GOOD.replace("memcg: A,", "memcg: Z,"), 4, "unknown memcg 'Z'"),
    (GOOD.replace("v7.2", "v9"), 1, "unknown variant 'v9'"),
    (GOOD.replace("variant: v7.2", "point: v9"), 1, "unknown point 'v9'"),
    (GOOD.replace("v7.2", "6.10"), 1, "quote it"),
    (GOOD.replace("v7.2", "'4.19'"), 1, "predates the model"),
    (GOOD.replace("[ {partial_unmap: f1} ]", "[ {partial_unmap: f1 ]"), 6, "YAML syntax error"),
    (GOOD.replace("memcg: A, as: f1", "memcg: A"), 4, "missing field 'as'"),
    (GOOD.replace("f1} ]", "f9} ]"), 6, "unknown folio 'f9'"),
])
def test_bad_scenario_one_line_with_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    r = lrulab("run", str(path))
    assert r.returncode == 2
    assert r.stdout == ""
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{path}:{line}:" in err and words in err


def test_missing_file_and_bad_cli_flags_exit_2(tmp_path):
    r = lrulab("run", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2 and "no such file" in r.stderr
    good = tmp_path / "g.yaml"
    good.write_text(GOOD)
    for args in (["--variant", "v9"], ["--kernel", "v9"], ["--kernel", "4.19"],
                 ["--patch", "nope=true"], ["--patch", "thp_list_lru"],
                 ["--boot", "quiet"]):
        r = lrulab("run", str(good), *args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, args


def test_scenario_is_not_modified(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(GOOD)
    lrulab("run", str(path), "--json")
    assert path.read_text() == GOOD


def test_parse_normalises_ops():
    sc = parse_scenario(GOOD, "x.yaml")
    assert sc.setup[0].args == {"memcg": "A", "node": 0, "order": 9, "as": "f1"}
    assert sc.threads[0][0].args == {"folio": "f1"} and sc.threads[0][0].line == 6


def test_mthp_order_refused_on_61():
    text = GOOD.replace("v7.2", "linux-6.1").replace("as: f1}", "as: f1, order: 4}")
    with pytest.raises(ScenarioError, match="needs mTHP"):
        parse_scenario(text, "x.yaml")


def test_run_json_shape(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(GOOD)
    r = lrulab("run", str(path), "--json")
    d = json.loads(r.stdout)
    assert d["verdict"] in ("ok", "violation") and d["variant"] == "v7.2"
    assert [o["op"] for o in d["ops"]] == ["fault: {memcg: A, node: 0, order: 9, as: f1}",
                                            "partial_unmap: f1"]
    assert "deferred_split_folio" in d["ops"][1]["functions"]
    assert d["ops"][1]["vmstat_delta"]["thp_deferred_split_page"] == 1


def test_reclaim_by_kswapd_or_direct():
    """reclaim: {memcg: root, by: kswapd|direct} names the driver (balance_pgdat or
    do_try_to_free_pages); by is refused for memcg reclaim and with a priority."""
    sc = parse_scenario(GOOD + "  - [ {reclaim: {memcg: root, node: 0, by: kswapd}} ]\n", "t.yaml")
    assert sc.threads[1][0].args["by"] == "kswapd"
    for bad, words in (("{memcg: A, by: kswapd}", "memcg: root"),
                       ("{memcg: root, by: kswapd, priority: 0}", "memcg: root"),
                       ("{memcg: root, by: bdflush}", "use kswapd")):
        with pytest.raises(ScenarioError, match=words):
            parse_scenario(GOOD + f"  - [ {{reclaim: {bad}}} ]\n", "t.yaml")


def test_sysfs_shrink_underused_and_alias_accepted():
    for knob in ("shrink_underused", "split_underused_thp"):
        text = GOOD.replace("{variant: v7.2}", "{variant: v7.2, sysfs: {%s: false}}" % knob)
        assert parse_scenario(text, "t.yaml").kernel.sysfs == {knob: False}
    with pytest.raises(ScenarioError, match="unknown sysfs knob"):
        parse_scenario(GOOD.replace("{variant: v7.2}", "{variant: v7.2, sysfs: {split_thp: 1}}"),
                       "t.yaml")


CGROUPS = """\
kernel: {variant: v1}
memcgs: [P, P/C]
setup:
  - fault: {memcg: P/C, as: f1}
threads:
  - [ {rmdir: P/C}, {fault: {memcg: P/C, as: f2}} ]
  - [ {rmdir: P} ]
"""


@pytest.mark.parametrize("text,line,words", [
    (CGROUPS.replace("memcg: P/C, as: f1", "memcg: P, as: f1"), 4, "a task of P, which has the "
     "child P/C"),
    (CGROUPS, 6, "a task of P/C after its rmdir (line 6)"),
    (CGROUPS.replace("setup:\n", "setup:\n  - rmdir: P/C\n").replace(
        "{rmdir: P/C}, ", ""), 5, "after its rmdir (line 4)"),
])
def test_task_in_cgroup_with_children_or_removed_is_bad_input(tmp_path, text, line, words):
    """cgroup v2: no process in a cgroup that gives memory to children, none in a removed
    cgroup (checked within the setup and one thread)."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    r = lrulab("run", str(path))
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1, err
    assert f"bad.yaml:{line}:" in err and words in err and "leaf memcg" in err


def test_cgroup_rules_across_threads_are_kernel_outcomes(tmp_path):
    """Another thread's rmdir is left to the model: rmdir P races rmdir P/C (-EBUSY or ok,
    P offline after P/C), a task of P/C races its removal (-ENOENT or THP); never a
    violation (audit A5: a false Oops and use-after-free before)."""
    path = tmp_path / "race.yaml"
    path.write_text(CGROUPS.replace(", {fault: {memcg: P/C, as: f2}}", "").replace(
        "threads:\n", "threads:\n  - [ {fault: {memcg: P/C, as: f2}} ]\n")
        + "check: [no_warn, no_oops, no_use_after_free, list_integrity, counters]\n")
    for variant in ("linux-6.1", "v0", "v1", "series-v5", "v7.2"):
        r = lrulab("check", str(path), "--variant", variant)
        assert r.returncode == 0, (variant, r.stdout, r.stderr)


def test_mkdir_under_removed_parent_is_enoent_not_a_crash(tmp_path):
    """mkdir after its parent's rmdir fails as the kernel fails it (a KeyError before)."""
    path = tmp_path / "mk.yaml"
    path.write_text("kernel: {variant: v7.2}\nmemcgs: [P]\nsetup:\n  - rmdir: P\n"
                    "  - mkdir: P/C\n  - rmdir: P\n")
    r = lrulab("run", str(path), "--json")
    assert r.returncode == 0, r.stderr
    assert [o["result"] for o in json.loads(r.stdout)["ops"]][-2:] == ["-ENOENT", "-ENOENT"]


# -- issue 9: types checked before use, values bounded, paths A/B only ----------------------

@pytest.mark.parametrize("old,new,words", [
    ("variant: v7.2", "variant: [v7.2]", "unknown variant"),
    ("{variant: v7.2}", "{variant: v7.2, boot: 1}", "kernel.boot must be a list"),
    ("{variant: v7.2}", "{variant: v7.2, patches: [a]}", "kernel.patches must map"),
    ("{variant: v7.2}", "{variant: v7.2, nodes: 2.0}", "kernel.nodes must be an integer"),
    ("{variant: v7.2}", "{variant: v7.2, sysfs: {khugepaged_max_ptes_none: abc}}",
     "takes an integer 0..511"),
    ("{variant: v7.2}", "{variant: v7.2, sysfs: {khugepaged_max_ptes_none: 512}}",
     "takes an integer 0..511"),
    ("{variant: v7.2}", "{variant: v7.2, sysfs: {split_underused_thp: 1}}", "true or false"),
    ("{variant: v7.2}", "{variant: v7.2, lrus: {L: {shrinker: 1}}}", "lru L: give"),
    ("as: f1}", "as: f1, order: 9.0}", "order 9.0"),
    ("as: f1}", "as: f1, written: 100000}", "written must be an integer from 0 to 512"),
    ("[ {partial_unmap: f1} ]", "[ {unmap: [f1]} ]", "folio must be a name"),
    ("[ {partial_unmap: f1} ]", "[ {rmdir: [A]} ]", "path must be a name"),
    ("[ {partial_unmap: f1} ]", "[ {reclaim: {memcg: A, nr_to_scan: 1000000}} ]",
     "nr_to_scan must be an integer from 0 to 1024"),
    ("[ {partial_unmap: f1} ]", '[ {fault: {memcg: A, as: "f\\n2"}} ]', "control characters"),
    ("[ {partial_unmap: f1} ]", "[ {fault: {memcg: A, as: f2, fail: [[x]]}} ]",
     "fail takes allocation sites"),
])
def test_types_are_checked_before_use(old, new, words):
    with pytest.raises(ScenarioError) as e:
        parse_scenario(GOOD.replace(old, new), "s.yaml")
    assert words in str(e.value) and str(e.value).startswith("s.yaml:")


@pytest.mark.parametrize("path", ["/B", "A/", "A//B", "root/A", "a\nb", "..", "a b"])
def test_memcg_path_is_a_or_a_slash_b_only(path):
    bad = json.dumps(path)
    for text in (GOOD.replace("memcgs: [A]", f"memcgs: [A, {bad}]"),
                 GOOD.replace("[ {partial_unmap: f1} ]", f"[ {{mkdir: {bad}}} ]")):
        with pytest.raises(ScenarioError, match="bad (memcg )?path"):
            parse_scenario(text, "s.yaml")


def test_duplicate_kernel_key_is_refused_not_overwritten():
    with pytest.raises(ScenarioError, match="s.yaml:7: duplicate key 'kernel'"):
        parse_scenario(GOOD + "kernel: {variant: linux-6.1}\n", "s.yaml")


def test_scenario_that_is_a_directory_or_device_is_refused(tmp_path):
    for path in (str(tmp_path), "/dev/zero"):
        r = lrulab("run", path)
        assert r.returncode == 2 and r.stderr.startswith(f"lrulab: {path}:0: ")
        assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("spelling", ["variant: '7.1'", "point: '7.1'", "point: v1",
                                      "variant: series-v1"])
def test_kernel_names_any_point_of_history(spelling):
    """kernel.variant (or kernel.point) takes a preset or any point 'lrulab variants' lists."""
    from lrulab.kernel.config import kernel_flags
    sc = parse_scenario(GOOD.replace("variant: v7.2", spelling), "x.yaml")
    name = spelling.split(": ")[1].strip("'")
    assert sc.kernel.variant == name
    assert sc.kernel.variant in ("7.1", "v1", "series-v1")
    assert kernel_flags(name)["lru_folio_reparent"]


def test_kernel_option_overrides_the_file(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(GOOD)
    for opt in ("--kernel", "--variant", "--preset"):
        r = lrulab("run", str(path), opt, "6.12", "--json")
        assert r.returncode in (0, 1), r.stderr
        assert json.loads(r.stdout)["variant"] == "6.12", opt


HIST = GOOD + "expect: {violation: stale_bits, introduced: %s, fixed: %s}\n"


@pytest.mark.parametrize("introduced,fixed", [
    ("87eaceb3faa5", "none"), ("87eaceb", "fafaeceb89a5"),
    ("87eaceb3faa5", "<20260602043453.67597-1-lance.yang@linux.dev>"),
    ("87eaceb3faa5", "count_shrink_empty"),
])
def test_expect_history_names_commits_of_the_history(introduced, fixed):
    sc = parse_scenario(HIST % (introduced, fixed), "h.yaml")
    assert sc.expect == {"violation": "stale_bits", "introduced": introduced, "fixed": fixed}


@pytest.mark.parametrize("introduced,fixed,words", [
    ("deadbeefcafe", "none", "no commit 'deadbeefcafe'"),
    ("87eaceb3faa5", "no_such_flag", "no commit 'no_such_flag'"),
    ("none", "none", "no commit 'none'"),
    ("[1]", "none", "is a commit id"),
])
def test_expect_history_unknown_commit_is_bad_input(introduced, fixed, words):
    with pytest.raises(ScenarioError) as e:
        parse_scenario(HIST % (introduced, fixed), "h.yaml")
    assert "h.yaml:7:" in str(e.value) and words in str(e.value)


def test_expect_fixed_without_introduced_is_bad_input():
    with pytest.raises(ScenarioError, match="needs expect.introduced"):
        parse_scenario(GOOD + "expect: {violation: stale_bits, fixed: none}\n", "h.yaml")


V1 = """\
kernel: {variant: linux-6.1, cgroup: v1}
memcgs: [A, B]
setup:
  - fault: {memcg: A, as: f1}
threads:
  - [ {charge_move: {folio: f1, to: B}} ]
"""


@pytest.mark.parametrize("text,line,words", [
    (V1.replace(", cgroup: v1", ""), 6, "charge_move is cgroup v1's memory.move_charge_at_"
     "immigrate, which cgroup v2 does not have; add 'cgroup: v1' under kernel:"),
    (V1.replace("linux-6.1", "linux-6.13"), 6, "linux-6.13 has no charge moving (removed in "
     "6.13 by 6b611388b626"),
    (V1.replace("cgroup: v1", "cgroup: v3"), 1, "kernel.cgroup 'v3': give v2"),
    (V1.replace("folio: f1, to: B", "folio: f9, to: B"), 6, "unknown folio 'f9'"),
    (V1.replace("to: B", "to: Z"), 6, "unknown memcg 'Z'"),
    (V1.replace("folio: f1, to: B", "folio: f1"), 6, "charge_move: missing field 'to'"),
    (V1.replace("[ {charge_move: {folio: f1, to: B}} ]", "[ {swapout: f7} ]"), 6,
     "unknown folio 'f7'"),
    (V1.replace("[ {charge_move", "[ {rmdir: B}, {charge_move"), 6,
     "a task moved into B after its rmdir (line 6)"),
    (V1.replace("cgroup: v1", "cgroup: v1, boot: [cgroup_disable=memory]"), 6,
     "no memcgs under cgroup_disable=memory"),
])
def test_swapout_and_charge_move_bad_input_is_one_line(tmp_path, text, line, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    r = lrulab("run", str(path))
    err = r.stderr.strip()
    assert r.returncode == 2 and r.stdout == "", err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"{path}:{line}:" in err and words in err, err


def test_cgroup_v1_lets_a_task_into_a_cgroup_with_children():
    """v1 has no subtree_control and no no-internal-process rule: a fault by a task of P
    while P has the child P/C is a scenario (on v2 it is bad input, above)."""
    text = CGROUPS.replace("{variant: v1}", "{variant: v1, cgroup: v1}").replace(
        "memcg: P/C, as: f1", "memcg: P, as: f1").replace(
        "  - [ {rmdir: P/C}, {fault: {memcg: P/C, as: f2}} ]\n", "")
    sc = parse_scenario(text, "v1.yaml")
    assert sc.kernel.cgroup == "v1" and sc.setup[0].args["memcg"] == "P"
    r = lrulab_run_ops(sc)
    assert r[0] == "THP"


def lrulab_run_ops(sc):
    from lrulab.runner import run_scenario
    return [rec.result for rec in run_scenario(sc, trace=False).ops]


def test_swapout_and_charge_move_parse_and_print_as_written():
    sc = parse_scenario(V1.replace("threads:\n", "threads:\n  - [ {swapout: f1} ]\n"), "v.yaml")
    assert [op.text() for op in sc.threads[0] + sc.threads[1]] == [
        "swapout: f1", "charge_move: {folio: f1, to: B}"]
KMEM_OFF = GOOD.replace("kernel: {variant: v7.2}",
                        "kernel: {variant: debian-6.1.192, config: {memcg_kmem: false}}") + \
    "check: [counters]\n"


@pytest.mark.parametrize("text,words", [
    (KMEM_OFF.replace("debian-6.1.192", "v7.2"), "CONFIG_MEMCG_KMEM is part of CONFIG_MEMCG"),
    (KMEM_OFF.replace("memcg_kmem: false", "memcg_kmem: 0"), "must be true or false"),
    (KMEM_OFF.replace("memcg_kmem: false", "slob: true"), "unknown config option 'slob'"),
    (KMEM_OFF.replace("{memcg_kmem: false}", "[memcg_kmem]"), "kernel.config must map"),
])
def test_kernel_config_bad_input(tmp_path, text, words):
    """kernel.config: only known build options, booleans, and CONFIG_MEMCG_KMEM=n only where
    the option exists (before 6.10)."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    r = lrulab("run", str(path))
    assert r.returncode == 2 and r.stdout == ""
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and f"{path}:1:" in err and words in err, err


def test_kernel_config_memcg_kmem_false_parses_and_a_later_kernel_option_is_refused(tmp_path):
    sc = parse_scenario(KMEM_OFF, "k.yaml")
    assert sc.kernel.kconfig == {"memcg_kmem": False}
    path = tmp_path / "k.yaml"
    path.write_text(KMEM_OFF)
    assert lrulab("run", str(path)).returncode == 0
    r = lrulab("run", str(path), "--kernel", "v7.2")
    assert r.returncode == 2 and "CONFIG_MEMCG_KMEM" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_lru_seeks_and_batch_reach_the_shrinker(tmp_path):
    from lrulab.ops import build_kernel
    from lrulab.scenario import load_scenario

    f = tmp_path / "s.yaml"
    f.write_text("kernel:\n  variant: linux-6.1\n  lrus:\n"
                 "    d: {memcg_aware: true, shrinker: [numa_aware, memcg_aware], seeks: 0, "
                 "batch: 1024}\nsetup: []\n")
    s = build_kernel(load_scenario(f)).lrus["d"].shrinker
    assert (s.seeks, s.batch) == (0, 1024)


def test_lru_seeks_must_be_a_non_negative_integer(tmp_path):
    from lrulab.scenario import load_scenario

    f = tmp_path / "s.yaml"
    f.write_text("kernel:\n  variant: linux-6.1\n  lrus:\n    d: {seeks: -1}\nsetup: []\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:4: .*seeks must be an integer >= 0"):
        load_scenario(f)
