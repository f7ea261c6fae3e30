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
