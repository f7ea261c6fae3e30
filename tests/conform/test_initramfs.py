import gzip
import stat

from lrulab.conform.initramfs import Entry, build_initramfs, cpio_newc


def parse_newc(data: bytes):
    """A small independent reader of the newc format."""
    out, pos = {}, 0
    while True:
        assert data[pos:pos + 6] == b"070701", pos
        f = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, rmaj, rmin, namesize = f[1], f[6], f[9], f[10], f[11]
        name = data[pos + 110: pos + 110 + namesize - 1].decode()
        pos += 110 + namesize
        pos += -pos % 4
        body = data[pos: pos + size]
        pos += size
        pos += -pos % 4
        if name == "TRAILER!!!":
            return out
        out[name] = (mode, body, (rmaj, rmin))


def test_newc_roundtrip_keeps_names_modes_and_data():
    data = cpio_newc([Entry("a", stat.S_IFDIR | 0o755), Entry("a/b", stat.S_IFREG | 0o644, b"xyz")])
    assert len(data) % 512 == 0
    got = parse_newc(data)
    assert got["a"][0] == stat.S_IFDIR | 0o755
    assert got["a/b"] == (stat.S_IFREG | 0o644, b"xyz", (0, 0))


def test_initramfs_has_init_script_and_console():
    img = build_initramfs({"/init": (b"\x7fELF", 0o755), "/script": (b"N 1\n", 0o644)})
    got = parse_newc(gzip.decompress(img))
    assert got["init"][0] == stat.S_IFREG | 0o755 and got["init"][1] == b"\x7fELF"
    assert got["script"][1] == b"N 1\n"
    assert stat.S_ISCHR(got["dev/console"][0]) and got["dev/console"][2] == (5, 1)
    assert {"proc", "sys", "dev"} <= set(got)


def test_initramfs_is_deterministic():
    files = {"/init": (b"x", 0o755)}
    assert build_initramfs(files) == build_initramfs(files)
