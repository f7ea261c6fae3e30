"""``lrulab sweep`` (src/lrulab/sweep/commands.py)."""

import json
import subprocess
import sys

from lrulab.sweep.gen import scenario_text


def lrulab(*args):
    return subprocess.run([sys.executable, "-m", "lrulab", *args], capture_output=True,
                          text=True, timeout=600)


def test_show_prints_the_scenario_of_a_seed():
    r = lrulab("sweep", "--show", "3", "--preset", "v0")
    assert r.returncode == 0
    assert r.stdout == scenario_text(3, "v0")


def test_bad_preset_and_bad_count_are_bad_input():
    r = lrulab("sweep", "--preset", "nope")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--preset nope" in r.stderr
    r = lrulab("sweep", "-n", "0")
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def test_json_report_counts_every_check():
    r = lrulab("sweep", "-n", "2", "--first", "7", "--preset", "linux-6.1", "--preset",
               "v7.2-fixes", "--max-states", "500", "--json")
    assert r.returncode in (0, 1), r.stderr
    out = json.loads(r.stdout)
    assert out["presets"] == ["linux-6.1", "v7.2-fixes"]
    for p in out["presets"]:
        c = out["per_preset"][p]
        assert c["scenarios"] == 2
        assert c["ok"] + c["violation"] + c["incomplete"] + c["rejected"] == 2
    for d in out["distinct"]:
        assert d["trace"] and d["property"] and d["where"]
    assert (r.returncode == 1) == any(d["kind"] != "kernel-bug" for d in out["distinct"])
