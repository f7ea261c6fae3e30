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
    import logging

    # drgn logs "provided file ... did not match any loaded modules; ignoring" for another
    # kernel's vmlinux and carries on without types: say it once, as an error, below
    log = logging.getLogger("drgn")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        prog.load_debug_info([str(vmlinux)])
    except Exception as e:            # drgn raises MissingDebugInfoError for the modules
        if "vmlinux" in str(e) and "missing" in str(e).lower() and "kernel" in str(e).lower():
            raise ReaderError(f"{vmlinux}: not this kernel's debug info ({e})") from None
    finally:
        log.setLevel(level)
    try:
        prog.type("struct mem_cgroup")
    except LookupError:
        raise ReaderError(f"{vmlinux}: not this kernel's debug info (its build ID does not "
                          "match the kernel's; pass the vmlinux of the same build)") from None


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
    """A kernel dump: a kdump vmcore, or QEMU's ``dump-guest-memory`` ELF.  A QEMU dump of a
    guest without ``-device vmcoreinfo`` (plus qemu_fw_cfg) has no VMCOREINFO note; then the
    VMCOREINFO text is found in the dumped RAM (as ``find_vmcoreinfo`` does for RAM files) and
    the ELF's PT_LOAD segments are given to drgn as physical memory."""
    drgn = _drgn()
    prog = drgn.Program()
    try:
        prog.set_core_dump(str(path))
        kernel = bool(prog.flags & drgn.ProgramFlags.IS_LINUX_KERNEL)
    except (OSError, ValueError, drgn.FaultError) as e:
        # drgn refuses a QEMU dump without VMCOREINFO ("unrecognized QEMU memory dump")
        if "QEMU" not in str(e):
            raise ReaderError(f"{path}: not a kernel dump drgn can open "
                              f"({str(e).splitlines()[0]})") from None
        kernel = False
    if not kernel:
        prog = _open_elf_ram(drgn, path)
    _load(prog, vmlinux)
    return prog


def dump_release(path: Path) -> str | None:
    """The OSRELEASE of the VMCOREINFO in a dump (its note or its RAM), None if there is none."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as mm:
        text = _scan_vmcoreinfo(mm)
    if text is None:
        return None
    return text.split(b"\n", 1)[0].partition(b"=")[2].decode(errors="replace")


def _scan_vmcoreinfo(mm) -> bytes | None:
    at = mm.find(b"OSRELEASE=")
    while at >= 0:
        end = mm.find(b"\0", at, at + 16384)
        text = mm[at:end if end > 0 else at + 4096]
        if b"KERNELOFFSET=" in text and b"SYMBOL(swapper_pg_dir)=" in text:
            return bytes(text)
        at = mm.find(b"OSRELEASE=", at + 1)
    return None


def _open_elf_ram(drgn, path: Path):
    """An ELF dump's PT_LOAD segments (p_paddr) as physical memory of an x86-64 kernel."""
    f = open(path, "rb")
    mm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
    f.close()
    if mm[:4] != b"\x7fELF" or mm[4] != 2:
        raise ReaderError(f"{path}: not a 64-bit ELF core and drgn found no kernel in it")
    info = _scan_vmcoreinfo(mm)
    if info is None:
        raise ReaderError(f"{path}: no VMCOREINFO in the dump (not a Linux kernel's memory?)")
    (phoff,) = struct.unpack_from("<Q", mm, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", mm, 0x36)
    prog = drgn.Program(drgn.Platform(
        drgn.Architecture.X86_64,
        drgn.PlatformFlags.IS_64_BIT | drgn.PlatformFlags.IS_LITTLE_ENDIAN))
    for i in range(phnum):
        p_type, _, p_offset, _, p_paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", mm, phoff + i * phentsize)
        if p_type != 1 or not p_filesz:            # PT_LOAD
            continue
        if p_offset + p_filesz > len(mm):
            raise ReaderError(f"{path}: truncated (a segment of guest RAM at {p_paddr:#x} "
                              f"ends past the end of the file)")

        def read(address, count, offset, physical, base=p_offset):
            return mm[base + offset:base + offset + count]
        prog.add_memory_segment(p_paddr, p_filesz, read, physical=True)
    prog.set_linux_kernel_custom(info, False)
    _RAM[id(prog)] = mm
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
        return self._bit(memcg, nid, self.thp_id if i is None else i)

    def _bit(self, memcg, nid: int, i: int) -> int:
        """Bit `i` of memcg's shrinker_info on node nid."""
        info = memcg.nodeinfo[nid].shrinker_info
        if not info or i < 0:
            return 0
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

    # -- what `lrulab inspect` needs besides the state ----------------------------------------

    def release(self) -> str:
        """The kernel release (``init_uts_ns.name.release``, what uname -r prints)."""
        return self.prog["init_uts_ns"].name.release.string_().decode(errors="replace")

    def boot(self) -> list[str]:
        """The boot options the model knows that this kernel was booted with:
        ``cgroup_disable=memory`` (mem_cgroup_disabled) and ``cgroup.memory=nokmem``
        (mm/memcontrol.c: the static ``cgroup_memory_nokmem``)."""
        if _memcg_disabled(self.prog):
            return ["cgroup_disable=memory"]
        try:
            nokmem = bool(self.prog["cgroup_memory_nokmem"])
        except (KeyError, LookupError):
            nokmem = False
        return ["cgroup.memory=nokmem"] if nokmem else []

    def knobs(self) -> dict[str, Any]:
        """The THP sysfs knobs the model reads, from their kernel variables (mm/huge_memory.c:
        ``split_underused_thp``, 6.12+; mm/khugepaged.c: ``khugepaged_max_ptes_none``)."""
        out: dict[str, Any] = {}
        for knob, var, conv in (("shrink_underused", "split_underused_thp", bool),
                                ("khugepaged_max_ptes_none", "khugepaged_max_ptes_none", int)):
            try:
                out[knob] = conv(self.prog[var])
            except (KeyError, LookupError):
                pass
        return out

    def node_ids(self) -> list[int]:
        return [nid for nid, _, _ in self.nodes]

    def _describe(self, name: str, pfn: int) -> State:
        """The folio keys of a queued folio the caller did not name (``lrulab inspect``): its
        head page's order, node, memcg and refcount; its mapping from the mapcounts (the
        entire mapcount for a PMD mapping, each page's _mapcount for PTEs: a crash dump has no
        task to walk); ``partially_mapped`` from PG_partially_mapped (6.12) or, where the
        kernel has no such flag (6.1), from the mapping."""
        from drgn import Object, cast
        from drgn.helpers.linux.mm import compound_order, pfn_to_page

        prog = self.prog
        head = pfn_to_page(prog, pfn)
        order = int(compound_order(head))
        folio = cast("struct folio *", head)
        pmd = _entire_mapcount(folio, head) > 0
        size = prog.type("struct page").size
        off = prog.type("struct page").member("_mapcount").offset
        raw = prog.read(int(head.value_()), size << order)
        counts = [struct.unpack_from("<i", raw, i * size + off)[0] + 1 for i in range(1 << order)]
        ptes = sum(1 for c in counts if c > 0)
        memcg = Object(prog, "struct mem_cgroup *", int(head.memcg_data) & ~0x7)
        try:
            bit = int(prog["PG_partially_mapped"])
            partial = bool(int(folio._flags_1) >> bit & 1)
        except (KeyError, LookupError, AttributeError):
            partial = not pmd and 0 < ptes < 1 << order
        return {f"folio {name}": "live", f"folio {name} order": order,
                f"folio {name} node": self._nid(pfn),
                f"folio {name} memcg": self._memcg_path(memcg),
                f"folio {name} refcount": int(head._refcount.counter),
                f"folio {name} mapped": "pmd" if pmd else f"ptes {ptes}" if ptes else "none",
                f"folio {name} mapcount": (1 if pmd else 0) + sum(counts),
                f"folio {name} partially_mapped": int(partial)}

    def state(self, folios: dict[str, Where], describe_unnamed: bool = False) -> State:
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
            if describe_unnamed:
                s.update(self._lru_bits(name, lru, memcgs))

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
            if describe_unnamed:
                for p in pfns:
                    if p not in names:
                        s.update(self._describe(f"pfn:{p:#x}", p))
        return s

    def superblock_lrus(self) -> dict[str, Any]:
        """Every superblock's dentry and inode list_lru (fs/super.c: alloc_super, both
        memcg-aware with the superblock's shrinker), named ``dentry:<s_id>`` and
        ``inode:<s_id>`` (``#2``... for a repeated s_id, in super_blocks order)."""
        from drgn.helpers.linux.list import list_for_each_entry

        out: dict[str, Any] = {}
        for sb in list_for_each_entry("struct super_block",
                                      self.prog["super_blocks"].address_of_(), "s_list"):
            sid = sb.s_id.string_().decode(errors="replace").replace(" ", "_") or "?"
            for kind, lru in (("dentry", sb.s_dentry_lru), ("inode", sb.s_inode_lru)):
                name, n = f"{kind}:{sid}", 2
                while name in out:
                    name, n = f"{kind}:{sid}#{n}", n + 1
                out[name] = lru.address_of_()
        return out

    def _lru_bits(self, name: str, lru, memcgs) -> State:
        """``shrinker_bit <lru> <path> node<N>`` for an lru's shrinker (``lru->shrinker_id``),
        set bits only (inspect: a bit with nothing on the list is what stale_bits asks about)."""
        try:
            sid = int(lru.shrinker_id)
        except AttributeError:
            return {}
        out: State = {}
        for path, m in memcgs:
            for nid, _, _ in self.nodes:
                if self._bit(m, nid, sid):
                    out[f"shrinker_bit {name} {path} node{nid}"] = 1
        return out

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


def _entire_mapcount(folio, head) -> int:
    """PMD mappings of a large folio: ``_entire_mapcount`` (6.6+), ``_total_mapcount`` (the
    6.1 folio's name for it) or the first tail page's ``compound_mapcount``; stored minus 1."""
    for name in ("_entire_mapcount", "_total_mapcount"):
        try:
            return int(getattr(folio, name).counter) + 1
        except AttributeError:
            continue
    return int(head[1].compound_mapcount.counter) + 1


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
