import pytest

from lrulab.kstate.reader import ReaderError, _Ram, find_vmcoreinfo

INFO = (b"OSRELEASE=6.1.0-56-amd64\nPAGESIZE=4096\nSYMBOL(swapper_pg_dir)=ffffffff8a00a000\n"
        b"KERNELOFFSET=3a000000\n")


def ram(tmp_path, *chunks):
    files = []
    for i, data in enumerate(chunks):
        p = tmp_path / f"node{i}"
        p.write_bytes(data)
        files.append(p)
    return files


def test_vmcoreinfo_is_found_in_guest_ram_past_decoys(tmp_path):
    """The kernel's format string and a truncated copy are skipped; the text ends at NUL."""
    node0 = b"\0" * 4096 + b"OSRELEASE=6.1.0-56-amd64\n%s\0" + b"\0" * 100
    node1 = b"\0" * 8192 + INFO + b"\0garbage"
    assert find_vmcoreinfo(ram(tmp_path, node0, node1), "6.1.0-56-amd64") == INFO


def test_no_vmcoreinfo_for_another_release(tmp_path):
    with pytest.raises(ReaderError, match="no VMCOREINFO for 6.12"):
        find_vmcoreinfo(ram(tmp_path, b"\0" * 4096 + INFO), "6.12.117+deb12-amd64")


def test_guest_physical_memory_is_the_node_files_in_order(tmp_path):
    mem = _Ram(ram(tmp_path, b"a" * 4096, b"b" * 4096))
    try:
        assert mem.size == 8192
        assert mem.read(4094, 2, 4094, True) == b"aa"
        assert mem.read(4096, 3, 4096, True) == b"bbb"
        with pytest.raises(ValueError, match="outside guest RAM"):
            mem.read(9000, 1, 9000, True)
    finally:
        mem.close()
