"""lrulab check / replay: output contract, exit codes, traces, --jobs."""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrulab.cli import main

ROOT = Path(__file__).resolve().parents[2]
BUGS = ROOT / "scenarios" / "bugs"
HERE = Path(__file__).resolve().parent / "scenarios"
B5 = str(BUGS / "b5-isolate-uaf.yaml")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_check_json_contract():
    r = run("check", B5, "--json")
    assert r.exit_code == 0  # the file expects this violation (expect:)
    d = json.loads(r.stdout)
    assert d["expect"]["outcome"].startswith("expected")
    for key in ("scenario", "variant", "patches", "boot", "verdict", "violations", "states",
                "executions", "seconds"):
        assert key in d
    assert d["verdict"] == "violation" and d["variant"] == "series-v4"
    v = d["violations"][0]
    assert v["property"] == "no_use_after_free" and v["message"]
    for step in v["trace"]:
        assert set(step) >= {"thread", "op", "functions", "detail"}
        assert step["thread"] in ("T0", "T1")
    assert "deferred_split_isolate" in v["trace"][-1]["functions"]


def test_check_ok_exit_0_and_patch_override():
    r = run("check", B5, "--patch", "isolate_flags_before_isolate=true", "--json")
    assert r.exit_code == 0
    d = json.loads(r.stdout)
    assert d["verdict"] == "ok" and d["violations"] == []
    assert d["patches"] == {"isolate_flags_before_isolate": True}


def test_text_trace_numbered_steps():
    r = run("check", B5)
    assert r.exit_code == 0  # expected
    out = r.output
    assert "verdict: violation" in out
    assert " 1. T" in out and "=> no_use_after_free violated" in out
    assert "deferred_split_scan > list_lru_shrink_walk > __list_lru_walk_one > " \
           "deferred_split_isolate" in out


def test_incomplete_is_exit_3_never_ok():
    r = run("check", str(BUGS / "b5-isolate-uaf.yaml"), "--variant", "series-v5",
            "--max-steps", "5", "--json")
    assert r.exit_code == 3
    assert json.loads(r.stdout)["verdict"] == "incomplete"
    r = run("check", str(BUGS / "b5-isolate-uaf.yaml"), "--variant", "series-v5",
            "--max-states", "10")
    assert r.exit_code == 3
    r = run("check", str(BUGS / "b5-isolate-uaf.yaml"), "--variant", "series-v5",
            "--max-preemptions", "0")
    assert r.exit_code == 3


def test_preemption_bound_finds_a_one_preemption_race():
    # B1's THP race needs the adder preempted between folio_memcg() and the sublist lock: with
    # 7.1's folio reparenting (audit A4) a partial unmap after the whole rmdir queues on P, so
    # 0 preemptions find nothing (and say incomplete, never ok) and 1 finds it
    r = run("check", str(BUGS / "b1-thp-rmdir-race.yaml"), "--max-preemptions", "0", "--json")
    assert r.exit_code == 3
    r = run("check", str(BUGS / "b1-thp-rmdir-race.yaml"), "--max-preemptions", "1", "--json")
    assert r.exit_code == 0  # the file expects it
    assert json.loads(r.stdout)["violations"][0]["property"] == "bit_coverage"


@pytest.mark.parametrize("args,fragment", [
    (["check", "nope.yaml"], "nope.yaml:0"),
    (["check", B5, "--variant", "v9"], "--variant v9"),
    (["check", B5, "--patch", "thp_list_lru"], "FLAG=true"),
    (["check", B5, "--max-steps", "-1"], "--max-steps"),
    (["check", B5, "--jobs", "0"], "--jobs"),
])
def test_bad_input_one_line_exit_2(args, fragment):
    r = run(*args)
    assert r.exit_code == 2
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and fragment in err[0] and "Traceback" not in r.output


def test_bad_scenario_names_file_and_line(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("kernel: {variant: v7.2}\nmemcgs: [A]\nthreads:\n  - [ {frobnicate: A} ]\n")
    r = run("check", f)
    assert r.exit_code == 2
    assert f"{f}:4:" in r.stderr and "unknown op" in r.stderr


def test_trace_out_and_replay(tmp_path):
    out = tmp_path / "t.json"
    r = run("check", B5, "--trace-out", out)
    assert r.exit_code == 0  # expected
    t = json.loads(out.read_text())
    assert t["property"] == "no_use_after_free" and len(t["schedule"]) == t["steps"]
    r2 = run("replay", out)
    assert r2.exit_code == 0, r2.output
    # the replay prints the same steps as the check did
    body = r.output.split("\n\n", 1)[1]
    assert r2.output.strip() == body.strip()
    r3 = run("replay", out, "--json")
    assert json.loads(r3.stdout)["reproduced"] is True


def test_replay_kernel_reruns_the_schedule_on_another_point(tmp_path):
    """replay --kernel NAME (--variant, --preset: the same): the trace's schedule on another
    kernel; the bug's own series versions reproduce it, the fixed one does not."""
    out = tmp_path / "t.json"
    run("check", B5, "--trace-out", out)
    for opt, kernel in (("--kernel", "series-v3"), ("--preset", "series-v1")):
        r = run("replay", out, opt, kernel, "--json")
        assert r.exit_code == 0, r.output
        d = json.loads(r.stdout)
        assert d["reproduced"] is True and d["variant"] == kernel
    r = run("replay", out, "--variant", "series-v5")
    assert r.exit_code == 1 and "no longer violated" in r.stderr
    r = run("replay", out, "--kernel", "v9")
    assert r.exit_code == 2 and "--kernel/--variant/--preset v9: unknown kernel" in r.stderr


def test_replay_fails_loudly_when_the_model_no_longer_follows(tmp_path):
    out = tmp_path / "t.json"
    run("check", B5, "--trace-out", out)
    t = json.loads(out.read_text())
    # the fixed kernel runs the schedule but no longer violates
    t2 = dict(t, patches={"isolate_flags_before_isolate": True})
    p2 = tmp_path / "fixed.json"
    p2.write_text(json.dumps(t2))
    r = run("replay", p2)
    assert r.exit_code == 1 and "no longer" in r.stderr
    # a schedule the model cannot follow
    t3 = dict(t, schedule=[[1, None]] * 40)
    p3 = tmp_path / "bad.json"
    p3.write_text(json.dumps(t3))
    r = run("replay", p3)
    assert r.exit_code == 1 and "no longer follows" in r.stderr


def test_replay_bad_file_exit_2(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    r = run("replay", p)
    assert r.exit_code == 2 and f"{p}:1:" in r.stderr
    p.write_text(json.dumps({"format": "other"}))
    assert run("replay", p).exit_code == 2
    assert run("replay", tmp_path / "missing.json").exit_code == 2


@pytest.mark.parametrize("name", ["b5-isolate-uaf", "b1-dcache-rmdir-race", "b13-node-locality"])
def test_jobs_2_same_verdict_and_trace_as_1(name):
    f = str(BUGS / f"{name}.yaml")
    a = json.loads(run("check", f, "--json").stdout)
    b = json.loads(run("check", f, "--json", "--jobs", "2").stdout)
    for key in ("verdict", "violations", "states", "executions"):
        assert a[key] == b[key]


def test_jobs_2_ok_case():
    f = str(BUGS / "b2-nokmem-shared-list.yaml")
    a = json.loads(run("check", f, "--variant", "v7.2", "--json").stdout)
    b = json.loads(run("check", f, "--variant", "v7.2", "--json", "--jobs", "2").stdout)
    assert a["verdict"] == b["verdict"] == "ok" and a["states"] == b["states"]


FIRST = {"b1-thp-rmdir-race": "series-v3", "b1-dcache-rmdir-race": "series-v3",
         "b2-nokmem-shared-list": "series-v5", "b4-memcg-disabled-collapse": "series-v3",
         "b5-isolate-uaf": "series-v4", "b6-collapse-alloc-fail": "series-v4",
         "b7-stale-bits": "v1", "b13-node-locality": "linux-6.1"}


@pytest.mark.parametrize("name", sorted(FIRST))
def test_every_catalog_trace_replays(tmp_path, name):
    out = tmp_path / "t.json"
    r = run("check", BUGS / f"{name}.yaml", "--variant", FIRST[name], "--trace-out", out)
    assert r.exit_code == 1
    r2 = run("replay", out)
    assert r2.exit_code == 0, r2.output
    assert r2.output.strip() == r.output.split("\n\n", 1)[1].strip()


def test_expect_honoured_expected_violation_exits_0():
    r = run("check", B5)
    assert r.exit_code == 0
    assert "expect: expected (violation of no_use_after_free)" in r.output


def test_expect_missing_violation_is_unexpectedly_ok(tmp_path):
    f = tmp_path / "fixed.yaml"
    f.write_text(Path(B5).read_text().replace("variant: series-v4", "variant: series-v5"))
    r = run("check", f)
    assert r.exit_code == 1
    assert "expect: unexpectedly ok" in r.output
    r = run("check", f, "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["expect"]["outcome"].startswith(
        "unexpectedly ok")


def test_expect_not_applied_when_the_kernel_is_overridden():
    r = run("check", B5, "--variant", "series-v4")
    assert r.exit_code == 1 and "expect:" not in r.output


def test_check_and_ignore_select_properties():
    # 6.1 loses the migrated THP: the file's assert fails and no_orphan (when asked) too
    q = str(ROOT / "scenarios" / "examples" / "q-b-migrate-while-rmdir.yaml")
    r = run("check", q, "--variant", "linux-6.1", "--json")
    d = json.loads(r.stdout)
    assert d["check"][-1] == "assertion"  # added: the file has asserts
    assert {v["property"] for v in d["violations"]} == {"assertion"}
    r = run("check", q, "--variant", "linux-6.1", "--ignore", "assertion", "--json")
    assert json.loads(r.stdout)["verdict"] == "ok" and r.exit_code == 0
    r = run("check", q, "--variant", "linux-6.1", "--check", "assertion,no_orphan", "--json")
    d = json.loads(r.stdout)
    assert d["check"] == ["assertion", "no_orphan"]
    assert {v["property"] for v in d["violations"]} == {"assertion", "no_orphan"}
    # B5 on series-v4: a stale bit at the end of a 9-step schedule, the use-after-free
    # 11 steps in; every violation with its own trace, or --first: the first level's
    r = run("check", B5, "--variant", "series-v4", "--check", "no_use_after_free,stale_bits",
            "--json")
    got = [(v["property"], v["steps"]) for v in json.loads(r.stdout)["violations"]]
    assert sorted(got) == [("no_use_after_free", 11), ("stale_bits", 9)]
    r = run("check", B5, "--variant", "series-v4", "--check", "no_use_after_free,stale_bits",
            "--ignore", "stale_bits", "--json")
    assert [v["property"] for v in json.loads(r.stdout)["violations"]] == ["no_use_after_free"]
    r = run("check", B5, "--variant", "series-v4", "--check", "no_use_after_free,stale_bits",
            "--first", "--json")
    assert [v["property"] for v in json.loads(r.stdout)["violations"]] == ["stale_bits"]
    r = run("check", q, "--check", "no_such")
    assert r.exit_code == 2 and "--check no_such: unknown property" in r.stderr


def test_strict_turns_accepted_into_a_violation():
    b2 = BUGS / "b2-nokmem-shared-list.yaml"
    r = run("check", b2, "--variant", "v7.2")
    assert r.exit_code == 0 and "verdict: ok, accepted: memcg_reclaim_reach" in r.output
    r = run("check", b2, "--variant", "v7.2", "--json")
    assert json.loads(r.stdout)["accepted"][0]["property"] == "memcg_reclaim_reach"
    r = run("check", b2, "--variant", "v7.2", "--strict", "--json")
    assert r.exit_code == 1
    (v,) = json.loads(r.stdout)["violations"]
    assert v["property"] == "memcg_reclaim_reach" and "[--strict]" in v["message"]
    r = run("run", b2, "--variant", "v7.2", "--strict")
    assert r.exit_code == 1


def test_ktap_check():
    r = run("check", B5, "--format", "ktap")
    lines = r.output.splitlines()
    # one test per property of B5's check: [no_use_after_free, no_warn]
    assert lines[0] == "KTAP version 1" and lines[2] == "1..2"
    assert lines[3] == "ok 1 no_use_after_free # XFAIL expected violation"
    assert "ok 2 no_warn" in lines and lines[-1] == "# Totals: pass:2 fail:0"
    r = run("check", B5, "--variant", "series-v4", "--format", "ktap")
    assert "not ok 1 no_use_after_free" in r.output.splitlines()
    assert "ok 2 no_warn" in r.output.splitlines()
    assert r.exit_code == 1


def test_bugs_ktap_and_selection_on_the_catalog():
    b1 = BUGS / "b1-thp-rmdir-race.yaml"
    b5 = BUGS / "b5-isolate-uaf.yaml"
    r = run("bugs", b1, b5, "--preset", "series-v4", "--preset", "v7.2", "--format", "ktap")
    assert r.exit_code == 0
    lines = r.output.splitlines()
    assert lines[:2] == ["KTAP version 1", "1..2"]
    assert "    # Subtest: b1-thp-rmdir-race" in lines
    # history form: the bug's own violation where it lives is an expected failure
    assert any(x.startswith("    ok 1 series-v4 # XFAIL violation of bit_coverage") for x in lines)
    assert "    ok 2 v7.2" in lines and "ok 1 b1-thp-rmdir-race" in lines
    # --ignore on the catalog: the bug's property ignored, nothing is left to violate
    r = run("bugs", b5, "--preset", "series-v4", "--ignore", "no_use_after_free", "--json")
    assert json.loads(r.stdout)["bugs"][0]["cells"]["series-v4"]["verdict"] == "ok"
    r = run("bugs", b5, "--preset", "series-v4", "--check", "no_use_after_free,counters",
            "--first", "--json")
    cell = json.loads(r.stdout)["bugs"][0]["cells"]["series-v4"]
    assert cell["verdict"] == "violation" and cell["violated"] == ["no_use_after_free"]


# -- issue 9: time bounds cover everything, user files are never lost, replay is strict -----

def test_timeout_nan_is_bad_input():
    r = run("check", B5, "--timeout", "nan")
    assert r.exit_code == 2 and "--timeout nan" in r.stderr


def test_timeout_bounds_the_whole_check_and_seconds_count_it(tmp_path):
    r = run("check", HERE / "three-memcgs.yaml", "--no-reduction", "--timeout", "0.3", "--json")
    d = json.loads(r.stdout)
    assert r.exit_code in (0, 1, 3) and d["seconds"] < 1.5
    if r.exit_code == 3:
        assert "timeout" in d["bounds_hit"]


def test_timeout_in_setup_says_incomplete_with_what_it_covered(tmp_path):
    ops = "\n".join("  - fault: {memcg: A, as: f%d}" % i for i in range(3000))
    p = tmp_path / "long.yaml"
    p.write_text(f"kernel: {{variant: v7.2}}\nmemcgs: [A]\nsetup:\n{ops}\nthreads: []\n")
    r = run("check", p, "--timeout", "0.05", "--json")
    assert r.exit_code == 3
    d = json.loads(r.stdout)
    assert d["verdict"] == "incomplete" and d["bounds_hit"] == ["timeout"]
    assert d["timed_out_in"] in ("loading the scenario", "running the setup ops")


def test_trace_out_refuses_the_scenario_by_any_spelling(tmp_path):
    scen = tmp_path / "s.yaml"
    scen.write_bytes(Path(B5).read_bytes())
    (tmp_path / "link.yaml").symlink_to(scen)
    (tmp_path / "d").mkdir()
    for target in (scen, tmp_path / "link.yaml", f"{tmp_path}/d/../s.yaml"):
        for force in ([], ["--force"]):
            r = run("check", scen, "--trace-out", target, *force)
            assert r.exit_code == 2 and "the scenario being checked" in r.stderr
    assert scen.read_bytes() == Path(B5).read_bytes()


def test_trace_out_refuses_a_file_that_is_not_a_trace_unless_force(tmp_path):
    mine = tmp_path / "notes.json"
    mine.write_text('{"mine": 1}\n')
    r = run("check", B5, "--trace-out", mine)
    assert r.exit_code == 2 and "--force" in r.stderr and mine.read_text() == '{"mine": 1}\n'
    r = run("check", B5, "--trace-out", mine, "--force")
    assert r.exit_code == 0  # the violation the file expects
    assert json.loads(mine.read_text())["format"] == "lrulab-trace/1"
    r = run("check", B5, "--trace-out", mine)  # now a trace: replaced without --force
    assert r.exit_code == 0


def _trace(tmp_path):
    out = tmp_path / "t.json"
    assert run("check", B5, "--trace-out", out).exit_code == 0  # the expected violation
    return out, json.loads(out.read_text())


@pytest.mark.parametrize("key,value,words", [
    ("variant", "v99", "unknown variant"),
    ("patches", {"nope": True}, "'patches' must map"),
    ("boot", "cgroup.memory=nokmem", "'boot' must list"),
    ("schedule", [[0.0, None]], "'schedule' must be"),
    ("schedule", [[True, None]], "'schedule' must be"),
    ("schedule", [[0, 1]], "'schedule' must be"),
    ("schedule", [], "empty schedule"),
    ("property", 7, "unknown property"),
    # the property selection a trace records (--check/--ignore/--strict)
    ("check", ["no_such"], "'check' must list"),
    ("check", "no_warn", "'check' must list"),
    ("check", ["no_warn"], "does not list the trace's property"),
    ("strict", "yes", "'strict' must be"),
])
def test_replay_blames_the_trace_file_and_line(tmp_path, key, value, words):
    out, t = _trace(tmp_path)
    t[key] = value
    out.write_text(json.dumps(t, indent=1))
    r = run("replay", out)
    line = next(n for n, text in enumerate(out.read_text().splitlines(), 1)
                if f'"{key}"' in text)
    assert r.exit_code == 2 and r.stderr.startswith(f"lrulab: {out}:{line}: ")
    assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("text", ['{"schedule": [[Infinity, null]]}', '[' * 100000,
                                  '{"a": ' + '1' * 5000 + '}', '{"a": NaN}'])
def test_replay_refuses_hostile_json(tmp_path, text):
    p = tmp_path / "t.json"
    p.write_text(text)
    r = run("replay", p)
    assert r.exit_code == 2 and r.stderr.startswith(f"lrulab: {p}:")


def test_replay_json_prints_an_object_on_every_exit_status(tmp_path):
    out, t = _trace(tmp_path)
    r = run("replay", out, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["reproduced"] is True
    t["patches"] = {"isolate_flags_before_isolate": True}  # the fix: no longer violated
    out.write_text(json.dumps(t))
    r = run("replay", out, "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["reproduced"] is False
    out.write_text("{")
    r = run("replay", out, "--json")
    assert r.exit_code == 2 and json.loads(r.stdout)["status"] == "bad input"


def test_replay_takes_a_trace_written_at_a_point_of_history(tmp_path):
    """check --kernel takes any point of history; the trace it writes names that point, and
    replay follows it (it refused every kernel but the presets)."""
    out = tmp_path / "t.json"
    assert run("check", B5, "--kernel", "series-v2", "--trace-out", out).exit_code == 1
    assert json.loads(out.read_text())["variant"] == "series-v2"
    r = run("replay", out)
    assert r.exit_code == 0, r.output
    assert "VIOLATES no_use_after_free" in r.stdout


# -- issue 12: a trace records the property selection its check used ----------------------

def test_trace_records_the_selection_and_replay_checks_the_same(tmp_path):
    """check --check P on a file whose 'check:' leaves P out: the trace records P (and
    --strict), and replay checks P again; a trace without the record (older) checks the
    file's 'check:' plus its property."""
    scen = tmp_path / "b5.yaml"
    text = Path(B5).read_text()
    text = re.sub(r"(?m)^expect:.*\n(?:  .*\n)*", "", text)  # no expectation: the plain verdict
    scen.write_text(text.replace("check: [no_use_after_free, no_warn]", "check: [no_warn]"))
    out = tmp_path / "t.json"
    r = run("check", scen, "--check", "no_use_after_free", "--trace-out", out)
    assert r.exit_code == 1 and "violation of no_use_after_free" in r.output
    t = json.loads(out.read_text())
    assert t["check"] == ["no_use_after_free"] and t["strict"] is False
    r = run("replay", out)
    assert r.exit_code == 0 and "=> no_use_after_free violated" in r.output
    del t["check"], t["strict"]
    out.write_text(json.dumps(t))
    assert run("replay", out).exit_code == 0
    # --ignore is recorded as the list it leaves
    r = run("check", scen, "--check", "no_use_after_free,no_warn", "--ignore", "no_warn",
            "--trace-out", out)
    assert json.loads(out.read_text())["check"] == ["no_use_after_free"]


def test_trace_of_a_strict_check_replays_strict(tmp_path):
    """A behaviour accepted by design is a violation only under --strict: the trace says so,
    its replay reproduces it, and the same schedule without --strict violates nothing."""
    b2 = BUGS / "b2-nokmem-shared-list.yaml"
    out = tmp_path / "t.json"
    r = run("check", b2, "--kernel", "v7.2", "--strict", "--trace-out", out)
    assert r.exit_code == 1 and "[--strict]" in r.output
    t = json.loads(out.read_text())
    assert t["strict"] is True and t["property"] == "memcg_reclaim_reach"
    r = run("replay", out)
    assert r.exit_code == 0 and "[--strict]" in r.output
    t["strict"] = False
    out.write_text(json.dumps(t))
    r = run("replay", out)
    assert r.exit_code == 1 and "no longer violated" in r.stderr


# -- issue 12: a --timeout alarm that goes off inside a __del__ still stops the search -----

QC = ROOT / "scenarios" / "examples" / "q-c-node0-reclaim-spares-node1.yaml"  # 2 364 states


class _DiesRaising:
    """An object whose __del__ raises what the alarm raises: Python prints "Exception ignored
    in ..." and goes on, as when SIGALRM is delivered while a generator is finalized."""

    def __init__(self, interrupt):
        self.interrupt = interrupt

    def __del__(self):
        self.interrupt()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_timeout_alarm_swallowed_in_a_del_still_stops_the_search(monkeypatch):
    """The alarm's exception is swallowed, and the search has no deadline of its own (a
    plain check_file, no --timeout bound): it still stops, incomplete, on the alarm's flag."""
    from lrulab.check import commands
    from lrulab.check.engine import Bounds
    from lrulab.check.report import check_file
    orig = commands._interrupt
    monkeypatch.setattr(commands, "_interrupt", lambda: _DiesRaising(orig) and None)
    with commands._alarm(0.05):
        w, res, _ = check_file(str(QC), {}, Bounds())
    assert res.verdict == "incomplete" and res.bound_hit == ["timeout"]
    assert res.states < 2364


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("swallowed", [False, True])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_tiny_timeout_on_a_big_check_is_incomplete(monkeypatch, swallowed, jobs):
    """check --timeout far below what the search needs: verdict incomplete (timeout), exit 3,
    whether the alarm's exception unwinds the command or is swallowed in a __del__, with one
    process or a worker pool."""
    from lrulab.check import commands
    if swallowed:
        orig = commands._interrupt
        monkeypatch.setattr(commands, "_interrupt", lambda: _DiesRaising(orig) and None)
    r = run("check", QC, "--timeout", "0.05", "--jobs", jobs, "--json")
    assert r.exit_code == 3
    d = json.loads(r.stdout)
    assert d["verdict"] == "incomplete" and d["bounds_hit"] == ["timeout"]
    assert d["states"] < 2364


def test_run_takes_check_and_ignore():
    """run: B7 on v1 fails stale_bits sequentially; --ignore drops it (ok, exit 0), --check
    keeps only it."""
    b7 = BUGS / "b7-stale-bits.yaml"
    r = run("run", b7, "--kernel", "v1")
    assert r.exit_code == 1 and "FAIL  stale_bits" in r.output and "ok    no_warn" in r.output
    r = run("run", b7, "--kernel", "v1", "--ignore", "stale_bits")
    assert r.exit_code == 0 and "stale_bits" not in r.output.split("Properties:")[1]
    r = run("run", b7, "--kernel", "v1", "--check", "stale_bits")
    props = r.output.split("Properties:")[1]
    assert r.exit_code == 1 and "FAIL  stale_bits" in props and "no_warn" not in props


def test_bugs_strict_on_the_catalog():
    """bugs --strict: B2's accepted v7.2 behaviour becomes that cell's violation."""
    b2 = BUGS / "b2-nokmem-shared-list.yaml"
    r = run("bugs", b2, "--preset", "v7.2", "--json")
    assert json.loads(r.stdout)["bugs"][0]["cells"]["v7.2"]["verdict"] == "ok"
    r = run("bugs", b2, "--preset", "v7.2", "--strict", "--json")
    d = json.loads(r.stdout)["bugs"][0]
    assert d["cells"]["v7.2"]["violated"] == ["memcg_reclaim_reach"]
    assert d["first"]["message"].endswith("[--strict]")
