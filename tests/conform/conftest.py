"""Conformance tests. Those marked `qemu` boot Debian's 6.1 and 6.12.117 kernels under QEMU
(TCG) and read their state with drgn; they run in CI, which installs qemu-system-x86, gcc, drgn
and the kernels with their vmlinux (`lrulab conform --setup`). Select or deselect them with
`-m qemu` / `-m "not qemu"`."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace as NS

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios" / "conformance"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "qemu: boots real Linux kernels under QEMU (needs `lrulab conform --setup`)")


def make_op(kind, line=1, **args):
    return NS(kind=kind, args=args, line=line)


def make_scenario(memcgs=("A",), setup=(), threads=(), nodes=1, boot=(), sysfs=None,
                  path="t.yaml", lrus=None):
    return NS(path=path, name="t",
              kernel=NS(variant="linux-6.1", patches={}, boot=list(boot), nodes=nodes,
                        sysfs=dict(sysfs or {}), lrus=dict(lrus or {})),
              memcgs=list(memcgs), setup=list(setup), threads=[list(t) for t in threads])


@pytest.fixture
def op():
    return make_op


@pytest.fixture
def scenario():
    return make_scenario


@pytest.fixture
def run_cli(capsys):
    """Run `lrulab conform ARGV` in-process; return (status, stdout, stderr)."""
    from lrulab.conform import main

    def run(*argv):
        status = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return status, out, err

    return run
