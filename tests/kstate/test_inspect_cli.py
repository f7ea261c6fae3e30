"""`lrulab inspect`'s refusals, without QEMU: each is exit 2 with one line naming the file or
option and the fix, never a traceback.  (Reading real dumps: test_inspect_qemu.py.)"""

from __future__ import annotations

import struct

import pytest
from click.testing import CliRunner

from lrulab.cli import main

INFO = (b"OSRELEASE=6.1.0-test-amd64\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff8a00a000\n"
        b"KERNELOFFSET=3a000000\n\0")


def elf_core(path, ram: bytes, filesz: int | None = None):
    """A minimal 64-bit ELF core with one PT_LOAD segment of `ram` at physical 0 (p_filesz
    `filesz`, default the real size)."""
    ehdr = bytearray(64)
    ehdr[:4] = b"\x7fELF"
    ehdr[4], ehdr[5], ehdr[6] = 2, 1, 1
    struct.pack_into("<HHI", ehdr, 16, 4, 62, 1)           # ET_CORE, x86-64
    struct.pack_into("<Q", ehdr, 0x20, 64)                 # e_phoff
    struct.pack_into("<HHH", ehdr, 0x34, 64, 56, 1)        # e_ehsize, e_phentsize, e_phnum
    phdr = struct.pack("<IIQQQQQQ", 1, 7, 120, 0, 0, filesz or len(ram), len(ram), 4096)
    path.write_bytes(bytes(ehdr) + phdr + ram)
    return path


def inspect(*args, env=None):
    r = CliRunner().invoke(main, ["inspect", *map(str, args)], env=env)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def cache(tmp_path):
    """An empty conform cache: no vmlinux for any release."""
    return {"LRULAB_CACHE": str(tmp_path / "cache")}


def refused(result, *words):
    status, out, err = result
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("lrulab inspect: ")
    for w in words:
        assert w in err, err
    return err


def test_a_source_is_required_and_only_one():
    refused(inspect(), "exactly one of --live, --vmcore FILE, --qmp SOCKET")
    refused(inspect("--live", "--vmcore", "x"), "exactly one")


def test_missing_dump(tmp_path):
    refused(inspect("--vmcore", tmp_path / "nope.core"), "nope.core: no such file")


def test_a_file_that_is_not_a_kernel_dump(tmp_path):
    junk = tmp_path / "junk.core"
    junk.write_bytes(bytes(range(256)) * 64)
    refused(inspect("--vmcore", junk), "junk.core", "no VMCOREINFO")


def test_no_vmlinux_for_the_dumps_release(tmp_path, cache):
    core = elf_core(tmp_path / "guest.elf", INFO + b"\0" * 4096)
    refused(inspect("--vmcore", core, env=cache), "no vmlinux for kernel 6.1.0-test-amd64",
            "--vmlinux FILE")
    refused(inspect("--vmcore", core, "--vmlinux", tmp_path / "vmlinux"),
            "--vmlinux", "no such file")


def test_a_truncated_dump(tmp_path):
    core = elf_core(tmp_path / "cut.elf", INFO + b"\0" * 4096, filesz=1 << 20)
    vmlinux = tmp_path / "vmlinux"
    vmlinux.write_bytes(b"\x7fELF")
    refused(inspect("--vmcore", core, "--vmlinux", vmlinux), "cut.elf: truncated")


def test_unknown_kernel_name(tmp_path):
    refused(inspect("--vmcore", tmp_path / "x", "--kernel", "nope"),
            "--kernel nope", "unknown kernel")


def test_missing_qmp_socket(tmp_path):
    refused(inspect("--qmp", tmp_path / "qmp.sock"), "qmp.sock: no such socket")


def test_live_is_refused_with_the_reason_when_it_cannot_read(monkeypatch):
    """Not root, or no readable /proc/kcore (a container): one line saying which."""
    import os

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    refused(inspect("--live"), "needs root")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(os, "access", lambda p, m: False)
    refused(inspect("--live"), "/proc/kcore is not readable")
