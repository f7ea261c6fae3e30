"""Boot the kernel under QEMU with the probe as /init and parse what it reports.

The kernel console goes to ttyS0 (``console.log``); the probe writes its markers to ttyS1, a
socket the host reads (and copies to ``probe.log``), so kernel messages never interleave with
the data.  After every op the probe waits for one byte on ttyS1; a pause hook may read the
stopped guest's RAM (shared-memory backend files) in between.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .initramfs import build_initramfs
from .tools import Tools

MARK = "@@LRULAB "
NODE_MIB = 512          # per NUMA node; THP needs >= 512 MiB of RAM in total
DEFAULT_TIMEOUT = 300.0


# Under TCG on a loaded host a kernel now and then dies during boot, before it starts /init
# (seen: an int3 oops in text patching of a static key, a soft lockup in cryptomgr_test).  A
# guest that never said HELLO within BOOT_TIMEOUT is reported as not started, so the caller
# may boot it again (command._boot does, once, and says so).
BOOT_TIMEOUT = 120.0


class GuestError(Exception):
    """The guest did not run the scenario to the end; str() is one line.  `started`: the probe
    said HELLO (the kernel booted), so trying again would not be a boot retry."""

    def __init__(self, message: str, started: bool = True):
        super().__init__(message)
        self.started = started


@dataclass
class OpObservation:
    index: int
    pre: dict[str, int] = field(default_factory=dict)
    post: dict[str, int] = field(default_factory=dict)
    rc: int = 0
    err: str = "0"
    trace: list[str] = field(default_factory=list)   # trace buffer lines after the op (T)

    def delta(self) -> dict[str, int]:
        keys = set(self.pre) | set(self.post)
        return {k: self.post.get(k, 0) - self.pre.get(k, 0)
                for k in keys if k in self.pre and k in self.post}


@dataclass
class GuestFolio:
    """Where the probe mapped a scenario folio: its worker's pid and the virtual range."""
    name: str
    pid: int
    addr: int
    size: int


@dataclass
class Guest:
    """What a pause hook sees: the guest's RAM files (guest-physical order), the folios the
    probe reported so far, and the release."""
    ram: list[Path]
    folios: dict[str, GuestFolio]
    release: str
    workdir: Path
    qmp: Any = None          # the harness's Qmp connection (the VM is stopped meanwhile)


# called with (op index, guest) while the VM is stopped after op `index`
PauseHook = Callable[[int, Guest], None]


@dataclass
class GuestRun:
    release: str
    ops: dict[int, OpObservation]
    seconds: float
    workdir: Path
    folios: dict[str, GuestFolio] = field(default_factory=dict)
    cgids: dict[int, str] = field(default_factory=dict)   # cgroup id (inode) -> memcg path
    boot_retry: str = ""       # why the guest had to be booted a second time (see BOOT_TIMEOUT)


def qemu_command(tools: Tools, initrd: Path, console: Path, probe_sock: Path, qmp_sock: Path,
                 ram: list[Path], nodes: int, boot: list[str],
                 extra_qmp: Path | None = None) -> list[str]:
    """The guest: TCG by default; RAM in shared files (one per node) the host can read; the
    probe's serial port a socket (it waits for the host after every op); QMP to stop it (and
    `extra_qmp`, a second QMP monitor for another client such as `lrulab inspect --qmp`)."""
    accel = os.environ.get("LRULAB_QEMU_ACCEL", "tcg")
    cpus = max(2, nodes)
    mib = NODE_MIB * cpus // len(ram)
    cmd = [tools.qemu, "-accel", accel, "-smp", str(cpus), "-m", f"{NODE_MIB * cpus}M",
           "-kernel", str(tools.kernel.image), "-initrd", str(initrd),
           "-append", " ".join(["console=ttyS0", "quiet", "panic=-1", "rdinit=/init", *boot]),
           "-display", "none", "-monitor", "none", "-nodefaults", "-no-reboot",
           "-chardev", f"socket,id=probe,path={probe_sock},server=on,wait=on",
           "-serial", f"file:{console}", "-serial", "chardev:probe",
           "-qmp", f"unix:{qmp_sock},server=on,wait=off"]
    if extra_qmp is not None:
        cmd += ["-qmp", f"unix:{extra_qmp},server=on,wait=off"]
    for n, path in enumerate(ram):
        cmd += ["-object", f"memory-backend-file,id=m{n},size={mib}M,mem-path={path},share=on"]
    if nodes > 1:
        for n in range(nodes):
            cmd += ["-numa", f"node,memdev=m{n},cpus={n}"]
    else:
        cmd += ["-machine", "memory-backend=m0"]
    return cmd


def parse_line(line: str, release: str, ops: dict[int, OpObservation],
               folios: dict[str, GuestFolio], cgids: dict[int, str] | None = None
               ) -> tuple[str, str, int | None]:
    """One probe line; returns (release, tag, op index of a WAIT or None)."""
    line = line.strip("\r\0 ")
    if not line.startswith(MARK):
        return release, "", None
    words = line[len(MARK):].split()
    if not words:
        return release, "", None
    tag = words[0]
    if tag == "HELLO":
        release = words[1] if len(words) > 1 else "?"
    elif tag == "SNAP":
        obs = ops.setdefault(int(words[1]), OpObservation(int(words[1])))
        snap = obs.pre if words[2] == "pre" else obs.post
        for kv in words[3:]:
            k, _, v = kv.rpartition("=")
            try:
                snap[k] = int(v)
            except ValueError:
                pass
    elif tag == "RES":
        obs = ops.setdefault(int(words[1]), OpObservation(int(words[1])))
        for kv in words[2:]:
            k, _, v = kv.partition("=")
            if k == "rc":
                obs.rc = int(v)
            elif k == "err":
                obs.err = v
    elif tag == "FOLIO" and len(words) == 5:
        folios[words[1]] = GuestFolio(words[1], int(words[2]), int(words[3], 16), int(words[4]))
    elif tag == "TRACE" and len(words) >= 3:
        obs = ops.setdefault(int(words[1]), OpObservation(int(words[1])))
        obs.trace.append(line[len(MARK):].split(" ", 2)[2])
    elif tag == "CGID" and len(words) == 3 and cgids is not None:
        cgids[int(words[2])] = words[1]
    elif tag == "WAIT":
        return release, tag, int(words[1])
    elif tag == "ERR":
        raise GuestError(f"guest: op {words[1]}: {' '.join(words[2:])}")
    return release, tag, None


def parse_probe_log(text: str) -> tuple[str, dict[int, OpObservation], bool]:
    release, ops, done, folios = "?", {}, False, {}
    for raw in text.splitlines():
        release, tag, _ = parse_line(raw, release, ops, folios)
        done = done or tag == "DONE"
    return release, ops, done


class Qmp:
    """The few QMP commands the harness needs (stop, cont; dump-guest-memory for `lrulab
    inspect` and its tests), over QEMU's unix socket."""

    def __init__(self, path: Path, deadline: float):
        self.sock = _connect(path, deadline)
        self.f = self.sock.makefile("rwb")
        self._read()                               # greeting
        self.command("qmp_capabilities")

    def _read(self) -> dict:
        while True:
            line = self.f.readline()
            if not line:
                raise GuestError("QEMU closed its QMP socket")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def command(self, name: str, **arguments) -> dict:
        msg: dict = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        self.f.write(json.dumps(msg).encode() + b"\n")
        self.f.flush()
        reply = self._read()
        if "error" in reply:
            raise GuestError(f"QMP {name}: {reply['error'].get('desc', reply)}")
        return reply

    def close(self) -> None:
        self.sock.close()


def _connect(path: Path, deadline: float) -> socket.socket:
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(path))
            return s
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                raise GuestError(f"QEMU did not open {path.name}") from None
            time.sleep(0.05)


def _console_tail(console: Path) -> str:
    text = console.read_text(errors="replace") if console.exists() else ""
    tail = text.strip().splitlines()[-1:]
    return tail[0] if tail else "none"


def booted_once_more(boot: Callable[[], GuestRun], workdir: Path) -> tuple[GuestRun, str]:
    """(boot(), ''), or -- when the kernel died before the probe's HELLO (a TCG boot flake:
    seen as an int3 oops in static-key patching and a panic in an interrupt, both before
    /init) -- the failed console log kept as console.failed-boot.log and boot() run once more:
    (its run, why).  A failure after HELLO, or a second one, is the error.  `boot` runs the
    guest in `workdir` (run_guest with a fresh pause hook per attempt)."""
    try:
        return boot(), ""
    except GuestError as e:
        if e.started:
            raise
        first = e
    log = workdir / "console.log"
    if log.exists():
        log.rename(workdir / "console.failed-boot.log")
    return boot(), f"booted twice: the first boot failed ({first})"


def run_guest(tools: Tools, script: str, workdir: Path, nodes: int, boot: list[str],
              timeout: float = DEFAULT_TIMEOUT, on_pause: PauseHook | None = None,
              extra_qmp: Path | None = None) -> GuestRun:
    """Boot, run the script; after every op the probe waits and, with `on_pause`, the VM is
    stopped (QMP) while the hook reads its state, then resumed."""
    workdir.mkdir(parents=True, exist_ok=True)
    initrd = workdir / "initramfs.cpio.gz"
    if on_pause is not None:
        script = _w_first(script)
    initrd.write_bytes(build_initramfs({
        "/init": (tools.probe.read_bytes(), 0o755),
        "/script": (script.encode(), 0o644),
    }))
    (workdir / "script").write_text(script)
    console, probe_log = workdir / "console.log", workdir / "probe.log"
    probe_sock, qmp_sock = workdir / "probe.sock", workdir / "qmp.sock"
    for p in (console, probe_log, probe_sock, qmp_sock):
        p.unlink(missing_ok=True)
    where = _ram_dir(workdir, NODE_MIB * max(2, nodes) << 20)
    ram = [where / f"lrulab-{os.getpid()}-{workdir.name}-node{n}" for n in range(nodes)]
    cmd = qemu_command(tools, initrd, console, probe_sock, qmp_sock, ram, nodes, boot,
                       extra_qmp)
    (workdir / "qemu.cmd").write_text(" ".join(cmd) + "\n")
    t0 = time.monotonic()
    deadline = t0 + timeout
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    release, ops, folios, done = "?", {}, {}, False
    cgids: dict[int, str] = {}
    qmp = None
    try:
        chan = _connect(probe_sock, deadline)
        qmp = Qmp(qmp_sock, deadline)
        buf = b""
        with chan, open(probe_log, "wb") as log:
            while not done:
                booting = release == "?"
                until = min(deadline, t0 + BOOT_TIMEOUT) if booting else deadline
                chan.settimeout(max(0.1, until - time.monotonic()))
                try:
                    data = chan.recv(65536)
                except TimeoutError:
                    if booting:
                        raise GuestError(f"the kernel did not start the probe within "
                                         f"{min(timeout, BOOT_TIMEOUT):.0f} s (last console "
                                         f"line: {_console_tail(console)}; see {console})",
                                         started=False) from None
                    raise GuestError(f"QEMU did not finish within {timeout:.0f} s "
                                     f"(see {console})") from None
                if not data:
                    break
                log.write(data)
                buf += data
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    release, tag, wait = parse_line(raw.decode(errors="replace"), release, ops,
                                                    folios, cgids)
                    done = done or tag == "DONE"
                    if wait is None:
                        continue
                    if on_pause is not None:
                        qmp.command("stop")
                        try:
                            on_pause(wait, Guest(ram, dict(folios), release, workdir, qmp))
                        finally:
                            qmp.command("cont")
                    chan.sendall(b"g")
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise GuestError(f"QEMU did not power off within {timeout:.0f} s "
                             f"(see {console})") from None
    finally:
        if qmp is not None:
            qmp.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in ram:
            p.unlink(missing_ok=True)
    seconds = time.monotonic() - t0
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        msg = (stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise GuestError(f"QEMU failed: {msg}", started=release != "?")
    if not done:
        raise GuestError(f"guest stopped before the end of the scenario "
                         f"(last console line: {_console_tail(console)}; see {console})",
                         started=release != "?")
    return GuestRun(release, ops, seconds, workdir, folios, cgids)


def _ram_dir(workdir: Path, size: int) -> Path:
    """Where the guest's RAM files go: /dev/shm when it has room (a container's is often 64 MiB),
    else the work directory (a plain file works the same, through the page cache)."""
    try:
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize > size + (256 << 20):
            return Path("/dev/shm")
    except OSError:
        pass
    return workdir


def _w_first(script: str) -> str:
    """Put the W line before the first op (the probe runs lines in order)."""
    lines = [ln for ln in script.splitlines() if ln != "W"]
    first_op = next((i for i, ln in enumerate(lines) if ln.startswith("O ")), len(lines))
    lines.insert(first_op, "W")
    return "\n".join(lines) + "\n"
