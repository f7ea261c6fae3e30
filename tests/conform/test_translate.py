import pytest

from lrulab.conform.translate import NotApplicable, plan


def lines(p):
    return [ln for ln in p.script.splitlines() if ln.startswith(("O ", "G ", "N "))]


def test_ops_become_guest_lines_in_file_order(scenario, op):
    s = scenario(
        memcgs=["A", "B", "A/C"],
        setup=[op("fault", memcg="A", node=0, order=9, **{"as": "f1"}),
               op("partial_unmap", folio="f1")],
        threads=[[op("fault", memcg="B", node=1, **{"as": "f2"}), op("unmap", folio="f2")],
                 [op("reclaim", memcg="B", node="all"), op("reclaim", memcg="root", node="all")],
                 [op("get", folio="f1"), op("put", folio="f1"), op("rmdir", path="A/C")]],
        nodes=2)
    p = plan(s)
    assert lines(p) == [
        "N 2", "G A", "G B", "G A/C",
        "O 0 fault A 0 f1 0 512", "O 1 partial f1", "O 2 fault B 1 f2 1 512", "O 3 unmap f2",
        "O 4 memreclaim B 1G", "O 5 dropslab", "O 6 get f1", "O 7 put f1", "O 8 rmdir A/C"]
    assert [g.index for g in p.ops] == list(range(9))
    assert p.nodes == 2 and p.boot == []
    # khugepaged is put to sleep before anything runs
    assert "khugepaged/scan_sleep_millisecs 3600000" in p.script
    # drop_caches runs every shrinker: its slabs_scanned is not compared, and says why
    assert "slabs_scanned" in p.ops[5].exclude and not p.ops[4].exclude


def test_boot_options_go_to_the_kernel_command_line(scenario):
    assert plan(scenario(boot=["cgroup.memory=nokmem"])).boot == ["cgroup.memory=nokmem"]


@pytest.mark.parametrize("case, reason", [
    ({"setup": [("fault", {"memcg": "A", "node": 0, "order": 4, "as": "m"})]}, "no mTHP"),
    ({"setup": [("reclaim", {"memcg": "A", "node": 0})]}, "b980077899ea in 6.17"),
    ({"setup": [("reclaim", {"memcg": "root", "node": 1})]}, "node 1 is not one"),
    ({"setup": [("reclaim", {"memcg": "A", "node": "all", "priority": 3})]}, "priority"),
    ({"setup": [("lru_add", {"lru": "d", "memcg": "A", "node": 0, "item": "x"})],
      "lrus": {"d": {"memcg_aware": True, "shrinker": ["numa_aware", "memcg_aware"]}}},
     "seeks: 0, batch: 1024"),
    ({"setup": [("lru_add", {"lru": "d", "memcg": "A", "node": 0, "item": "x"}),
                ("lru_add", {"lru": "e", "memcg": "A", "node": 0, "item": "y"})],
      "lrus": {"d": {}, "e": {}}}, "one list_lru"),
    ({"setup": [("lru_add", {"lru": "d", "memcg": "A", "node": 0, "item": "class"})],
      "lrus": {"d": {"memcg_aware": True, "shrinker": ["numa_aware", "memcg_aware"],
                     "seeks": 0, "batch": 1024}}}, "choose another name"),
    ({"setup": [("lru_add", {"lru": "d", "memcg": "A", "node": 0, "item": "x"}),
                ("lru_del", {"lru": "d", "item": "x"})],
      "lrus": {"d": {"memcg_aware": True, "shrinker": ["numa_aware", "memcg_aware"],
                     "seeks": 0, "batch": 1024}}}, "no guest action takes one dentry"),
    ({"setup": [("bogus", {})]}, "no user-space trigger"),
    ({"setup": [("lru_add", {"lru": "d", "memcg": "A", "node": 0, "item": "x"}),
                ("reclaim", {"memcg": "root", "node": "all"})],
      "lrus": {"d": {"memcg_aware": True, "shrinker": ["numa_aware", "memcg_aware"],
                     "seeks": 0, "batch": 1024}}}, "drop_slab rounds"),
    ({"setup": [("lru_add", {"lru": "d", "memcg": "A", "node": 0, "item": "x"}),
                ("lru_add", {"lru": "d", "memcg": "A", "node": 0, "item": "x"})],
      "lrus": {"d": {"memcg_aware": True, "shrinker": ["numa_aware", "memcg_aware"],
                     "seeks": 0, "batch": 1024}}}, "DCACHE_REFERENCED"),
    ({"setup": [("fault", {"memcg": "A", "node": 1, "as": "f"})]}, "node 1 is not one"),
    ({"setup": [("fault", {"memcg": "Z", "node": 0, "as": "f"})]}, "not online"),
    ({"setup": [("unmap", {"folio": "nope"})]}, "unknown folio"),
    ({"sysfs": {"shrink_underused": True}}, "added in 6.12"),
    ({"sysfs": {"split_underused_thp": True}}, "added in 6.12"),
    ({"boot": ["foo=bar"]}, "not supported"),
    ({"boot": ["cgroup_disable=memory"]}, "no memcgs under cgroup_disable=memory"),
    ({"nodes": 9}, "1 to 4"),
])
def test_what_61_cannot_express_is_refused_with_a_reason(scenario, op, case, reason):
    case = dict(case)
    ops = [op(k, line=7, **a) for k, a in case.pop("setup", [])]
    with pytest.raises(NotApplicable, match=reason):
        plan(scenario(setup=ops, **case))


def test_refusal_names_file_and_line(scenario, op):
    with pytest.raises(NotApplicable) as e:
        plan(scenario(setup=[op("bogus", line=12)], path="x.yaml"))
    assert str(e.value).startswith("x.yaml:12: ")


def test_max_ptes_none_knob_is_written(scenario):
    p = plan(scenario(sysfs={"khugepaged_max_ptes_none": 0}))
    assert "K /sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none 0" in p.script


def test_written_pages_reach_the_guest(scenario, op):
    p = plan(scenario(setup=[op("fault", memcg="A", node=0, order=9, written=3, **{"as": "f"})]))
    assert "O 0 fault A 0 f 0 3" in p.script
    assert "first 3 4 KiB pages" in p.ops[0].action


@pytest.mark.parametrize("case, reason", [
    ({"setup": [("fault", {"memcg": "A", "node": 0, "as": "f", "fail": ["thp_alloc"]})]},
     "cannot be injected"),
    ({"setup": [("fault", {"memcg": "A", "node": 0, "as": "f", "written": 0})]},
     "at least one page"),
])
def test_injected_failures_and_unwritten_faults_are_refused(scenario, op, case, reason):
    ops = [op(k, **a) for k, a in case["setup"]]
    with pytest.raises(NotApplicable, match=reason):
        plan(scenario(setup=ops))


def test_inject_alloc_failures_is_refused(scenario):
    s = scenario()
    s.kernel.inject_alloc_failures = True
    with pytest.raises(NotApplicable, match="cannot be injected"):
        plan(s)


def test_split_of_a_pinned_folio_is_refused(scenario, op):
    ok = [op("fault", memcg="A", node=0, **{"as": "f"}), op("get", folio="f"),
          op("put", folio="f"), op("split", folio="f")]
    plan(scenario(setup=ok))
    with pytest.raises(NotApplicable, match="skips pinned THPs"):
        plan(scenario(setup=ok[:2] + ok[3:]))


def test_khugepaged_is_quiesced_after_the_knobs_and_before_the_ops(scenario, op):
    script = plan(scenario(setup=[op("fault", memcg="A", node=0, **{"as": "f"})])).script
    kinds = [ln.split()[0] for ln in script.splitlines()]
    assert kinds.index("Q") > max(i for i, k in enumerate(kinds) if k == "K")
    assert kinds.index("Q") < kinds.index("O")


@pytest.mark.parametrize("kernel,line,words", [
    ("kernel:\n  variant: v7.2\n  sysfs: {split_underused_thp: false}\n", 3,
     "shrink_underused"),  # the alias is reported by its sysfs name
    ("kernel:\n  variant: v7.2\n  nodes: 2\n  inject_alloc_failures: true\n", 4,
     "inject_alloc_failures"),
])
def test_scenario_level_refusals_name_the_line(tmp_path, kernel, line, words):
    from lrulab.scenario import load_scenario
    p = tmp_path / "s.yaml"
    p.write_text(kernel + "memcgs: [A]\nthreads: []\n")
    with pytest.raises(NotApplicable) as e:
        plan(load_scenario(p))
    assert str(e.value).startswith(f"{p}:{line}: ") and words in str(e.value)


def test_612_rules_allow_mthp_and_write_shrink_underused(scenario, op):
    from lrulab.conform.kernels import RULES_612

    sc = scenario(setup=[op("fault", memcg="A", node=0, order=4, **{"as": "m1"}),
                         op("partial_unmap", folio="m1")],
                  sysfs={"split_underused_thp": False})
    p = plan(sc, RULES_612)
    assert "K /sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled madvise" in p.script
    assert "K /sys/kernel/mm/transparent_hugepage/shrink_underused 0" in p.script
    assert "O 0 fault A 0 m1 0 16 4" in p.script


def test_61_rules_refuse_shrink_underused_but_not_its_default(scenario, op):
    ops = [op("fault", memcg="A", node=0, **{"as": "f1"})]
    assert "shrink_underused" not in plan(scenario(setup=ops)).script
    with pytest.raises(NotApplicable, match="does not exist in Linux 6.1"):
        plan(scenario(setup=ops, sysfs={"shrink_underused": True}))


def test_mthp_collapse_is_refused_on_612(scenario, op):
    from lrulab.conform.kernels import RULES_612

    with pytest.raises(NotApplicable, match="by fault only"):
        plan(scenario(setup=[op("collapse", memcg="A", node=0, order=4, **{"as": "m1"})]),
             RULES_612)


def test_cgroup_v1_and_its_ops_are_refused(scenario, op):
    s = scenario()
    s.kernel.cgroup = "v1"
    with pytest.raises(NotApplicable, match="cgroup v2 hierarchy only"):
        plan(s)
    for o in (op("swapout", folio="f"), op("charge_move", folio="f", to="A")):
        with pytest.raises(NotApplicable, match="no swap device"):
            plan(scenario(setup=[op("fault", memcg="A", node=0, **{"as": "f"}), o]))


SB = {"memcg_aware": True, "shrinker": ["numa_aware", "memcg_aware"], "seeks": 0, "batch": 1024}


def test_lru_add_is_a_negative_dentry_lookup_in_the_private_sysfs(scenario, op):
    p = plan(scenario(memcgs=["A"], nodes=2, lrus={"dcache": SB},
                      setup=[op("lru_add", lru="dcache", memcg="A", node=1, item="d1"),
                             op("lru_add", lru="dcache", memcg="root", node=0, item="d2")]))
    assert lines(p)[-2:] == ["O 0 dentry A 1 d1", "O 1 dentry root 0 d2"]
    assert "D /lrulab-dcache" in p.script.splitlines()
    assert p.lrus == ("dcache",)
    assert "stat /lrulab-dcache/d1" in p.ops[0].action


def test_a_scenario_without_lru_ops_mounts_no_private_sysfs(scenario, op):
    p = plan(scenario(setup=[op("fault", memcg="A", node=0, **{"as": "f"})]))
    assert p.lrus == () and "D " not in p.script


def test_node_local_global_reclaim_is_an_allocation_hog_compared_by_outcome(scenario, op):
    p = plan(scenario(nodes=2, setup=[op("reclaim", memcg="root", node=1),
                                      op("reclaim", memcg="root", node="all")]))
    assert lines(p)[-2:] == ["O 0 hog 1", "O 1 dropslab"]
    assert "outcome" in p.ops[0].outcome_only and not p.ops[1].outcome_only
    assert "MPOL_BIND" in p.ops[0].action


def test_memcg_reclaim_on_one_node_is_refused_even_with_two_nodes(scenario, op):
    with pytest.raises(NotApplicable, match="6.17"):
        plan(scenario(nodes=2, setup=[op("reclaim", memcg="A", node=1)]))
