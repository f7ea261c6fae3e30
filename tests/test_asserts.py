"""Asserts in scenario files (src/lrulab/asserts.py): parsing, and each predicate where it
holds and where it fails, in the sequential runner."""

import pytest

from lrulab.runner import run_scenario
from lrulab.scenario import ScenarioError, parse_scenario

BASE = """
kernel: {variant: VARIANT, nodes: 2}
memcgs: [A, B]
setup:
  - fault: {memcg: A, node: 0, as: a1}
  - partial_unmap: a1
"""


def scen(body: str, variant: str = "v7.2"):
    return parse_scenario(BASE.replace("VARIANT", variant) + body, "t.yaml")


def failures(body: str, variant: str = "v7.2") -> list:
    r = run_scenario(scen(body, variant), trace=False)
    return r.properties["assertion"]


@pytest.mark.parametrize("pred,good,bad", [
    ("queued", "{folio: a1, memcg: A, node: 0}", "{folio: a1, memcg: B, node: 0}"),
    ("not_queued", "[a1]", None),
    ("not_split", "[a1]", None),
    ("bit", "{memcg: A, node: 0, shrinker: thp-deferred_split, set: true}",
     "{memcg: A, node: 1, set: true}"),
    # a /proc/vmstat event and the per-order partially-mapped count (a sysfs stat from 6.12)
    ("vmstat", "{thp_fault_alloc: 1, hugepages-2048kB/stats/nr_anon_partially_mapped: 1}",
     "{thp_split_page: 1}"),
    ("reachable", "{folio: a1, by: {memcg: A, node: 0}}", "{folio: a1, by: {memcg: B}}"),
    ("unreachable", "{folio: a1, by: {memcg: B, node: all}}",
     "{folio: a1, by: {memcg: root, node: 0}}"),
    ("state", "{memcg: A, is: online}", "{memcg: A, is: dying}"),
    ("any_of", "[{split: [a1]}, {queued: a1, state: {memcg: A, is: online}}]",
     "[{split: [a1]}, {queued: a1, state: {memcg: A, is: dying}}]"),
])
def test_predicate_holds_and_fails_at_the_end_of_setup(pred, good, bad):
    body = f"  - assert: {{{pred}: {good}}}\n"
    if pred in ("not_queued", "not_split"):
        # a1 is queued and not split: not_queued fails, not_split holds
        fails = failures(body)
        assert bool(fails) == (pred == "not_queued")
        return
    assert failures(body) == []
    fails = failures(f"  - assert: {{{pred}: {bad}}}\n")
    assert len(fails) == 1 and fails[0].startswith("t.yaml:7: " + pred)


def test_split_and_state_after_threads():
    body = """threads:
  - [ {rmdir: B} ]
  - - split: a1
    - assert: {split: [a1], not_queued: a1, vmstat: {thp_split_page: 1}}
after:
  - assert: {state: {memcg: B, is: released}, split: a1}
  - reclaim: {memcg: root, node: all}
  - assert: {vmstat: {thp_split_page: 0}}
"""
    # the after block's first assert counts from the end of setup, the next from it
    assert failures(body) == []
    fails = failures(body.replace("is: released", "is: online"))
    assert fails == ["t.yaml:12: state: B is released"]


def test_vmstat_counts_since_the_previous_assert():
    body = """threads:
  - - fault: {memcg: B, node: 0, as: b1}
    - assert: {vmstat: {thp_fault_alloc: 1}}
    - fault: {memcg: B, node: 0, as: b2}
    - assert: {vmstat: {thp_fault_alloc: 1}}
after:
  - assert: {vmstat: {thp_fault_alloc: 2}}
"""
    assert failures(body) == []
    fails = failures(body.replace("thp_fault_alloc: 2", "thp_fault_alloc: 3"))
    assert fails == ["t.yaml:13: vmstat: thp_fault_alloc changed by +2, not +3"]


def test_runner_prints_pass_and_fail_at_the_line(capsys):
    from lrulab.report import print_run
    r = run_scenario(scen("  - assert: {queued: {folio: a1, memcg: B}}\n"
                          "threads: []\n"), trace=False)
    print_run(r)
    out = capsys.readouterr().out
    assert "assert (line 7): FAIL" in out and "a1 is queued on A node 0, not B node 0" in out
    assert not r.ok


def test_v72_nokmem_memcg_reclaim_never_reaches_b():
    sc = parse_scenario("""
kernel: {variant: v7.2, boot: [cgroup.memory=nokmem]}
memcgs: [A, B]
setup:
  - fault: {memcg: B, node: 0, as: b1}
  - partial_unmap: b1
  - assert:
      unreachable: {folio: b1, by: {memcg: B, node: 0}}
      reachable: {folio: b1, by: {memcg: root, node: 0}}
      queued: {folio: b1, memcg: root, node: 0}
""", "t.yaml")
    assert run_scenario(sc, trace=False).properties["assertion"] == []


@pytest.mark.parametrize("body,fragment", [
    ("  - assert: {split: [nope]}\n", "t.yaml:7: assert: unknown folio 'nope'"),
    ("  - assert: {queued: {folio: a1, memcg: Z}}\n", "t.yaml:7: assert: unknown memcg 'Z'"),
    ("  - assert: {vmstat: {thp_splits: 1}}\n", "t.yaml:7: assert: vmstat: unknown counter"),
    ("  - assert: {bit: {memcg: A, node: 0, shrinker: dcache, set: true}}\n",
     "t.yaml:7: assert: bit: unknown shrinker 'dcache'"),
    ("  - assert: {splot: [a1]}\n", "t.yaml:7: assert: unknown predicate 'splot'"),
    ("  - assert: {state: {memcg: A, is: gone}}\n", "t.yaml:7: assert: state: is must be"),
    ("  - assert: {queued: {folio: a1, node: 5}}\n", "t.yaml:7: assert: node 5 does not exist"),
    ("threads:\n  - [ {assert: {split: a1}} ]\n", "t.yaml:8: an assert follows an op"),
    ("  - assert: {any_of: [{split: [a1]}]}\n", "t.yaml:7: assert: any_of takes a list of two"),
    ("  - assert: {any_of: [{split: [a1]}, {split: [nope]}]}\n",
     "t.yaml:7: assert: unknown folio 'nope'"),
])
def test_bad_assert_is_one_line_with_file_and_line(body, fragment):
    with pytest.raises(ScenarioError) as e:
        scen(body)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_mthp_stat_names_are_counters():
    from lrulab.asserts import _mthp_order
    assert _mthp_order("hugepages-2048kB/stats/split_deferred") == 9
    assert _mthp_order("hugepages-64kB/stats/anon_fault_alloc") == 4
    assert _mthp_order("hugepages-3kB/stats/split") is None
    assert failures("  - assert: {vmstat: {hugepages-2048kB/stats/anon_fault_alloc: 1}}\n") \
        == []


def test_any_of_holds_when_one_alternative_holds_and_names_every_failure():
    body = "  - assert: {any_of: [{split: [a1]}, {queued: {folio: a1, memcg: B}}]}\n"
    assert failures(body) == ["t.yaml:7: any_of: none holds: (1) split: a1 is not split | "
                              "(2) queued: a1 is queued on A node 0, not B node 0"]
    assert failures(body.replace("memcg: B", "memcg: A")) == []


def test_any_of_counts_vmstat_since_the_previous_assert():
    body = """threads:
  - - split: a1
    - assert: {any_of: [{vmstat: {thp_split_page: 2}}, {vmstat: {thp_split_page: 1}}]}
"""
    assert scen(body).threads[0][0].asserts[0].uses_vmstat()
    assert failures(body) == []
    assert failures(body.replace("thp_split_page: 1", "thp_split_page: 3")) != []


@pytest.mark.parametrize("body", [
    "{split: [[a1]]}", "{split: [a1, [x]]}", "{not_queued: [{a1: 1}]}",
    "{queued: {folio: [a1]}}", "{queued: {folio: a1, memcg: [A]}}",
    "{bit: {memcg: {A: 1}, node: 0, set: true}}",
    "{reachable: {folio: a1, by: {memcg: [A]}}}", "{state: {memcg: [A], is: online}}",
    "{any_of: [{split: [[a1]]}, {split: a1}]}",
])
def test_assert_names_of_any_yaml_type_are_bad_input_naming_the_line(body):
    """A list or mapping where an assert wants a folio or memcg name is refused at its line
    (it was an unhashable-type traceback)."""
    with pytest.raises(ScenarioError) as e:
        scen(f"threads:\n  - [ {{unmap: a1}} ]\n  - [ {{reclaim: {{memcg: A}}}} ]\n"
             f"after:\n  - assert: {body}\n")
    assert str(e.value).startswith("t.yaml:11: assert: unknown ")


IN_LOCK = """kernel: {point: '6.19', nodes: 2}
memcgs: [A, B]
setup:
  - fault: {memcg: A, node: 0, as: f1}
  - fault: {memcg: B, node: 1, as: f2}
  - partial_unmap: f2
threads:
  - - reclaim: {memcg: root}
    - assert: {reachable: {folio: f1, by: {memcg: A}}}
  - - split: f2
    - assert: {unreachable: {folio: f1, by: {memcg: A, node: 0}}}
"""


def test_reachable_assert_while_another_thread_is_in_the_lock_is_no_traceback(tmp_path):
    """The fuzz's find: the hypothetical reclaim of an unreachable: assert ran into the
    split-queue lock thread 0 holds (a deadlock Oops, a traceback from 'lrulab check')."""
    from click.testing import CliRunner

    from lrulab.cli import main
    f = tmp_path / "lock.yaml"
    f.write_text(IN_LOCK)
    r = CliRunner().invoke(main, ["check", str(f)])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.exit_code == 1 and "Traceback" not in r.output


def test_reachable_assert_while_another_thread_holds_the_lock_is_no_traceback():
    """An unreachable: assert evaluated while another thread is inside the split-queue lock
    (thread 0 mid-reclaim) ran the hypothetical reclaim into that lock: a deadlock Oops and a
    traceback from 'lrulab check'.  The pass would wait; the assert is not judged there."""
    from click.testing import CliRunner

    from lrulab.cli import main
    text = """kernel: {point: '6.19', nodes: 2}
memcgs: [A, B]
setup:
  - fault: {memcg: A, node: 0, as: f1}
  - fault: {memcg: B, node: 1, as: f2}
  - partial_unmap: f2
threads:
  - [ {reclaim: {memcg: root}} ]
  - - split: f2
    - assert: {unreachable: {folio: f1, by: {memcg: A, node: 0}}}
"""
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(text)
    r = CliRunner().invoke(main, ["check", f.name, "--check", "assertion"])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.exit_code in (0, 1) and "Traceback" not in r.output


# -- issue 12, each predicate on both sides; asserts through the command line --------------

def test_split_and_not_split_hold_and_fail_on_both_sides_of_a_split():
    """Before the split: split fails, not_split holds; after it: the reverse (and not_queued
    holds, queued fails)."""
    assert failures("  - assert: {split: [a1]}\n") == ["t.yaml:7: split: a1 is not split"]
    assert failures("  - assert: {not_split: [a1]}\n") == []
    after = "  - split: a1\n  - assert: {%s}\n"
    assert failures(after % "split: [a1], not_queued: a1") == []
    (f,) = failures(after % "not_split: [a1]")
    assert f.startswith("t.yaml:8: not_split: a1")
    (f,) = failures(after % "queued: a1")
    assert f.startswith("t.yaml:8: queued: a1")


def test_runner_prints_pass_at_the_line(capsys):
    from lrulab.report import print_run
    r = run_scenario(scen("  - assert: {queued: {folio: a1, memcg: A}}\nthreads: []\n"),
                     trace=False)
    print_run(r)
    assert "assert (line 7): pass" in capsys.readouterr().out and r.ok


RACY = """kernel: {variant: v7.2}
memcgs: [A]
setup:
  - fault: {memcg: A, node: 0, as: a1}
  - partial_unmap: a1
threads:
  - - split: a1
    - assert: {vmstat: {thp_split_page: 1}}
  - [ {reclaim: {memcg: A, node: 0, priority: 0}} ]
after:
  - assert: {any_of: [{split: [a1]}, {queued: a1}]}
"""


def test_check_reports_an_assert_broken_by_one_interleaving_at_its_file_and_line(tmp_path):
    """The split thread's own split counts 1 when it runs first, 0 when reclaim holds a1 at
    that moment: the sequential run passes, check finds the schedule that breaks it and names
    the assert's file:line under 'assertion'.  The after: assert (a1 split by one of them, or
    still queued: never lost) holds in every interleaving."""
    import json

    from click.testing import CliRunner

    from lrulab.cli import main
    f = tmp_path / "racy.yaml"
    f.write_text(RACY)
    r = CliRunner().invoke(main, ["run", str(f)])
    assert r.exit_code == 0 and "assert (line 8): pass" in r.output
    r = CliRunner().invoke(main, ["check", str(f), "--json"])
    assert r.exit_code == 1
    (v,) = json.loads(r.stdout)["violations"]
    assert v["property"] == "assertion"
    assert v["message"] == f"{f}:8: vmstat: thp_split_page changed by +0, not +1"
    # without the thread's assert, the after: one holds everywhere
    f.write_text(RACY.replace("    - assert: {vmstat: {thp_split_page: 1}}\n", ""))
    r = CliRunner().invoke(main, ["check", str(f), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["verdict"] == "ok"


@pytest.mark.parametrize("cmd", ["run", "check", "bugs"])
def test_bad_assert_on_the_command_line_is_one_line_exit_2(tmp_path, cmd):
    from click.testing import CliRunner

    from lrulab.cli import main
    f = tmp_path / "bad.yaml"
    f.write_text(BASE.replace("VARIANT", "v7.2") + "  - assert: {split: [nope]}\n")
    r = CliRunner().invoke(main, [cmd, str(f)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.stderr.strip() == f"lrulab: {f}:7: assert: unknown folio 'nope'; " \
        + r.stderr.strip().split("; ", 1)[1]
    assert len(r.stderr.strip().splitlines()) == 1
