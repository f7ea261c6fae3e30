"""`lrulab simulate`: table, files, byte-identical output per seed, one-line errors."""

import json

import pytest
from click.testing import CliRunner

from lrulab.cli import main
from lrulab.sim.workload import builtin_names, load_workload, resolve

SMALL = """\
name: small
seed: 3
duration: 300
sample_every: 30
host: {nodes: 2, node_pages: 16384, watermark_low: 0.05, watermark_high: 0.1}
memcgs:
  - path: s
  - {path: "s/c{i}", count: 3, limit: 3072}
processes:
  - memcg: "s/c{i}"
    policy: local
    spill: 0.3
    rates: {fault: 0.5, partial_unmap: 0.4, unmap: 0.45, exit: 0.01, collapse: 0.05, migrate: 0.05}
churn:
  - parent: s
    create: 0.02
    lifetime: 100
    survivors: 0.5
    processes:
      - {count: 1, rates: {fault: 0.4, partial_unmap: 0.3, unmap: 0.35}}
"""


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def small(tmp_path):
    p = tmp_path / "small.yaml"
    p.write_text(SMALL)
    return str(p)


def test_table_and_files(small, tmp_path):
    out = tmp_path / "out"
    r = run("simulate", small, "--presets", "v1,v7.2", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "pages freed by deferred split" in r.output and "v7.2" in r.output
    for f in ("report.md", "metrics.json", "metrics.csv", "samples.csv", "queue.png",
              "freed.png", "lost.png"):
        assert (out / f).stat().st_size > 0
    doc = json.loads((out / "metrics.json").read_text())
    assert [p["preset"] for p in doc["presets"]] == ["v1", "v7.2"]
    md = (out / "report.md").read_text()
    assert "## Why the presets differ" in md and "![queue](queue.png)" in md


def test_same_seed_byte_identical(small, tmp_path):
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        r = run("simulate", small, "--presets", "v0,v1", "--seed", "5", "--out", str(out))
        assert r.exit_code == 0, r.output
        outs.append(out)
    for f in sorted(p.name for p in outs[0].iterdir()):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    r = run("simulate", small, "--presets", "v1", "--seed", "6", "--json")
    r2 = run("simulate", small, "--presets", "v1", "--seed", "5", "--json")
    assert json.loads(r.output) != json.loads(r2.output)


def test_json(small):
    r = run("simulate", small, "--presets", "v1", "--json", "--duration", "100")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["duration"] == 100 and doc["presets"][0]["counts"]["events"] > 0


@pytest.mark.parametrize("args,needle", [
    (["--presets", "v1,nope"], "unknown kernel 'nope'"),
    (["--duration", "0"], "--duration"),
])
def test_bad_options(small, args, needle):
    r = run("simulate", small, *args)
    assert r.exit_code == 2
    assert needle in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


@pytest.mark.parametrize("text,line,needle", [
    ("name: x\nhost: {nodes: 2}\nbogus: 1\n", 3, "unknown top-level key 'bogus'"),
    ("host: {nodes: 1}\nmemcgs:\n  - {path: a/b}\n", 3, "parent 'a' must be listed"),
    ("host: {nodes: 1}\nmemcgs: [a]\nprocesses:\n  - {memcg: a, policy: far}\n", 4,
     "policy 'far' unknown"),
    ("host: {nodes: 1}\nmemcgs: [a]\nprocesses:\n  - memcg: a\n    rates: {fault: -1}\n", 5,
     "rates.fault must be a number"),
    ("host: {nodes: 1}\nmemcgs: [a]\nprocesses:\n  - {memcg: b}\n", 4, "memcg 'b' is not"),
    ("host:\n  nodes: 1\n  patches: {nope: true}\n", 3, "unknown patch flag 'nope'"),
    ("host: {nodes: 1, boot: [quiet]}\n", 1, "unknown boot option 'quiet'"),
    ("host: [1\n", 2, "YAML syntax error"),
    ("memcgs: []\n", 1, "missing 'host:'"),
    ("host: {nodes: 2}\nmemcgs: [a]\nprocesses:\n  - {memcg: a, node: 5}\n", 4, "node must be"),
])
def test_bad_workload_names_file_line(tmp_path, text, line, needle):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    r = run("simulate", str(p), "--presets", "v1")
    assert r.exit_code == 2, r.output
    out = r.output.strip()
    assert len(out.splitlines()) == 1 and "Traceback" not in out
    assert f"bad.yaml:{line}:" in out, out
    assert needle in out, out


def test_missing_file():
    r = run("simulate", "no-such-workload")
    assert r.exit_code == 2 and "no such file" in r.output and "container-host" in r.output


def test_builtin_workloads_parse():
    names = builtin_names()
    assert {"container-host", "db-two-node", "ci-runner", "nokmem-host"} <= set(names)
    for n in names:
        w = load_workload(resolve(n))
        assert w.processes or w.churn


def test_bad_out_dir_fails_before_running(small, tmp_path):
    f = tmp_path / "file"
    f.write_text("")
    r = run("simulate", small, "--presets", "v1", "--out", str(f / "x"))
    assert r.exit_code == 2 and "--out" in r.output and "metric" not in r.output


# -- issue 9: --out never overwrites a user's files; results are never lost -----------------

def test_out_refuses_a_users_directory(small, tmp_path):
    mine = tmp_path / "results"
    mine.mkdir()
    (mine / "report.md").write_text("my report\n")
    r = run("simulate", small, "--presets", "v7.2", "--no-plots", "--out", str(mine))
    assert r.exit_code == 2 and "not made by 'lrulab simulate'" in r.stderr
    assert (mine / "report.md").read_text() == "my report\n"
    assert sorted(p.name for p in mine.iterdir()) == ["report.md"]


def test_out_refuses_the_workload_itself(small, tmp_path):
    r = run("simulate", small, "--presets", "v7.2", "--no-plots", "--out", small)
    assert r.exit_code == 2 and "is a file" in r.stderr
    assert open(small).read() == SMALL


def test_out_writes_again_into_its_own_directory_and_keeps_other_files(small, tmp_path):
    out = tmp_path / "out"
    assert run("simulate", small, "--presets", "v7.2", "--no-plots", "--out",
               str(out)).exit_code == 0
    (out / "notes.txt").write_text("mine\n")
    assert run("simulate", small, "--presets", "v7.2", "--no-plots", "--out",
               str(out)).exit_code == 0
    assert (out / "notes.txt").read_text() == "mine\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".lrulab-tmp")]


def test_markup_in_the_name_cannot_lose_the_run(tmp_path):
    p = tmp_path / "w.yaml"
    p.write_text(SMALL.replace("name: small", 'name: "[/x] [bold]odd"'))
    out = tmp_path / "out"
    r = run("simulate", str(p), "--presets", "v7.2", "--no-plots", "--out", str(out))
    assert r.exit_code == 0 and "[/x] [bold]odd" in r.stdout
    assert (out / "metrics.json").exists()


@pytest.mark.parametrize("old,new,words", [
    ("fault: 0.5,", "fault: .inf,", "rates.fault must be a number"),
    ("fault: 0.5,", "fault: .nan,", "rates.fault must be a number"),
    ("watermark_low: 0.05", "watermark_low: .nan", "watermark_low must be a number"),
    ('"s/c{i}", count: 3', '"s/c{i}-{j}", count: 3', "{i} is the only template"),
    ("  - path: s\n", "  - path: s//x\n", "bad memcg path"),
    ("parent: s", "parent: [s]", "parent ['s'] must be a memcg"),
    ("host: {nodes: 2,", "host: {boot: 1, nodes: 2,", "host.boot must be a list"),
    ("rates: {fault: 0.5,", "rates: {fault: 1.0e+300,", "events per preset"),
])
def test_bad_workload_values_are_one_line_errors(tmp_path, old, new, words):
    p = tmp_path / "w.yaml"
    assert old in SMALL
    p.write_text(SMALL.replace(old, new, 1))
    r = run("simulate", str(p), "--presets", "v7.2")
    assert r.exit_code == 2 and r.stderr.startswith(f"lrulab: {p}:")
    assert words in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_workload_sysfs_takes_the_old_knob_name(tmp_path):
    """host.sysfs split_underused_thp (the old name of shrink_underused) was a KeyError
    traceback; it is accepted, and a bad value is refused at its line."""
    import subprocess
    import sys
    w = tmp_path / "w.yaml"
    body = ("name: w\nduration: 5\nhost: {{nodes: 1, node_pages: 4096, sysfs: "
            "{{split_underused_thp: {v}}}}}\nmemcgs: [a]\nprocesses:\n"
            "  - {{memcg: a, count: 1, rates: {{fault: 1, unmap: 0.5}}}}\n")
    w.write_text(body.format(v="false"))
    args = [sys.executable, "-m", "lrulab", "simulate", str(w), "--presets", "v7.2",
            "--no-plots"]
    r = subprocess.run(args, capture_output=True, text=True)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-500:]
    w.write_text(body.format(v="3"))
    r = subprocess.run(args, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith(f"lrulab: {w}:3: sysfs split_underused_thp")
