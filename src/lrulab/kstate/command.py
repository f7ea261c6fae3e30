"""`lrulab inspect`: read a real kernel's state with drgn (the conformance harness's reader), load
it into a model Kernel and evaluate the model's state properties on it.

Sources: ``--live`` (/proc/kcore of this machine, root), ``--vmcore FILE`` (a kdump vmcore or
QEMU's ``dump-guest-memory`` ELF), ``--qmp SOCKET`` (a running QEMU guest: stopped, dumped to a
temporary ELF over QMP, resumed).  Exit status: 0 every property holds, 1 one fails, 2 bad
input (one line on stderr), 3 the model could not hold the state as read (a model gap: the
verdict would not be trustworthy).  ``run(...) -> int`` is the command without click's exit.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

# the properties of a state (not of a history of steps) that inspect evaluates, in this order
PROPERTIES = ("bit_coverage", "stale_bits", "reparent_complete", "memcg_reclaim_reach")


class BadInput(Exception):
    """One-line error for exit status 2."""


@dataclass
class Inspection:
    source: str
    release: str
    point: str
    boot: list[str]
    nodes: int
    state: dict            # as read (lrulab.kstate shape, queued folios described)
    kernel: Any            # the model Kernel holding it
    load_differs: list     # (key, read, loaded) where the model could not hold the state as read
    properties: dict[str, list[str]]
    accepted: dict[str, list[str]]

    @property
    def ok(self) -> bool:
        return not any(self.properties.values())


# -- reading ------------------------------------------------------------------------------

def _vmlinux_for(release: str, given: str | None) -> Path:
    if given:
        p = Path(given)
        if not p.is_file():
            raise BadInput(f"--vmlinux {given}: no such file")
        return p
    from lrulab.conform.tools import cache_dir

    for rel in sorted((cache_dir() / "kernel").glob("*/release")):
        if rel.read_text().strip() == release and (rel.parent / "vmlinux").is_file():
            return rel.parent / "vmlinux"
    raise BadInput(f"no vmlinux for kernel {release}: pass --vmlinux FILE (the vmlinux with "
                   "DWARF from the kernel's -dbg package; `lrulab conform --setup` caches the "
                   "Debian ones)")


def _open(live: bool, vmcore: str | None, qmp: str | None, vmlinux: str | None, tmp: Path):
    """(drgn program, what was read)."""
    from lrulab.kstate import reader

    if live:
        if os.geteuid() != 0:
            raise BadInput("--live: reading /proc/kcore needs root (run it as root, or inspect "
                           "a dump with --vmcore FILE)")
        if not os.access("/proc/kcore", os.R_OK):
            raise BadInput("--live: /proc/kcore is not readable on this machine")
        path = _vmlinux_for(os.uname().release, vmlinux) if vmlinux else None
        try:
            return reader.open_live(path), "live (/proc/kcore)"
        except reader.ReaderError:
            raise
        except Exception as e:
            raise BadInput(f"--live: drgn cannot read this kernel ({_first_line(e)}); pass "
                           "--vmlinux FILE with this kernel's debug info") from None
    if qmp:
        dump = tmp / "guest.elf"
        _qmp_dump(qmp, dump)
        source = f"QEMU guest at {qmp}"
    else:
        dump = Path(vmcore)
        if not dump.is_file():
            raise BadInput(f"--vmcore {vmcore}: no such file")
        if not os.access(dump, os.R_OK):
            raise BadInput(f"--vmcore {vmcore}: not readable")
        source = str(dump)
    try:
        release = reader.dump_release(dump)
    except (OSError, ValueError) as e:
        raise BadInput(f"{dump}: cannot read it ({_first_line(e)})") from None
    if release is None:
        raise BadInput(f"{source}: no VMCOREINFO in it (not a Linux kernel dump?)")
    return reader.open_vmcore(dump, _vmlinux_for(release, vmlinux)), source


def _qmp_dump(socket_path: str, dest: Path) -> None:
    """Stop the guest, dump its memory (ELF, no paging) to `dest`, resume it if it ran."""
    from lrulab.conform.qemu import GuestError, Qmp

    if not Path(socket_path).exists():
        raise BadInput(f"--qmp {socket_path}: no such socket")
    try:
        q = Qmp(Path(socket_path), time.monotonic() + 10)
    except (GuestError, OSError) as e:
        raise BadInput(f"--qmp {socket_path}: {_first_line(e)}") from None
    try:
        running = q.command("query-status")["return"].get("running", False)
        if running:
            q.command("stop")
        try:
            q.command("dump-guest-memory", paging=False, protocol=f"file:{dest}", format="elf")
        finally:
            if running:
                q.command("cont")
    except GuestError as e:
        raise BadInput(f"--qmp {socket_path}: {_first_line(e)}") from None
    finally:
        q.close()


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def default_point(release: str) -> str:
    """The point of history a kernel release follows: the conformance table's model point
    (6.1.x: the preset linux-6.1 = debian-6.1.192; 6.12.x: debian-6.12.117)."""
    from lrulab.conform.kernels import UnknownKernel, spec_for_release
    from lrulab.kernel import history
    from lrulab.kernel.config import PRESETS

    try:
        preset, _ = spec_for_release(release).model.resolve(PRESETS)
    except UnknownKernel as e:
        raise BadInput(f"{e}; pass --kernel NAME to choose the rules") from None
    return history.resolve(preset)


# -- the model's side ---------------------------------------------------------------------

def inspect(prog, source: str, kernel_name: str | None) -> Inspection:
    from lrulab import properties as P
    from lrulab.kernel import history
    from lrulab.kstate import diff
    from lrulab.kstate.load import LoadError, load_kernel, loaded_view, model_view
    from lrulab.kstate.reader import KernelReader

    r = KernelReader(prog)
    r.lrus = r.superblock_lrus()
    release = r.release()
    point = history.resolve(kernel_name) if kernel_name else default_point(release)
    state = r.state({}, describe_unnamed=True)
    nodes = max(r.node_ids(), default=0) + 1
    boot = r.boot()
    try:
        k = load_kernel(state, point, nodes, boot, r.knobs())
    except LoadError as e:
        raise BadInput(f"{source}: {e}") from None
    differs = diff(model_view(state), loaded_view(k))
    props = {name: P.REGISTRY[name][0](k) for name in PROPERTIES}
    accepted = {name: msgs for name, fn in P.ACCEPTED.items() if name in PROPERTIES
                for msgs in [fn(k)] if msgs}
    return Inspection(source, release, point, boot, nodes, state, k, differs, props, accepted)


# -- output -------------------------------------------------------------------------------

def format_text(ins: Inspection) -> list[str]:
    from lrulab.view import snapshot, tree_lines

    boot = " " + " ".join(ins.boot) if ins.boot else ""
    out = [f"{ins.source}: Linux {ins.release}, {ins.nodes} node(s)  [{ins.point}{boot}]",
           "", "State (memcg tree: deferred-split list lengths per node, shrinker bits):"]
    out += [f"  {line}" for line in tree_lines(ins.kernel)]
    lrus = tuple(f"{name} kmemcg_id " for name in ins.kernel.lrus)
    # list_lru sublists as counts (the loaded objects have made-up names), their bits as read
    out += [f"  | {key}: {val}" for key, val in snapshot(ins.kernel).items()
            if not key.startswith(lrus)]
    out += [f"  | {key}: {val}" for key, val in ins.state.items()
            if key.startswith("list_lru ") or key.startswith("shrinker_bit ")
            and not key.startswith("shrinker_bit thp ")]
    out += ["", "Properties:"]
    for name, msgs in ins.properties.items():
        out.append(f"  {'ok  ' if not msgs else 'FAIL'}  {name}")
        out += [f"          {m}" for m in msgs]
    for name, msgs in ins.accepted.items():
        out += [f"  accepted by design: {name}: {m}" for m in msgs]
    if ins.load_differs:
        out += ["", "The model could not hold the state as read (a model gap, not a kernel "
                "bug; the properties above may be wrong):"]
        out += [f"  {key}: read {a!r}, loaded {b!r}" for key, a, b in ins.load_differs]
    out += ["", f"verdict: {verdict(ins)}"]
    return out


def verdict(ins: Inspection) -> str:
    if ins.load_differs:
        return "incomplete"
    return "ok" if ins.ok else "violation"


def to_json(ins: Inspection) -> dict:
    from lrulab.view import snapshot

    return {"source": ins.source, "release": ins.release, "kernel": ins.point,
            "boot": ins.boot, "nodes": ins.nodes, "state": ins.state,
            "model_state": snapshot(ins.kernel),
            "loaded_as_read": not ins.load_differs,
            "load_differs": [{"key": key, "read": a, "loaded": b}
                             for key, a, b in ins.load_differs],
            "properties": {n: {"holds": not m, "messages": m}
                           for n, m in ins.properties.items()},
            "accepted": ins.accepted, "verdict": verdict(ins)}


# -- the command --------------------------------------------------------------------------

def run(*, live: bool = False, vmcore: str | None = None, qmp: str | None = None,
        vmlinux: str | None = None, kernel: str | None = None, as_json: bool = False,
        echo=click.echo) -> int:
    from lrulab.cli import one_line
    from lrulab.kstate.reader import ReaderError

    tmp = Path(tempfile.mkdtemp(prefix="lrulab-inspect-"))
    try:
        if sum((bool(live), vmcore is not None, qmp is not None)) != 1:
            raise BadInput("give exactly one of --live, --vmcore FILE, --qmp SOCKET")
        if kernel is not None:
            _check_kernel(kernel)
        try:
            prog, source = _open(live, vmcore, qmp, vmlinux, tmp)
        except ReaderError as e:
            raise BadInput(str(e)) from None
        try:
            ins = inspect(prog, source, kernel)
        except (ReaderError, LookupError, ValueError, *_drgn_errors()) as e:
            # a dump whose memory is incomplete or inconsistent (a truncated file, a kernel
            # this reader does not know): bad input, one line
            raise BadInput(f"{source}: reading the kernel state failed "
                           f"({type(e).__name__}: {_first_line(e)})") from None
    except BadInput as e:
        echo(f"lrulab inspect: {one_line(str(e))}", err=True)
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if as_json:
        echo(json.dumps(to_json(ins), indent=1))
    else:
        for line in format_text(ins):
            echo(line)
    if ins.load_differs:
        return 3
    return 0 if ins.ok else 1


def _drgn_errors() -> tuple:
    try:
        import drgn
    except ImportError:
        return ()
    return (drgn.FaultError, drgn.ObjectAbsentError)


def _check_kernel(name: str) -> None:
    from lrulab.kernel.config import ConfigError, kernel_flags

    try:
        kernel_flags(name)
    except ConfigError as e:
        raise BadInput(f"--kernel {name}: {e}") from None


@click.command("inspect")
@click.option("--live", is_flag=True, help="read the running kernel (/proc/kcore; needs root)")
@click.option("--vmcore", metavar="FILE", default=None,
              help="read a dump: kdump vmcore or QEMU dump-guest-memory (ELF)")
@click.option("--qmp", metavar="SOCKET", default=None,
              help="read a running QEMU guest over its QMP socket (stopped, dumped, resumed)")
@click.option("--vmlinux", metavar="FILE", default=None,
              help="the kernel's vmlinux with DWARF (default: the conform cache's, by release)")
@click.option("--kernel", "kernel", metavar="NAME", default=None,
              help="point of history whose rules the loaded model follows (default: from the "
                   "kernel release: 6.1.x debian-6.1.192, 6.12.x debian-6.12.117)")
@click.option("--json", "as_json", is_flag=True, help="print one JSON document")
def inspect_cmd(live, vmcore, qmp, vmlinux, kernel, as_json):
    """Read a real kernel's memcg / deferred-split / shrinker state, load it into the model and
    evaluate bit_coverage, stale_bits, reparent_complete and memcg_reclaim_reach on it (the
    last two by running the model's reclaim on a copy).  Exit 0 all hold, 1 one fails, 2 bad
    input, 3 the model could not hold the state as read."""
    sys.exit(run(live=live, vmcore=vmcore, qmp=qmp, vmlinux=vmlinux, kernel=kernel,
                 as_json=as_json))
