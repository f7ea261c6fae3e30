"""A gzip'd cpio "newc" archive, written in Python (no cpio binary needed)."""

from __future__ import annotations

import gzip
import stat
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str          # path inside the archive, no leading slash
    mode: int          # full st_mode (type bits included)
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def _header(ino: int, e: Entry) -> bytes:
    name = e.name.encode() + b"\0"
    fields = [
        ino, e.mode, 0, 0, 1 if not stat.S_ISDIR(e.mode) else 2, 0,
        len(e.data), 0, 0, e.rdev[0], e.rdev[1], len(name), 0,
    ]
    hdr = b"070701" + b"".join(b"%08X" % f for f in fields) + name
    return hdr + b"\0" * (-len(hdr) % 4)


def cpio_newc(entries: list[Entry]) -> bytes:
    out = bytearray()
    for ino, e in enumerate(entries + [Entry("TRAILER!!!", 0)], start=1):
        out += _header(ino, e)
        out += e.data + b"\0" * (-len(e.data) % 4)
    out += b"\0" * (-len(out) % 512)
    return bytes(out)


def build_initramfs(files: dict[str, tuple[bytes, int]]) -> bytes:
    """`files` maps an absolute guest path to (content, permission bits)."""
    entries = [Entry(d, stat.S_IFDIR | 0o755)
               for d in ("dev", "proc", "sys", "tmp")]
    entries.append(Entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)))
    for path, (data, perm) in sorted(files.items()):
        entries.append(Entry(path.lstrip("/"), stat.S_IFREG | perm, data))
    return gzip.compress(cpio_newc(entries), compresslevel=6, mtime=0)
