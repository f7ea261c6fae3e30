"""Boot the kernel under QEMU with the probe as /init and parse what it reports.

The kernel console goes to ttyS0 (``console.log``); the probe writes its markers to ttyS1
(``probe.log``), so kernel messages never interleave with the data.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .initramfs import build_initramfs
from .tools import Tools

MARK = "@@LRULAB "
NODE_MIB = 512          # per NUMA node; THP needs >= 512 MiB of RAM in total
DEFAULT_TIMEOUT = 300.0


class GuestError(Exception):
    """The guest did not run the scenario to the end; str() is one line."""


@dataclass
class OpObservation:
    index: int
    pre: dict[str, int] = field(default_factory=dict)
    post: dict[str, int] = field(default_factory=dict)
    rc: int = 0
    err: str = "0"

    def delta(self) -> dict[str, int]:
        keys = set(self.pre) | set(self.post)
        return {k: self.post.get(k, 0) - self.pre.get(k, 0)
                for k in keys if k in self.pre and k in self.post}


@dataclass
class GuestRun:
    release: str
    ops: dict[int, OpObservation]
    seconds: float
    workdir: Path


def qemu_command(tools: Tools, initrd: Path, console: Path, probe_log: Path,
                 nodes: int, boot: list[str]) -> list[str]:
    accel = os.environ.get("LRULAB_QEMU_ACCEL", "tcg")
    cpus = max(2, nodes)
    cmd = [tools.qemu, "-accel", accel, "-smp", str(cpus), "-m", f"{NODE_MIB * cpus}M",
           "-kernel", str(tools.kernel.image), "-initrd", str(initrd),
           "-append", " ".join(["console=ttyS0", "quiet", "panic=-1", "rdinit=/init", *boot]),
           "-display", "none", "-monitor", "none", "-nodefaults", "-no-reboot",
           "-serial", f"file:{console}", "-serial", f"file:{probe_log}"]
    if nodes > 1:
        for n in range(nodes):
            cmd += ["-object", f"memory-backend-ram,id=m{n},size={NODE_MIB}M",
                    "-numa", f"node,memdev=m{n},cpus={n}"]
    return cmd


def parse_probe_log(text: str) -> tuple[str, dict[int, OpObservation], bool]:
    release, ops, done = "?", {}, False
    for raw in text.splitlines():
        line = raw.strip("\r\0 ")
        if not line.startswith(MARK):
            continue
        words = line[len(MARK):].split()
        if not words:
            continue
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
        elif tag == "ERR":
            raise GuestError(f"guest: op {words[1]}: {' '.join(words[2:])}")
        elif tag == "DONE":
            done = True
    return release, ops, done


def run_guest(tools: Tools, script: str, workdir: Path, nodes: int, boot: list[str],
              timeout: float = DEFAULT_TIMEOUT) -> GuestRun:
    workdir.mkdir(parents=True, exist_ok=True)
    initrd = workdir / "initramfs.cpio.gz"
    initrd.write_bytes(build_initramfs({
        "/init": (tools.probe.read_bytes(), 0o755),
        "/script": (script.encode(), 0o644),
    }))
    (workdir / "script").write_text(script)
    console, probe_log = workdir / "console.log", workdir / "probe.log"
    for p in (console, probe_log):
        p.unlink(missing_ok=True)
    cmd = qemu_command(tools, initrd, console, probe_log, nodes, boot)
    (workdir / "qemu.cmd").write_text(" ".join(cmd) + "\n")
    t0 = time.monotonic()
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise GuestError(f"QEMU did not finish within {timeout:.0f} s (see {console})") from None
    seconds = time.monotonic() - t0
    if r.returncode != 0:
        msg = (r.stderr.strip().splitlines() or [f"exit {r.returncode}"])[-1]
        raise GuestError(f"QEMU failed: {msg}")
    text = probe_log.read_text(errors="replace") if probe_log.exists() else ""
    release, ops, done = parse_probe_log(text)
    if not done:
        text = console.read_text(errors="replace") if console.exists() else ""
        tail = text.strip().splitlines()[-1:]
        raise GuestError(f"guest stopped before the end of the scenario "
                         f"(last console line: {tail[0] if tail else 'none'}; see {console})")
    return GuestRun(release, ops, seconds, workdir)
