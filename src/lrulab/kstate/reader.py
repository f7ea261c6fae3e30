"""Read a real kernel's state with drgn, in the shape of ``lrulab.kstate``.

The program can be a stopped QEMU guest whose RAM the host sees as files (``open_guest``), the
running machine (``open_live``) or a dump (``open_vmcore``); ``KernelReader.state`` is the
same for all three.  Helpers are drgn's, named like the kernel's (``css_for_each_descendant_pre``,
``list_for_each_entry``, ``find_task``, ``compound_head``...).

What differs between the kernels read here (Debian 6.1 and 6.12):
- the deferred-split list links ``page[2].deferred_list`` (6.1) or ``folio->_deferred_list``
  (6.6+);
- the THP shrinker is a static ``struct shrinker`` (6.1) or a ``struct shrinker *`` from
  ``shrinker_alloc`` (6.7+), and its bit lives in ``shrinker_info->map`` (6.1) or in
  ``shrinker_info->unit[id / 64]->map`` (6.7+, "mm: shrinker: add a secondary array for
  shrinker_info::{map, nr_deferred}").
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import State

PAGE_SHIFT = 12
_PRESENT, _PSE = 0x1, 0x80
_PFN_MASK = 0x000FFFFFFFFFF000
CSS_ONLINE, CSS_DYING = 1 << 1, 1 << 4      # include/linux/cgroup-defs.h


class ReaderError(Exception):
    """The kernel state could not be read; str() is one line."""


def _drgn():
    try:
        import drgn
    except ImportError:
        raise ReaderError("drgn is not installed: pip install 'lrulab[conform]' "
                          "(or pip install drgn)") from None
    return drgn


def find_vmcoreinfo(ram: list[Path], release: str) -> bytes:
    """The VMCOREINFO text in guest RAM (no qemu_fw_cfg needed, KASLR or not): it starts with
    ``OSRELEASE=<release>`` and ends at the first NUL (kernel/crash_core.c fills it at boot)."""
    needle = f"OSRELEASE={release}\n".encode()
    for path in ram:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mm:
            at = mm.find(needle)
            while at >= 0:
                end = mm.find(b"\0", at, at + 16384)
                text = mm[at:end if end > 0 else at + 4096]
                if b"KERNELOFFSET=" in text and b"SYMBOL(swapper_pg_dir)=" in text:
                    return bytes(text)
                at = mm.find(needle, at + 1)
    raise ReaderError(f"no VMCOREINFO for {release} in guest RAM")


_RAM: dict = {}


class _Ram:
    """Guest-physical memory as the concatenation of the RAM backend files (QEMU's pc machine
    puts all RAM below 4 GiB from address 0, node after node)."""

    def __init__(self, files: list[Path]):
        self.maps = []
        base = 0
        for path in files:
            f = open(path, "rb")
            m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
            f.close()
            self.maps.append((base, m))
            base += len(m)
        self.size = base

    def read(self, address: int, count: int, offset: int, physical: bool) -> bytes:
        for base, m in self.maps:
            if base <= offset < base + len(m):
                return m[offset - base:offset - base + count]
        raise ValueError(f"physical address {address:#x} is outside guest RAM")

    def close(self) -> None:
        for _, m in self.maps:
            m.close()


def _load(prog, vmlinux: Path) -> None:
    try:
        prog.load_debug_info([str(vmlinux)])
    except Exception as e:            # drgn raises MissingDebugInfoError for the modules
        if "vmlinux" in str(e) and "missing" in str(e).lower() and "kernel" in str(e).lower():
            raise ReaderError(f"{vmlinux}: not this kernel's debug info ({e})") from None


def open_guest(vmlinux: Path, ram: list[Path], release: str):
    """A drgn Program over a stopped QEMU guest's RAM files."""
    drgn = _drgn()
    x86_64 = drgn.Platform(drgn.Architecture.X86_64,
                           drgn.PlatformFlags.IS_64_BIT | drgn.PlatformFlags.IS_LITTLE_ENDIAN)
    prog = drgn.Program(x86_64)
    mem = _Ram(ram)
    prog.add_memory_segment(0, mem.size, mem.read, physical=True)
    prog.set_linux_kernel_custom(find_vmcoreinfo(ram, release), False)
    _RAM[id(prog)] = mem      # the mappings live as long as the program is used
    _load(prog, vmlinux)
    return prog


def open_live(vmlinux: Path | None = None):
    """The running kernel (/proc/kcore; needs root)."""
    drgn = _drgn()
    prog = drgn.Program()
    prog.set_kernel()
    if vmlinux:
        _load(prog, vmlinux)
    else:
        prog.load_default_debug_info()
    return prog


def open_vmcore(path: Path, vmlinux: Path):
    """A kernel dump (kdump vmcore, or QEMU's dump-guest-memory ELF)."""
    prog = _drgn().Program()
    prog.set_core_dump(str(path))
    _load(prog, vmlinux)
    return prog


@dataclass
class Where:
    """Where a scenario folio was mapped: the owner task's pid and the virtual range."""
    pid: int
    addr: int
    size: int


@dataclass
class _Seen:
    pfn: int
    order: int
    split: bool = False
    freed: bool = False


class KernelReader:
    """Reads ``lrulab.kstate`` dicts from one kernel; remembers each folio's head page between
    reads, so an unmapped but still referenced folio (or a freed one) is recognised."""

    def __init__(self, prog, lrus: dict[str, Any] | None = None,
                 shrinkers: dict[str, Any] | None = None):
        self.prog = prog
        self.lrus = lrus or {}           # name -> struct list_lru (Object)
        self.shrinkers = shrinkers or {} # name -> the lru's struct shrinker (Object)
        self.seen: dict[str, _Seen] = {}
        self.folio_list = prog.type("struct folio").has_member("_deferred_list")
        thp = prog["deferred_split_shrinker"]
        self.thp = thp[0] if thp.type_.kind.name == "POINTER" else thp
        self.thp_id = int(self.thp.id)
        info = prog.type("struct shrinker_info")
        self.units = info.has_member("unit")
        self.nodes = self._nodes()

    # -- helpers ----------------------------------------------------------------------------

    def _nodes(self) -> list[tuple[int, int, int]]:
        """(nid, start pfn, end pfn) of every online node."""
        from drgn.helpers.linux.nodemask import for_each_online_node

        out = []
        for nid in for_each_online_node(self.prog):
            pgdat = self.prog["node_data"][nid]
            start = int(pgdat.node_start_pfn)
            out.append((nid, start, start + int(pgdat.node_spanned_pages)))
        return out

    def _nid(self, pfn: int) -> int:
        for nid, start, end in self.nodes:
            if start <= pfn < end:
                return nid
        return -1

    def _memcg_path(self, memcg) -> str:
        from drgn.helpers.linux.cgroup import cgroup_name

        if not memcg:
            return "-"
        parts, css = [], memcg.css.address_of_()
        while css.parent:
            parts.append(cgroup_name(css.cgroup).decode())
            css = css.parent
        return "/".join(reversed(parts)) or "root"

    def _memcgs(self):
        """(path, struct mem_cgroup *) of every memcg in the tree, root first, pre-order."""
        from drgn.helpers.linux.cgroup import css_for_each_descendant_pre
        from drgn.helpers.linux.list import container_of

        root = self.prog["root_mem_cgroup"]
        if not root:
            return []
        return [(self._memcg_path(m), m) for m in
                (container_of(css, "struct mem_cgroup", "css")
                 for css in css_for_each_descendant_pre(root.css.address_of_()))]

    def _queue(self, head) -> list[int]:
        """Head pfns of the folios on a deferred-split list, in list order."""
        from drgn import cast
        from drgn.helpers.linux.list import list_for_each_entry
        from drgn.helpers.linux.mm import page_to_pfn

        if self.folio_list:
            return [int(page_to_pfn(cast("struct page *", f)))
                    for f in list_for_each_entry("struct folio", head, "_deferred_list")]
        # 6.1: the list_head is page[2].deferred_list
        return [int(page_to_pfn(p)) - 2
                for p in list_for_each_entry("struct page", head, "deferred_list")]

    def _thp_bit(self, memcg, nid: int, i: int | None = None) -> int:
        """The bit of shrinker id `i` (default: the THP shrinker's) for memcg on node nid."""
        info = memcg.nodeinfo[nid].shrinker_info
        if not info:
            return 0
        i = self.thp_id if i is None else i
        if self.units:
            if i >= int(info.map_nr_max):
                return 0
            word = int(info.unit[i // 64].map[0])
        else:
            word = int(info.map[i // 64])
        return (word >> (i % 64)) & 1

    def _walk(self, mm, addr: int, size: int) -> tuple[str, int | None, int]:
        """Page-table walk of [addr, addr+size) in `mm` (4-level x86-64): ("pmd", pfn, 0) for a
        PMD mapping, else ("ptes", first mapped pfn, number of present PTEs)."""
        from drgn.helpers.linux.mm import virt_to_phys

        prog = self.prog
        table = int(virt_to_phys(mm.pgd))
        for shift in (39, 30):
            e = _u64(prog, table + ((addr >> shift) & 511) * 8)
            if not e & _PRESENT:
                return "ptes", None, 0
            table = e & _PFN_MASK
        pmd = _u64(prog, table + ((addr >> 21) & 511) * 8)
        if not pmd & _PRESENT:
            return "ptes", None, 0
        if pmd & _PSE:
            return "pmd", (pmd & _PFN_MASK) >> PAGE_SHIFT, 0
        ptes = prog.read(pmd & _PFN_MASK, 4096, True)
        first, n = None, 0
        lo = (addr >> PAGE_SHIFT) & 511
        for i in range(lo, lo + size // 4096):
            (e,) = struct.unpack_from("<Q", ptes, i * 8)
            if e & _PRESENT:
                n += 1
                if first is None:
                    first = (e & _PFN_MASK) >> PAGE_SHIFT
        return "ptes", first, n

    # -- the state --------------------------------------------------------------------------

    def state(self, folios: dict[str, Where]) -> State:
        from drgn import Object
        from drgn.helpers.linux.mm import compound_head, compound_order, page_to_pfn, pfn_to_page
        from drgn.helpers.linux.pid import find_task

        prog = self.prog
        s: State = {}
        memcgs = [] if _memcg_disabled(prog) else self._memcgs()
        queues: list[tuple[str, list[int]]] = []
        for path, m in memcgs:
            flags = int(m.css.flags)
            s[f"memcg {path}"] = (("dying" if flags & CSS_DYING else "online")
                                  if flags & CSS_ONLINE else "offline")
            s[f"memcg {path} kmemcg_id"] = int(m.kmemcg_id)
            for nid, _, _ in self.nodes:
                s[f"shrinker_bit thp {path} node{nid}"] = self._thp_bit(m, nid)
                for name, shrinker in self.shrinkers.items():
                    s[f"shrinker_bit {name} {path} node{nid}"] = self._thp_bit(
                        m, nid, int(shrinker.id))
            queues.append((path, self._queue(m.deferred_split_queue.split_queue.address_of_())))
        for nid, _, _ in self.nodes:
            q = prog["node_data"][nid].deferred_split_queue.split_queue.address_of_()
            queues.append((f"node{nid}", self._queue(q)))
        for name, lru in self.lrus.items():
            s.update(self._list_lru(name, lru, memcgs))

        names: dict[int, str] = {}
        for name, where in folios.items():
            task = find_task(prog, where.pid)
            kind, pfn, nptes = (self._walk(task.mm, where.addr, where.size)
                                if task and task.mm else ("ptes", None, 0))
            seen = self.seen.get(name)
            if pfn is not None:
                head = compound_head(pfn_to_page(prog, pfn))
                order = int(compound_order(head))
                hpfn = int(page_to_pfn(head))
                if seen is None or not (seen.split or seen.freed):
                    split = seen is not None and seen.order > 0 and order == 0
                    seen = self.seen[name] = _Seen(hpfn, order, split)
            elif seen is not None and not (seen.split or seen.freed):
                head = pfn_to_page(prog, seen.pfn)
                alive = (int(head._refcount.counter) > 0
                         and int(compound_order(head)) == seen.order)
                seen.freed = not alive
            if seen is None:
                continue
            if seen.split:
                s[f"folio {name}"] = "split"
                continue
            if seen.freed:
                s[f"folio {name}"] = "freed"
                continue
            head = pfn_to_page(prog, seen.pfn)
            names[seen.pfn] = name
            memcg = Object(prog, "struct mem_cgroup *", int(head.memcg_data) & ~0x7)
            s[f"folio {name}"] = "live"
            s[f"folio {name} order"] = seen.order
            s[f"folio {name} node"] = self._nid(seen.pfn)
            s[f"folio {name} memcg"] = self._memcg_path(memcg)
            s[f"folio {name} refcount"] = int(head._refcount.counter)
            if kind == "pmd" and pfn == seen.pfn:
                s[f"folio {name} mapped"] = "pmd"
            else:
                s[f"folio {name} mapped"] = f"ptes {nptes}" if nptes else "none"
        for where, pfns in queues:
            if pfns:
                s[f"deferred_split {where}"] = [names.get(p, f"pfn:{p:#x}") for p in pfns]
        return s

    def _list_lru(self, name: str, lru, memcgs) -> State:
        """Items per memcg and node of one list_lru (6.1/6.12: lru->node[nid].lru for the
        root/non-memcg-aware part, xa_load(&lru->xa, kmemcg_id)->node[nid] per memcg)."""
        from drgn import cast
        from drgn.helpers.linux.xarray import xa_load

        out: State = {}
        for nid, _, _ in self.nodes:
            n = int(lru.node[nid].lru.nr_items)
            if n:
                out[f"list_lru {name} root node{nid}"] = n
        seen: set[int] = set()
        for path, m in memcgs:
            idx = int(m.kmemcg_id)
            # after an offline, 6.1-6.12 rewrite the ids of the memcg and its descendants to
            # the parent's (memcg_reparent_list_lrus): the sublist belongs to the first memcg
            # in pre-order with that id, the live ancestor
            if idx < 0 or idx in seen:
                continue
            seen.add(idx)
            mlru = xa_load(lru.xa.address_of_(), idx)
            if not mlru:
                continue
            mlru = cast("struct list_lru_memcg *", mlru)
            for nid, _, _ in self.nodes:
                n = int(mlru.node[nid].nr_items)
                if n > 0:
                    out[f"list_lru {name} {path} node{nid}"] = n
        return out


def sb_dentry_lru(prog, mountpoint: str) -> tuple[Any, Any]:
    """(s_dentry_lru, its shrinker) of the superblock mounted at `mountpoint` in init's mount
    namespace.  The shrinker is ``sb->s_shrink``: a struct (6.1) or a ``struct shrinker *``
    from shrinker_alloc (6.7+)."""
    from drgn.helpers.linux.fs import for_each_mount

    dst = mountpoint.encode()
    for mnt in for_each_mount(prog, dst=dst):
        sb = mnt.mnt.mnt_sb
        shrink = sb.s_shrink
        if shrink.type_.kind.name == "POINTER":
            shrink = shrink[0]
        return sb.s_dentry_lru, shrink
    raise ReaderError(f"no file system is mounted at {mountpoint} in the guest")


def _u64(prog, phys: int) -> int:
    return struct.unpack("<Q", prog.read(phys, 8, True))[0]


def _memcg_disabled(prog) -> bool:
    """mem_cgroup_disabled(): the memory controller's subsys is not enabled
    (``cgroup_disable=memory``)."""
    try:
        key = prog["memory_cgrp_subsys_enabled_key"]
        return not int(key.key.enabled.counter)
    except (KeyError, LookupError, AttributeError):
        return False
