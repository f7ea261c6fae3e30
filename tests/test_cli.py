"""The command line: usage errors are bad input like any other (one line, exit 2)."""

import subprocess
import sys

import pytest


def lrulab(*args):
    return subprocess.run([sys.executable, "-m", "lrulab", *args], capture_output=True,
                          text=True, check=False)


@pytest.mark.parametrize("args,words", [
    (["run", "--bogus", "x.yaml"], "No such option '--bogus'"),
    (["nosuchcmd"], "No such command 'nosuchcmd'"),
    (["run"], "Missing argument 'FILE'"),
    (["check", "--jobs", "x", "f.yaml"], "'x' is not a valid integer"),
    (["simulate", "db-two-node", "--duration", "2x"], "is not a duration"),
])
def test_usage_errors_are_one_line_exit_2(args, words):
    r = lrulab(*args)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "--help" in lines[0]


def test_duration_units():
    from lrulab.sim.commands import Duration
    d = Duration()
    assert [d.convert(v, None, None) for v in ("90", "90s", "2m", "1.5h", "1d")] == \
        [90.0, 90.0, 120.0, 5400.0, 86400.0]


def test_variants_lists_points_and_flags_with_their_commits():
    r = lrulab("variants")
    assert r.returncode == 0
    out = r.stdout
    assert "6.13" in out and "[linux-6.13]" in out and "series-v5" in out
    assert 'fb56fdf8b9a2 "mm/list_lru: split the lock to per-cgroup scope" (6.13)' in out
    assert "20260601161501.1444829-1-shakeel.butt@linux.dev" in out


def test_variants_diff_names_the_commits_between_two_kernels():
    r = lrulab("variants", "--diff", "v0", "linux-6.13")
    assert r.returncode == 0
    lines = [ln.strip() for ln in r.stdout.splitlines()[1:]]
    assert [ln.split()[:2] for ln in lines] == [["+", "fb56fdf8b9a2"], ["+", "fb56fdf8b9a2"],
                                                ["+", "28e98022b31e"], ["+", "6b611388b626"]]
    assert lines[1].endswith("objcg_reparent_first=off")
    back = lrulab("variants", "--diff", "linux-6.13", "v0").stdout.splitlines()[1:]
    assert [ln.split()[0] for ln in back] == ["-", "-", "-", "-"]
    bad = lrulab("variants", "--diff", "v0", "v9")
    assert bad.returncode == 2 and "unknown kernel 'v9'" in bad.stderr


def test_variants_json_has_every_field():
    import json
    doc = json.loads(lrulab("variants", "--json").stdout)
    rec = doc["flags"]["list_lru_per_sublist_lock"]["records"][0]
    for field in ("commit", "msgid", "subject", "author", "release", "reverted_in", "fixes",
                  "functions", "verified", "missing", "source"):
        assert field in rec
    assert rec["commit"] == "fb56fdf8b9a2" and rec["release"] == "6.13"
    assert doc["points"]["7.1"]["aliases"] == ["v1"]
    assert doc["presets"]["v0"]["point"] == "6.12"
    d = json.loads(lrulab("variants", "--diff", "series-v4", "series-v5", "--json").stdout)
    assert {c["flag"] for c in d["commits"]} == {
        "isolate_flags_before_isolate", "collapse_alloc_fail_result",
        "list_lru_bit_on_effective_memcg"}


def test_bugs_kernel_option_takes_a_comma_separated_list():
    import json
    from pathlib import Path
    b5 = Path(__file__).resolve().parents[1] / "scenarios" / "bugs" / "b5-isolate-uaf.yaml"
    r = lrulab("bugs", str(b5), "--kernel", "series-v4,7.2",
               "--preset", "v0", "--json")
    assert r.returncode in (0, 1), r.stderr
    assert json.loads(r.stdout)["presets"] == ["series-v4", "7.2", "v0"]


B5 = "scenarios/bugs/b5-isolate-uaf.yaml"


@pytest.mark.parametrize("args,words", [
    (["run", B5, "--check", ""], "--check ''"),
    (["check", B5, "--check", ",,"], "--check ',,'"),
    (["bugs", B5, "--ignore", " , "], "--ignore"),
    (["bisect", B5, "--property", ","], "--property ','"),
    (["bisect", B5, "--property", "nope"], "--property nope"),
    (["run", B5, "--kernel", ""], "--kernel/--preset/--variant : unknown kernel"),
    (["check", B5, "--preset", "nope"], "--preset"),
    (["bugs", B5, "--kernel", ","], "--kernel/--preset ','"),
    (["simulate", "db-two-node", "--presets", ""], "--kernel/--presets/--preset ''"),
    (["bisect", B5, "--good", ""], "--good : unknown kernel"),
    (["bugs", B5, "--timeout", "-1"], "--timeout -1.0"),
    (["bugs", B5, "--timeout", "nan"], "--timeout nan"),
    (["bisect", B5, "--timeout", "0"], "--timeout 0.0"),
    (["bisect", B5, "--timeout", "inf"], "--timeout inf"),
    (["sweep", "--timeout", "nan"], "--timeout"),
])
def test_option_values_that_select_nothing_or_no_limit_are_bad_input(args, words):
    """An empty property or kernel selection, and a time limit that is not a positive finite
    number, are refused naming the option (they used to check nothing, the file's kernel, or
    everything without a limit, and report ok)."""
    r = lrulab(*args)
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in r.stderr


@pytest.mark.parametrize("args", [
    ["bisect", B5, "--good", "series-v4", "--bad", "7.2\n"],
    ["check", B5, "--kernel", "v7.2\n"],
    ["conform", B5, "--kernel", "7.2\n"],
    ["variants", "--diff", "a\nb", "v7.2"],
])
def test_an_option_value_with_a_newline_keeps_the_message_on_one_line(args):
    """The fuzz's find: the value was echoed raw and split the bad-input line in two."""
    r = lrulab(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "\\n" in lines[0] and lines[0].startswith("lrulab")


def test_every_kernel_command_takes_kernel_and_its_aliases():
    """Section 5: --kernel on run, check, replay, bugs, simulate, conform; --variant, --preset
    (--presets where several kernels are allowed) stay as aliases."""
    from lrulab.cli import main
    want = {"run": {"--variant", "--preset"}, "check": {"--variant", "--preset"},
            "replay": {"--variant", "--preset"}, "bugs": {"--preset", "--presets"},
            "simulate": {"--preset", "--presets"}, "conform": set()}
    for name, aliases in want.items():
        opts = {o for p in main.commands[name].params for o in getattr(p, "opts", [])}
        assert {"--kernel"} | aliases <= opts, name
    conform = {o for p in main.commands["conform"].params for o in getattr(p, "opts", [])}
    assert {"--variant", "--preset"} <= conform  # its model kernel; --kernel is the real one


def test_every_command_is_there_when_a_room_was_imported_before_the_cli():
    """lrulab.bisect imports lrulab.cli: imported first (as a test module may), its command was
    missing from the import-time registration; main() registers the rooms again."""
    import subprocess
    import sys
    code = ("import lrulab.bisect\n"
            "from click.testing import CliRunner\n"
            "from lrulab.cli import main\n"
            "r = CliRunner().invoke(main, ['bisect', '--help'])\n"
            "assert r.exit_code == 0 and 'bisect' in r.output, r.output\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
